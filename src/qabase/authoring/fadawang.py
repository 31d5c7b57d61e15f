"""Reading one published 法答网精选答问 batch into questions, in both layouts it circulates in.

* The court website's layout: ``## 问题N：``, then ``答疑意见：`` and its unprefixed paragraphs,
  then ``咨询人：``/``提问人：`` and ``答疑专家：``/``答疑人：`` lines, ``责任编辑：`` at the end.
  Batches 1–3 have ``点评专家：`` and ``点评意见：`` (a commentary on the answer) instead of the
  asker and the answerer; batch 13 has the asker and the answerer on one line.
* 人民法院报's layout, as scraped into Markdown: the same labels in bold or italics
  (``**答疑意见：**``, ``*咨询人：…*``), ``---`` between items, a quoted metadata block, and in
  a few batches whole items inside leftover HTML (``<strong> 问题1：…``).

The reader is a line-by-line state machine. Each line is first cleaned of what is only
presentation (blockquote markers, HTML formatting tags, emphasis around a label); the label
at its start then decides where the line's text goes. Anything that does not fit the
structure is reported with its line rather than guessed at: an item is never merged into
another, and no text is dropped without a message.

This module knows nothing about entries or the knowledge base; ``importing`` turns the
questions into entries.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from ..content.numerals import to_int

# -- what a line can be -------------------------------------------------------------------------
_BLANKS = " \t\u00a0\u3000\ufeff\u200b"
_SPACES = re.compile(r"[\s\u00a0\u3000\u2002\u2003\u2009\u200b]+")
_NUMBER = r"[0-9０-９]+|[一二三四五六七八九十百零〇两]+"
# "## 问题3：…", "### **问题3：** …", or, without a heading, "问题3：…" (then the colon is
# required, so that a sentence starting with "问题" is not taken for a question).
_QUESTION = re.compile(
    rf"^(?P<hashes>#{{2,6}})?\s*[*_]{{0,3}}\s*问题\s*(?P<num>{_NUMBER})\s*[*_]{{0,3}}\s*(?P<colon>[：:])?"
    rf"\s*[*_]{{0,3}}\s*(?P<text>.*)$")
_TITLE = re.compile(r"^#\s+(.+?)\s*#*$")
_HEADING = re.compile(r"^#{1,6}\s")
# Labels of text (their paragraphs follow) and of people (the rest of the line is the person).
TEXT_LABELS = {"答疑意见": "answer", "点评意见": "commentary"}
PEOPLE_LABELS = {"咨询人": "asked_by", "提问人": "asked_by", "答疑专家": "answered_by",
                 "答疑人": "answered_by", "点评专家": "commented_by", "点评人": "commented_by"}
_LABEL = re.compile(
    r"^[*_]{0,3}\s*(?P<label>" + "|".join(sorted({**TEXT_LABELS, **PEOPLE_LABELS}, key=len, reverse=True))
    + r")\s*[*_]{0,3}\s*[：:]\s*[*_]{0,3}\s*(?P<rest>.*)$")
# A second people label later on the same line (batch 13: "咨询人：… 章鹏在答疑专家：…").
_PEOPLE_INSIDE = re.compile(
    r"(?P<label>" + "|".join(sorted(PEOPLE_LABELS, key=len, reverse=True)) + r")\s*[*_]{0,3}\s*[：:]")
_SEPARATOR = re.compile(r"^([-*_])(\s*\1){2,}$")
_TRAILER = re.compile(r"^[*_]{0,3}\s*责任编辑\s*[*_]{0,3}\s*[：:]")
# A note after the people lines that says where the text comes from, e.g. （来源：人民法院报）.
_SOURCE_NOTE = re.compile(r"^[（(]?\s*(?:稿件)?来源\s*[：:]")
# HTML left over by a scraper. Formatting tags carry no text and are removed; any other tag
# (<script>, <img>…) is kept as the literal text it is, which the renderer escapes.
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)\b[^<>]*?/?>")
FORMAT_TAGS = {"p", "span", "strong", "b", "em", "i", "u", "br", "font", "div", "section", "center",
               "sup", "sub", "small", "big", "strike", "s", "a"}
# How a complete answer ends; a last paragraph ending otherwise was probably cut off.
_ENDINGS = tuple("。！？!?.”’）)」』】…；;")

LABEL_NAMES = {"answer": "答疑意见", "commentary": "点评意见", "asked_by": "咨询人",
               "answered_by": "答疑专家", "commented_by": "点评专家"}


@dataclass
class FadawangQuestion:
    number: str
    line: int
    question: str
    answer: str
    asked_by: str | None
    answered_by: str | None
    commented_by: str | None = None
    commentary: str | None = None
    notes: list[str] = field(default_factory=list)  # source notes found after the people lines


@dataclass
class FadawangBatch:
    title: str
    questions: list[FadawangQuestion]
    rejected: list[tuple[int, str]]  # (line, reason): damaged items, not imported
    warnings: list[tuple[int, str]]  # (line, message): imported, or text left out, but say so
    items: int = 0                   # items found: imported + rejected

    @property
    def found(self) -> int:
        return self.items


def person(text: str) -> str:
    """``单位<U+00A0 and spaces>姓<spaces>名`` → ``单位 姓名``.

    The unit ends at the first run of blanks holding a U+00A0 (or at the first run of blanks
    when there is none); the blanks inside the name are typesetting and dropped."""
    text = text.replace("\u3000", " ").strip(" \u00a0\t")
    runs = list(re.finditer(r"[ \t\u00a0]+", text))
    if not runs:
        return text
    cut = next((r for r in runs if "\u00a0" in r.group(0)), runs[0])
    unit, name = text[: cut.start()], text[cut.end():]
    name = re.sub(r"[ \t\u00a0]+", "", name)
    return f"{unit} {name}" if name else unit


# The last character of a court unit's name: where a unit glued to a name ends.
_UNIT_END = "庭院局室办处部科所组会团队心）)"


def split_glued(text: str) -> str | None:
    """``最高人民法院民事审判第二庭李敬阳`` → ``最高人民法院民事审判第二庭 李敬阳``, or None when
    the text has blanks already or no unit ending leaves a name of two to four characters."""
    if re.search(r"\s", text):
        return None
    for i in range(len(text) - 2, 0, -1):
        name = text[i + 1:]
        # "最高人民法院执行局" is a unit with no name; its tail "执行局" is not a name either.
        if text[i] in _UNIT_END and 2 <= len(name) <= 4 and name[-1] not in _UNIT_END and "法院" not in name:
            return f"{text[: i + 1]} {name}"
    return None


@dataclass
class _Line:
    no: int
    text: str          # cleaned: no quote markers, no formatting tags, no outer blanks
    tags: set          # formatting tags removed from this line
    kept: set          # other tags, kept as text


def _clean(raw: str, no: int) -> _Line:
    s = raw.strip(_BLANKS)
    while s.startswith(">"):  # a Markdown blockquote; the 人民法院报 scrape quotes whole items
        s = s[1:].lstrip(_BLANKS)
    tags, kept = set(), set()

    def drop(m):
        name = m.group(1).lower()
        if name in FORMAT_TAGS:
            tags.add(name)
            return ""
        kept.add(name)
        return m.group(0)

    if "<" in s:
        s = _TAG.sub(drop, s)
        if tags:  # entities only mean something in the HTML the tags came from
            s = html.unescape(s)
    return _Line(no, s.strip(_BLANKS), tags, kept)


def _strip_emphasis(value: str) -> str:
    """``*单位 姓名*`` → ``单位 姓名``: the 人民法院报 layout sets people lines in italics."""
    return value.strip(_BLANKS + "*_").strip(_BLANKS)


def _number(text: str) -> int | None:
    try:
        return to_int(text.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    except ValueError:
        return None


class _Item:
    def __init__(self, number: str, line: int, heading: bool):
        self.number = number
        self.line = line
        self.heading = heading
        self.question: list[str] = []
        self.answer: list[str] = []
        self.commentary: list[str] = []
        self.people: dict[str, str] = {}
        self.seen: dict[str, int] = {}          # label kind → line it first appeared on
        self.merged: list[tuple[int, str]] = []  # (line, kind) of a label seen twice
        self.target: str | None = "question"    # where an unlabelled line goes
        self.html: list[int] = []
        self.tags: set = set()
        self.kept: set = set()
        self.notes: list[str] = []
        self.glued: list[tuple[int, str, str]] = []
        self.text_line: dict[str, int] = {}     # kind → line of its last paragraph


def parse_fadawang(text: str) -> FadawangBatch:
    """Split one published batch into questions; see the module docstring for the layouts.

    Line numbers count ``\\n`` (CRLF and CR line endings are normalised first), as an editor
    shows them."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    title = ""
    items: list[_Item] = []
    warnings: list[tuple[int, str]] = []
    cur: _Item | None = None
    trailer_line = None  # the 责任编辑 line: the batch's own end
    uses_headings = False

    def expected() -> int:
        nums = [_number(i.number) for i in items]
        nums = [n for n in nums if n is not None]
        return (nums[-1] + 1) if nums else 1

    lines = text.split("\n")
    for no, raw in enumerate(lines, 1):
        ln = _clean(raw, no)
        s = ln.text
        if not s:
            if cur is not None and (ln.tags or ln.kept):  # a line of tags only, e.g. "</span></p>"
                cur.html.append(no)
                cur.tags |= ln.tags
            continue

        m = _QUESTION.match(s)
        if m and (m.group("hashes") or m.group("colon")):
            n = _number(m.group("num"))
            want = expected()
            heading = bool(m.group("hashes"))
            # Without a heading, only the next number in sequence starts an item: a paragraph
            # that happens to begin with "问题2：" is text. With one, every heading starts an item.
            if heading or n == want:
                if heading:
                    uses_headings = True
                if n is not None and n != want and items:
                    prev = items[-1].number
                    if n == want - 1 or any(_number(i.number) == n for i in items):
                        warnings.append((no, f"问题编号重复：问题{n} 已出现过（上一个是问题{prev}）"))
                    else:
                        gap = f"问题{want}" if n == want + 1 else f"问题{want}–{n - 1}"
                        warnings.append((no, f"问题编号不接续：问题{prev} 之后是问题{n}，可能缺了{gap}；请核对原文"))
                cur = _Item(str(n) if n is not None else m.group("num"), no, heading)
                if ln.tags or ln.kept:
                    cur.html.append(no)
                    cur.tags |= ln.tags
                    cur.kept |= ln.kept
                first = _SPACES.sub(" ", m.group("text")).strip()
                if first:
                    cur.question.append(first)
                items.append(cur)
                continue
            if cur is not None:
                warnings.append((no, f"这一行以“问题{m.group('num')}：”开头，但编号与上一个问题（问题{cur.number}）"
                                     "不接续，按正文处理；如果它是一个新问题，请补上“## ”并核对编号"))

        if trailer_line is None and _TRAILER.match(s):
            trailer_line = no
            cur = None
            continue
        if cur is None:
            if not title and not items:
                t = _TITLE.match(s)
                if t:
                    title = _SPACES.sub(" ", t.group(1)).strip()
                    continue
            lab = _LABEL.match(s)
            if lab and lab.group("label") in TEXT_LABELS and trailer_line is None:
                # An answer with no question heading before it: the item cannot be told apart
                # from the introduction, so it is reported rather than guessed.
                orphan = _Item("?", no, False)
                orphan.seen["answer"] = no
                orphan.target = None
                items.append(orphan)
                continue
            if trailer_line is not None:
                warnings.append((no, f"“责任编辑”（第 {trailer_line} 行）之后的文字没有导入：{s[:30]}"))
            # Otherwise an introduction (开栏的话, the scrape's metadata): part of no entry.
            continue

        if ln.tags or ln.kept:
            cur.html.append(no)
            cur.tags |= ln.tags
            cur.kept |= ln.kept
        if _SEPARATOR.match(s):
            cur.target = None  # "---" between items is layout, never text of the answer
            continue
        if _HEADING.match(s):
            warnings.append((no, f"问题{cur.number} 中的标题“{s[:20]}”不是“## 问题N：”，没有导入"))
            cur.target = None
            continue
        lab = _LABEL.match(s)
        if lab:
            label, rest = lab.group("label"), lab.group("rest")
            if label in TEXT_LABELS:
                kind = TEXT_LABELS[label]
                if kind in cur.seen:
                    cur.merged.append((no, kind))
                else:
                    cur.seen[kind] = no
                cur.target = kind
                rest = _SPACES.sub(" ", rest).strip()
                if rest:
                    getattr(cur, kind).append(rest)
                    cur.text_line[kind] = no
                continue
            # People: one or more "label：value" on the line.
            parts = []
            pos = [(lab.start("label"), label)]
            pos += [(x.start("label"), x.group("label")) for x in _PEOPLE_INSIDE.finditer(s, lab.end("label"))]
            for k, (start, name) in enumerate(pos):
                end = pos[k + 1][0] if k + 1 < len(pos) else len(s)
                value = re.sub(rf"^{name}\s*[*_]{{0,3}}\s*[：:]", "", s[start:end])
                parts.append((name, _strip_emphasis(value)))
            for name, value in parts:
                kind = PEOPLE_LABELS[name]
                if kind in cur.seen:
                    cur.merged.append((no, kind))
                    continue
                cur.seen[kind] = no
                who = person(value)
                glued = split_glued(who)
                if glued:
                    cur.glued.append((no, who, glued))
                    who = glued
                if who:
                    cur.people[kind] = who
            cur.target = None
            continue
        plain = _SPACES.sub(" ", s).strip()
        if cur.target is None:
            if _SOURCE_NOTE.match(plain):
                cur.notes.append(plain)
            else:
                after = "、".join(LABEL_NAMES[k] for k in ("asked_by", "answered_by", "commented_by") if k in cur.seen)
                where = f"{after}之后" if after else "分隔线之后"
                warnings.append((no, f"问题{cur.number} {where}的这段文字没有并入答复，也没有导入：“{plain[:30]}…”"
                                     "（如属答复，请移到答疑专家之前）"))
            continue
        getattr(cur, cur.target).append(plain)
        cur.text_line[cur.target] = no

    last_content = max((i for i, raw in enumerate(lines, 1) if raw.strip(_BLANKS + ">")), default=1)
    return _finish(title, items, warnings, last_content, trailer_line, uses_headings)


