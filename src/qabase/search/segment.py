"""Chinese segmentation with jieba and the legal user dictionary, and query analysis.

Engine-neutral: this module knows jieba but not Whoosh. The index stores the terms it
produces; search analyses queries with it, so both sides always agree.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field

from ..content.catalogue import Catalogue
from ..content.citations import QUERY_ARTICLE_RE, normalise_name
from ..content.numerals import to_int

MAX_QUERY_CHARS = 200
# Terms made only of these are not worth searching for.
_WORDLIKE = re.compile(r"[\w]", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Lone surrogates cannot be encoded anywhere downstream.
_SURROGATE = re.compile(r"[\ud800-\udfff]")

SUBTERM_WEIGHT = 0.4
# Inside a group (a typed word and what it brought in), a synonym counts as the word itself
# would: an entry saying 终结本次执行程序 answers the typed 终本.
SYNONYM_WEIGHT = 1.0
# A colloquial phrase's expansion is a guess at what was meant: below what was typed.
LEXICON_WEIGHT = 0.6
# Each query bigram in the bigram field: recall where segmentation differs, never enough to
# outrank a word matched in a question or alias.
BIGRAM_WEIGHT = 0.25
# A character of an unknown word (its characters fell apart): far below a word.
FRAGMENT_WEIGHT = 0.3
SINGLES_AS_CHARACTERS = True
# A homophone correction counts a little less than the word a judge actually typed.
CORRECTION_WEIGHT = 0.8


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits to half-width), lower case, no control characters."""
    text = _SURROGATE.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    return _CONTROL.sub(" ", text).lower()


class Segmenter:
    """jieba with the knowledge base's user dictionary, initialised on first use."""

    def __init__(self, userdict: list[tuple[str, int | None, str | None]], extra_words=()):
        self._userdict = list(userdict)
        self._extra = [w for w in extra_words if w]
        self._tk = None
        self._cutter = None

    @property
    def tokenizer(self):
        if self._tk is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            tk.initialize()
            for word, freq, tag in self._userdict:
                tk.add_word(normalise(word), freq, tag)
            for word in self._extra:
                tk.add_word(normalise(word))
            self._tk = tk
        return self._tk

    @property
    def cutter(self) -> "DagCutter":
        """jieba's algorithm over jieba's dictionary (with the user words), run by qabase's
        own loop: the same cuts as ``Tokenizer.tokenize(mode="search", HMM=False)``
        (tests/test_segment.py compares them) at about twice the speed, which is most of a
        full build's time."""
        if self._cutter is None:
            tk = self.tokenizer
            self._cutter = DagCutter.from_freq(tk.FREQ, tk.total)
        return self._cutter

    def spans(self, text: str):
        """(term, start, end) in search mode: whole words plus the dictionary words inside them.
        Offsets are characters in the normalised text."""
        return self.cutter.spans(normalise(text))

    def terms(self, text: str) -> list[str]:
        return [w for w, _, _ in self.spans(text)]

    def vocabulary(self, words) -> tuple[dict[str, int], int]:
        """Frequencies of ``words`` (the index's terms plus the kb word lists) and of every
        single character jieba knows, with jieba's total: enough for VocabSegmenter to cut
        queries as jieba would, without loading jieba's 350,000-word dictionary."""
        tk = self.tokenizer
        if getattr(self, "_chars", None) is None:
            # A scan of 350,000 entries (0.1 s): once per process, not once per build or update.
            self._chars = {w: f for w, f in tk.FREQ.items() if len(w) == 1 and f}
        freq = dict(self._chars)
        for w in words:
            f = tk.FREQ.get(w)
            if f:
                freq[w] = f
        for word, f, _ in self._userdict:
            w = normalise(word)
            freq[w] = tk.FREQ.get(w) or f or 1
        for w in self._extra:
            w = normalise(w)
            freq[w] = tk.FREQ.get(w) or 1
        return freq, tk.total


