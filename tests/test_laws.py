"""Statutes: the catalogue, verified citations in check, `qabase law`, article texts.

The statute directory here is written by the test in the LawRefBook layout, with invented
article texts: no real statute text is needed or used.
"""
import json

import pytest
from typer.testing import CliRunner

from qabase.content.catalogue import UNVERIFIABLE, verify
from qabase.content.citations import parse_citation
from qabase.cli import app
from qabase.content.laws import BadReference, NoSuchArticle, StatuteLibrary, UnknownInstrument, parse_statute, resolve_reference

from conftest import entry_text, make_kb

runner = CliRunner()


def write_statutes(d):
    d.mkdir(parents=True, exist_ok=True)
    arts = "\n\n".join(f"第{n}条 测试条文{n}号，内容为虚构。" for n in
                       ("一", "二", "十", "二百三十六", "二百三十七", "三百零六"))
    (d / "民事诉讼法(2023-09-01).md").write_text(
        "# 中华人民共和国民事诉讼法\n\n2023年9月1日 测试\n\n<!-- INFO END -->\n\n## 第一编 总则\n\n" + arts +
        "\n\n第二百三十七条之一 虚构的之一条。\n第二款的文字。\n", encoding="utf-8")
    (d / "执行工作规定(2020-12-29).md").write_text(
        "# 最高人民法院关于人民法院执行工作若干问题的规定（试行）\n\n<!-- INFO END -->\n\n## 一、测试\n\n"
        "1.第一条虚构。\n\n2.第二条虚构：\n\n1.这是列表项，不是条。\n\n3.第三条虚构。\n", encoding="utf-8")
    return d


def test_parse_lawrefbook_chinese_numbering(tmp_path):
    st = parse_statute(write_statutes(tmp_path / "s") / "民事诉讼法(2023-09-01).md")
    assert st.title == "中华人民共和国民事诉讼法" and st.year == 2023
    assert set(st.articles) == {"1", "2", "10", "236", "237", "306", "237-1"}
    assert st.articles["237-1"] == "虚构的之一条。\n第二款的文字。"


def test_parse_dotted_numbering_ignores_list_items(tmp_path):
    st = parse_statute(write_statutes(tmp_path / "s") / "执行工作规定(2020-12-29).md")
    assert list(st.articles) == ["1", "2", "3"]
    assert "列表项" in st.articles["2"]


def test_library_matches_catalogue_versions(kbase, tmp_path):
    lib = StatuteLibrary(write_statutes(tmp_path / "s"))
    cur = kbase.catalogue.by_id("cpl-2023")
    old = kbase.catalogue.by_id("cpl-2021")
    assert lib.find(cur).year == 2023
    assert lib.find(old) is None  # only the 2023 text is in this library


@pytest.mark.parametrize("text,expected", [
    ("民诉法 237", "《中华人民共和国民事诉讼法》第二百三十七条"),
    ("民事诉讼法第二百三十七条", "《中华人民共和国民事诉讼法》第二百三十七条"),
    ("《中华人民共和国民事诉讼法》第237条", "《中华人民共和国民事诉讼法》第二百三十七条"),
    ("异议复议规定第5条", "《最高人民法院关于人民法院办理执行异议和复议案件若干问题的规定》第五条"),
    ("民诉法（2021年修正）第233条", "《中华人民共和国民事诉讼法》（2021年修正）第二百三十三条"),
    ("刑法第十七条之一", "《中华人民共和国刑法》第十七条之一"),
])
def test_resolve_reference_forms(kbase, text, expected):
    r = resolve_reference(text, kbase.catalogue)
    assert r.to_dict()["citation"] == expected


def test_resolve_reference_errors(kbase):
    with pytest.raises(NoSuchArticle):
        resolve_reference("民诉法999条", kbase.catalogue)
    with pytest.raises(UnknownInstrument) as e:
        resolve_reference("民事诉讼发237条", kbase.catalogue)
    assert e.value.hint == "中华人民共和国民事诉讼法"
    with pytest.raises(BadReference):
        resolve_reference("随便写写", kbase.catalogue)


def levels(kbase, text):
    return verify(kbase.catalogue, parse_citation(text))


def test_verify_fabricated_article_is_error(kbase):
    [(level, msg)] = levels(kbase, "《中华人民共和国民事诉讼法》第九百九十九条")
    assert level == "error" and "没有第九百九十九条" in msg and "三百零六" in msg


