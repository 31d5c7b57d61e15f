"""Articles cited in the answer body: verified like legal_basis by `qabase check`.

Every knowledge base here is built in tmp_path from the shipped kb/ configuration and
catalogue; nothing is read from the shared reference directory.
"""
from __future__ import annotations

from qabase import open_kb
from qabase.content.bodycite import Checker, Names, name_key, scan
from qabase.content.catalogue import load_catalogue
from qabase.content.citations import parse_citation
from qabase.errors import ERROR, WARNING

from conftest import REPO, entry_text, make_kb

CPL = "《中华人民共和国民事诉讼法》"
EWP = "《最高人民法院关于人民法院执行工作若干问题的规定（试行）》"
EPI = "《最高人民法院关于适用〈中华人民共和国民事诉讼法〉执行程序若干问题的解释》"
LIMITS = "《最高人民法院关于限制被执行人高消费及有关消费的若干规定》"
SETTLE = "《最高人民法院关于执行和解若干问题的规定》"

CATALOGUE = load_catalogue(REPO / "kb" / "instruments.yaml")


def findings(body, basis=(f"{CPL}第二百三十七条",)):
    """(level, message) of every finding for one body, with the given legal_basis."""
    out = Checker(CATALOGUE).check_body(body, [parse_citation(b) for b in basis])
    return [(f.level, f.message) for f in out]


def levels(body, basis=(f"{CPL}第二百三十七条",)):
    return sorted(level for level, _ in findings(body, basis))


def check_kb(tmp_path, body, basis=(f"{CPL}第二百三十七条",)):
    text = entry_text("dis-001", "discovery", "执行法院六个月不执行怎么办？", body, legal_basis=basis)
    root = make_kb(tmp_path / "kb", {"discovery/dis-001.md": text})
    return open_kb(root).check(), text


# --- the two levels ---------------------------------------------------------------------

def test_fabricated_article_in_the_body_is_an_error_through_qabase_check(tmp_path):
    body = "**结论**：可以申请。\n\n**依据**：《民事诉讼法》第九百九十九条第三款。"
    report, text = check_kb(tmp_path, body)
    errs = [p for p in report.problems if p.level == ERROR]
    assert len(errs) == 1, report.problems
    assert "第九百九十九条" in errs[0].message and "共三百零六条" in errs[0].message
    assert errs[0].path == "qa_entries/discovery/dis-001.md"
    assert errs[0].line == text.splitlines().index("**依据**：《民事诉讼法》第九百九十九条第三款。") + 1


def test_real_article_missing_from_legal_basis_is_a_warning_with_the_form_to_add(tmp_path):
    body = "**结论**：可以。\n\n**依据**：民诉法第二百三十七条、第二百三十六条。"
    report, _ = check_kb(tmp_path, body)
    assert [p.level for p in report.problems] == [WARNING]
    assert f"{CPL}第二百三十六条" in report.problems[0].message
    assert "legal_basis" in report.problems[0].message


def test_listed_articles_raise_nothing_and_a_paragraph_counts_as_its_article():
    basis = (f"{CPL}第二百三十七条", f"{EWP}第七十四条第一款")
    assert findings("依民诉法第二百三十七条申请；执行工作规定第七十四条第二款规定提级执行。", basis) == []


# --- forms -----------------------------------------------------------------------------

def test_names_with_and_without_brackets_issuer_and_inner_title():
    basis = (f"{EPI}第十条",)
    for body in ("《最高人民法院关于适用〈中华人民共和国民事诉讼法〉执行程序若干问题的解释》第十条",
                 "《最高人民法院关于适用《中华人民共和国民事诉讼法》执行程序若干问题的解释》第十条",
                 "《关于适用〈中华人民共和国民事诉讼法〉执行程序若干问题的解释》第十条",
                 "执行程序解释第十条", "依执行程序解释第10条"):
        assert findings(body, basis) == [], body
        assert levels(body.replace("第十条", "第九十条").replace("第10条", "第90条"), basis) == [ERROR], body


def test_arabic_and_chinese_numerals_paragraphs_and_items():
    basis = (f"{EWP}第七十四条",)
    assert findings("执行工作规定第74条第2款", basis) == []
    assert findings("执行工作规定第七十四条第二款第一项", basis) == []
    assert levels("执行工作规定第80条第1款", basis) == [ERROR]   # 79 articles