def _finish(title, items, warnings, last_line, trailer_line, uses_headings) -> FadawangBatch:
    questions: list[FadawangQuestion] = []
    rejected: list[tuple[int, str]] = []
    roles = ("asked_by", "answered_by", "commented_by")
    # A role that every other item has is expected of each one; what the batch as a whole
    # lacks (batch 1 has no asker) is the layout, not damage.
    complete = [i for i in items if i.number != "?" and "answer" in i.seen]
    for idx, it in enumerate(items):
        name = f"问题{it.number}" if it.number != "?" else "没有标题的问题"
        if it.number == "?":
            rejected.append((it.line, "“答疑意见：”之前没有“## 问题N：”标题，无法确定问题原文和编号，没有导入；"
                                      "请补上标题后重新导入"))
            continue
        q = "".join(it.question).strip()  # a question broken over lines is one Chinese sentence
        answer = "\n\n".join(it.answer).strip()
        commentary = "\n\n".join(it.commentary).strip()
        others = [o for o in complete if o is not it]
        # An item with a commentary (batches 1–3) has a commentator instead of an asker and
        # an answerer; it is complete without them.
        expect = ("commented_by",) if "commented_by" in it.seen else roles
        missing = [r for r in expect if r not in it.people and others and all(r in o.people for o in others)]
        is_last = idx == len(items) - 1
        if it.merged:
            line, kind = it.merged[0]
            rejected.append((it.line, f"{name}（第 {it.line} 行起）中“{LABEL_NAMES[kind]}”出现了两次（第 "
                                   f"{it.seen[kind]} 行和第 {line} 行）：可能是下一个问题的标题丢失，两个问题连在了一起；"
                                   "没有导入，请核对原文后改正"))
            continue
        if not q:
            rejected.append((it.line, f"{name}：问题原文为空"))
            continue
        cut = is_last and trailer_line is None
        if cut and ("answer" not in it.seen or missing or not any(r in it.people for r in roles)):
            lacks = "、".join(LABEL_NAMES[r] for r in (missing or ("asked_by", "answered_by")))
            if "answer" not in it.seen:
                lacks = "答疑意见"
            rejected.append((it.line, f"{name} 似乎被截断：文件在第 {last_line} 行结束，这个问题没有{lacks}；"
                                      "文件可能不完整，请重新获取完整的文件后导入"))
            continue
        if "answer" not in it.seen:
            what = "只有点评意见，" if "commentary" in it.seen else ""
            rejected.append((it.line, f"{name}：{what}没有找到答疑意见（应以“答疑意见：”开头）"))
            continue
        if not answer:
            rejected.append((it.line, f"{name}：答疑意见（第 {it.seen['answer']} 行）是空的"))
            continue
        if "commentary" in it.seen and not commentary:
            rejected.append((it.line, f"{name}：点评意见（第 {it.seen['commentary']} 行）是空的"))
            continue
        for kind, paras, key in (("答复", it.answer, "answer"), ("点评意见", it.commentary, "commentary")):
            if paras and not paras[-1].endswith(_ENDINGS):
                warnings.append((it.text_line[key], f"{name} 的{kind}最后一段没有以句号等结尾（“…{paras[-1][-15:]}”），"
                                               "可能被截断；请核对原文"))
        if missing:
            warnings.append((it.line, f"{name} 没有{'、'.join(LABEL_NAMES[r] for r in missing)}（本批其他问题都有）"))
        elif not it.people.get("answered_by") and not it.people.get("commented_by"):
            warnings.append((it.line, f"{name} 没有答疑专家（答疑专家：/答疑人：/点评专家：）"))
        if not it.heading and uses_headings and not (it.tags or it.kept):
            warnings.append((it.line, f"{name} 的标题缺少“## ”，已按新问题导入；请核对原文"))
        if it.html:
            lines = "、".join(str(x) for x in it.html[:8]) + ("等" if len(it.html) > 8 else "")
            said = []
            if it.tags:
                said.append(f"去掉了排版标记 {'、'.join(f'<{t}>' for t in sorted(it.tags))}，保留其中的文字")
            if it.kept:
                said.append(f"{'、'.join(f'<{t}>' for t in sorted(it.kept))} 不是排版标记，按原文文字保留")
            warnings.append((it.line, f"{name} 含有 HTML 标记（第 {lines} 行）：{'；'.join(said)}；请核对"))
        for line, raw, split in it.glued:
            warnings.append((line, f"{name}：“{raw}”的单位与姓名之间没有空白，按“{split}”拆分；请核对"))
        questions.append(FadawangQuestion(
            it.number, it.line, q, answer, it.people.get("asked_by"), it.people.get("answered_by"),
            it.people.get("commented_by"), commentary or None, list(it.notes)))
    if not title:
        warnings.append((1, "没有“# ”标题，来源只记为“法答网精选答问”"))
        title = "法答网精选答问"
    warnings.sort(key=lambda w: w[0])
    rejected.sort(key=lambda r: r[0])
    return FadawangBatch(title, questions, rejected, warnings, items=len(items))
