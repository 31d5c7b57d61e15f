"""The blind set's files and its graded metrics."""
from __future__ import annotations

import collections
from pathlib import Path

import pytest

from qabase.search.blind import BlindFormatError, graded_metrics, load_blind, report

REPO = Path(__file__).resolve().parent.parent


def test_shipped_blind_set_has_the_shape_the_evaluation_needs():
    b = load_blind(REPO / "kb" / "blind")
    assert len(b.queries) >= 240
    kinds = collections.Counter(b.kinds.values())
    assert all(kinds[k] >= 30 for k in ("sentence", "keyword", "shorthand", "typo", "long", "citation")), kinds
    assert sum(1 for s in b.scopes.values() if s == "outside") >= 40
    long_lengths = [sum('\u4e00' <= c <= '\u9fff' for c in b.queries[q]) for q in b.queries if b.kinds[q] == "long"]
    assert min(long_lengths) >= 60 and max(long_lengths) <= 120
    # Every in-scope query has been judged against at least its topic's entries.
    assert all(len(b.grades.get(q, {})) >= 5 for q in b.queries if b.scopes[q] == "kb")


def _write(d: Path, queries: str, qrels: str | None = None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "queries.tsv").write_text("qid\tquery\tneed\tkind\tscope\tasker\ttopic\n" + queries, encoding="utf-8")
    if qrels is not None:
        (d / "qrels.tsv").write_text("qid\tentry_id\tgrade\n" + qrels, encoding="utf-8")
    return d


def test_bad_files_are_reported_with_file_and_line(tmp_path):
    d = _write(tmp_path / "a", "B1\t终本\t需\tslang\tkb\t法官\tdiscovery\n")
    with pytest.raises(BlindFormatError, match=r"queries.tsv:2: 未知的 kind"):
        load_blind(d)
    d = _write(tmp_path / "b", "B1\t终本\t需\tkeyword\tkb\t法官\tdiscovery\n", "B1\tdis-001\t3\n")
    with pytest.raises(BlindFormatError, match=r"qrels.tsv:2: grade 应为"):
        load_blind(d)
    d = _write(tmp_path / "c", "B1\t终本\t需\tkeyword\tkb\t法官\tdiscovery\n", "B2\tdis-001\t1\n")
    with pytest.raises(BlindFormatError, match="未知的 qid"):
        load_blind(d)


def test_graded_metrics_count_only_full_answers_and_keep_unanswered_queries():
    grades = {"a": {"x": 2, "y": 1}, "b": {"y": 2}, "c": {"x": 1}}
    run = {"a": {"y": 3.0, "x": 2.0}, "b": {"x": 1.0, "z": 0.5, "w": 0.4, "y": 0.3}, "c": {"x": 1.0}}
    m = graded_metrics(grades, run, ["a", "b", "c"])
    # a: full answer at rank 2; b: at rank 4; c: none (partial only) but stays in the denominator.
    assert m["MRR@10"] == pytest.approx((1 / 2 + 1 / 4) / 3)
    assert m["Success@1"] == 0 and m["Success@3"] == pytest.approx(1 / 3)
    assert m["no_full_answer"] == 1
    # nDCG uses the grades as gains: c's partial answer at rank 1 is a perfect ranking.
    assert m["nDCG@10"] > 0 and graded_metrics(grades, run, ["c"])["nDCG@10"] == pytest.approx(1.0)


def test_report_splits_by_kind_and_topic(tmp_path):
    d = _write(tmp_path / "r", "B1\t终本\t需\tshorthand\tkb\t法官\tdiscovery\nB2\t天气\t需\tsentence\toutside\t当事人\t-\n",
               "B1\tdis-001\t2\nB1\tdis-002\t0\nB2\tdis-001\t0\n")
    b = load_blind(d)
    r = report(b, {"B1": {"dis-001": 1.0}, "B2": {"dis-001": 1.0}})
    assert r["answerable"]["queries"] == 1 and r["answerable"]["MRR@10"] == 1.0
    assert set(r["by_kind"]) == {"shorthand"} and set(r["by_topic"]) == {"discovery"}
