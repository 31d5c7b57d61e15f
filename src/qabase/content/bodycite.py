"""Article citations in an entry's answer body, checked like ``legal_basis``.

Judges read the body, not the front matter, so an article named there must exist and must be
listed in ``legal_basis``. The body is prose, so the grammar is looser than that of
``citations.py``:

- the instrument may be a full name in 《》 (with or without the issuer or 中华人民共和国), a
  catalogued name or abbreviation written without brackets, or nothing at all;
- ``第N条``, ``第N条之一``, ``第N条第M款``, ``第N条第M款第K项``, lists (``第十条、第十一条``,
  ``第二、三、五条``) and ranges (``第10—13条``, both ends checked), Chinese or Arabic numerals;
- a bare ``第N条``, or ``同法/该规定/本解释第N条``, refers to the nearest instrument named before
  it in the same paragraph (a Markdown paragraph or list item); a name inside a parenthesised
  numbering note (“（该规定所称民诉法第二百三十九条是2017年版条号……）”) serves that note only,
  so that the paragraph's own instrument stays the one a later bare article refers to;
- a version written at the instrument or the article (``（2021年修正）``, ``2021年版第二百三十三条``,
  ``原文引用的是2017年版第二百二十六条``, ``第二百四十条是2021年版条号``, ``旧版``) makes it a
  reference to that version's numbering: checked against that version when the catalogue holds
  it, never required in ``legal_basis`` (a conversion note is not a basis); ``现行`` names the
  current text explicitly.

Errors: an article that does not exist in the text it points at (the current text unless a
version is written; a superseded text is never tried in its place), and a superseded or
repealed text named as if it were current. Warnings: a real article missing from
``legal_basis``; an article with no instrument before it in its paragraph; a name or
abbreviation the catalogue does not resolve; a text whose article numbers are not held.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from .catalogue import Catalogue, Instrument
from .citations import Citation, normalise_name
from .numerals import NUMERAL_CHARS, to_chinese, to_int
from ..errors import ERROR, WARNING, Problem, rel

_N = f"[{NUMERAL_CHARS}]+"
# One article reference. Lists and ranges of numbers share one 条 (第二、三、五条, 第10—13条);
# paragraphs and items may be lists too (第四、六项).
ARTICLE_RE = re.compile(
    rf"第(?P<nums>{_N}(?:[、和及与或至到—–~～\-]{_N})*)条"
    rf"(?:之(?P<sub>{_N}))?"
    rf"(?:第(?P<para>{_N}(?:[、和及至到]{_N})*)款)?"
    rf"(?:第(?P<item>{_N}(?:[、和及至到]{_N})*)项|[（(]第(?P<item2>{_N}(?:[、和及至到]{_N})*)项[）)])?"
)

# "第一条线索", "第二条路": 条 as a measure word, not an article. Only nouns that never follow an
# article number in legal prose are listed, so that 第十条规定 / 第十条的 stay citations.
_MEASURE_NOUNS = re.compile(
    r"线索|路|途径|渠道|建议|措施|经验|原则|底线|红线|理由|信息|消息|短信|新闻|标准|要求|做法|思路|"
    r"规矩|命|腿|河|街|船|鱼|狗|线|记录|评论|留言|微博|链接|视频|心"
)
# Words pointing back at an instrument already named: 同法第N条, 该规定第N条, 本解释第N条.
_ANAPHOR = re.compile(
    r"(?:同一?|该|本|此|上述|前述|这一?|上列|前列)(?:部|个|件|份)?"
    r"(?:法律|法|司法解释|规定|解释|条例|意见|规则|办法|决定|文件)$"
)
# The tail of an instrument's name, for names the catalogue may not know (公司法第N条).
_NAME_SUFFIX = re.compile(r"(?:法|规定|解释|条例|意见|规则|办法|决定|批复|通知|纪要|细则|法典|准则|规程)$")
_GENERIC = {"法", "法律", "规定", "解释", "司法解释", "条例", "意见", "规则", "办法", "决定", "批复",
            "通知", "纪要", "细则", "准则", "规程", "文件"}
# Verbs and prepositions that start a clause rather than belong to a name (依民诉法 → 民诉法).
# Words found inside names (的, 和, 适用, 关于) are left out on purpose.
_LEAD = re.compile(
    r"^.*(?:依据|根据|依照|按照|参照|对照|比照|依|按|见|即|属于|符合|违反|引用|所引|所称|还有|以及|"
    r"现行|旧版|是|或|由|在|对|看|查)"
)
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+$")

YEAR = r"(?:19|20)\d{2}"
# A version right after an instrument: （2021年修正）, (2013年), （2017年修正本）, （原文）.
_VERSION_AFTER_NAME = re.compile(rf"^\s*[（(](?P<v>[^（）()]{{0,16}}?(?:{YEAR}|修正|修订|原文)[^（）()]{{0,8}})[）)]")
# A version right before an instrument: 2021年修正的民诉法, 2013年原文《…》, 现行民诉法, 旧版民诉法.
_VERSION_BEFORE_NAME = re.compile(
    rf"(?:(?P<year>{YEAR})年(?:修正|修订)?(?:版|本|原文|文本|修正本|修订本)?|(?P<now>现行)|"
    rf"(?P<old>旧版?|原|修正前|修订前|废止前|已废止|已被废止|已修正))(?:的)?《?$"
)
# A version right before an article: 2021年版第二百三十三条, 原文引用2017年版第二百二十六条,
# 2017年版条号第二百二十五条, （2021年版为第二百四十二条）, 即现行第二百三十七条, 旧版条号（第一百条.
_VERSION_BEFORE_ARTICLE = re.compile(
    rf"(?:(?P<year>{YEAR})年(?:修正|修订)?(?:版|本|原文|文本|修正本|修订本)|(?P<year2>{YEAR})年(?:修正|修订)|"
    rf"(?P<now>现行(?:{YEAR}年(?:修正|修订)?版?)?)|(?P<old>旧版|修正前|修订前))"
    r"(?:的)?(?:条号)?(?:中|里)?(?:它|该条|此条|本条|这一条)?(?:仍|则|均|分别)?(?:是|为|作|编为|列为|改为)?[“\"「（(]?$"
)
# A version right after an article: 第二百四十条是2021年版条号, “第二百二十六条”是2017年版的条号,
# and "该条所称第二百六十一条即现行第二百六十五条": a number followed by 即现行 is an older numbering.
_VERSION_AFTER_ARTICLE = re.compile(
    rf"[”\"」]?(?:(?:是|为|系|属)?(?:(?P<year>{YEAR})年(?:修正|修订)?(?:版|本)|(?P<old>旧版))|"
    r"[，,]?(?:即|也就是|对应|相当于)(?:现行|现在的))"
)
# What may stand between two articles of one list, and between a name and its article.
_LIST_GAP = re.compile(r"^\s*(?:[、，,和及与或至到]|以及)?\s*$")
_NAME_GAP = re.compile(r"^[\s”“\"「」]*(?:的)?(?:条号)?[\s“\"「（(]*$")
_VERSION_IN_GAP = re.compile(rf"[（(][^（）()]{{0,16}}(?:{YEAR}|修正|修订|原文)[^（）()]{{0,8}}[）)]")
_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)、]|#+)\s")

OLD = "旧"   # a version written without a year (旧版, 修正前): not verifiable, not a basis
NOW = "现行"


# --- names -----------------------------------------------------------------------------

_ISSUER_PREFIX = re.compile(r"^(?:最高人民法院、?最高人民检察院|最高人民法院|最高法院?|两高)")


def name_key(name: str) -> str:
    """A name compared loosely: no brackets, issuer, 中华人民共和国, （试行） or joining words.

    Writers shorten 《最高人民法院关于交叉执行工作的指导意见》 to 《关于交叉执行工作的指导意见》 and
    write 执行异议和复议规定 for 执行异议复议规定; both are the catalogued instrument.
    """
    s = normalise_name(name)
    s = re.sub(r"[〈〉《》\"“”'‘’]", "", s)
    s = s.replace("中华人民共和国", "")
    s = _ISSUER_PREFIX.sub("", s)
    s = s.replace("（试行）", "")
    return re.sub(r"[、及与]|和(?!解)", "", s)  # 和解 is a word, not a joint


class Names:
    """The catalogue's names and abbreviations, for finding instruments in prose."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self.by_key: dict[str, list[Instrument]] = {}
        self.shown: dict[str, str] = {}  # key → the catalogue's own spelling, for hints
        surface: set[str] = set()
        for inst in catalogue.instruments:
            for form in (inst.name, *inst.abbr):
                k = name_key(form)
                if k and inst not in self.by_key.setdefault(k, []):
                    self.by_key[k].append(inst)
                self.shown.setdefault(k, form)
            # Forms found in plain text: the abbreviations, and the full name with its inner
            # title written either way or without brackets.
            surface.update(inst.abbr)
            flat = inst.name.replace("〈", "").replace("〉", "")
            surface.update({inst.name, inst.name.replace("〈", "《").replace("〉", "》"), flat,
                            flat.replace("中华人民共和国", "")})
        surface.discard("")
        # Longest first, so that 民诉法解释 wins over 民诉法 and 民诉.
        self.surface_re = re.compile("|".join(re.escape(s) for s in sorted(surface, key=len, reverse=True))
                                     or r"(?!x)x")

    def lookup(self, name: str) -> list[Instrument]:
        """Every version a name written in the body stands for, or []."""
        exact = self.catalogue.candidates(name)
        return exact or list(self.by_key.get(name_key(name), []))

    def family(self, insts: list[Instrument]) -> list[Instrument]:
        """Every version linked to ``insts`` by name or by superseded_by, either way."""
        out = list(insts)
        changed = True
        while changed:
            changed = False
            for i in self.catalogue.instruments:
                if i not in out and any(i.superseded_by == o.id or o.superseded_by == i.id
                                        or normalise_name(i.name) == normalise_name(o.name) for o in out):
                    out.append(i)
                    changed = True
        return out

    def hint(self, name: str) -> str:
        # 0.7: 和解规定 → 执行和解规定 (0.8) is a hint, 民法典 → 民诉法 (0.67) would mislead.
        close = difflib.get_close_matches(name_key(name), list(self.by_key), n=1, cutoff=0.7)
        if not close:
            return "；请改用目录（kb/instruments.yaml）中的全称或简称，或先在目录中收录该文件"
        inst = self.by_key[close[0]][0]
        shown = self.shown[close[0]]
        if shown == inst.name:
            return f"；是不是《{inst.name}》？"
        return (f"；是不是“{shown}”（《{inst.name}》）？请改用目录中的简称，"
                "或在 kb/instruments.yaml 的 abbr 中补上这个简称")


