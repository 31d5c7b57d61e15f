"""The blind evaluation set in ``kb/blind/``: questions written by people who never saw an
entry, graded by assessors who never saw a ranking.

- ``queries.tsv``: qid, query, need, kind, scope (``kb`` or ``outside``), asker, topic. Frozen
  once committed: a changed query would silently change what the figures measure.
- ``qrels.tsv``: qid, entry_id, grade (0 not relevant, 1 partial, 2 fully answers the need).
  Only added to. A pair that is not listed counts as 0, as in TREC.

Metrics follow trec_eval's conventions: a query without a full answer stays in the
denominator of the set-level figures, and "grade 2 only" counts only full answers as relevant.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

QUERY_COLUMNS = ["qid", "query", "need", "kind", "scope", "asker", "topic"]
QREL_COLUMNS = ["qid", "entry_id", "grade"]
KINDS = ("sentence", "keyword", "shorthand", "typo", "long", "citation")
SCOPES = ("kb", "outside")


class BlindFormatError(ValueError):
    """The blind set's files are not in the documented shape."""


@dataclass
class Blind:
    queries: dict[str, str] = field(default_factory=dict)
    needs: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    scopes: dict[str, str] = field(default_factory=dict)
    askers: dict[str, str] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    grades: dict[str, dict[str, int]] = field(default_factory=dict)  # every judged pair, 0 included

    @property
    def judged(self) -> set[tuple[str, str]]:
        return {(q, e) for q, g in self.grades.items() for e in g}

    def qrels(self, min_grade: int = 2) -> dict[str, dict[str, int]]:
        """Relevant entries per query at ``min_grade`` or above; queries with none are absent."""
        out = {}
        for q, g in self.grades.items():
            rel = {e: r for e, r in g.items() if r >= min_grade}
            if rel:
                out[q] = rel
        return out


def _rows(path: Path, columns: list[str]) -> list[tuple[int, list[str]]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    except FileNotFoundError:
        raise BlindFormatError(f"{path}: 文件不存在") from None
    if not rows or [c.strip() for c in rows[0]] != columns:
        raise BlindFormatError(f"{path}:1: 表头应为 {'<TAB>'.join(columns)}")
    out = []
    for no, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(columns):
            raise BlindFormatError(f"{path}:{no}: 应有 {len(columns)} 列（用制表符分隔），实际 {len(row)} 列")
        out.append((no, [c.strip() for c in row]))
    return out


def load_blind(directory: Path) -> Blind:
    directory = Path(directory)
    b = Blind()
    qpath = directory / "queries.tsv"
    for no, (qid, query, need, kind, scope, asker, topic) in _rows(qpath, QUERY_COLUMNS):
        if qid in b.queries:
            raise BlindFormatError(f"{qpath}:{no}: qid {qid} 重复")
        if kind not in KINDS:
            raise BlindFormatError(f"{qpath}:{no}: 未知的 kind：{kind}（可用：{'、'.join(KINDS)}）")
        if scope not in SCOPES:
            raise BlindFormatError(f"{qpath}:{no}: scope 应为 kb 或 outside，实际 {scope}")
        b.queries[qid], b.needs[qid], b.kinds[qid] = query, need, kind
        b.scopes[qid], b.askers[qid], b.topics[qid] = scope, asker, topic
    rpath = directory / "qrels.tsv"
    if rpath.exists():
        for no, (qid, entry, grade) in _rows(rpath, QREL_COLUMNS):
            if qid not in b.queries:
                raise BlindFormatError(f"{rpath}:{no}: 未知的 qid：{qid}")
            if grade not in ("0", "1", "2"):
                raise BlindFormatError(f"{rpath}:{no}: grade 应为 0、1 或 2，实际 {grade}")
            seen = b.grades.setdefault(qid, {})
            if entry in seen and seen[entry] != int(grade):
                raise BlindFormatError(f"{rpath}:{no}: {qid} 与 {entry} 已有不同的判定（{seen[entry]}）")
            seen[entry] = int(grade)
    return b


def _ranked(run_q: dict[str, float]) -> list[str]:
    return [d for d, _ in sorted(run_q.items(), key=lambda x: (-x[1], x[0]))]


def graded_metrics(grades: dict[str, dict[str, int]], run: dict, qids) -> dict[str, float]:
    """Over ``qids``: MRR@10, Success@1 and Success@3 counting grade 2 only, and nDCG@10 with
    the grades as gains. Queries without a full answer count 0 in the first three (and are
    reported by their share, ``unanswered``); nDCG@10 is over queries with any gain."""
    qids = list(qids)
    if not qids:
        return {"queries": 0}
    rr = s1 = s3 = 0.0
    nd, nd_n, none = 0.0, 0, 0
    for q in qids:
        g = grades.get(q, {})
        r = _ranked(run.get(q, {}))[:10]
        full = {e for e, v in g.items() if v >= 2}
        if not full:
            none += 1
        first = next((i for i, d in enumerate(r, 1) if d in full), None)
        if first:
            rr += 1 / first
            s1 += first == 1
            s3 += first <= 3
        ideal = sorted((v for v in g.values() if v > 0), reverse=True)[:10]
        if ideal:
            dcg = sum(g.get(d, 0) / math.log2(i + 2) for i, d in enumerate(r))
            nd += dcg / sum(v / math.log2(i + 2) for i, v in enumerate(ideal))
            nd_n += 1
    n = len(qids)
    return {"MRR@10": rr / n, "Success@1": s1 / n, "Success@3": s3 / n,
            "nDCG@10": nd / nd_n if nd_n else 0.0, "queries": n, "no_full_answer": none}


def report(b: Blind, run: dict) -> dict:
    """The blind set's figures for one run: in-scope queries overall (all of them, and those
    with a full answer), per kind and per topic."""
    kb = [q for q in b.queries if b.scopes[q] == "kb"]
    answerable = [q for q in kb if any(v >= 2 for v in b.grades.get(q, {}).values())]
    out = {"all_kb": graded_metrics(b.grades, run, kb),
           "answerable": graded_metrics(b.grades, run, answerable),
           "by_kind": {}, "by_topic": {}}
    for k in KINDS:
        qs = [q for q in answerable if b.kinds[q] == k]
        if qs:
            out["by_kind"][k] = graded_metrics(b.grades, run, qs)
    for t in sorted({b.topics[q] for q in answerable}):
        out["by_topic"][t] = graded_metrics(b.grades, run, [q for q in answerable if b.topics[q] == t])
    return out
