"""What the search-quality work changed, each with a test that fails without it, on both
engines: no single-character fallback, the bigram field, grouped expansions, alias overlap,
typo correction in context, loose citations, confidence and the gaps rules."""
from __future__ import annotations

import pytest

from conftest import SAMPLE, engine_fixture, entry_text, make_kb
from qabase import open_kb
from qabase.search import gaps, rerank

engine = engine_fixture()

ENTRIES = dict(SAMPLE)
ENTRIES["discovery/dis-003.md"] = entry_text(
    "dis-003", "discovery", "被执行人下落不明时，申请执行人能否申请提级执行？",
    "**结论**：被执行人下落不明本身不是提级执行的条件；执行法院超过六个月未执行的，可以向上一级法院申请。",
    aliases=["被执行人失联了能不能换法院执行", "找不到被执行人怎么办"], tags=["下落不明"])
ENTRIES["filing-closing/fil-002.md"] = entry_text(
    "fil-002", "filing-closing", "执行案件的结案方式有哪些？",
    "**结论**：执行完毕、终结本次执行程序、终结执行、销案、不予执行、驳回申请。结案时应当制作结案文书。"
    "结案方式的选择影响案件的统计。结案方式一经确定不得随意变更。",
    aliases=["案子怎么报结", "执行结案有几种方式"], tags=["结案方式"])
ENTRIES["filing-closing/fil-003.md"] = entry_text(
    "fil-003", "filing-closing", "提级执行后原执行法院的案件怎样处理？",
    "**结论**：原执行法院以销案方式结案。提级执行的案件由上一级法院立案执行。结案方式、结案方式、结案方式。",
    aliases=["提级以后原法院的案子怎么结"], tags=["销案"])


@pytest.fixture
def kb(tmp_path):
    return open_kb(make_kb(tmp_path / "k", ENTRIES))


def terms(result, origin=None):
    return [t["text"] for t in result.searched_terms if origin is None or t["origin"] == origin]


def test_unknown_words_are_not_searched_character_by_character(kb):
    r = kb.search("宇宙飞船发射场的天气")
    # Characters of unknown words are searched only as such, far below any word.
    for t in r.searched_terms:
        if len(t["text"]) == 1 and not t["text"].isascii():
            assert t["origin"] == "character" and t["weight"] < 0.5
    assert not any(len(w) == 1 for w in r.searched_as)
    for h in r.results:
        assert all(len(run["text"]) > 1 for run in h.snippet if run["match"])
    assert not any(len(s.strip("“”")) == 1 for s in r.suggestions)


def test_bigram_field_finds_a_word_segmented_differently_but_never_outranks_words(kb):
    r = kb.search("结案方式")
    assert [h.id for h in r.results][:1] == ["fil-002"]
    # The same characters split differently by a typo still meet through bigrams ...
    r = kb.search("结案方")
    assert "fil-002" in [h.id for h in r.results]
    assert all(t["weight"] <= 0.3 for t in r.searched_terms if t["origin"] == "bigram")


def test_expansions_join_the_typed_word_as_one_group(kb):
    r = kb.search("终本")
    syn = [t for t in r.searched_terms if t["origin"] == "synonym"]
    typed = [t for t in r.searched_terms if t["origin"] == "query"]
    assert typed and syn
    # One group: the synonym is a member of the typed word's group, not a term of its own.
    plan = kb.analyzer.analyse("终本")
    groups = {t.group for t in plan.terms if t.origin in ("query", "synonym")}
    assert len(groups) == 1
    # Shown in the knowledge base's own words.
    assert r.searched_as[0] == "终结本次执行程序"


def test_a_query_that_says_what_an_alias_says_puts_that_entry_first(tmp_path, monkeypatch):
    entries = dict(ENTRIES)
    entries["discovery/dis-004.md"] = entry_text(
        "dis-004", "discovery", "交叉执行有哪几种方式？", "**结论**：督促执行、提级执行、指令执行、集中执行、协同执行。",
        aliases=["交叉执行都包括什么", "提级执行和指令执行有什么区别"], tags=["方式"])
    entries["discovery/dis-005.md"] = entry_text(
        "dis-005", "discovery", "提级执行和指令执行由谁决定？",
        "**结论**：提级执行、指令执行由上一级法院决定。提级执行由上一级法院自己执行；指令执行交给其他法院。"
        "提级执行和指令执行都要作出裁定。", aliases=["提级执行谁说了算"], tags=["提级执行", "指令执行"])
    root = make_kb(tmp_path / "k", entries)
    q = "提级执行和指令执行有什么区别"
    assert open_kb(root).search(q).results[0].id == "dis-004"
    # Without the overlap the entry that repeats the words wins: the rerank is what decides.
    monkeypatch.setattr(rerank, "ALPHA", 0.0)
    monkeypatch.setattr(rerank, "NEAR_EXACT", 2.0)
    assert open_kb(root).search(q).results[0].id == "dis-005"


def test_loose_citations_parse_as_qabase_law_does(kb):
    from qabase.content.laws import resolve_reference

    for q in ("民诉法 237", "民事诉讼法237", "民诉法第237条", "民事诉讼法第二百三十七条"):
        r = kb.search(q)
        want = resolve_reference(q, kb.catalogue).citation.canonical()
        assert r.searched_as == [want], q
        assert r.cited and r.confidence == "high"
        assert r.results[0].id == "dis-001"  # cites it first in legal_basis and says so


def test_off_domain_question_is_flagged_and_a_real_one_is_not(kb):
    off = kb.search("离婚后孩子抚养费怎么算")
    assert off.flagged and off.to_dict(kb.kb)["confidence"] in ("low", "none")
    on = kb.search("终本后又找到财产怎么办")
    assert on.results[0].id == "dis-002" and not on.flagged


def test_gaps_log_flagged_searches_only(kb):
    off = kb.search("离婚后孩子抚养费怎么算")
    assert gaps.is_gap(kb, off)
    assert not gaps.is_gap(kb, kb.search("终本后又找到财产怎么办"))
    assert not gaps.is_gap(kb, kb.search("民诉法237条"))  # a citation with citing entries
    assert not gaps.is_gap(kb, kb.search("离婚后孩子抚养费怎么算", topic="discovery"))  # filtered


def test_config_still_setting_the_old_gap_threshold_gets_a_clear_message(tmp_path):
    root = make_kb(tmp_path / "k", ENTRIES)
    cfg = root / "kb" / "config.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "gaps:\n  threshold:\n    whoosh: 8.0\n", encoding="utf-8")
    msgs = [p.message for p in open_kb(root).kb.warnings]
    assert any("gaps.threshold 已不再使用" in m and "confidence.yaml" in m for m in msgs)


def test_the_total_counts_entries_matching_a_word_not_a_bigram_alone(kb):
    from qabase.content.render import to_text

    q = "下落不明案结"
    r = kb.search(q, limit=100)
    words = [t["text"] for t in r.searched_terms if t["origin"] == "query"]
    assert words
    texts = {e.id: e.question + "".join(e.aliases) + "".join(e.tags) + to_text(e.answer)
             for e in kb.load_entries().entries if e.status == "published"}
    with_word = {i for i, t in texts.items() if any(w in t for w in words)}
    assert r.total == len(with_word)
    assert len(r.results) > r.total  # an entry sharing only the bigram 案结 is ranked, not counted