def _year(text: str | None) -> str | None:
    m = re.search(YEAR, text or "")
    return m.group(0) if m else None


# --- scanning --------------------------------------------------------------------------

@dataclass
class Name:
    """An instrument named in a paragraph."""

    start: int
    end: int
    written: str
    insts: list[Instrument]   # the versions it stands for; [] when the catalogue does not know it
    version: str | None       # year, NOW, OLD, or None when not written


@dataclass
class Ref:
    """One article reference as written (a list 第十、十一条 is one Ref with two numbers)."""

    line: int
    written: str
    name: Name | None
    how: str                  # "named" (name right before it), "anaphor" (同法…) or "bare"
    numbers: list[int]
    sub: int | None
    paras: list[int]
    version: str | None = None
    explicit: bool = False    # version written at the article itself


def _paragraphs(body: str):
    """(offset, text) of each paragraph, list item or heading: the scope of a bare 第N条."""
    pos, start = 0, None
    for line in body.splitlines(keepends=True):
        if not line.strip() or _LIST_ITEM.match(line):
            if start is not None:
                yield start, body[start:pos]
            start = pos if line.strip() else None
        elif start is None:
            start = pos
        pos += len(line)
    if start is not None:
        yield start, body[start:pos]


def _titles(text: str):
    """《…》 titles, allowing inner 《》 or 〈〉: (start, end, name inside)."""
    i = 0
    while (i := text.find("《", i)) >= 0:
        depth, j = 0, i
        while j < len(text) and text[j] != "\n":
            if text[j] in "《〈":
                depth += 1
            elif text[j] in "》〉":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j < len(text) and text[j] == "》" and depth == 0:
            yield i, j + 1, text[i + 1:j]
            i = j + 1
        else:
            i += 1