_RE_HAN = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+)")
_RE_SKIP = re.compile(r"(\r\n|\s)")
_RE_ENG = re.compile(r"[a-zA-Z0-9]")


_MISSING = object()


class DagCutter:
    """jieba's dictionary segmentation: a DAG of the dictionary words at each position, the
    most probable route through it (no HMM), then search mode's two- and three-character
    dictionary words inside longer words. Built from a mapping like jieba's ``FREQ`` (every
    dictionary word to its frequency, every proper prefix of one to 0) by ``from_freq``.

    Scores are computed with exactly jieba's float operations, ties go to the longer word as
    in jieba's ``max`` over (score, end), so the cuts are identical."""

    def __init__(self, table: dict[str, float | None], total: int):
        import math

        # One lookup per DAG step: log(freq) - log(total) for a word (jieba's exact float
        # operations), None for a proper prefix of one, absent otherwise.
        self.table = table
        self.total = total
        self.logtotal = math.log(total)

    @classmethod
    def from_freq(cls, known: dict[str, int], total: int) -> "DagCutter":
        from math import log

        logtotal = log(total)
        return cls({w: (log(f) - logtotal if f else None) for w, f in known.items()}, total)

    def _cut_block(self, s: str):
        n = len(s)
        get = self.table.get
        missing = _MISSING
        single = 0.0 - self.logtotal  # jieba's log(FREQ.get(c) or 1) - logtotal for an unknown c
        score = [0.0] * (n + 1)
        end = list(range(n + 1))
        for idx in range(n - 1, -1, -1):
            best, bx = None, idx
            i = idx
            frag = s[idx]
            while i < n:
                p = get(frag, missing)
                if p is missing:
                    break
                if p is not None:
                    v = p + score[i + 1]
                    if best is None or v >= best:  # a tie goes to the later end, as in max()
                        best, bx = v, i
                i += 1
                frag = s[idx:i + 1]
            if best is None:
                best = single + score[idx + 1]
            score[idx], end[idx] = best, bx
        x, buf = 0, ""
        while x < n:
            y = end[x] + 1
            word = s[x:y]
            if len(word) == 1 and _RE_ENG.match(word):
                buf += word
            else:
                if buf:
                    yield buf
                    buf = ""
                yield word
            x = y
        if buf:
            yield buf

    def _cut(self, text: str):
        for blk in _RE_HAN.split(text):
            if not blk:
                continue
            if _RE_HAN.match(blk):
                yield from self._cut_block(blk)
            else:
                for part in _RE_SKIP.split(blk):
                    if _RE_SKIP.match(part):
                        yield part
                    else:
                        yield from part

    def spans(self, text: str):
        """(term, start, end) of already normalised text; whitespace and punctuation dropped."""
        for word, start, end in self._search_mode(text):
            word = word.strip()
            if word and _WORDLIKE.search(word):
                yield word, start, end

    def _search_mode(self, text: str):
        # jieba's tokenize(mode="search"): the dictionary's two- and three-character words
        # inside a longer word, then the word itself.
        get = self.table.get
        start = 0
        for w in self._cut(text):
            width = len(w)
            if width > 2:
                for i in range(width - 1):
                    if get(w[i:i + 2]) is not None:
                        yield w[i:i + 2], start + i, start + i + 2
            if width > 3:
                for i in range(width - 2):
                    if get(w[i:i + 3]) is not None:
                        yield w[i:i + 3], start + i, start + i + 3
            yield w, start, start + width
            start += width


