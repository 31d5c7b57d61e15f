"""The CLI: one library call per command, Chinese messages, --json, exit codes."""
import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from qabase.cli import app

from conftest import engine_fixture, make_kb

engine = engine_fixture()

runner = CliRunner()


def run(*args, root=None):
    argv = (["--root", str(root)] if root else []) + list(args)
    return runner.invoke(app, argv)


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
    assert "pet-001" in r.stdout and "draft" in r.stdout and "共 1 条" in r.stdout


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