_RANGE_SPAN = 10  # a longer range (第235—269条, a whole part of a code) names a part, not its articles


def _numbers(group: str | None) -> list[int]:
    """第二、三、五条 → [2, 3, 5]; 第10—13条 → [10, 11, 12, 13]."""
    out: list[int] = []
    in_range = False
    for part in re.split(r"([、和及与或至到—–~～\-])", group or ""):
        if not part or part in "、和及与或":
            continue
        if part in "至到—–~～-":
            in_range = True
            continue
        n = to_int(part)
        if in_range and out:
            out += _between(out[-1], n)
        out.append(n)
        in_range = False
    return out


def _between(a: int, b: int) -> list[int]:
    return list(range(a + 1, b)) if 0 < b - a <= _RANGE_SPAN else []


_NOTE = re.compile(rf"{YEAR}年(?:修正|修订)?(?:版|本)|即现行|现行为|所称|所引|引用的是|原文引|旧版")


def _note_paths(text: str) -> list[tuple]:
    """For each position, the numbering notes it sits in: parenthesised asides about another
    version's numbering (“（该规定所称民诉法第二百三十九条是2017年版条号，即现行第二百五十条）”),
    given as the opening positions of the enclosing notes."""
    stack: list[int] = []
    spans: dict[int, int] = {}
    for i, ch in enumerate(text):
        if ch in "（(":
            stack.append(i)
        elif ch in "）)" and stack:
            spans[stack.pop()] = i
    notes = [(s, e) for s, e in spans.items() if _NOTE.search(text, s, e)]
    return [tuple(s for s, e in notes if s < i <= e) for i in range(len(text) + 1)]