class VocabSegmenter:
    """jieba's segmentation (DagCutter) over a small vocabulary saved with the index. The
    search path uses it so that a cold ``qabase search`` never imports jieba.

    Saved with marshal, DAG table included: every cold search loads it, and parsing text and
    taking logarithms of tens of thousands of words would cost more than the search."""

    FORMAT = 2

    def __init__(self, freq: dict[str, int], cutter: DagCutter):
        self.freq = freq
        self.total = cutter.total
        self.source = None  # (generation, engine commit) the vocabulary was read from
        self.cutter = cutter

    @staticmethod
    def _cutter(freq: dict[str, int], total: int) -> DagCutter:
        known: dict[str, int] = {}
        for w in freq:
            for i in range(1, len(w)):
                known.setdefault(w[:i], 0)
        known.update(freq)
        return DagCutter.from_freq(known, total)

    @classmethod
    def load(cls, path) -> "VocabSegmenter":
        with open(path, "rb") as f:
            return cls.parse(f.read())

    @classmethod
    def parse(cls, data: bytes) -> "VocabSegmenter":
        import marshal

        try:
            fmt, total, freq, table = marshal.loads(data)
        except (EOFError, ValueError, TypeError) as e:
            raise ValueError(f"词表无法读取：{e}") from None
        if fmt != cls.FORMAT or not isinstance(freq, dict) or not isinstance(table, dict):
            raise ValueError("词表格式不符")
        return cls(freq, DagCutter(table, total))

    @staticmethod
    def dump(freq: dict[str, int], total: int) -> bytes:
        import marshal

        freq = {w: n for w, n in freq.items() if "\t" not in w and "\n" not in w}
        table = VocabSegmenter._cutter(freq, total).table
        return marshal.dumps((VocabSegmenter.FORMAT, total, freq, table), 4)

    def spans(self, text: str):
        return self.cutter.spans(normalise(text))

    def terms(self, text: str) -> list[str]:
        return [w for w, _, _ in self.spans(text)]

    def vocabulary(self, words) -> tuple[dict[str, int], int]:
        """Its own words: it cannot produce any other."""
        return dict(self.freq), self.total


@dataclass
class QueryTerm:
    text: str
    weight: float  # within its group: 1.0 for the word itself, less for what it brought in
    origin: str  # "query", "part" (inside a longer query word), "synonym", "lexicon", "correction", "bigram"
    source: str | None = None  # the query text that brought it in (synonyms, lexicon, corrections)
    group: int = 0  # terms of one group are scored as one term (see QueryPlan.groups)


@dataclass
class QueryPlan:
    query: str
    terms: list[QueryTerm] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)  # citation keys, as indexed
    citation_labels: list[str] = field(default_factory=list)
    truncated: bool = False
    corrections: list[dict] = field(default_factory=list)  # [{"from": "中本", "to": "终本"}]
    corrected_query: str | None = None
    group_weights: dict[int, float] = field(default_factory=dict)
    # Per group, the word it is shown as: the knowledge base's own (canonical) word.
    labels: dict[int, str] = field(default_factory=dict)
    # Words of the query the index does not know (their characters fell apart).
    unknown: list[str] = field(default_factory=list)
    # Question words and particles left out of the search (有什么, 怎么办).
    stopped: list[str] = field(default_factory=list)
    # Set by retrieval: what the best entry covers of the query (search.confidence).
    evidence: dict = field(default_factory=dict)

    def groups(self) -> list[tuple[float, list[QueryTerm]]]:
        """(weight, members) per group. A typed word and its synonyms, lexicon phrases or
        correction form one group, scored as Lucene's SynonymQuery scores: as if every member
        were the typed word, with one idf for the group and term frequencies summed. So what
        was added to a word never outweighs the word itself."""
        by: dict[int, list[QueryTerm]] = {}
        for t in self.terms:
            by.setdefault(t.group, []).append(t)
        return [(self.group_weights.get(g, 1.0), ms) for g, ms in by.items()]

    @property
    def searched_as(self) -> list[str]:
        """What was searched, in the knowledge base's own words: per group of a typed word,
        the member the entries use most (限高 rather than 老赖); bigrams are not words."""
        out = []
        for _, members in self.groups():
            if members[0].origin in ("part", "bigram", "character"):
                continue
            label = self.labels.get(members[0].group, members[0].text)
            if label not in out:
                out.append(label)
        return out + [c for c in self.citation_labels if c not in out]

    @property
    def searched_terms(self) -> list[dict]:
        """Every term searched, with its effective weight and where it came from."""
        gw = self.group_weights
        return [{"text": t.text, "weight": round(gw.get(t.group, 1.0) * t.weight, 3), "origin": t.origin,
                 **({"from": t.source} if t.source else {})} for t in self.terms]

    @property
    def empty(self) -> bool:
        return not self.terms and not self.citations


