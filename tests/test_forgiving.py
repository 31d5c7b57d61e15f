"""Forgiving search: pinyin homophones corrected (and said), correct words left alone,
related entries."""
import json

import pytest
from typer.testing import CliRunner

from qabase.cli import app
from qabase.search.pinyin import Homophones, build_table, fuzzy

from conftest import engine_fixture

engine = engine_fixture()
runner = CliRunner()


def test_fuzzy_pairs():
    assert fuzzy("zhang") == fuzzy("zan") == "zan"
    assert fuzzy("cheng") == fuzzy("cen")
    assert fuzzy("xing") == fuzzy("xin")
    assert fuzzy("shi") == "si"


def test_homophone_table_matches_by_sound_only():
    h = Homophones(build_table(["终本", "拒执", "信访", "限高", "提级执行"]))
    assert h.match("中本") == "终本"
    assert h.match("据执") == "拒执"
    assert h.match("信方") == "信访"
    assert h.match("现高") == "限高"
    assert h.match("提机执行") == "提级执行"
    assert h.match("终本") is None  # the term itself is not a correction
    assert h.match("苹果") is None


@pytest.mark.parametrize("typo,term,expected", [
    ("中本了又发现财产", "终本", "dis-002"),
    ("老赖据执怎么移送", "拒执", "pl-001"),
])
def test_typo_is_corrected_and_found(kbase, typo, term, expected):
    r = kbase.search(typo)
    assert {"from": typo[:2] if typo.startswith("中本") else "据执", "to": term} in r.corrections
    assert {"text": term, "origin": "correction"}.items() <= next(t for t in r.searched_terms if t["text"] == term).items()
    assert r.results[0].id == expected
    assert r.did_you_mean and term in r.did_you_mean and r.did_you_mean != typo


@pytest.mark.parametrize("q", ["终本", "拒执", "交叉执行案件怎么结案", "执行法院超过六个月", "信访由哪个法院处理"])
def test_correct_words_are_not_corrected(kbase, q):
    r = kbase.search(q, all_status=True)
    assert r.corrections == [] and r.did_you_mean is None


def test_did_you_mean_in_text_and_json(kbroot):
    r = runner.invoke(app, ["--root", str(kbroot), "search", "中本了又发现财产"])
    assert r.exit_code == 0
    assert "“中本”按“终本”检索" in r.stdout and "是不是要找：“终本了又发现财产”" in r.stdout
    data = json.loads(runner.invoke(app, ["--root", str(kbroot), "search", "中本了又发现财产", "--json"]).stdout)
    assert data["corrections"] == [{"from": "中本", "to": "终本"}]
    assert data["did_you_mean"] == "终本了又发现财产"
    data = json.loads(runner.invoke(app, ["--root", str(kbroot), "search", "终本", "--json"]).stdout)
    assert data["corrections"] == [] and data["did_you_mean"] is None


def test_related_entries(kbroot, kbase):
    rel = kbase.related("dis-001")
    ids = [r["id"] for r in rel]
    assert "dis-001" not in ids and len(ids) <= 5
    assert ids[0] == "fil-001"  # shares the citation of 民诉法第二百三十七条
    assert "pet-001" not in ids  # drafts are not offered
    r = runner.invoke(app, ["--root", str(kbroot), "show", "dis-001"])
    assert "相关条目" in r.stdout and "[fil-001]" in r.stdout
    data = json.loads(runner.invoke(app, ["--root", str(kbroot), "show", "dis-001", "--json"]).stdout)
    assert data["related"][0]["id"] == "fil-001"
    data = json.loads(runner.invoke(app, ["--root", str(kbroot), "search", "六个月", "--json", "--related"]).stdout)
    assert all("related" in h for h in data["results"])