def _name(para: str, s: int, e: int, insts: list[Instrument], written: str | None = None) -> Name:
    """A name found at para[s:e], with the version written in it or around it."""
    written = written if written is not None else para[s:e]
    # "拒执解释（2020年）" is itself the catalogue's name for the old text.
    version = _year(written) or _version_of_name(para[max(0, s - 12):s], para[e:e + 24])
    return Name(s, e, written, insts, version)


def _version_of_name(before: str, after: str) -> str | None:
    m = _VERSION_AFTER_NAME.match(after)
    if m:
        v = m.group("v")
        return _year(v) or (OLD if "原文" in v else None)
    m = _VERSION_BEFORE_NAME.search(before)
    if m:
        return m.group("year") or (NOW if m.group("now") else OLD)
    return None


def _strip_version(gap: str) -> str:
    """The text between a name and its article, without a version written in it."""
    return _VERSION_BEFORE_ARTICLE.sub("", _VERSION_IN_GAP.sub("", gap))


def scan(body: str, names: Names, first_line: int = 1) -> list[Ref]:
    """Every article reference in ``body``, each with the instrument it points at."""
    refs: list[Ref] = []
    for offset, para in _paragraphs(body):
        refs += _scan_paragraph(para, names, lambda pos, o=offset: first_line + body.count("\n", 0, o + pos))
    return refs