def cjk_bigrams(text: str) -> list[str]:
    """Overlapping bigrams of every run of CJK characters (a lone character is left out: it
    carries too little to search on). What the bigram field indexes and queries."""
    out = []
    for run in _CJK_RUN.findall(text):
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return out


_BARE_NUMBER = re.compile(r"(?<=[\u4e00-\u9fff])(?P<article>\d{1,4})(?![\d条])")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")


class QueryAnalyzer:
    def __init__(self, segmenter: Segmenter, synonyms: list[list[str]], stopwords, catalogue: Catalogue,
                 homophones=None, lexicon=None):
        self.segmenter = segmenter
        self._homophones = homophones  # a Homophones, or a callable that loads it on first need
        self.stopwords = frozenset(normalise(w) for w in stopwords)
        self.groups: dict[str, list[str]] = {}
        self.canonical: dict[str, str] = {}  # word -> the first (canonical) word of its line
        for group in synonyms:
            members = [normalise(w) for w in group]
            for m in members:
                self.canonical.setdefault(m, members[0])
            for m in members:
                self.groups.setdefault(m, [])
                for other in members:
                    if other != m and other not in self.groups[m]:
                        self.groups[m].append(other)
        self.lexicon = lexicon or []  # [(says, means, when)], see kb.load_lexicon
        self.catalogue = catalogue
        self._names = None

    def _load_names(self):
        if self._names is None:
            if callable(self.catalogue):  # loaded only when a query looks like a citation
                self.catalogue = self.catalogue()
            self._names = self.catalogue.names_for_queries()

    def _find_citations(self, text: str):
        from ..content.catalogue import citation_key
        from ..content.citations import Citation

        keys, labels, spans = [], [], []
        compact = re.sub(r"[\s《》〈〉<>]", "", text)
        matches = list(QUERY_ARTICLE_RE.finditer(compact))
        if matches:
            self._load_names()
        for m in matches:
            before = compact[: m.start()]
            for name, inst in self._names:
                if before.endswith(name):
                    try:
                        art = to_int(m["article"])
                        sub = to_int(m["sub"]) if m["sub"] else None
                    except ValueError:
                        break
                    c = Citation(inst.name, None, art, sub)
                    keys.append(citation_key(self.catalogue, c))
                    labels.append(c.canonical())
                    spans.append((m.start() - len(name), m.end()))
                    break
        # The loose forms ``qabase law`` accepts: a name followed directly by an Arabic
        # article number, without 第 or 条 (民诉法 237, 民事诉讼法237, 执行工作规定74).
        for m in _BARE_NUMBER.finditer(compact):
            if any(a <= m.start() < b for a, b in spans):
                continue
            self._load_names()
            before = compact[: m.start()]
            for name, inst in self._names:
                if before.endswith(name):
                    c = Citation(inst.name, None, int(m["article"]), None)
                    keys.append(citation_key(self.catalogue, c))
                    labels.append(c.canonical())
                    spans.append((m.start() - len(name), m.end()))
                    break
        return keys, labels, spans, compact

    def analyse(self, query: str) -> QueryPlan:
        plan = QueryPlan(query=query)
        text = normalise(query or "").strip()
        if len(text) > MAX_QUERY_CHARS:
            text = text[:MAX_QUERY_CHARS]
            plan.truncated = True
        if not text:
            return plan
        keys, labels, spans, compact = self._find_citations(text)
        plan.citations, plan.citation_labels = keys, labels
        if spans:
            # Words of a recognised citation would only add noise ("第", "条", numbers).
            kept, last = [], 0
            for s, e in spans:
                kept.append(compact[last:s])
                last = e
            kept.append(compact[last:])
            text = " ".join(kept)
        spans_ = list(self.segmenter.spans(text))
        whole = []
        for w, s, e in spans_:
            if not any(s2 <= s and e <= e2 and (s2, e2) != (s, e) for _, s2, e2 in spans_):
                whole.append((w, s, e))
        fixes = self._corrections(text, whole)
        inside = lambda s, e: any(a <= s and e <= b for a, b, _ in fixes)  # noqa: E731
        seen: set[str] = set()
        counter = iter(range(1, 1 << 30))

        def new_group(weight: float) -> int:
            g = next(counter)
            plan.group_weights[g] = weight
            return g

        # Consecutive single characters are what an unknown word falls apart into (离、婚;
        # 宇、宙): searched one by one they match nearly every entry. They are left to the bigram
        # field. A character standing alone between words (把房子"封"了) is a word of its own.
        singles = [i for i, (w, s, e) in enumerate(whole) if len(w) == 1 and not w.isascii()]
        fragment = {whole[i][1] for i in singles
                    if (i - 1 in singles and whole[i - 1][2] == whole[i][1])
                    or (i + 1 in singles and whole[i + 1][1] == whole[i][2])}
        # The unknown words themselves (runs of fragment characters), for confidence; a run
        # that was corrected to a known word is not unknown.
        run, start = "", 0
        for w, s, e in whole + [("", len(text) + 1, len(text) + 1)]:
            if s in fragment and (not run or s == start + len(run)):
                start = s if not run else start
                run += w
                continue
            if len(run) >= 2 and not inside(start, start + len(run)):
                plan.unknown.append(run)
            run, start = (w, s) if s in fragment else ("", 0)
        for w, s, e in spans_:
            if w in self.stopwords and w not in plan.stopped:
                plan.stopped.append(w)
            if w in self.stopwords or w in seen:
                continue
            if s in fragment or (len(w) == 1 and not w.isascii() and SINGLES_AS_CHARACTERS):
                # Kept far below a word: they tell apart entries that match no word, and the
                # typo of a word the index has only as characters (暗号 for 案号). A lone
                # character between words (今/天天/气) is no more a word than these.
                seen.add(w)
                plan.terms.append(QueryTerm(w, 1.0, "character", group=new_group(FRAGMENT_WEIGHT)))
                if s not in fragment and not inside(s, e):
                    plan.unknown.append(w)
                continue
            is_part = (w, s, e) not in whole
            seen.add(w)
            if inside(s, e):
                # A word inside a mistyped span: kept, but far below the correction.
                plan.terms.append(QueryTerm(w, 1.0, "part", group=new_group(SUBTERM_WEIGHT / 2)))
                continue
            origin = "part" if is_part else "query"
            plan.terms.append(QueryTerm(w, 1.0, origin, group=new_group(SUBTERM_WEIGHT if is_part else 1.0)))
        corrected = text
        for a, b, term in sorted(fixes, reverse=True):
            corrected = corrected[:a] + term + corrected[b:]
            plan.corrections.insert(0, {"from": text[a:b], "to": term})
            if term not in seen:
                seen.add(term)
                plan.terms.append(QueryTerm(term, 1.0, "correction", text[a:b], group=new_group(CORRECTION_WEIGHT)))
        if fixes:
            plan.corrected_query = corrected
        for t in list(plan.terms):
            if t.origin not in ("query", "correction"):
                continue
            plan.labels[t.group] = self.canonical.get(t.text, t.text)
            for syn in self.groups.get(t.text, ()):
                if syn not in seen:
                    seen.add(syn)
                    plan.terms.append(QueryTerm(syn, SYNONYM_WEIGHT, "synonym", t.text, group=t.group))
        self._expand_lexicon(plan, corrected, seen, new_group)
        # (Leaving question words out of the bigrams was tried: it lost on both sets.)
        # A query of question words only (吗呢) has nothing to search, bigrams included.
        for bg in dict.fromkeys(cjk_bigrams(corrected) if plan.terms or plan.citations else ()):
            plan.terms.append(QueryTerm(bg, 1.0, "bigram", group=new_group(BIGRAM_WEIGHT)))
        return plan

    def _expand_lexicon(self, plan: QueryPlan, text: str, seen: set, new_group) -> None:
        """Colloquial phrases (kb/colloquial.yaml) add the knowledge base's own terms, weighted
        below what was typed. A phrase's expansion joins the group of a typed word it overlaps
        (so 跑了 and 下落不明 count once); an ambiguous phrase expands only with a fitting neighbour."""
        for says, means, when in self.lexicon:
            if says not in text or (when and not any(w in text for w in when)):
                continue
            # Joined to a typed word of the phrase, the expansion is a member below the word;
            # standing alone, it is a group of its own, weighted below a typed word.
            typed = next((t.group for t in plan.terms if t.origin == "query" and t.text == says), None)
            group, member = (typed, LEXICON_WEIGHT) if typed is not None else (None, 1.0)
            label_typed = typed is not None and plan.labels.get(typed, says) == says
            for m in means:
                spans = list(self.segmenter.spans(m))
                whole = [w for w, a, b in spans if not any(a2 <= a and b <= b2 and (a2, b2) != (a, b) for _, a2, b2 in spans)]
                for w in whole:
                    if len(w) < 2 or w in seen or w in self.stopwords:
                        continue
                    seen.add(w)
                    if group is None:
                        group = new_group(LEXICON_WEIGHT)
                        plan.labels[group] = w
                    elif label_typed:
                        # A typed colloquial word (老赖) is shown as what it means in the
                        # knowledge base's own words.
                        plan.labels[group] = w
                        label_typed = False
                    plan.terms.append(QueryTerm(w, member, "lexicon", says, group=group))

    def _corrections(self, text: str, whole: list) -> list[tuple[int, int, str]]:
        """Spans of the query that are not words of the index but sound like a dictionary
        term: (start, end, term). Only spans that the cut broke into single characters are
        considered, which is what an unknown word looks like; correct words never change."""
        if self._homophones is None or not isinstance(self.segmenter, VocabSegmenter):
            return []
        known = self.segmenter.freq
        out: list[tuple[int, int, str]] = []
        n = len(whole)
        candidates = []
        for i in range(n):
            for j in range(i + 1, min(i + 4, n) + 1):
                window = whole[i:j]
                if any(window[k][2] != window[k + 1][1] for k in range(len(window) - 1)):
                    break
                span = text[window[0][1]:window[-1][2]]
                if not (2 <= len(span) <= 8) or not re.fullmatch(r"[\u4e00-\u9fff]+", span):
                    continue
                if known.get(span):
                    continue
                # A window with a lone character is what an unknown word looks like. Two
                # real words are a candidate too (执行+意义): a typo that is a word itself is
                # caught when, together with its neighbour, it only sounds like a known term.
                if not any(len(w) == 1 for w, _, _ in window) and len(window) < 2:
                    continue
                candidates.append((window[0][1], window[-1][2], span))
        if not candidates:
            return []
        if callable(self._homophones):
            self._homophones = self._homophones()
            if self._homophones is None:
                return []
        for a, b, span in sorted(candidates, key=lambda c: -(c[1] - c[0])):
            if any(a < y and x < b for x, y, _ in out):
                continue
            term = self._homophones.match(span)
            if term:
                out.append((a, b, term))
        return out