def test_lists_and_ranges_check_every_article():
    basis = (f"{CPL}第二百五十三条", f"{CPL}第二百五十五条")
    msgs = findings("民诉法第二百五十三条至第二百五十五条规定的措施", basis)
    assert len(msgs) == 1 and "第二百五十四条" in msgs[0][1]
    msgs = findings("委托执行规定第二、三条", ())
    assert len(msgs) == 2 and all(level == WARNING for level, _ in msgs)
    assert levels("执行程序解释第10—13条", tuple(f"{EPI}第{n}条" for n in ("十", "十一", "十二", "十三"))) == []


def test_catalogue_abbreviations_resolve_and_unknown_ones_are_reported_with_a_hint():
    basis = (f"{SETTLE}第八条",)
    assert findings("执行和解规定第八条", basis) == []
    msgs = findings("和解规定第八条", basis)
    assert [m[0] for m in msgs] == [WARNING]
    assert "和解规定" in msgs[0][1] and "执行和解规定" in msgs[0][1]  # the hint
    # A name the catalogue does not hold at all.
    msgs = findings("依公司法第二十条处理", ())
    assert [m[0] for m in msgs] == [WARNING] and "公司法" in msgs[0][1]
    # Reported once per name, and its bare articles are not pinned on another instrument.
    msgs = findings("民诉法第二百三十七条；公司法第二十条、第二十一条。第六十三条另有规定。", (f"{CPL}第二百三十七条",))
    assert len(msgs) == 1 and "公司法" in msgs[0][1]


def test_joining_words_do_not_break_a_name():
    """执行异议和复议规定 is the catalogue's 执行异议复议规定."""
    assert name_key("执行异议和复议规定") == name_key("执行异议复议规定")
    basis = ("《最高人民法院关于人民法院办理执行异议和复议案件若干问题的规定》第五条",)
    assert findings("依执行异议和复议规定第五条", basis) == []


def test_texts_without_article_numbers_are_unverifiable_warnings():
    msgs = findings("2024年《关于交叉执行工作的指导意见》第三条", ())
    assert [m[0] for m in msgs] == [WARNING] and "无法核验" in msgs[0][1]


# --- bare articles -----------------------------------------------------------------------

def test_bare_article_refers_to_the_nearest_instrument_before_it_in_the_paragraph():
    basis = (f"{CPL}第二百三十七条", f"{EPI}第十条", f"{EPI}第十三条")
    assert findings("民诉法第二百三十七条规定六个月；执行程序解释第十条列出情形，第十三条规定扣除。", basis) == []
    # Nearest is 执行程序解释 (27 articles): 第二百三十七条 after it is an error, with the rule named.
    msgs = findings("执行程序解释第十条列出情形，第二百三十七条规定六个月。", basis)
    assert [m[0] for m in msgs] == [ERROR] and "就近" in msgs[0][1]


def test_same_law_and_anaphors():
    basis = (f"{CPL}第二百三十七条", f"{CPL}第二百三十六条")
    assert findings("民诉法第二百三十七条；同法第二百三十六条。", basis) == []
    assert levels("民诉法第二百三十七条；同法第九百条。", basis) == [ERROR]
    assert findings("执行工作规定第七十四条；该规定第七十五条。", (f"{EWP}第七十四条", f"{EWP}第七十五条")) == []


def test_bare_article_with_nothing_named_before_it_is_a_warning():
    msgs = findings("上级法院依第七十四条第一款督促。")
    assert [m[0] for m in msgs] == [WARNING] and "没有写明" in msgs[0][1]
    msgs = findings("同法第二百三十六条。")
    assert [m[0] for m in msgs] == [WARNING]


def test_the_scope_is_one_paragraph_or_list_item():
    basis = (f"{EWP}第七十四条",)
    assert levels("执行工作规定第七十四条规定了提级。\n\n第七十四条第二款只写了“决定”。", basis) == [WARNING]
    assert levels("1. 执行工作规定第七十四条规定了提级。\n2. 第七十四条第二款只写了“决定”。", basis) == [WARNING]
    assert findings("执行工作规定第七十四条规定了提级，\n第七十四条第二款只写了“决定”。", basis) == []