def _scan_paragraph(para: str, names: Names, line_at) -> list[Ref]:
    found: list[Name] = []
    masked = list(para)
    for s, e, inner in _titles(para):
        found.append(_name(para, s, e, names.lookup(inner), inner))
        masked[s:e] = "　" * (e - s)  # full-width spaces: nothing inside a title is scanned again
    plain = "".join(masked)
    for m in names.surface_re.finditer(plain):
        s, e = m.start(), m.end()
        # A longer name ending here that resolves loosely wins over an abbreviation inside it.
        run = _CJK_RUN.search(plain[max(0, s - 16):s])
        if run:
            for k in range(len(run.group(0))):
                longer = run.group(0)[k:] + m.group(0)
                # (和执行程序解释 folds to the same key as 执行程序解释: a joining word, not a name.)
                if name_key(longer) != name_key(m.group(0)) and names.lookup(longer):
                    s -= len(run.group(0)) - k
                    break
        found.append(_name(para, s, e, names.lookup(para[s:e])))

    arts = [m for m in ARTICLE_RE.finditer(plain) if not _MEASURE_NOUNS.match(plain, m.end())]
    # A name right before an article that no catalogue form matched: resolve it loosely, or
    # keep it as an unknown name so that its articles are not pinned on another instrument.
    for m in arts:
        prev_end = max((n.end for n in found if n.end <= m.start()), default=0)
        stem = _strip_version(plain[prev_end:m.start()])
        if prev_end and _NAME_GAP.match(stem):
            continue
        run = _CJK_RUN.search(stem)
        if not run or _ANAPHOR.search(run.group(0)) or not _NAME_SUFFIX.search(run.group(0)):
            continue
        word, start = run.group(0), prev_end + run.start()
        # "第三十四条规定第三十一条": the name can only start after the last article number.
        cut = list(re.finditer(rf"第{_N}[条款项]", word))
        if cut:
            start += cut[-1].end()
            word = word[cut[-1].end():]
            if not word or _ANAPHOR.search(word) or not _NAME_SUFFIX.search(word):
                continue
        for k in range(max(0, len(word) - 40), len(word) - 1):
            if names.lookup(word[k:]):
                s, e = start + k, start + len(word)
                found.append(_name(para, s, e, names.lookup(word[k:])))
                break
        else:
            name = (_LEAD.sub("", word) or word)[-14:]
            if name not in _GENERIC:  # "条例第二十三条" points back, like 同法
                e = start + len(word)
                found.append(Name(e - len(name), e, name, [], None))
    found.sort(key=lambda n: n.start)

    paths = _note_paths(plain)
    refs: list[Ref] = []
    runs: list[list[Ref]] = []
    prev_end = None
    for m in arts:
        try:
            numbers, paras = _numbers(m.group("nums")), _numbers(m.group("para"))
            sub = to_int(m.group("sub")) if m.group("sub") else None
        except ValueError:
            continue  # not a numeral we can read
        # The nearest name before it. A name inside a numbering note does not take over from a
        # name outside it ("和解规定第十条（该规定所称民诉法第二百三十九条是2017年版条号……）；
        # 第十一条" still means 和解规定); an ordinary aside does ("……（民诉法解释第五百一十九条）。
        # 超过六个月的，第五百一十九条不再适用").
        here = paths[m.start()]
        before = [n for n in found if n.end <= m.start()]
        outside = [n for n in before if here[:len(paths[n.start])] == paths[n.start]]
        name = (outside or before or [None])[-1]
        head = plain[max(0, m.start() - 24):m.start()]
        if name is not None and _NAME_GAP.match(_strip_version(plain[name.end:m.start()])):
            how = "named"
        elif _ANAPHOR.search(_strip_version(head).rstrip("“\"「（( ")):
            how = "anaphor"
        else:
            how = "bare"
        ref = Ref(line_at(m.start()), m.group(0), name, how, numbers, sub, paras)
        vb = _VERSION_BEFORE_ARTICLE.search(head)
        if vb:
            ref.explicit = True
            ref.version = (vb.group("year") or vb.group("year2")
                           or ((_year(vb.group("now")) or NOW) if vb.group("now") else OLD))
        gap = plain[prev_end:m.start()] if prev_end is not None else None
        joined = gap is not None and bool(_LIST_GAP.match(gap))
        if joined and runs:
            if re.fullmatch(r"\s*[至到]\s*", gap):  # 第二百五十三条至第二百五十五条
                ref.numbers = _between(runs[-1][-1].numbers[-1], numbers[0]) + ref.numbers
            runs[-1].append(ref)
        else:
            runs.append([ref])
        va = _VERSION_AFTER_ARTICLE.match(plain, m.end())
        if va:
            # 第一百一十一条、第一百一十四条为2012年版条号: the note covers the whole list.
            for r in runs[-1]:
                r.version, r.explicit = va.group("year") or OLD, True
        prev_end = m.end()
        refs.append(ref)
    for run in runs:
        carried = None
        for r in run:
            if r.explicit:
                carried = r.version
            elif carried is not None:
                r.version, r.explicit = carried, True
    for r in refs:
        if not r.explicit and r.name is not None:
            r.version = r.name.version
    return refs


