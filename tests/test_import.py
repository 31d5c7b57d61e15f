"""qabase import: CSV, JSON, JSONL and the 法答网 layout; validation, atomicity, idempotency."""
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qabase import open_kb
from qabase.cli import app
from qabase.content.entries import load_entry
from qabase.authoring.importing import ImportFailed, import_file, parse_fadawang, person

from conftest import SAMPLE

runner = CliRunner()
DATA = Path(__file__).resolve().parent / "data"
NBSP = "\u00a0"


def run(root, *args):
    return runner.invoke(app, ["--root", str(root), *args])


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted((root / "qa_entries").rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def new_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root / "qa_entries").as_posix() for p in (root / "qa_entries").rglob("*.md")
                  if p.relative_to(root / "qa_entries").as_posix() not in SAMPLE)


GOOD_CSV = (
    "问题,解答,专题,其他问法,标签,法律依据,来源\n"
    "交叉执行中查封期限届满怎么续封？,\"由承接法院办理续行查封。\n\n第二段：注意期限。\",程序衔接,"
    "查封快到期了谁去续封；续封找哪个法院,查封、续封,《中华人民共和国民事诉讼法》第二百三十七条,某院问答汇编\n"
    "奖励名额怎么分配？,按化解案件数分配。,rewards,,,,\n"
)


def test_csv_import_with_map(kbroot, tmp_path):
    f = tmp_path / "old.csv"
    f.write_text(GOOD_CSV, encoding="utf-8")
    r = run(kbroot, "import", str(f), "--map", "解答=answer")
    assert r.exit_code == 0, r.output
    assert new_files(kbroot) == ["procedure-linkage/pl-002.md", "rewards/rew-001.md"]
    kb = open_kb(kbroot)
    e, problems = load_entry(kbroot / "qa_entries/procedure-linkage/pl-002.md", kb.kb)
    assert e is not None and not problems
    assert e.question == "交叉执行中查封期限届满怎么续封？" and e.status == "draft"
    assert e.answer == "由承接法院办理续行查封。\n\n第二段：注意期限。"
    assert e.aliases == ["查封快到期了谁去续封", "续封找哪个法院"]
    assert e.tags == ["查封", "续封"]
    assert e.legal_basis == ["《中华人民共和国民事诉讼法》第二百三十七条"]
    assert e.source == "某院问答汇编"
    text = (kbroot / "qa_entries/rewards/rew-001.md").read_text(encoding="utf-8")
    assert "source: 导入自 old.csv" in text and "import_key: " in text
    assert not kb.check().errors


def test_reimport_is_idempotent(kbroot, tmp_path):
    f = tmp_path / "old.csv"
    f.write_text(GOOD_CSV, encoding="utf-8")
    assert run(kbroot, "import", str(f), "--map", "解答=answer").exit_code == 0
    before = digest(kbroot)
    r = run(kbroot, "import", str(f), "--map", "解答=answer")
    assert r.exit_code == 0, r.output
    assert "已存在 2 条" in r.stdout and "新建 0 条" in r.stdout
    assert digest(kbroot) == before
    # the same rows as JSON are the same questions and answers: still nothing new
    j = tmp_path / "same.json"
    j.write_text(json.dumps([{"question": "奖励名额怎么分配？", "answer": "按化解案件数分配。", "topic": "rewards"}],
                            ensure_ascii=False), encoding="utf-8")
    r = run(kbroot, "import", str(j))
    assert r.exit_code == 0 and "已存在 1 条" in r.stdout
    assert digest(kbroot) == before


