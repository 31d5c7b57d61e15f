"""Evaluation: metrics checked against hand-computed cases, golden file format, qabase eval."""
import json
import math

import pytest
from typer.testing import CliRunner

from qabase.cli import app
from qabase.search.evaluate import GoldenFormatError, calibrate, load_golden, metrics, mrr, ndcg, recall

runner = CliRunner()

QRELS = {"a": {"d1": 1}, "b": {"d2": 1, "d3": 1}, "c": {"d9": 1}}
RUN = {"a": {"d1": 3.0, "d2": 1.0}, "b": {"d1": 5.0, "d3": 4.0, "d2": 1.0}, "c": {}}


def test_mrr_by_hand():
    # a: rank 1 → 1; b: first relevant (d3) at rank 2 → 1/2; c: nothing → 0
    assert mrr(QRELS, RUN) == pytest.approx((1 + 0.5 + 0) / 3)


def test_recall_by_hand():
    assert recall(QRELS, RUN, 1) == pytest.approx((1 + 0 + 0) / 3)
    assert recall(QRELS, RUN, 3) == pytest.approx((1 + 1 + 0) / 3)


def test_ndcg_by_hand():
    b_dcg = 1 / math.log2(3) + 1 / math.log2(4)
    b_idcg = 1 + 1 / math.log2(3)
    assert ndcg(QRELS, RUN) == pytest.approx((1 + b_dcg / b_idcg + 0) / 3)


def test_inputs_not_mutated_and_ties_broken_by_id():
    run = {"a": {"d2": 1.0, "d1": 1.0}}
    before = json.dumps(run, sort_keys=True)
    assert mrr({"a": {"d1": 1}}, run) == 1.0
    assert json.dumps(run, sort_keys=True) == before
    assert metrics({}, {})["MRR@10"] == 0.0


def test_calibrate_separates_scores():
    c = calibrate([10, 12, 15], [2, 3, 9])
    assert 9 < c["threshold"] <= 10 and c["balanced_accuracy"] == 1.0
    c = calibrate([5, 12], [6, 1])
    assert c["balanced_accuracy"] == 0.75
    assert calibrate([], [1]) is None


def test_golden_format(tmp_path):
    p = tmp_path / "g.tsv"
    p.write_text("query\tids\tkind\n终本怎么恢复\tfil-001\tsentence\n没有答案的问题\t\tkeyword\n两个\ta-001,b-002\tlong\n",
                 encoding="utf-8")
    g = load_golden(p)
    assert list(g.queries.values()) == ["终本怎么恢复", "没有答案的问题", "两个"]
    assert list(g.qrels.values()) == [{"fil-001": 1}, {"a-001": 1, "b-002": 1}]
    assert len(g.unanswered) == 1
    p.write_text("q\tids\tkind\nx\ty\tsentence\n", encoding="utf-8")
    with pytest.raises(GoldenFormatError):
        load_golden(p)
    p.write_text("query\tids\tkind\nx\ty\tnonsense\n", encoding="utf-8")
    with pytest.raises(GoldenFormatError, match=":2:"):
        load_golden(p)


def test_eval_command_on_users_file(kbroot, tmp_path):
    p = tmp_path / "mine.tsv"
    p.write_text("query\tids\tkind\n老赖拒执怎么移送\tpl-001\tshorthand\n法院半年没动静\tdis-001\tsentence\n"
                 "宇宙飞船维修\t\tkeyword\n", encoding="utf-8")
    r = runner.invoke(app, ["--root", str(kbroot), "eval", str(p), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)["golden"]["mine.tsv"]
    assert data["overall"]["queries"] == 2 and data["overall"]["MRR@10"] == 1.0
    assert set(data["by_topic"]) == {"procedure-linkage", "discovery"}
    assert data["misses"] == [] and len(data["unanswered"]) == 1
    p.write_text("query\tids\tkind\n老赖拒执怎么移送\tdis-002\tshorthand\n", encoding="utf-8")
    r = runner.invoke(app, ["--root", str(kbroot), "eval", str(p), "--min-mrr", "0.9"])
    assert r.exit_code == 1 and "低于 --min-mrr" in r.stderr
    assert "应为 dis-002" in r.stdout and "排第一的是 pl-001" in r.stdout
    r = runner.invoke(app, ["--root", str(kbroot), "eval", str(tmp_path / "none.tsv")])
    assert r.exit_code == 1


def test_eval_reports_the_blind_set_apart_from_the_golden_set(kbroot):
    blind = kbroot / "kb" / "blind"
    blind.mkdir()
    (blind / "queries.tsv").write_text(
        "qid\tquery\tneed\tkind\tscope\tasker\ttopic\n"
        "B1\t老赖拒执怎么移送\t移送公安\tshorthand\tkb\t法官\tprocedure-linkage\n"
        "B2\t离婚后孩子抚养费怎么算\t抚养费\tsentence\toutside\t当事人\t-\n", encoding="utf-8")
    (blind / "qrels.tsv").write_text("qid\tentry_id\tgrade\nB1\tpl-001\t2\nB1\tdis-001\t0\nB2\tdis-001\t0\n",
                                     encoding="utf-8")
    (kbroot / "kb" / "golden.tsv").write_text("query\tids\tkind\n老赖拒执怎么移送\tpl-001\tshorthand\n", encoding="utf-8")
    r = runner.invoke(app, ["--root", str(kbroot), "eval", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert set(data["golden"]) == {"golden.tsv"}
    b = data["blind"]
    assert b["answerable"]["queries"] == 1 and b["answerable"]["MRR@10"] == 1.0
    assert set(b["by_kind"]) == {"shorthand"} and b["confidence"]["unanswerable"] == 1
    r = runner.invoke(app, ["--root", str(kbroot), "eval"])
    assert "黄金问题集 kb/golden.tsv" in r.stdout and "盲测集 kb/blind" in r.stdout and "S@3" in r.stdout
