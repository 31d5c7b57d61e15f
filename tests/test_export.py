"""qabase export: a self-contained printable HTML document, or JSON; all entry text escaped."""
import json
import re

from typer.testing import CliRunner

from qabase import open_kb
from qabase.cli import app
from qabase.authoring.export import export

from conftest import SAMPLE, entry_text, make_kb

runner = CliRunner()


def run(root, *args):
    return runner.invoke(app, ["--root", str(root), *args])


def test_html_everything(kbroot):
    r = run(kbroot, "export", "--format", "html")
    assert r.exit_code == 0, r.output
    html = r.stdout
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    # every published entry, none of the drafts
    for eid in ("dis-001", "dis-002", "fil-001", "pl-001"):
        assert f'id="{eid}"' in html and f'href="#{eid}"' in html
    assert "pet-001" not in html
    # table of contents by topic, in the order of kb/topics.yaml
    toc = html.split('<nav class="toc">')[1].split("</nav>")[0]
    assert toc.index("案件发现") < toc.index("立结案要求") < toc.index("程序衔接")
    assert "《中华人民共和国刑法》第三百一十三条" in html and "法律依据" in html
    assert "不是任何法院的正式发布" in html and "qabase 项目编写组" in html
    # self-contained: no scripts, stylesheets, images or fonts fetched from anywhere
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert not re.search(r"https?://", html)
    assert "@media print" in html


def test_html_one_batch(kbroot):
    html = export(open_kb(kbroot), "html", batch=2)
    assert 'id="fil-001"' in html and 'id="dis-001"' not in html
    assert "第 2 批" in html


def test_html_escapes_entry_text(tmp_path):
    nasty = "<script>alert(1)</script>"
    root = make_kb(tmp_path / "k", {"discovery/dis-001.md": entry_text(
        "dis-001", "discovery", f"问题{nasty}？", f"答复{nasty}\n\n<img src=x onerror=alert(2)>\n\n[链接](javascript:alert(3))",
        aliases=[f"别名{nasty}"], tags=["<b>标签</b>"])})
    r = run(root, "export", "--format", "html")
    assert r.exit_code == 0, r.output
    html = r.stdout
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "javascript:" not in html
    assert "问题&lt;script&gt;alert(1)&lt;/script&gt;？" in html
    assert "别名&lt;script&gt;" in html and "&lt;b&gt;标签&lt;/b&gt;" in html
    assert "答复&lt;script&gt;" in html


def test_json_export_to_file(kbroot, tmp_path):
    out = tmp_path / "out.json"
    r = run(kbroot, "export", "--format", "json", "--batch", "1", "-o", str(out))
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["schema_version"] == 1 and data["batch"] == 1
    assert [e["id"] for e in data["entries"]] == ["dis-001", "dis-002", "pl-001"]
    first = data["entries"][0]
    assert first["topic"] == {"slug": "discovery", "name": "案件发现"}
    assert first["answer"].startswith("**结论**") and first["answer_html"].startswith("<p><strong>结论</strong>")
    assert "path" not in first
    assert "不是任何法院的正式发布" in data["notice"]
    assert [t["slug"] for t in data["topics"]] == ["discovery", "procedure-linkage"]


def test_withdrawn_entries_not_exported(tmp_path):
    entries = dict(SAMPLE)
    entries["discovery/dis-002.md"] = entries["discovery/dis-002.md"].replace("status: published", "status: withdrawn")
    root = make_kb(tmp_path / "k", entries)
    data = json.loads(export(open_kb(root), "json"))
    assert "dis-002" not in [e["id"] for e in data["entries"]]


def test_export_errors(kbroot, tmp_path):
    r = run(kbroot, "export", "--batch", "9")
    assert r.exit_code == 1 and "第 9 批没有已发布的条目" in r.stderr
    r = run(kbroot, "export", "--format", "pdf")
    assert r.exit_code == 2 and "未知的导出格式" in r.stderr
    r = run(kbroot, "export", "-o", str(tmp_path / "no-such-dir" / "x.html"))
    assert r.exit_code == 1 and "不存在" in r.stderr
