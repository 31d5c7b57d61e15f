"""Retrieval evaluation in BEIR's shapes.

- queries: ``{qid: text}``
- qrels:   ``{qid: {entry_id: relevance}}`` (answered queries only)
- run:     ``{qid: {entry_id: score}}``

The golden file is a TSV with a header ``query``, ``ids`` (comma-separated entry ids; empty
for a question the knowledge base does not answer) and ``kind`` (sentence, shorthand,
keyword, typo, long). Metrics are pure functions; every answered query counts in the
denominator, so a query with no hits scores 0. Inputs are never modified.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("sentence", "shorthand", "keyword", "typo", "long")
K_VALUES = (1, 3, 10)


@dataclass
class Golden:
    queries: dict[str, str] = field(default_factory=dict)
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)  # qids with no relevant entry


class GoldenFormatError(ValueError):
    """Raised when the golden file is not a TSV with query/ids/kind columns."""


def load_golden(path: Path) -> Golden:
    g = Golden()
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or [c.strip() for c in rows[0][:3]] != ["query", "ids", "kind"]:
        raise GoldenFormatError(f"{path}:1: 表头应为 query<TAB>ids<TAB>kind")
    for no, row in enumerate(rows[1:], 2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != 3:
            raise GoldenFormatError(f"{path}:{no}: 应有 3 列（用制表符分隔），实际 {len(row)} 列")
        query, ids, kind = (c.strip() for c in row)
        if kind not in KINDS:
            raise GoldenFormatError(f"{path}:{no}: 未知的 kind：{kind}（可用：{'、'.join(KINDS)}）")
        qid = f"q{no}"
        g.queries[qid] = query
        g.kinds[qid] = kind
        rel = {i.strip(): 1 for i in ids.split(",") if i.strip()}
        if rel:
            g.qrels[qid] = rel
        else:
            g.unanswered.append(qid)
    return g


def ranked(run_q: dict[str, float]) -> list[str]:
    return [d for d, _ in sorted(run_q.items(), key=lambda x: (-x[1], x[0]))]


def mrr(qrels, run, k=10) -> float:
    if not qrels:
        return 0.0
    total = 0.0
    for qid, rel in qrels.items():
        for rank, d in enumerate(ranked(run.get(qid, {}))[:k], 1):
            if rel.get(d, 0) > 0:
                total += 1 / rank
                break
    return total / len(qrels)


def recall(qrels, run, k) -> float:
    if not qrels:
        return 0.0
    total = 0.0
    for qid, rel in qrels.items():
        relevant = {d for d, r in rel.items() if r > 0}
        got = set(ranked(run.get(qid, {}))[:k]) & relevant
        total += len(got) / len(relevant)
    return total / len(qrels)


def ndcg(qrels, run, k=10) -> float:
    if not qrels:
        return 0.0
    total = 0.0
    for qid, rel in qrels.items():
        dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked(run.get(qid, {}))[:k]))
        ideal = sorted(rel.values(), reverse=True)[:k]
        idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
        total += dcg / idcg if idcg else 0.0
    return total / len(qrels)


def metrics(qrels, run) -> dict[str, float]:
    out = {"MRR@10": mrr(qrels, run, 10)}
    for k in K_VALUES:
        out[f"Recall@{k}"] = recall(qrels, run, k)
    out["nDCG@10"] = ndcg(qrels, run, 10)
    out["queries"] = len(qrels)
    return out


def subset(qrels, qids) -> dict:
    qids = set(qids)
    return {q: r for q, r in qrels.items() if q in qids}


@dataclass
class Report:
    overall: dict
    non_typo: dict
    by_kind: dict
    by_topic: dict
    misses: list[dict]
    unanswered: list[dict]
    calibration: dict | None = None


def calibrate(answered: list[float], unanswered: list[float]) -> dict | None:
    """The weak-match threshold that best separates the top scores of answered questions
    (should stay above) from those of unanswered ones (should fall below): the midpoint
    that maximises balanced accuracy, ties broken towards the lower threshold."""
    if not answered or not unanswered:
        return None
    points = sorted(set(answered) | set(unanswered))
    cands = [0.0] + [(a + b) / 2 for a, b in zip(points, points[1:])] + [points[-1] + 1]
    best = None
    for t in cands:
        kept = sum(1 for x in answered if x >= t) / len(answered)
        caught = sum(1 for x in unanswered if x < t) / len(unanswered)
        score = (kept + caught) / 2
        if best is None or score > best[0]:
            best = (score, t, kept, caught)
    score, t, kept, caught = best
    return {"threshold": round(t, 2), "balanced_accuracy": round(score, 3),
            "answered_kept": round(kept, 3), "unanswered_caught": round(caught, 3)}


def evaluate(g: Golden, run: dict, top_scores: dict[str, float], topic_of) -> Report:
    """Score ``run`` against ``g``. ``topic_of(entry_id)`` gives the topic slug of an entry."""
    qrels = g.qrels
    by_kind = {}
    for kind in KINDS:
        sub = subset(qrels, [q for q, k in g.kinds.items() if k == kind])
        if sub:
            by_kind[kind] = metrics(sub, run)
    topics: dict[str, list[str]] = {}
    for q, rel in qrels.items():
        for d in rel:
            topics.setdefault(topic_of(d) or "?", []).append(q)
    by_topic = {t: metrics(subset(qrels, qs), run) for t, qs in sorted(topics.items())}
    misses = []
    for q, rel in qrels.items():
        r = ranked(run.get(q, {}))
        if not r or r[0] not in rel:
            pos = next((i for i, d in enumerate(r, 1) if d in rel), None)
            misses.append({"query": g.queries[q], "kind": g.kinds[q], "expected": sorted(rel),
                           "first": r[0] if r else None, "rank": pos})
    unanswered = [{"query": g.queries[q], "kind": g.kinds[q], "top_score": top_scores.get(q, 0.0),
                   "first": (ranked(run.get(q, {})) or [None])[0]} for q in g.unanswered]
    non_typo = subset(qrels, [q for q, k in g.kinds.items() if k != "typo"])
    cal = calibrate([top_scores.get(q, 0.0) for q in qrels], [top_scores.get(q, 0.0) for q in g.unanswered])
    return Report(metrics(qrels, run), metrics(non_typo, run), by_kind, by_topic, misses, unanswered, cal)


def write_trec(run: dict, path: Path, tag: str) -> None:
    """TREC run lines, so two runs can be diffed or fed to trec_eval."""
    from .storage import atomic_write

    lines = [f"{q} Q0 {d} {rank} {docs[d]:.6f} {tag}\n"
             for q, docs in run.items() for rank, d in enumerate(ranked(docs), 1)]
    atomic_write(Path(path), "".join(lines).encode("utf-8"))