def test_an_aside_serves_what_follows_but_a_numbering_note_does_not_take_over():
    basis = ("《最高人民法院关于民事执行中财产调查若干问题的规定》第三条",
             "《最高人民法院关于民事执行中财产调查若干问题的规定》第十二条")
    assert findings("报告财产令与执行通知一并发出（财产调查规定第三条）。法院有权调查（第十二条）。", basis) == []
    basis = (f"{SETTLE}第十条", f"{SETTLE}第十一条", f"{CPL}第二百五十条")
    body = ("执行和解规定第十条规定申请期间（该规定所称民诉法第二百三十九条是2017年版条号，即现行第二百五十条）；"
            "第十一条规定恢复执行的审查。")
    assert findings(body, basis) == []


# --- versions ----------------------------------------------------------------------------

def test_superseded_text_is_never_matched_silently_in_place_of_the_current_one():
    # 限高规定: 2015 text has 11 articles, the 2010 original 12.
    assert levels("限高规定第十二条", (f"{LIMITS}第一条",)) == [ERROR]
    # Naming the 2010 original explicitly: checked against it, and no basis required.
    assert findings("限高规定2010年原文第十二条", (f"{LIMITS}第一条",)) == []
    assert findings("2010年的限高规定第十二条", (f"{LIMITS}第一条",)) == []
    assert levels("2010年的限高规定第十三条", (f"{LIMITS}第一条",)) == [ERROR]  # not in 2010 either
    # 失信规定: the 2013 original had 7 articles; the current 2017 text 13.
    assert findings("失信规定（2013年）第七条", ()) == []
    assert levels("失信规定（2013年）第八条", ()) == [ERROR]
    assert levels("失信规定第十三条", ()) == [WARNING]   # current text, not listed


def test_old_text_named_as_if_current_is_an_error():
    repealed = "《最高人民法院关于审理拒不执行判决、裁定刑事案件适用法律若干问题的解释》第三条"
    msgs = findings(f"依{repealed}处理", ())
    assert [m[0] for m in msgs] == [ERROR] and "已废止" in msgs[0][1] and "现行文本" in msgs[0][1]
    assert findings(f"已废止的{repealed}曾规定", ()) == []
    old_limits = "《最高人民法院关于限制被执行人高消费的若干规定》第十二条"
    assert levels(old_limits, ()) == [ERROR]
    assert findings(f"2010年原文{old_limits}", ()) == []


def test_numbering_notes_are_checked_against_their_version_and_not_required():
    basis = (f"{CPL}第二百三十七条",)
    assert findings("民诉法第二百三十七条（2021年版第二百三十三条、2017年版第二百二十六条）", basis) == []
    assert findings("原文引用的是2017年版第二百二十六条", ()) == []
    assert findings("执行程序解释引用的“第二百二十六条”是2017年版的条号", ()) == []
    assert findings(f"{CPL}（2021年修正）第二百三十三条", ()) == []
    assert findings("该条所称第二百二十五条即现行民诉法第二百三十六条", (f"{CPL}第二百三十六条",)) == []
    # The 2021 text has 291 articles: a number beyond it is fabricated even in a note.
    msgs = findings("民诉法第二百三十七条（2021年版第二百九十五条）", basis)
    assert [m[0] for m in msgs] == [ERROR] and "2021" in msgs[0][1]
    # 现行 names the current text: it must exist and be listed.
    assert levels("民诉法第二百三十七条（2021年版第二百三十三条，即现行第二百三十八条）", basis) == [WARNING]


# --- no false alarms --------------------------------------------------------------------

def test_ordinary_text_is_not_a_citation():
    assert findings("这是第一条线索，第二条路是申请复议。") == []
    assert findings("**操作步骤**：\n1. 审查申请书。\n2. 通知执行法院。\n3. 作出裁定。") == []
    assert findings("2024年7月3日最高法发布会上公布了第一批典型案例。") == []
    # An instrument named without an article only sets the context.
    assert findings("依民诉法的规定，第二百三十七条的六个月自收到申请执行书起算。") == []


def test_lines_point_at_the_article(tmp_path):
    body = "**结论**：可以。\n\n**依据**：\n- 民诉法第二百三十七条。\n- 执行工作规定第九十九条。"
    report, text = check_kb(tmp_path, body)
    (p,) = report.problems
    assert p.level == ERROR and text.splitlines()[p.line - 1] == "- 执行工作规定第九十九条。"


def test_scan_reports_how_each_article_was_read():
    refs = scan("执行程序解释第十条；第十三条；同法第十一条。", Names(CATALOGUE))
    assert [(r.how, r.name.written, r.numbers) for r in refs] == [
        ("named", "执行程序解释", [10]), ("bare", "执行程序解释", [13]), ("anaphor", "执行程序解释", [11])]
