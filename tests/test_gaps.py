"""Gaps: searches with no or only weak results are logged locally and listed by qabase gaps."""
import datetime as dt
import json
import os
import re
from pathlib import Path

from typer.testing import CliRunner

from qabase import open_kb
from qabase.search import gaps
from qabase.cli import app

from conftest import REPO, make_kb

runner = CliRunner()


def run(root, *args, env=None):
    return runner.invoke(app, ["--root", str(root), *args], env=env)


def lines(kbase):
    p = gaps.log_path(kbase)
    return [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines()] if p.exists() else []


def test_log_lives_in_the_data_dir(kbase, tmp_path, monkeypatch):
    monkeypatch.setenv("QABASE_DATA_DIR", str(tmp_path / "data"))
    p = gaps.log_path(kbase)
    assert p.parent.parent == tmp_path / "data" and p.suffix == ".jsonl"
    other = open_kb(make_kb(tmp_path / "other"))
    assert gaps.log_path(other) != p  # one file per knowledge base


def test_no_result_is_recorded_with_query_and_time_only(kbase):
    result = kbase.search("宇宙飞船")
    assert not result.results
    when = dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.timezone.utc)
    assert gaps.record_if_gap(kbase, result, now=when) is True
    assert lines(kbase) == [{"query": "宇宙飞船", "time": "2026-12-01T08:30:00+00:00"}]


def test_confident_match_is_not_a_gap_but_flagged_one_is(kbroot):
    """Gaps follow the search's confidence, whose cut-offs kb/confidence.yaml sets."""
    kbase = open_kb(kbroot)
    result = kbase.search("老赖拒执")
    assert result.results and result.confidence == "high"
    assert gaps.record_if_gap(kbase, result) is False
    (kbroot / "kb" / "confidence.yaml").write_text(
        "cutoffs:\n  whoosh: {low: 99.0, none: 0.0}\n  tantivy: {low: 99.0, none: 0.0}\n", encoding="utf-8")
    kbase = open_kb(kbroot)
    flagged = kbase.search("老赖拒执")
    assert flagged.confidence == "low"
    assert gaps.record_if_gap(kbase, flagged) is True


def test_filtered_and_empty_searches_are_not_gaps(kbase):
    assert gaps.record_if_gap(kbase, kbase.search("宇宙飞船", topic="discovery")) is False
    assert gaps.record_if_gap(kbase, kbase.search("吗呢")) is False
    assert lines(kbase) == []


def test_opt_out(kbroot, monkeypatch):
    r = run(kbroot, "search", "宇宙飞船", "--no-log")
    assert r.exit_code == 0
    kbase = open_kb(kbroot)
    assert lines(kbase) == []
    r = run(kbroot, "search", "宇宙飞船", env={"QABASE_NO_LOG": "1"})
    assert r.exit_code == 0 and lines(kbase) == []
    monkeypatch.setenv("QABASE_NO_LOG", "1")
    assert gaps.record_if_gap(kbase, kbase.search("宇宙飞船")) is False
    r = run(kbroot, "gaps")
    assert "QABASE_NO_LOG" in r.stderr


def test_unwritable_log_never_breaks_search(kbroot, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("QABASE_DATA_DIR", str(blocker / "sub"))  # a directory cannot be made under a file
    kbase = open_kb(kbroot)
    assert gaps.record_if_gap(kbase, kbase.search("宇宙飞船")) is False
    r = run(kbroot, "search", "宇宙飞船")
    assert r.exit_code == 0 and "没有找到" in r.stdout


def test_gaps_command_lists_most_frequent(kbroot):
    for q in ("宇宙飞船", "火星基地", "宇宙飞船", "宇宙飞船", "火星基地", "海底两万里"):
        assert run(kbroot, "search", q).exit_code == 0
    assert run(kbroot, "search", "老赖拒执").exit_code == 0  # a good match is not recorded
    r = run(kbroot, "gaps")
    assert r.exit_code == 0, r.output
    rows = [line for line in r.stdout.splitlines() if "次　最近" in line]
    assert [row.split("　")[-1] for row in rows] == ["宇宙飞船", "火星基地", "海底两万里"]
    assert rows[0].strip().startswith("3 次")

    data = json.loads(run(kbroot, "gaps", "--json", "--limit", "2").stdout)
    assert data["total"] == 6 and data["queries"] == 3
    assert [(g["query"], g["count"]) for g in data["gaps"]] == [("宇宙飞船", 3), ("火星基地", 2)]
    assert set(data["gaps"][0]) == {"query", "count", "first", "last"}

    r = run(kbroot, "gaps", "--clear")
    assert r.exit_code == 0 and "6" in r.stdout
    assert "还没有记录" in run(kbroot, "gaps").stdout


def test_truncated_log_line_is_skipped(kbase):
    p = gaps.log_path(kbase)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text('{"query": "甲", "time": "2026-01-01T00:00:00+00:00"}\n{"query": "乙", "ti', encoding="utf-8")
    assert [g.query for g in gaps.read(kbase)] == ["甲"]


def test_data_dir_default_is_platformdirs(monkeypatch):
    from platformdirs import user_data_dir

    monkeypatch.delenv("QABASE_DATA_DIR", raising=False)
    assert gaps.data_dir() == Path(user_data_dir("qabase", appauthor=False))


def test_readme_documents_the_variables():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for var in ("QABASE_DATA_DIR", "QABASE_NO_LOG", "duplicate_threshold", "report_to", "confidence.yaml"):
        assert var in readme, var
    assert os.environ.get("QABASE_DATA_DIR")  # conftest keeps tests out of the real data dir
