"""Engine-neutral retrieval: filters, hits, and snippets built from qabase's own term
matches, so every engine gives the same snippets."""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from .segment import QueryPlan

SNIPPET_CHARS = 120


@dataclass
class Hit:
    id: str
    topic: str
    question: str
    score: float
    snippet: list[dict]
    legal_basis: list[str]
    batch: int | None
    status: str
    tags: list[str] = field(default_factory=list)
    path: str = ""


@dataclass
class Filters:
    topic: str | None = None
    tag: str | None = None
    batch: int | None = None
    all_status: bool = False

    @property
    def active(self) -> bool:
        return bool(self.topic or self.tag or self.batch is not None)


def run(reader, plan: QueryPlan, filters: Filters, limit: int) -> tuple[int, list[Hit]]:
    """Return (total matching, top ``limit`` hits) from any engine's reader."""
    if plan.empty:
        return 0, []
    from .rerank import DEPTH, rerank

    total, found = reader.search(plan, filters, max(limit, DEPTH))
    ranked = rerank(plan, found)
    found = [(s, d) for s, d, _ in ranked][:limit]
    if ranked:
        from .confidence import coverage

        cov = coverage(plan, ranked[0][1], reader.doc_frequency)
        # Near-exact question/alias overlap is evidence of its own: a short query can cover
        # little of an entry's words and still say exactly what one of its phrasings says.
        plan.evidence = {"coverage": round(cov, 4), "overlap": round(ranked[0][2], 4),
                         "score": round(cov + ranked[0][2], 4)}
    # Only words are highlighted: parts of a longer query word ("执行" in "交叉执行") would
    # light up every line, and single characters and bigrams mean nothing on their own.
    terms = [t.text for t in plan.terms if t.origin not in ("part", "character", "bigram")] or \
        [t.text for t in plan.terms if t.origin == "part"]
    hits = []
    for score, d in found:
        hits.append(Hit(
            id=d["id"], topic=d["topic"], question=d["question"], score=round(score, 3),
            snippet=snippet(d.get("answer_text", ""), terms), legal_basis=list(d.get("legal_basis") or []),
            batch=d.get("batch"), status=d["status"], tags=list(d.get("tags") or []), path=d.get("path", ""),
        ))
    return total, hits


def snippet(text: str, terms: list[str], width: int = SNIPPET_CHARS) -> list[dict]:
    """The window of ``text`` with the most matched terms, as ``{text, match}`` runs."""
    flat = re.sub(r"\s+", " ", text).strip()
    if not flat:
        return []
    low = flat.lower()
    wanted = sorted({t for t in terms if t and len(t) <= 30}, key=len, reverse=True)
    spans = []
    taken = bytearray(len(low))
    for t in wanted:
        start, n = 0, len(t)
        while True:
            i = low.find(t, start)
            if i < 0:
                break
            if 1 not in taken[i:i + n]:
                spans.append((i, i + n))
                taken[i:i + n] = b"\x01" * n
            start = i + 1
    spans.sort()
    if len(flat) <= width:
        lo, hi = 0, len(flat)
    else:
        # Spans never overlap, so sorted by start they are sorted by end too: the spans
        # inside a window are one contiguous run, found by two bisections.
        starts, ends = [a for a, _ in spans], [b for _, b in spans]
        best, lo = -1, 0
        for s, _ in spans or [(0, 0)]:
            begin = max(0, min(s - 20, len(flat) - width))
            n = bisect.bisect_right(ends, begin + width) - bisect.bisect_left(starts, begin)
            if n > best:
                best, lo = n, begin
        hi = lo + width
    runs = []
    pos = lo
    for a, b in spans:
        if b <= lo or a >= hi or a < pos:
            continue
        if a > pos:
            runs.append({"text": flat[pos:a], "match": False})
        runs.append({"text": flat[a:b], "match": True})
        pos = b
    if pos < hi:
        runs.append({"text": flat[pos:hi], "match": False})
    if lo > 0:
        runs.insert(0, {"text": "…", "match": False})
    if hi < len(flat):
        runs.append({"text": "…", "match": False})
    return runs
