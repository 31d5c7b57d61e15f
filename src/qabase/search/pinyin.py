"""Homophones of the pinyin input method: 中本 typed for 终本, 据执 for 拒执.

The table is built once per index generation with pypinyin (at index time only: importing
it costs about 0.3 s) and stored beside the index; searching reads it without pypinyin.
Syllables are compared toneless with the usual fuzzy pairs (zh/z, ch/c, sh/s, an/ang,
en/eng, in/ing), so a slip of the finger between them still finds the term.
"""
from __future__ import annotations

import itertools
import re
import unicodedata

FILE = "pinyin.tsv"
MAX_READINGS = 64


def fuzzy(syllable: str) -> str:
    s = syllable.lower().replace("ü", "v")
    s = re.sub(r"^([zcs])h", r"\1", s)
    return re.sub(r"(an|en|in)g$", r"\1", s)


def _toneless(reading: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))


def build_table(terms) -> bytes:
    """Lines ``#term<TAB>word<TAB>key`` for the legal terms, then ``char<TAB>readings`` for
    every CJK character pypinyin knows."""
    from pypinyin import Style, lazy_pinyin
    from pypinyin.pinyin_dict import pinyin_dict

    lines = []
    for t in sorted({t for t in terms if len(t) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", t)}):
        key = " ".join(fuzzy(s) for s in lazy_pinyin(t, style=Style.NORMAL))
        lines.append(f"#term\t{t}\t{key}")
    if not _CHAR_LINES:  # the same 21,000 characters for every build: worked out once per process
        for code, readings in pinyin_dict.items():
            if 0x4E00 <= code <= 0x9FFF:
                rs = sorted({fuzzy(_toneless(r)) for r in readings.split(",")})
                _CHAR_LINES.append(f"{chr(code)}\t{','.join(rs)}")
    lines.extend(_CHAR_LINES)
    return ("\n".join(lines) + "\n").encode("utf-8")


_CHAR_LINES: list[str] = []


class Homophones:
    """Finds dictionary terms that sound like a span of the query."""

    def __init__(self, data: bytes):
        self.by_key: dict[str, list[str]] = {}
        self.lengths: set[int] = set()
        text = data.decode("utf-8")
        # The legal terms come first and are few; the 21,000 character lines after them are
        # looked up one character at a time (a query needs a few dozen), not parsed whole.
        pos = 0
        while text.startswith("#term\t", pos):
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            _, term, key = text[pos:end].split("\t")
            self.by_key.setdefault(key, []).append(term)
            self.lengths.add(len(term))
            pos = end + 1
        self._chars = "\n" + text[pos:]
        self._readings: dict[str, list[str] | None] = {}

    def readings(self, ch: str) -> list[str] | None:
        if ch in self._readings:
            return self._readings[ch]
        found = None
        if ch not in "\t\n":
            i = self._chars.find(f"\n{ch}\t")
            if i >= 0:
                start = i + len(ch) + 2
                end = self._chars.find("\n", start)
                found = self._chars[start:end if end >= 0 else None].split(",")
        self._readings[ch] = found
        return found

    def keys(self, span: str):
        options = [self.readings(c) for c in span]
        if any(o is None for o in options):
            return
        for combo in itertools.islice(itertools.product(*options), MAX_READINGS):
            yield " ".join(combo)

    def match(self, span: str) -> str | None:
        """The dictionary term that sounds like ``span`` (and is not ``span``), if exactly one does."""
        if len(span) not in self.lengths:
            return None
        found = []
        for key in self.keys(span):
            for term in self.by_key.get(key, ()):
                if term != span and len(term) == len(span) and term not in found:
                    found.append(term)
        # Prefer the term sharing most characters with what was typed.
        found.sort(key=lambda t: -sum(a == b for a, b in zip(t, span)))
        return found[0] if found else None