def test_malformed_rows_reported_and_nothing_written(kbroot, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text(
        "问题,答复,专题,法律依据\n"
        "好的问题？,好的答复。,discovery,\n"
        "没有答复的问题？,,discovery,\n"
        "专题不对的问题？,答复。,宇宙,\n"
        "引用不对的问题？,答复。,discovery,民诉法237条\n"
        "多了一列？,答复。,discovery,,多余\n"
        ",只有答复,discovery,\n",
        encoding="utf-8")
    before = digest(kbroot)
    r = run(kbroot, "import", str(f))
    assert r.exit_code == 1
    err = r.stderr
    assert "bad.csv:3: 答复（answer）为空" in err
    assert "bad.csv:4: 未知专题：宇宙" in err
    assert "bad.csv:5: 法律依据无法解析：民诉法237条" in err
    assert "bad.csv:6: 比表头多出 1 列" in err
    assert "bad.csv:7: 问题（question）为空" in err
    assert "没有写入任何文件" in err
    assert "bad.csv:2" not in err
    assert digest(kbroot) == before

    r = run(kbroot, "import", str(f), "--skip-invalid")
    assert r.exit_code == 0, r.output
    assert new_files(kbroot) == ["discovery/dis-003.md"]


def test_dry_run_writes_nothing(kbroot, tmp_path):
    f = tmp_path / "old.csv"
    f.write_text(GOOD_CSV, encoding="utf-8")
    before = digest(kbroot)
    r = run(kbroot, "import", str(f), "--map", "解答=answer", "--dry-run")
    assert r.exit_code == 0 and "将新建 pl-002" in r.stdout and "试运行" in r.stdout
    assert digest(kbroot) == before


def test_topic_for_whole_file_and_missing_topic(kbroot, tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text('{"question": "甲？", "answer": "甲。"}\n\n{"question": "乙？", "answer": "乙。", "topic": "petitions"}\n',
                 encoding="utf-8")
    r = run(kbroot, "import", str(f))
    assert r.exit_code == 1 and "q.jsonl:1: 没有专题" in r.stderr
    r = run(kbroot, "import", str(f), "--topic", "信访处理")
    assert r.exit_code == 0, r.output
    assert new_files(kbroot) == ["petitions/pet-002.md", "petitions/pet-003.md"]


def test_jsonl_bad_line(kbroot, tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text('{"question": "甲？", "answer": "甲。"}\n{oops\n[1, 2]\n', encoding="utf-8")
    r = run(kbroot, "import", str(f), "--topic", "discovery")
    assert r.exit_code == 1
    assert "q.jsonl:2: 不是有效的 JSON" in r.stderr and "q.jsonl:3: 每行应是一个对象" in r.stderr


def test_json_rows_keep_their_line_numbers(kbroot, tmp_path):
    f = tmp_path / "q.json"
    f.write_text('[\n  {"问题": "甲？", "答复": "甲。", "标签": ["一", "二"]},\n  "不是对象",\n'
                 '  {"问题": "乙？",\n   "答复": ""}\n]\n', encoding="utf-8")
    r = run(kbroot, "import", str(f), "--topic", "discovery", "--json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert [(x["line"], x["reason"][:6]) for x in data["rejected"]] == [(3, "数组元素应是"), (4, "答复（ans")]
    assert data["written"] is False and data["created"][0]["line"] == 2


def test_invalid_json_file(kbroot, tmp_path):
    f = tmp_path / "q.json"
    f.write_text('[\n {"question": "甲？", "answer": "甲。"},\n {"question": }\n]\n', encoding="utf-8")
    r = run(kbroot, "import", str(f), "--topic", "discovery")
    assert r.exit_code == 1 and "JSON 第 3 行" in r.stderr


def test_map_errors(kbroot, tmp_path):
    f = tmp_path / "old.csv"
    f.write_text(GOOD_CSV, encoding="utf-8")
    r = run(kbroot, "import", str(f), "--map", "解答=answr")
    assert r.exit_code == 1 and "没有字段 answr" in r.stderr
    r = run(kbroot, "import", str(f), "--map", "回复=answer")
    assert r.exit_code == 1 and "不在表头中" in r.stderr
    r = run(kbroot, "import", str(f))
    assert r.exit_code == 1 and "找不到 answer 对应的列" in r.stderr
    r = run(kbroot, "import", str(f), "--map", "解答=answer", "--status", "published")
    assert r.exit_code == 1 and "qabase publish" in r.stderr


def test_unknown_columns_are_named(kbroot, tmp_path):
    f = tmp_path / "q.csv"
    f.write_text("question,answer,topic,备注\n甲？,甲。,discovery,内部备注\n", encoding="utf-8")
    r = run(kbroot, "import", str(f))
    assert r.exit_code == 0 and "忽略未对应到字段的列：备注" in r.stderr
    assert "内部备注" not in (kbroot / "qa_entries/discovery/dis-003.md").read_text(encoding="utf-8")


def test_gbk_csv_needs_encoding(kbroot, tmp_path):
    f = tmp_path / "excel.csv"
    f.write_bytes("问题,答复,专题\n甲？,甲。,discovery\n".encode("gbk"))
    r = run(kbroot, "import", str(f))
    assert r.exit_code == 1 and "gb18030" in r.stderr
    r = run(kbroot, "import", str(f), "--encoding", "gb18030")
    assert r.exit_code == 0, r.output
    assert "question: 甲？" in (kbroot / "qa_entries/discovery/dis-003.md").read_text(encoding="utf-8")


def test_awkward_values_stay_well_formed(kbroot, tmp_path):
    f = tmp_path / "q.json"
    rows = [{"question": "yes", "answer": "- 列表\n---\n正文"},
            {"question": "问题: 带冒号 # 和井号", "answer": "答复", "aliases": ["'引号'", "null"]}]
    f.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    r = run(kbroot, "import", str(f), "--topic", "discovery")
    assert r.exit_code == 0, r.output
    kb = open_kb(kbroot)
    e1, p1 = load_entry(kbroot / "qa_entries/discovery/dis-003.md", kb.kb)
    e2, p2 = load_entry(kbroot / "qa_entries/discovery/dis-004.md", kb.kb)
    assert not p1 and not p2
    assert e1.question == "yes" and e1.answer == "- 列表\n---\n正文"
    assert e2.question == "问题: 带冒号 # 和井号" and e2.aliases == ["'引号'", "null"]


# -- 法答网 ---------------------------------------------------------------------------------------
def test_fadawang_sample_import(kbroot):
    r = run(kbroot, "import", "--format", "fadawang", str(DATA / "fadawang_sample.md"), "--topic", "程序衔接")
    assert r.exit_code == 0, r.output
    assert new_files(kbroot) == ["procedure-linkage/pl-002.md", "procedure-linkage/pl-003.md",
                                 "procedure-linkage/pl-004.md"]
    kb = open_kb(kbroot)
    es = {e.id: e for e in kb.load_entries().entries}
    e1, e2, e3 = es["pl-002"], es["pl-003"], es["pl-004"]
    assert e1.question == "交叉执行中承接法院发现原执行法院漏查的银行账户，能否直接冻结？"
    assert e1.asked_by == "甲省高级人民法院执行局 王五" and e1.answered_by == "最高人民法院执行局 赵六"
    assert e1.status == "draft" and e1.topic == "procedure-linkage"
    assert e1.source == "法答网精选答问（第九十九批）——测试专题，问题1"
    assert e2.answer.count("\n\n") == 2 and e2.answer.endswith("可以向上一级法院申请复议。")
    assert e2.asked_by == "乙省某市中级人民法院民事审判庭（环境资源审判庭、执行裁判庭） 钱七"
    assert e2.answered_by == "最高人民法院执行局 孙八"
    assert e3.question.startswith("以<script>alert(1)</script>") and e3.asked_by == "丙省高级人民法院执行局 李九"
    assert "责任编辑" not in e3.answer
    assert not kb.check().errors

    before = digest(kbroot)
    r = run(kbroot, "import", "--format", "fadawang", str(DATA / "fadawang_sample.md"), "--topic", "程序衔接")
    assert r.exit_code == 0 and "已存在 3 条" in r.stdout
    assert digest(kbroot) == before


def test_fadawang_variants():
    b = parse_fadawang((DATA / "fadawang_variants.md").read_text(encoding="utf-8"))
    assert b.title == "法答网精选答问（第一百批）" and not b.rejected
    q1, q2, q3 = b.questions
    assert q1.asked_by is None and q1.answered_by == "最高人民法院研究室 吴一"
    assert q1.answer == "点评意见的第一段。\n\n点评意见的第二段，没有前缀。"
    assert q2.asked_by == "丁省高级人民法院执行局 郑二" and q2.answered_by == "最高人民法院执行局 冯三"
    assert q3.question == "问题标题之后换行书写的问题，是否也能完整导入？" and q3.line == 28


def test_fadawang_question_without_answer_is_rejected(kbroot, tmp_path):
    f = tmp_path / "batch.md"
    f.write_text("# 法答网精选答问（测试）\n\n## 问题1：有答复的问题？\n答疑意见：有。\n答疑专家：某院 某人\n"
                 "## 问题2：没有答复的问题？\n咨询人：某院 某人\n\n责任编辑：某\n", encoding="utf-8")
    before = digest(kbroot)
    r = run(kbroot, "import", str(f), "--topic", "discovery")
    assert r.exit_code == 1 and "batch.md:6: 问题2：没有找到答疑意见" in r.stderr
    assert digest(kbroot) == before


def test_fadawang_needs_topic_and_questions(kbroot, tmp_path):
    r = run(kbroot, "import", "--format", "fadawang", str(DATA / "fadawang_sample.md"))
    assert r.exit_code == 1 and "--topic" in r.stderr
    f = tmp_path / "x.md"
    f.write_text("# 标题\n\n随便一段话。\n", encoding="utf-8")
    with pytest.raises(ImportFailed):
        import_file(open_kb(kbroot), f, topic="discovery")


@pytest.mark.parametrize("raw, expected", [
    (f"安徽某院执行局{NBSP} 张{NBSP} 三", "安徽某院执行局 张三"),
    (f"某院刑五庭 {NBSP}李 {NBSP}四", "某院刑五庭 李四"),
    (f"某院执行裁决庭{NBSP} 王 五", "某院执行裁决庭 王五"),
    (f"某院民事审判庭（环境资源审判庭、执行裁判庭）{NBSP} 赵{NBSP} 六", "某院民事审判庭（环境资源审判庭、执行裁判庭） 赵六"),
    ("某院执行局 钱七", "某院执行局 钱七"),
    ("只有单位", "只有单位"),
])
def test_person_names(raw, expected):
    assert person(raw) == expected


def test_missing_file(kbroot, tmp_path):
    r = run(kbroot, "import", str(tmp_path / "nope.csv"))
    assert r.exit_code == 1 and "找不到文件" in r.stderr
    r = run(kbroot, "import", str(tmp_path / "nope.xyz"))
    assert r.exit_code == 1 and "--format" in r.stderr


def test_near_duplicates_reported_on_import(kbroot, tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text(
        '{"question": "终本案件发现新财产后能不能纳入交叉执行？", "answer": "甲。"}\n'
        '{"question": "被执行人的车辆能否异地扣押？", "answer": "乙。"}\n'
        '{"question": "被执行人的车辆能否在异地扣押？", "answer": "丙。"}\n', encoding="utf-8")
    r = run(kbroot, "import", str(f), "--topic", "discovery")
    assert r.exit_code == 0, r.output
    assert "第 1 行：dis-003 与 dis-002 的问题相近" in r.stderr
    assert "第 3 行：dis-005 与 dis-004 的问题相近" in r.stderr and "同一文件" in r.stderr
    assert "第 2 行" not in r.stderr