# --- checking --------------------------------------------------------------------------

@dataclass
class Finding:
    level: str
    line: int
    message: str


def _label(n: int, sub: int | None) -> str:
    return f"第{to_chinese(n)}条" + (f"之{to_chinese(sub)}" if sub else "")


def _key(n: int, sub: int | None) -> str:
    return f"{n}-{sub}" if sub else str(n)


def _in_force(i: Instrument) -> bool:
    """Current, or of unverified validity with nothing replacing it (no other text to prefer)."""
    return i.is_current or not i.superseded_by


@dataclass
class Checker:
    """Checks the bodies of entries against one catalogue."""

    catalogue: Catalogue
    names: Names = field(init=False)

    def __post_init__(self):
        self.names = Names(self.catalogue)

    def check_body(self, body: str, legal_basis: list[Citation], first_line: int = 1) -> list[Finding]:
        listed = set()
        for c in legal_basis:
            inst = self.catalogue.resolve(c)
            if inst is not None:
                listed.add((inst.id, c.article_key))
        out: list[Finding] = []
        seen: set[tuple] = set()

        def add(level, line, message, key=None):
            k = key or (level, message)
            if k not in seen:
                seen.add(k)
                out.append(Finding(level, line, message))

        for ref in scan(body, self.names, first_line):
            self._check_ref(ref, listed, add)
        return out

    def _check_ref(self, ref: Ref, listed: set, add) -> None:
        name = ref.name
        if name is None:
            if ref.explicit and ref.version != NOW:
                return  # "原文引用的是2017年版第二百二十六条" with nothing named: a numbering note
            add(WARNING, ref.line, f"正文的“{ref.written}”前面同一段没有写明是哪个文件的条文，无法核验；"
                                   f"请写明文件简称，如“民诉法{ref.written}”")
            return
        if not name.insts:
            add(WARNING, ref.line, f"正文中的“{name.written}{ref.written}”：引用目录中没有“{name.written}”，"
                                   f"无法核验{self.names.hint(name.written)}", key=("unknown", name.written))
            return
        family = self.names.family(name.insts)
        version = ref.version
        if version == OLD:
            return  # an older text, no year: the numbering cannot be checked and is no basis
        if version and version != NOW:
            members = [i for i in family if _year(i.version) == version]
            if not members:
                return  # a version the catalogue does not hold (2017年版民诉法): a note only
            inst = members[0]
            if not _in_force(inst):
                for n in ref.numbers:  # an old text's numbering: it must exist there, no basis needed
                    self._exists(inst, ref, n, add, versioned=True)
                return
        else:
            current = [i for i in family if i.is_current]
            named_current = [i for i in name.insts if _in_force(i)]
            if not named_current and current and version != NOW:
                old = name.insts[0]
                add(ERROR, ref.line,
                    f"正文引用的《{old.name}》（{old.version}）{old.status}，现行文本是《{current[0].name}》"
                    f"（{current[0].version}）；不能当作现行规定引用，确需引用旧文本的条号，请写明版本"
                    f"（如“{_year(old.version) or ''}年原文{ref.written}”）", key=("old", old.id))
                return
            inst = current[0] if version == NOW and current else (named_current or current or name.insts)[0]
        if inst.articles == "unknown" or inst.article_keys() is None:
            add(WARNING, ref.line, f"正文引用的《{inst.name}》{ref.written}无法核验：目录未收录该文件的条号"
                                   "（原文未收录）；请核对官方文本，或不写条号", key=("unknown-text", inst.id, ref.written))
            return
        for n in ref.numbers:
            if not self._exists(inst, ref, n, add) or (inst.id, _key(n, ref.sub)) in listed:
                continue
            canonical = Citation(inst.name, None, n, ref.sub).canonical()
            shown = f"“{name.written}{_label(n, ref.sub)}”" if ref.how == "named" else \
                f"“{_label(n, ref.sub)}”{_nearest(ref, n)}"
            add(WARNING, ref.line, f"正文引用了{shown}，legal_basis 没有列出；请补上“{canonical}”",
                key=("missing", inst.id, n, ref.sub))

    def _exists(self, inst: Instrument, ref: Ref, n: int, add, versioned: bool = False) -> bool:
        """Whether article n of ref exists in inst; an error when it does not."""
        keys = inst.article_keys() or set()
        if _key(n, ref.sub) in keys:
            return True
        label = _label(n, ref.sub)
        count = to_chinese(int(inst.articles.get("count") or 0))
        if versioned:
            what = f"《{inst.name}》（{inst.version}）没有{label}（该版本共{count}条）"
        else:
            what = f"《{inst.name}》没有{label}（现行文本{inst.version and '（' + inst.version + '）'}共{count}条）"
        hint = ""
        if not versioned:
            older = [i for i in self.names.family([inst])
                     if i is not inst and _key(n, ref.sub) in (i.article_keys() or set())]
            if older:
                hint = (f"；{label}只在《{older[0].name}》（{older[0].version}）中有，引用旧版本条号的，"
                        f"请写明版本，如“{_year(older[0].version) or ''}年版{label}”")
        add(ERROR, ref.line, f"正文引用的{what}{_nearest(ref, n)}{hint}",
            key=("missing-article", inst.id, inst.version, n, ref.sub))
        return False


def _nearest(ref: Ref, n: int) -> str:
    """How a bare article was read, for messages."""
    if ref.how == "named":
        return ""
    return (f"（按就近规则，“{_label(n, ref.sub)}”指同一段前面最近提到的“{ref.name.written}”；"
            "如指其他文件，请写明文件名）")


def _answer_line(entry) -> int:
    """The file line where the stripped answer starts (blank lines after --- are dropped)."""
    try:
        text = entry.path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return entry.body_line
    i = text.find(entry.answer[:200])
    return text.count("\n", 0, i) + 1 if i >= 0 else entry.body_line


def problems(kbase, entries) -> list[Problem]:
    """check.py's view: every body-citation finding of every entry, with file and line."""
    checker = Checker(kbase.catalogue)
    out = []
    for e in entries:
        for f in checker.check_body(e.answer, e.citations, _answer_line(e)):
            out.append(Problem(rel(e.path, kbase.root), f.line, f.level, f.message))
    return out
