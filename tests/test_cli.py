"""The CLI: one library call per command, Chinese messages, --json, exit codes."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from typer.testing import CliRunner

from qabase.cli import app

from conftest import engine_fixture, make_kb

engine = engine_fixture()

runner = CliRunner()


def run(*args, root=None, env=None):
    argv = (["--root", str(root)] if root else []) + list(args)
    return runner.invoke(app, argv, env=env)


def test_search_text(kbroot):
    r = run("search", "交叉执行案件怎么结案", root=kbroot)
    assert r.exit_code == 0, r.output
    assert "[fil-001]" in r.stdout.splitlines()[2]
    assert "不是任何法院的正式发布" in r.stdout


def test_search_json_schema(kbroot):
    r = run("search", "老赖拒执", "--json", root=kbroot)
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["schema_version"] == 1
    assert set(data) >= {"query", "searched_as", "total", "skipped", "results", "notice"}
    assert data["query"] == "老赖拒执"
    top = data["results"][0]
    assert set(top) >= {"id", "topic", "question", "score", "snippet", "legal_basis", "batch", "status"}
    assert top["id"] == "pl-001"
    assert top["topic"] == {"slug": "procedure-linkage", "name": "程序衔接"}
    assert top["legal_basis"] == ["《中华人民共和国刑法》第三百一十三条"]
    assert isinstance(top["snippet"], list) and all(set(x) == {"text", "match"} for x in top["snippet"])
    assert "不是任何法院的正式发布" in data["notice"]


def test_search_filters_and_no_results(kbroot):
    r = run("search", "交叉执行", "--topic", "立结案要求", "--json", root=kbroot)
    assert [h["id"] for h in json.loads(r.stdout)["results"]] == ["fil-001"]
    r = run("search", "宇宙飞船", root=kbroot)
    assert r.exit_code == 0 and "没有找到" in r.stdout and "qabase list --topic" in r.stdout
    r = run("search", "x", "--topic", "nosuch", root=kbroot)
    assert r.exit_code == 1 and "未知专题" in r.stderr


def test_show(kbroot):
    r = run("show", "dis-002", root=kbroot)
    assert r.exit_code == 0
    assert "终本案件发现新财产" in r.stdout and "第五百一十七条" in r.stdout and "说明：" in r.stdout
    data = json.loads(run("show", "dis-002", "--json", root=kbroot).stdout)
    assert data["id"] == "dis-002" and data["answer"].startswith("**结论**")
    assert data["path"] == "qa_entries/discovery/dis-002.md" and data["topic"]["name"] == "案件发现"
    r = run("show", "dis-999", root=kbroot)
    assert r.exit_code == 1 and "没有编号为 dis-999" in r.stderr
    r = run("show", "../../etc/passwd", root=kbroot)
    assert r.exit_code == 1 and "编号格式不对" in r.stderr


def test_show_escapes_nothing_into_markup(tmp_path):
    from conftest import entry_text

    root = make_kb(tmp_path / "k", {"discovery/dis-001.md": entry_text(
        "dis-001", "discovery", "问？", "<script>alert(1)</script> [bold]x[/bold]")})
    r = run("show", "dis-001", root=root)
    assert "<script>alert(1)</script>" in r.stdout and "[bold]x[/bold]" in r.stdout


def test_topics_and_list(kbroot):
    r = run("topics", "--json", root=kbroot)
    rows = json.loads(r.stdout)["topics"]
    assert [t["slug"] for t in rows][:2] == ["discovery", "accountability"]
    assert next(t for t in rows if t["slug"] == "discovery")["entries"] == 2
    r = run("list", "--topic", "petitions", root=kbroot)
    assert "pet-001" in r.stdout and "草稿" in r.stdout and "draft" not in r.stdout and "共 1 条" in r.stdout


def test_check_exit_codes(tmp_path, kbroot):
    r = run("check", root=kbroot)
    assert r.exit_code == 0 and "0 个错误" in r.stdout
    (kbroot / "qa_entries" / "discovery" / "dis-003.md").write_text("---\nid: dis-003\n---\n答\n", encoding="utf-8")
    r = run("check", root=kbroot)
    assert r.exit_code == 1
    assert "qa_entries/discovery/dis-003.md:1: 错误：缺少必填字段：topic" in r.stdout
    data = json.loads(run("check", "--json", root=kbroot).stdout)
    assert data["errors"] >= 1 and data["problems"][0]["path"].endswith("dis-003.md")


def test_index_command(kbroot):
    r = run("index", "--json", root=kbroot)
    assert r.exit_code == 0
    assert json.loads(r.stdout)["entries"] == 5


def test_root_found_from_subdirectory(kbroot, monkeypatch):
    monkeypatch.chdir(kbroot / "qa_entries" / "discovery")
    monkeypatch.delenv("QABASE_ROOT", raising=False)
    r = runner.invoke(app, ["list"])
    assert r.exit_code == 0 and "dis-001" in r.stdout


def test_no_knowledge_base(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QABASE_ROOT", raising=False)
    r = runner.invoke(app, ["list"])
    assert r.exit_code == 1 and "没有找到知识库" in r.stderr


def test_index_dir_override(kbroot, tmp_path):
    other = tmp_path / "elsewhere"
    r = runner.invoke(app, ["--root", str(kbroot), "--index-dir", str(other), "search", "拒执", "--json"])
    assert r.exit_code == 0 and (other / "CURRENT").exists()
    assert not (kbroot / "kb" / ".index" / "CURRENT").exists()


def test_help_teaches():
    r = runner.invoke(app, ["--help"])
    for cmd in ("search", "show", "topics", "list", "check", "index"):
        assert cmd in r.stdout
    r = runner.invoke(app, ["search", "--help"])
    assert "--topic" in r.stdout and "示例" in r.stdout


def test_python_m_and_gbk_console(kbroot):
    env = dict(os.environ, PYTHONIOENCODING="gbk", QABASE_ROOT=str(kbroot))
    p = subprocess.run([sys.executable, "-m", "qabase", "search", "拒执 😀"], capture_output=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr.decode("gbk", "replace")
    assert "pl-001" in p.stdout.decode("gbk")


# -- issue 19: the terminal ---------------------------------------------------------------------
def once(engine):
    """Behaviour that does not depend on the search engine is tested with one of them."""
    if engine != "whoosh":
        pytest.skip("与检索引擎无关，只用 whoosh 测一次")


def test_global_options_after_the_command(kbroot, tmp_path, monkeypatch):
    from test_laws import write_statutes

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QABASE_ROOT", raising=False)
    r = runner.invoke(app, ["search", "交叉执行", "--root", str(kbroot), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["results"]
    sd = write_statutes(tmp_path / "statutes")
    r = runner.invoke(app, ["law", "民诉法", "237", "--statutes", str(sd), "--root", str(kbroot)])
    assert r.exit_code == 0 and "测试条文二百三十七号" in r.stdout
    other = tmp_path / "index-here"
    r = runner.invoke(app, ["--root", str(kbroot), "search", "拒执", "--index-dir", str(other), "--json"])
    assert r.exit_code == 0 and (other / "CURRENT").exists()
    r = runner.invoke(app, ["search", "--help"])
    assert "--root" in r.stdout and "--statutes" in r.stdout and "--index-dir" in r.stdout


def test_unquoted_keywords_are_one_query(kbroot):
    joined = json.loads(run("search", "委托执行", "销案", "--json", root=kbroot).stdout)
    quoted = json.loads(run("search", "委托执行 销案", "--json", root=kbroot).stdout)
    assert joined["query"] == "委托执行 销案" and joined["results"] == quoted["results"]
    r = run("search", "交叉执行", "结案", "-n", "2", root=kbroot)
    assert r.exit_code == 0 and "[fil-001]" in r.stdout


def test_short_ids_resolve(kbroot, engine):
    once(engine)
    assert json.loads(run("show", "fil-1", "--json", root=kbroot).stdout)["id"] == "fil-001"
    assert json.loads(run("show", "DIS-02", "--json", root=kbroot).stdout)["id"] == "dis-002"
    assert json.loads(run("show", "dis-0001", "--json", root=kbroot).stdout)["id"] == "dis-001"
    r = run("show", "dis-9", root=kbroot)
    assert r.exit_code == 1 and "没有编号为 dis-009" in r.stderr


def test_related_shown_without_json(kbroot):
    r = run("search", "交叉执行", "--related", root=kbroot)
    assert r.exit_code == 0 and "相关：[" in r.stdout
    assert "相关：[" not in run("search", "交叉执行", root=kbroot).stdout


def test_unknown_topic_suggests_the_closest(kbroot, engine):
    once(engine)
    r = run("search", "执行", "--topic", "程序衔结", root=kbroot)
    assert r.exit_code == 1 and "是不是“程序衔接”（procedure-linkage）？" in r.stderr
    r = run("list", "--topic", "discovry", root=kbroot)
    assert r.exit_code == 1 and "是不是“案件发现”（discovery）？" in r.stderr


def test_list_status(kbroot, engine):
    once(engine)
    r = run("list", "--status", "draft", root=kbroot)
    assert r.exit_code == 0 and "pet-001" in r.stdout and "dis-001" not in r.stdout and "共 1 条" in r.stdout
    r = run("list", "--status", "已发布", "--json", root=kbroot)
    assert {e["status"] for e in json.loads(r.stdout)["entries"]} == {"published"}
    r = run("list", "--status", "done", root=kbroot)
    assert r.exit_code == 2 and "未知状态：done" in r.stderr and "review（待审）" in r.stderr


def test_check_given_files_only(kbroot, monkeypatch, engine):
    once(engine)
    from conftest import entry_text

    d = kbroot / "qa_entries" / "discovery"
    (d / "dis-003.md").write_text("---\nid: dis-003\n---\n答\n", encoding="utf-8")
    (d / "dis-009.md").write_text(entry_text("dis-001", "discovery", "另一个问题？", "答。"), encoding="utf-8")
    r = run("check", root=kbroot)
    assert r.exit_code == 1 and "dis-003.md" in r.stdout and "dis-009.md" in r.stdout
    r = run("check", str(d / "dis-002.md"), root=kbroot)
    assert r.exit_code == 0 and "检查了 1 个文件：0 个错误" in r.stdout and "dis-003" not in r.stdout
    r = run("check", str(d / "dis-003.md"), "--json", root=kbroot)
    data = json.loads(r.stdout)
    assert r.exit_code == 1 and data["files"] == 1 and data["entries"] == 0
    assert {p["path"] for p in data["problems"]} == {"qa_entries/discovery/dis-003.md"}
    # a KB-wide rule that concerns the file: its id is reused by another file
    monkeypatch.chdir(kbroot)
    r = run("check", "qa_entries/discovery/dis-001.md")
    assert r.exit_code == 1 and "dis-009.md" in r.stdout and "编号 dis-001 重复" in r.stdout
    r = run("check", "qa_entries/discovery/nosuch.md")
    assert r.exit_code == 1 and "文件不存在" in r.stderr


def test_loose_legal_basis_offers_the_canonical_form(kbroot, engine):
    once(engine)
    from conftest import entry_text

    (kbroot / "qa_entries" / "discovery" / "dis-003.md").write_text(entry_text(
        "dis-003", "discovery", "问？", "答。", legal_basis=["民诉法第119条"]), encoding="utf-8")
    r = run("check", root=kbroot)
    assert r.exit_code == 1
    assert "法律依据无法解析" in r.stdout and "应写作：《中华人民共和国民事诉讼法》第一百一十九条" in r.stdout


def test_law_search_uses_inner_marks(kbroot, tmp_path, engine):
    once(engine)
    sd = tmp_path / "statutes"
    sd.mkdir()
    (sd / "民诉法解释(2022-04-01).md").write_text(
        "# 最高人民法院关于适用《中华人民共和国民事诉讼法》的解释\n\n<!-- INFO END -->\n\n"
        "第五百一十七条 经过财产调查未发现可供执行的财产，可以裁定终结本次执行程序。\n", encoding="utf-8")
    r = run("law", "终结本次执行程序", "--search", "--statutes", str(sd), root=kbroot)
    assert r.exit_code == 0, r.output
    assert "《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》第五百一十七条" in r.stdout
    assert not re.search(r"《[^》]*《", r.stdout)


def test_new_edit_falls_back_to_visual_then_a_plain_editor(kbroot, tmp_path, monkeypatch, engine):
    once(engine)
    from qabase.cli import terminal

    script = tmp_path / "fake_editor.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a', encoding='utf-8').write('编辑器写入\\n')\n", encoding="utf-8")
    r = run("new", "--topic", "discovery", "--edit", root=kbroot,
            env={"EDITOR": "", "VISUAL": f'"{sys.executable}" "{script}"'})
    assert r.exit_code == 0, r.output
    assert Path(r.stdout.strip()).read_text(encoding="utf-8").endswith("编辑器写入\n")
    # EDITOR names nothing that starts: VISUAL is tried next
    r = run("new", "--topic", "discovery", "--edit", root=kbroot,
            env={"EDITOR": "no-such-editor-qabase", "VISUAL": f'"{sys.executable}" "{script}"'})
    assert r.exit_code == 0 and Path(r.stdout.strip()).read_text(encoding="utf-8").endswith("编辑器写入\n")

    if os.name == "posix":  # then nano (or vi), when there is a terminal to run it in
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        nano = bin_dir / "nano"
        nano.write_text('#!/bin/sh\necho "nano 写入" >> "$1"\n', encoding="utf-8")
        nano.chmod(0o755)
        monkeypatch.setattr(terminal, "interactive", lambda stream: True)
        r = run("new", "--topic", "discovery", "--edit", root=kbroot,
                env={"EDITOR": "", "VISUAL": "", "PATH": str(bin_dir)})
        assert r.exit_code == 0, r.output
        assert Path(r.stdout.strip()).read_text(encoding="utf-8").endswith("nano 写入\n")
        nano.unlink()

    # no editor starts: the new file is removed again
    before = sorted(p.name for p in (kbroot / "qa_entries" / "discovery").iterdir())
    r = run("new", "--topic", "discovery", "--edit", root=kbroot,
            env={"EDITOR": "no-such-editor-qabase", "VISUAL": "", "PATH": str(tmp_path / "empty")})
    assert r.exit_code == 1 and "EDITOR" in r.stderr and "已删除刚建的草稿" in r.stderr
    assert sorted(p.name for p in (kbroot / "qa_entries" / "discovery").iterdir()) == before
