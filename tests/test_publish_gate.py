"""The publishing gate: judges are served each entry as last published, and an edit reaches
them only through a fresh review and a new publication."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qabase import open_kb
from qabase.authoring.publish import content_hash
from qabase.cli import app
from qabase.content.entries import load_entry

REPO = Path(__file__).resolve().parent.parent
MARK = "甲乙丙丁戊己庚辛"  # characters no entry uses together


def run(root, *args):
    return CliRunner().invoke(app, ["--root", str(root), *args])


@pytest.fixture
def shipped(tmp_path) -> Path:
    root = tmp_path / "kbase"
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".index"))
    shutil.copytree(REPO / "qa_entries", root / "qa_entries")
    return root


def test_committed_published_state_matches_every_published_entry():
    """kb/published.json and the kept copies are committed, and describe the shipped files."""
    kbase = open_kb(REPO)
    records = json.loads((REPO / "kb" / "published.json").read_text(encoding="utf-8"))["entries"]
    published = [e for e in kbase.load_entries(working=True).entries if e.status == "published"]
    assert published and {e.id for e in published} <= set(records)
    for e in published:
        kept = REPO / "kb" / "published" / e.topic / f"{e.id}.md"
        assert kept.read_bytes() == e.path.read_bytes(), f"{e.id}: 文件与已发布的版本不同"
        assert records[e.id]["hash"] == content_hash(e)


def test_unreviewed_edit_is_reported_and_never_served(shipped):
    path = shipped / "qa_entries/accountability/acc-001.md"
    path.write_text(path.read_text(encoding="utf-8") + f"\n{MARK}\n", encoding="utf-8")

    r = run(shipped, "check")
    assert r.exit_code == 0 and "acc-001" in r.output and "没有经过审核" in r.output
    r = run(shipped, "publish", "--batch", "3", "--dry-run")
    assert r.exit_code == 1 and "acc-001" in r.stderr and "没有经过审核" in r.stderr

    kbase = open_kb(shipped)
    assert MARK not in kbase.get("acc-001").answer  # show, the page and the export read this
    assert kbase.get("acc-001").pending_edit
    assert "acc-001" not in [h.id for h in kbase.search(MARK).results]
    r = run(shipped, "export", "--format", "json")
    assert r.exit_code == 0 and MARK not in r.stdout


def test_broken_edit_of_a_published_entry_keeps_serving_the_published_text(shipped):
    path = shipped / "qa_entries/discovery/dis-001.md"
    path.write_text(path.read_text(encoding="utf-8").replace("question:", "question: [未闭合", 1), encoding="utf-8")
    kbase = open_kb(shipped)
    result = kbase.search("交叉执行")
    assert not result.skipped
    kept, _ = load_entry(shipped / "kb/published/discovery/dis-001.md", kbase.kb)
    assert kbase.get("dis-001").question == kept.question and kbase.get("dis-001").pending_edit
    assert kbase.check().errors  # the trainer sees the broken file in check


def test_republishing_needs_a_fresh_review_and_names_what_changed(shipped):
    import datetime as dt

    rec = json.loads((shipped / "kb/published.json").read_text(encoding="utf-8"))["entries"]["acc-001"]
    last = dt.date.fromisoformat(rec["date"])
    before, after = last - dt.timedelta(days=10), last + dt.timedelta(days=1)
    batch = max(int(b) for b in json.loads((shipped / "kb/published.json").read_text(encoding="utf-8"))["batches"]) + 1
    path = shipped / "qa_entries/accountability/acc-001.md"
    text = path.read_text(encoding="utf-8").replace("status: published", "status: review")
    text = re.sub(r"(?m)^reviewed_by:.*$", "reviewed_by: 李审核", text)
    text = re.sub(r"(?m)^reviewed_at:.*$", f"reviewed_at: {before.isoformat()}", text)
    path.write_text(text + f"\n{MARK}\n", encoding="utf-8")
    r = run(shipped, "publish", "--batch", str(batch), "--date", after.isoformat())
    assert r.exit_code == 1 and before.isoformat() in r.stderr and f"早于上次发布日期 {last.isoformat()}" in r.stderr

    path.write_text(path.read_text(encoding="utf-8").replace(f"reviewed_at: {before.isoformat()}",
                                                             f"reviewed_at: {after.isoformat()}"), encoding="utf-8")
    r = run(shipped, "publish", "--batch", str(batch), "--date", after.isoformat())
    assert r.exit_code == 0, r.output
    log = (shipped / f"kb/changelog/batch-{batch}.md").read_text(encoding="utf-8")
    version = int(rec["version"]) + 1
    assert "acc-001" in log and f"第 {version} 版，审核：李审核" in log and "改动了答复" in log
    kept = shipped / "kb/published/accountability/acc-001.md"
    assert kept.read_bytes() == path.read_bytes()
    kbase = open_kb(shipped)
    assert kbase.get("acc-001").version == version and not kbase.get("acc-001").pending_edit
    assert "acc-001" in [h.id for h in kbase.search(MARK).results]
    assert not kbase.check().warnings


def test_a_trainers_draft_is_not_reported_to_judges(shipped):
    r = run(shipped, "new", "--topic", "信访处理")
    assert r.exit_code == 0, r.output
    r = run(shipped, "search", "终本")
    assert r.exit_code == 0 and "未编入索引" not in r.output
    data = json.loads(run(shipped, "search", "终本", "--json").stdout)
    assert data["skipped"] == []
    r = run(shipped, "check")
    assert r.exit_code == 1 and "pet-" in r.output  # check is where the draft's gaps are reported


def test_served_text_is_read_from_the_kept_copy_only_when_the_file_differs(shipped):
    from qabase.content.published import served_snapshot
    kbase = open_kb(shipped)
    path = shipped / "qa_entries/rewards/rew-001.md"
    assert served_snapshot(kbase.kb, path) is None
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # even a line-ending change waits for review
    assert served_snapshot(kbase.kb, path) == shipped / "kb/published/rewards/rew-001.md"
    entry, _ = load_entry(path, kbase.kb, served=True)
    assert entry.pending_edit and entry.path == path
