"""Trainers' workflow: new, the duplicate guard, front matter edits and publish."""
import hashlib
import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from qabase import open_kb
from qabase.authoring.workflow import FIELD_ORDER, set_fields
from qabase.content.entries import load_entry

from conftest import REPO, SAMPLE, entry_text, make_kb

runner = CliRunner()


def run(root, *args, env=None):
    return runner.invoke(app(), ["--root", str(root), *args], env=env)


def app():
    from qabase.cli import app as a

    return a


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".index" not in p.parts:
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


# -- new --------------------------------------------------------------------------------------
def test_new_scaffolds_next_id_with_every_field(kbroot):
    r = run(kbroot, "new", "--topic", "案件发现")
    assert r.exit_code == 0, r.output
    path = Path(r.stdout.strip())
    assert path == kbroot / "qa_entries" / "discovery" / "dis-003.md"
    text = path.read_text(encoding="utf-8")
    for key in FIELD_ORDER:
        if key != "import_key":
            assert f"\n{key}:" in text, key
    assert "status: draft" in text
    # Without a question the scaffold is not yet a valid entry: check says what to fill in.
    kb = open_kb(kbroot)
    _, problems = load_entry(path, kb.kb)
    assert any("question" in p.message and "不能为空" in p.message for p in problems)

    r = run(kbroot, "new", "--topic", "discovery", "--question", "交叉执行的案件由谁来选定？")
    assert r.exit_code == 0, r.output
    second = Path(r.stdout.strip())
    assert second.name == "dis-004.md"
    entry, problems = load_entry(second, kb.kb)
    assert entry is not None and not problems
    assert entry.question == "交叉执行的案件由谁来选定？" and entry.status == "draft"


def test_new_counts_broken_files_and_other_folders(tmp_path):
    root = make_kb(tmp_path / "k", {
        "discovery/dis-001.md": SAMPLE["discovery/dis-001.md"],
        "discovery/dis-007.md": "---\nid: [broken\n---\n正文\n",
        "petitions/dis-009.md": "not even front matter",
    })
    r = run(root, "new", "--topic", "discovery")
    assert r.exit_code == 0, r.output
    assert Path(r.stdout.strip()).name == "dis-010.md"


def test_new_warns_about_near_duplicate(kbroot):
    r = run(kbroot, "new", "--topic", "discovery", "--question",
            "执行法院超过六个月没有执行，申请执行人可以向哪一级法院申请交叉执行？")
    assert r.exit_code == 0
    assert "dis-003" in r.stderr and "dis-001" in r.stderr and "相似度" in r.stderr


def test_new_unknown_topic(kbroot):
    r = run(kbroot, "new", "--topic", "nosuch")
    assert r.exit_code == 1 and "未知专题" in r.stderr
    assert not list((kbroot / "qa_entries").rglob("*-003.md"))


def test_new_edit_opens_editor(kbroot, tmp_path):
    script = tmp_path / "fake_editor.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a', encoding='utf-8').write('编辑器写入\\n')\n", encoding="utf-8")
    env = {"VISUAL": "", "EDITOR": f'"{sys.executable}" "{script}"'}
    r = run(kbroot, "new", "--topic", "discovery", "--question", "问题甲？", "--edit", env=env)
    assert r.exit_code == 0, r.output
    assert Path(r.stdout.strip()).read_text(encoding="utf-8").endswith("编辑器写入\n")

    r = run(kbroot, "new", "--topic", "discovery", "--edit", env={"VISUAL": "", "EDITOR": ""})
    assert r.exit_code == 1 and "EDITOR" in r.stderr


# -- duplicate guard in check ------------------------------------------------------------------
def _dup_kb(tmp_path, config_extra=""):
    root = make_kb(tmp_path / "k", {
        "discovery/dis-001.md": entry_text("dis-001", "discovery", "终本案件发现新财产后能否纳入交叉执行？", "可以。"),
        "discovery/dis-002.md": entry_text("dis-002", "discovery", "执行异议由哪个法院审查？", "由执行法院审查。",
                                           aliases=["终本案件发现了新财产以后能否纳入交叉执行"]),
        "filing-closing/fil-001.md": entry_text("fil-001", "filing-closing", "交叉执行案件有哪些结案方式？", "六种。"),
    })
    if config_extra:
        set_config(root, config_extra)
    return root