def test_verify_repealed_cited_as_current_names_successor(kbase):
    [(level, msg)] = levels(kbase, "《最高人民法院关于审理拒不执行判决、裁定刑事案件适用法律若干问题的解释》第一条")
    assert level == "error" and "已废止" in msg and "最高人民法院、最高人民检察院" in msg
    [(level, msg)] = levels(kbase, "《最高人民法院关于限制被执行人高消费的若干规定》第一条")
    assert level == "error" and "限制被执行人高消费及有关消费" in msg


def test_verify_old_numbering_needs_version(kbase):
    assert levels(kbase, "《中华人民共和国民事诉讼法》（2021年修正）第二百三十三条") == []
    assert levels(kbase, "《中华人民共和国民事诉讼法》第二百三十三条") == []  # exists in 2023 too, different content
    [(level, msg)] = levels(kbase, "《中华人民共和国民事诉讼法》（2021年修正）第三百条")
    assert level == "error"


def test_verify_unverifiable_is_warning(kbase):
    [(level, msg)] = levels(kbase, "《最高人民法院关于严格规范终结本次执行程序的规定（试行）》第一条")
    assert level == "warning" and msg.startswith(UNVERIFIABLE)


def test_verify_unknown_instrument_hint(kbase):
    [(level, msg)] = levels(kbase, "《中华人民共和国民事诉讼发》第一条")
    assert level == "error" and "是不是《中华人民共和国民事诉讼法》" in msg


def test_check_reports_citation_problems_with_lines(tmp_path):
    from qabase import open_kb

    text = entry_text("dis-001", "discovery", "问？", "答。", legal_basis=[
        "《中华人民共和国民事诉讼法》第二百三十七条",
        "《中华人民共和国民事诉讼法》第九百九十九条",
        "《最高人民法院关于严格规范终结本次执行程序的规定（试行）》第一条",
    ])
    root = make_kb(tmp_path / "k", {"discovery/dis-001.md": text})
    report = open_kb(root).check()
    lines = text.splitlines()
    [err] = report.errors
    assert err.line == lines.index("  - 《中华人民共和国民事诉讼法》第九百九十九条") + 1
    [warn] = report.warnings
    assert UNVERIFIABLE in warn.message and warn.line == err.line + 1


def test_law_command_lists_citing_entries(kbroot):
    r = runner.invoke(app, ["--root", str(kbroot), "law", "民诉法", "237", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["citation"] == "《中华人民共和国民事诉讼法》第二百三十七条"
    assert data["article"]["number"] == 237 and data["article"]["chinese"] == "二百三十七"
    assert data["instrument"]["status"] == "现行"
    assert {e["id"] for e in data["entries"]} == {"dis-001", "fil-001"}
    assert data["text"] is None and data["statutes_available"] is False


def test_law_without_statutes_says_how_to_add(kbroot, monkeypatch):
    monkeypatch.delenv("QABASE_STATUTES", raising=False)
    r = runner.invoke(app, ["--root", str(kbroot), "law", "民诉法237条"])
    assert r.exit_code == 0 and "QABASE_STATUTES" in r.stderr
    r = runner.invoke(app, ["--root", str(kbroot), "law", "民诉法999条"])
    assert r.exit_code == 1 and "没有第九百九十九条" in r.stderr


def test_law_text_show_and_search_with_statutes(kbroot, tmp_path):
    sd = write_statutes(tmp_path / "statutes")
    base = ["--root", str(kbroot), "--statutes", str(sd)]
    r = runner.invoke(app, base + ["law", "民诉法第237条"])
    assert "测试条文二百三十七号" in r.stdout
    r = runner.invoke(app, base + ["show", "dis-001", "--json"])
    arts = json.loads(r.stdout)["articles"]
    assert arts == [{"citation": "《中华人民共和国民事诉讼法》第二百三十七条", "status": "现行",
                     "text": "测试条文二百三十七号，内容为虚构。"}]
    r = runner.invoke(app, base + ["show", "dis-001"])
    assert "所引条文" in r.stdout and "测试条文二百三十七号" in r.stdout
    r = runner.invoke(app, base + ["law", "第二款的文字", "--search", "--json"])
    assert json.loads(r.stdout)["results"][0]["article"] == "第二百三十七条之一"
    r = runner.invoke(app, base + ["search", "上一级法院", "--laws", "--json"])
    assert "laws" in json.loads(r.stdout)
