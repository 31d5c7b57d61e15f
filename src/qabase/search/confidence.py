"""How sure a search is that the knowledge base answers it: ``high``, ``low`` or ``none``.

Not a score threshold: BM25 scores grow with the length of the query, so an off-domain
sentence can outscore a correctly answered two-word query. What tells an answer from a near
miss is how much of the query's informative content the best entry actually contains. Each
word of the query counts by its idf; a word no entry contains counts as the most informative
of all (it is what the knowledge base does not know). Confidence is the share of that
weight found in the best entry's question, other phrasings, tags and answer (coverage),
plus how nearly the query says one of that entry's phrasings (search.rerank.overlap).

The cut-offs are calibrated per engine by ``benchmarks/calibrate.py`` on the golden set plus
a seeded half of the blind set, and read from ``kb/confidence.yaml``.
"""
from __future__ import annotations

import math

LEVELS = ("high", "low", "none")
FILE = "confidence.yaml"
# Until a knowledge base has calibrated its own (kb/confidence.yaml).
DEFAULT_CUTOFFS = {"low": 0.4, "none": 0.25}
# How much a word no entry contains weighs, relative to the rarest word the index has.
UNKNOWN_FACTOR = 0.3


def _idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def coverage(plan, doc: dict, doc_frequency) -> float:
    """Share of the query's informative weight that ``doc`` (a stored entry) contains."""
    text = "\n".join([doc.get("question", ""), *(doc.get("aliases") or []), *(doc.get("tags") or []),
                      doc.get("answer_text", "")])
    basis = doc.get("legal_basis") or []
    covered = total = 0.0
    n = 1
    by: dict[int, list] = {}
    for t in plan.terms:
        if t.origin in ("query", "correction", "lexicon", "synonym"):
            by.setdefault(t.group, []).append(t)
    for members in by.values():
        if not any(t.origin in ("query", "correction", "lexicon") for t in members):
            continue
        dfs = [doc_frequency(t.text) for t in members]
        n = max([n] + [x for _, x in dfs])
        df = max(d for d, _ in dfs)
        w = _idf(df, n) if df else _idf(0, n) * UNKNOWN_FACTOR
        w *= plan.group_weights.get(members[0].group, 1.0) if members[0].origin == "lexicon" else 1.0
        total += w
        if df and any(t.text in text for t in members):
            covered += w
    # Words the index does not know at all (their characters fell apart) weigh the most.
    for word in plan.unknown:
        total += _idf(0, n) * UNKNOWN_FACTOR
    if plan.citations:
        w = _idf(0, n)
        total += w
        if set(plan.citation_labels) & set(basis):
            covered += w
    return covered / total if total else 0.0


def level(evidence: dict | None, cutoffs: dict) -> str:
    if not evidence:
        return "none"
    c = evidence.get("score", evidence.get("coverage", 0.0))
    if c < cutoffs.get("none", DEFAULT_CUTOFFS["none"]):
        return "none"
    if c < cutoffs.get("low", DEFAULT_CUTOFFS["low"]):
        return "low"
    return "high"


_cache: dict[tuple, dict] = {}


def load_cutoffs(kb, engine: str) -> dict:
    """The calibrated cut-offs of ``engine`` from kb/confidence.yaml, else the defaults; read
    once per state of the file (every search asks)."""
    import os

    path = kb.kb_dir / FILE
    try:
        st = os.stat(path)
    except OSError:
        return dict(DEFAULT_CUTOFFS)
    key = (str(path), st.st_mtime_ns, st.st_size, engine)
    if key not in _cache:
        _cache[key] = _read_cutoffs(path, engine)
    return dict(_cache[key])


def _read_cutoffs(path, engine: str) -> dict:
    if not path.exists():
        return dict(DEFAULT_CUTOFFS)
    from .. import yamlsafe

    try:
        data = yamlsafe.load_with_lines(path.read_text(encoding="utf-8"), 1)[0] or {}
    except Exception:  # a damaged file must not break searching; check reports it
        return dict(DEFAULT_CUTOFFS)
    got = (data.get("cutoffs") or {}).get(engine) if isinstance(data, dict) else None
    if not isinstance(got, dict):
        return dict(DEFAULT_CUTOFFS)
    out = dict(DEFAULT_CUTOFFS)
    for k in ("low", "none"):
        v = got.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0:
            out[k] = float(v)
    return out
