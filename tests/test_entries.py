"""Parsing and every validation error of one entry, with file and line."""
from pathlib import Path

from qabase.authoring.check import check
from qabase.errors import ERROR, WARNING

from conftest import entry_text, make_kb


def problems_for(tmp_path, rel, text):
    from qabase import open_kb

    root = make_kb(tmp_path / "kbx", {rel: text})
    report = open_kb(root).check()
    return report.problems


def only(problems, level=ERROR):
    return [p for p in problems if p.level == level]


GOOD = entry_text("dis-001", "discovery", "问题？", "答复。")


def test_good_entry_has_no_problems(tmp_path):
    assert problems_for(tmp_path, "discovery/dis-001.md", GOOD) == []


def test_fields_parsed(kbase):
    loaded = kbase.load_entries()
    e = next(e for e in loaded.entries if e.id == "dis-002")
    assert e.topic == "discovery" and e.status == "published" and e.batch == 1
    assert e.aliases == ["终本后又找到财产怎么办"]
    assert e.tags == ["终结本次执行程序", "恢复执行"]
    assert e.citations[0].article == 517
    assert e.updated.isoformat() == "2026-01-01"
    assert e.answer.startswith("**结论**")


def test_malformed_yaml_reports_line(tmp_path):
    text = "---\nid: dis-001\ntopic: discovery\nquestion: [unclosed\nstatus: draft\n---\n答复\n"
    errs = only(problems_for(tmp_path, "discovery/dis-001.md", text))
    assert len(errs) == 1
    assert errs[0].path == "qa_entries/discovery/dis-001.md"
    assert errs[0].line in (4, 5, 6)
    assert "YAML" in errs[0].message


def test_missing_front_matter_and_unterminated(tmp_path):
    errs = only(problems_for(tmp_path, "discovery/dis-001.md", "只有正文\n"))
    assert errs[0].line == 1 and "---" in errs[0].message
    errs = only(problems_for(tmp_path, "discovery/dis-001.md", "---\nid: dis-001\n正文\n"))
    assert "没有以 --- 结束" in errs[0].message


def test_missing_required_fields(tmp_path):
    text = "---\nid: dis-001\n---\n答复\n"
    msgs = [p.message for p in only(problems_for(tmp_path, "discovery/dis-001.md", text))]
    for field in ("topic", "question", "status"):
        assert any(f"缺少必填字段：{field}" in m for m in msgs), msgs


def test_published_requires_batch_updated_legal_basis(tmp_path):
    text = "---\nid: dis-001\ntopic: discovery\nquestion: 问？\nstatus: published\n---\n答复\n"
    msgs = [p.message for p in only(problems_for(tmp_path, "discovery/dis-001.md", text))]
    for field in ("batch", "updated", "legal_basis"):
        assert any(field in m for m in msgs), msgs


def test_unknown_field_is_a_warning_only(tmp_path):
    text = entry_text("dis-001", "discovery", "问？", "答。", extra="colour: blue")
    probs = problems_for(tmp_path, "discovery/dis-001.md", text)
    assert only(probs) == []
    w = only(probs, WARNING)
    assert len(w) == 1 and "colour" in w[0].message
    assert w[0].line == text.splitlines().index("colour: blue") + 1


def test_unknown_topic_and_folder_mismatch(tmp_path):
    text = entry_text("dis-001", "nosuch", "问？", "答。")
    assert any("未知专题" in p.message for p in only(problems_for(tmp_path, "discovery/dis-001.md", text)))
    text = entry_text("dis-001", "discovery", "问？", "答。")
    errs = only(problems_for(tmp_path, "petitions/dis-001.md", text))
    assert any("与所在目录" in p.message for p in errs)
    assert errs[0].line == 3


def test_topic_may_be_chinese_name(tmp_path):
    text = entry_text("dis-001", "案件发现", "问？", "答。")
    assert only(problems_for(tmp_path, "discovery/dis-001.md", text)) == []


def test_id_prefix_must_match_topic(tmp_path):
    text = entry_text("pet-001", "discovery", "问？", "答。")
    assert any("前缀" in p.message for p in only(problems_for(tmp_path, "discovery/pet-001.md", text)))


def test_duplicate_id(tmp_path):
    from qabase import open_kb

    root = make_kb(tmp_path / "k", {"discovery/dis-001.md": GOOD, "discovery/dis-009.md": GOOD})
    errs = open_kb(root).check().errors
    assert len(errs) == 1
    assert errs[0].path == "qa_entries/discovery/dis-009.md"
    assert "重复" in errs[0].message and "dis-001.md" in errs[0].message


def test_empty_question_and_answer(tmp_path):
    text = entry_text("dis-001", "discovery", "''", "   ")
    msgs = [p.message for p in only(problems_for(tmp_path, "discovery/dis-001.md", text))]
    assert any("question" in m and "不能为空" in m for m in msgs)
    assert any("答复正文为空" in m for m in msgs)


def test_not_utf8_reports_line(tmp_path):
    raw = GOOD.encode("utf-8").replace("答复。".encode(), "答复。".encode("gbk"))
    errs = only(problems_for(tmp_path, "discovery/dis-001.md", raw))
    assert len(errs) == 1 and "UTF-8" in errs[0].message
    assert errs[0].line == GOOD.splitlines().index("答复。") + 1


def test_bad_date(tmp_path):
    text = entry_text("dis-001", "discovery", "问？", "答。", updated="2026-13-45")
    errs = only(problems_for(tmp_path, "discovery/dis-001.md", text))
    assert any("日期格式不对" in p.message for p in errs)


def test_bad_legal_basis_item_reports_its_line(tmp_path):
    text = entry_text("dis-001", "discovery", "问？", "答。",
                      legal_basis=["《中华人民共和国民事诉讼法》第二百三十七条", "民诉法237条"])
    errs = only(problems_for(tmp_path, "discovery/dis-001.md", text))
    assert len(errs) == 1 and "法律依据无法解析" in errs[0].message
    assert errs[0].line == text.splitlines().index("  - 民诉法237条") + 1


def test_bad_status_and_id(tmp_path):
    text = entry_text("DIS_1", "discovery", "问？", "答。", status="done")
    msgs = [p.message for p in only(problems_for(tmp_path, "discovery/x.md", text))]
    assert any("编号" in m for m in msgs) and any("未知状态" in m for m in msgs)


def test_yaml_alias_bomb_rejected(tmp_path):
    bomb = "---\nid: dis-001\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n---\n答\n"
    errs = only(problems_for(tmp_path, "discovery/dis-001.md", bomb))
    assert len(errs) == 1 and "锚点" in errs[0].message and errs[0].line == 3


def test_one_run_reports_every_file(tmp_path):
    from qabase import open_kb

    root = make_kb(tmp_path / "k", {
        "discovery/dis-001.md": GOOD,
        "discovery/dis-002.md": "---\nid: [\n---\n答\n",
        "discovery/dis-003.md": entry_text("dis-003", "discovery", "问？", "答。", updated="昨天"),
    })
    report = open_kb(root).check()
    paths = {p.path for p in report.errors}
    assert paths == {"qa_entries/discovery/dis-002.md", "qa_entries/discovery/dis-003.md"}
    assert report.entries == 1 and report.files == 3
    assert all(str(p).startswith("qa_entries/discovery/dis-00") for p in report.problems)