def set_config(root, extra):
    """The shipped config.yaml with its duplicate_threshold line replaced by ``extra``."""
    cfg = root / "kb" / "config.yaml"
    kept = [line for line in cfg.read_text(encoding="utf-8").splitlines(keepends=True)
            if not line.startswith("duplicate_threshold:")]
    cfg.write_text("".join(kept) + extra, encoding="utf-8")


def test_check_warns_on_near_duplicate_alias(tmp_path):
    root = _dup_kb(tmp_path)
    r = run(root, "check", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    dups = [p for p in data["problems"] if "相似度" in p["message"]]
    assert len(dups) == 1
    p = dups[0]
    assert p["level"] == "warning" and p["path"] == "qa_entries/discovery/dis-002.md"
    assert "dis-002" in p["message"] and "dis-001" in p["message"]
    assert p["line"] == 5  # the aliases line of dis-002
    sim = float(p["message"].split("相似度 ")[1].split("）")[0])
    assert 0.6 <= sim < 1


def test_duplicate_threshold_is_configurable(tmp_path):
    root = _dup_kb(tmp_path, "duplicate_threshold: 0.95\n")
    data = json.loads(run(root, "check", "--json").stdout)
    assert not [p for p in data["problems"] if "相似度" in p["message"]]
    assert not [p for p in data["problems"] if "未知的设置项" in p["message"]]
    root2 = _dup_kb(tmp_path / "b", "duplicate_threshold: 0.2\n")
    data = json.loads(run(root2, "check", "--json").stdout)
    assert len([p for p in data["problems"] if "相似度" in p["message"]]) >= 1


def test_withdrawn_entries_are_not_duplicates(tmp_path):
    root = make_kb(tmp_path / "k", {
        "discovery/dis-001.md": entry_text("dis-001", "discovery", "终本案件发现新财产后能否纳入交叉执行？", "旧。",
                                           status="withdrawn", extra="superseded_by: dis-002"),
        "discovery/dis-002.md": entry_text("dis-002", "discovery", "终本案件发现新财产后能否纳入交叉执行？", "新。"),
    })
    data = json.loads(run(root, "check", "--json").stdout)
    assert not [p for p in data["problems"] if "相似度" in p["message"]]


def test_shipped_knowledge_base_is_not_flooded():
    from qabase.content import duplicates

    kb = open_kb(REPO)
    entries = kb.load_entries().entries
    assert len(entries) >= 75
    assert duplicates.find_duplicates(entries, duplicates.threshold(kb.kb)) == []


def test_similarity_measure():
    from qabase.content.duplicates import similarity

    assert similarity("交叉执行案件怎么结案？", "交叉执行案件怎么结案") == 1.0
    assert similarity("Ｑ１：交叉执行", "q1 交叉执行") == 1.0  # NFKC folding, punctuation ignored
    assert similarity("拒执", "结案") == 0.0
    assert similarity("", "结案") == 0.0


# -- superseded_by ------------------------------------------------------------------------------
def test_superseded_by_must_exist(tmp_path):
    root = make_kb(tmp_path / "k", {
        "discovery/dis-001.md": entry_text("dis-001", "discovery", "旧问题？", "旧。", status="withdrawn",
                                           extra="superseded_by: dis-009"),
        "discovery/dis-002.md": entry_text("dis-002", "discovery", "新问题？", "新。", extra="superseded_by: dis-001"),
    })
    r = run(root, "check")
    assert r.exit_code == 1
    assert "dis-001.md" in r.stdout and "dis-009 不存在" in r.stdout
    assert "只有已撤回" in r.stdout


def test_show_says_what_replaced_a_withdrawn_entry(tmp_path):
    root = make_kb(tmp_path / "k", {
        "discovery/dis-001.md": entry_text("dis-001", "discovery", "旧问题？", "旧。", status="withdrawn",
                                           extra="superseded_by: dis-002"),
        "discovery/dis-002.md": entry_text("dis-002", "discovery", "新问题？", "新。"),
    })
    r = run(root, "show", "dis-001")
    assert r.exit_code == 0 and "已被 dis-002 取代" in r.stdout


# -- editing front matter ------------------------------------------------------------------------
def test_set_fields_rewrites_only_the_lines_concerned():
    text = ("---\r\n"
            "# 培训组的注释\r\n"
            "id: dis-001\r\n"
            "topic: discovery\r\n"
            "question: '引号 保留'\r\n"
            "tags: [a,   b]\r\n"
            "status: review   # 等待王庭长审核\r\n"
            "legal_basis:\r\n"
            "  - 《中华人民共和国民事诉讼法》第二百三十七条\r\n"
            "reviewed_by: 王庭长\r\n"
            "---\r\n"
            "正文\r\n")
    out = set_fields(text, {"status": "published", "batch": 2, "version": 3, "updated": "2026-12-01"})
    lines = out.split("\r\n")
    assert "status: published   # 等待王庭长审核" in lines
    assert "# 培训组的注释" in lines and "question: '引号 保留'" in lines and "tags: [a,   b]" in lines
    # new keys go after their neighbours in the usual order, not at the end
    assert lines.index("batch: 2") == lines.index("status: published   # 等待王庭长审核") + 1
    assert lines.index("updated: 2026-12-01") == lines.index("batch: 2") + 1
    assert lines.index("version: 3") == lines.index("updated: 2026-12-01") + 1
    assert lines.index("version: 3") < lines.index("legal_basis:")
    assert "\n" not in out.replace("\r\n", "")
    assert out.endswith("正文\r\n")
    # replacing a block value removes its continuation lines
    again = set_fields(out, {"batch": 3})
    assert again.count("batch:") == 1 and "batch: 3" in again


# -- publish --------------------------------------------------------------------------------------
def _publish_kb(tmp_path):
    entries = dict(SAMPLE)
    entries["discovery/dis-003.md"] = entry_text(
        "dis-003", "discovery", "交叉执行的案源从哪里来？", "**结论**：上级法院筛选。", status="review",
        batch=None, updated=None, extra="reviewed_by: 审核组  # 张庭长\nanswered_by: 编写组")
    entries["procedure-linkage/pl-001.md"] = entries["procedure-linkage/pl-001.md"].replace(
        "status: published", "status: withdrawn").replace("---\n**", "superseded_by: dis-003\n---\n**")
    return make_kb(tmp_path / "k", entries)


def test_publish_dry_run_then_publish(tmp_path):
    root = _publish_kb(tmp_path)
    before = digest(root)
    r = run(root, "publish", "--batch", "3", "--date", "2026-12-01", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "试运行" in r.stdout and "新增 dis-003" in r.stdout and "撤回 pl-001" in r.stdout
    assert digest(root) == before

    r = run(root, "publish", "--batch", "3", "--date", "2026-12-01", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [i["id"] for i in data["added"]] == ["dis-003"]
    assert [i["id"] for i in data["withdrawn"]] == ["pl-001"] and data["withdrawn"][0]["superseded_by"] == "dis-003"
    assert data["changed"] == []

    text = (root / "qa_entries/discovery/dis-003.md").read_text(encoding="utf-8")
    assert "status: published\n" in text and "batch: 3\n" in text and "version: 1\n" in text
    assert "published: 2026-12-01\n" in text and "updated: 2026-12-01\n" in text
    assert "reviewed_by: 审核组  # 张庭长" in text
    kb = open_kb(root)
    e = kb.get("dis-003")
    assert e.status == "published" and e.batch == 3 and e.version == 1
    assert not kb.check().errors

    log = (root / "kb/changelog/batch-3.md").read_text(encoding="utf-8")
    assert "# 第 3 批发布说明" in log and "2026-12-01" in log
    assert "## 新增（1 条）" in log and "dis-003" in log
    assert "## 撤回（1 条）" in log and "pl-001" in log and "由 dis-003 取代" in log
    assert "## 修改（0 条）" in log
    records = json.loads((root / "kb/published.json").read_text(encoding="utf-8"))
    assert records["entries"]["dis-003"]["version"] == 1
    assert records["entries"]["pl-001"]["status"] == "withdrawn"
    # the withdrawn entry stays on disk, and searching published entries does not find it
    assert (root / "qa_entries/procedure-linkage/pl-001.md").exists()
    hits = kb.search("拒执线索移送公安").results
    assert "pl-001" not in [h.id for h in hits]

    # the same batch cannot be published twice
    r = run(root, "publish", "--batch", "3")
    assert r.exit_code == 1 and "--batch 4" in r.stderr


def test_publish_bumps_version_only_when_content_changed(tmp_path):
    root = _publish_kb(tmp_path)
    assert run(root, "publish", "--batch", "3", "--date", "2026-12-01").exit_code == 0
    path = root / "qa_entries/discovery/dis-003.md"

    # back to review without a change: published again, same version, same batch
    path.write_text(path.read_text(encoding="utf-8").replace("status: published", "status: review"), encoding="utf-8")
    r = run(root, "publish", "--batch", "4", "--date", "2026-12-05", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [i["id"] for i in data["republished"]] == ["dis-003"] and not data["changed"]
    e = open_kb(root).get("dis-003")
    assert e.version == 1 and e.batch == 3 and e.updated.isoformat() == "2026-12-01"

    # an edited answer needs a fresh review: reviewed_at no earlier than the last publication
    text = path.read_text(encoding="utf-8").replace("status: published", "status: review")
    path.write_text(text.replace("上级法院筛选。", "上级法院筛选，也可依申请。"), encoding="utf-8")
    r = run(root, "publish", "--batch", "5", "--date", "2026-12-09")
    assert r.exit_code == 1 and "reviewed_at" in r.stderr and "2026-12-05" in r.stderr
    path.write_text(path.read_text(encoding="utf-8").replace("---\n**", "reviewed_at: 2026-12-08\n---\n**"), encoding="utf-8")
    r = run(root, "publish", "--batch", "5", "--date", "2026-12-09")
    assert r.exit_code == 0, r.output
    assert "修改 dis-003" in r.stdout and "第 2 版" in r.stdout
    e = open_kb(root).get("dis-003")
    assert (e.version, e.batch, e.updated.isoformat(), e.published.isoformat()) == (2, 5, "2026-12-09", "2026-12-01")
    log = (root / "kb/changelog/batch-5.md").read_text(encoding="utf-8")
    assert "## 修改（1 条）" in log and "第 2 版，审核：审核组" in log and "改动了答复" in log


def test_publish_warns_about_published_entry_edited_without_review(tmp_path):
    root = _publish_kb(tmp_path)
    assert run(root, "publish", "--batch", "3").exit_code == 0
    p = root / "qa_entries/discovery/dis-001.md"
    p.write_text(p.read_text(encoding="utf-8").replace("向上一级法院申请。", "向上一级法院书面申请。"), encoding="utf-8")
    p2 = root / "qa_entries/discovery/dis-002.md"
    p2.write_text(p2.read_text(encoding="utf-8").replace("status: published", "status: review")
                  .replace("---\n**", "reviewed_by: 审核组\n---\n**"), encoding="utf-8")
    r = run(root, "publish", "--batch", "4")
    assert r.exit_code == 0, r.output
    assert "dis-001" in r.stderr and "没有经过审核" in r.stderr


def test_publish_refuses_when_check_finds_errors(tmp_path):
    entries = dict(SAMPLE)
    entries["discovery/dis-003.md"] = entry_text("dis-003", "discovery", "新问题？", "答复。", status="review",
                                                 batch=None, updated=None, extra="reviewed_by: 审核组")
    entries["discovery/dis-004.md"] = "---\nid: dis-004\ntopic: discovery\nquestion: [未闭合\n---\n答复\n"
    root = make_kb(tmp_path / "k", entries)
    before = digest(root)
    r = run(root, "publish", "--batch", "3")
    assert r.exit_code == 1
    assert "qabase check 发现 1 个错误" in r.stderr and "dis-004.md" in r.stderr
    assert digest(root) == before


def test_publish_requires_reviewer_and_legal_basis(tmp_path):
    entries = dict(SAMPLE)
    entries["discovery/dis-003.md"] = entry_text("dis-003", "discovery", "新问题？", "答复。", status="review",
                                                 batch=None, updated=None)
    entries["discovery/dis-004.md"] = entry_text("dis-004", "discovery", "另一个问题？", "答复。", status="review",
                                                 batch=None, updated=None, legal_basis=(), extra="reviewed_by: 审核组")
    root = make_kb(tmp_path / "k", entries)
    before = digest(root)
    r = run(root, "publish", "--batch", "3")
    assert r.exit_code == 1
    assert "dis-003 没有审核人（reviewed_by）" in r.stderr
    assert "dis-004 没有法律依据" in r.stderr
    assert digest(root) == before


def test_publish_refuses_old_batch_and_nothing_to_do(kbroot):
    r = run(kbroot, "publish", "--batch", "1")
    assert r.exit_code == 1 and "--batch 3" in r.stderr
    r = run(kbroot, "publish", "--batch", "3")
    assert r.exit_code == 1 and "没有可发布的内容" in r.stderr
    assert not (kbroot / "kb/changelog").exists()
