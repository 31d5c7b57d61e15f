"""qabase scores Whoosh postings itself (a block at a time); the ranking must be exactly what
Whoosh's own searcher gives for the same boosted terms, filters, segments and deletions."""
import csv
import shutil
from pathlib import Path

import pytest

from qabase import open_kb
from qabase.search.engines.whoosh import BIGRAM_FIELD, COMMON_SHARE, FIELD_BOOSTS, CITATION_BOOST
from qabase.search.segment import QueryPlan, QueryTerm
from qabase.search.retrieve import Filters

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    root = tmp_path_factory.mktemp("shipped")
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".index"))
    shutil.copytree(REPO / "qa_entries", root / "qa_entries")
    return root


def golden_queries(n):
    with open(REPO / "kb" / "golden.tsv", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f, delimiter="\t") if r and not r[0].startswith("#")]
    return [r[0] for r in rows[1:]][:n]


def whoosh_ranking(reader, plan, filters, limit):
    """What Whoosh's searcher returns for the Or of the same boosted Terms."""
    from whoosh.query import And, Or, Term

    searcher = reader.ix.searcher()
    rd = searcher.reader()
    common = COMMON_SHARE * max(1, rd.doc_count())
    subs = []
    for weight, members in plan.groups():
        assert len(members) == 1, "Whoosh has no SynonymQuery: compare single-term groups only"
        t = members[0]
        fields = {BIGRAM_FIELD: 1.0} if t.origin == "bigram" else FIELD_BOOSTS
        for f, b in fields.items():
            df = rd.doc_frequency(f, t.text)
            if df and not (f in ("answer", BIGRAM_FIELD) and df > common):
                subs.append(Term(f, t.text, boost=b * weight * t.weight))
    subs += [Term("cites", k, boost=CITATION_BOOST) for k in plan.citations]
    if not subs:
        return 0, []
    parts = [] if filters.all_status else [Term("status", "published")]
    if filters.topic:
        parts.append(Term("topic", filters.topic))
    flt = None if not parts else parts[0] if len(parts) == 1 else And(parts)
    results = searcher.search(Or(subs), limit=limit, filter=flt)
    hits = [(r.score, r["doc"]["id"]) for r in results]
    return len(results), hits


def assert_same(ours, theirs):
    (n1, h1), (n2, h2) = ours, theirs
    # Ours counts entries matching a word; Whoosh also counts those matching only a bigram.
    assert n1 <= n2
    assert [s for s, _ in h1] == pytest.approx([s for s, _ in h2], rel=1e-9, abs=1e-12)
    # Equal scores may be summed in another order: compare the ids score by score.
    groups = lambda hits: sorted((round(s, 9), i) for s, i in hits)  # noqa: E731
    assert groups(h1) == groups(h2)


def heads_only(plan: QueryPlan) -> QueryPlan:
    """The plan with each group cut to its first term (what Whoosh's Or of Terms can express)."""
    seen, terms = set(), []
    for t in plan.terms:
        if t.group not in seen:
            seen.add(t.group)
            terms.append(t)
    return QueryPlan(plan.query, terms, plan.citations, plan.citation_labels, group_weights=dict(plan.group_weights))


def compare(kbase, queries, filters_list):
    reader, _, analyzer, _ = kbase.ensure_index()
    checked = 0
    for q in queries:
        plan = heads_only(analyzer.analyse(q))
        for filters in filters_list:
            ours = reader.search(plan, filters, 10)
            ours = (ours[0], [(s, d["id"]) for s, d in ours[1]])
            assert_same(ours, whoosh_ranking(reader, plan, filters, 10))
            checked += bool(ours[1])
    return checked


FILTERS = [Filters(), Filters(topic="procedure-linkage"), Filters(all_status=True)]


def test_same_ranking_as_whoosh_on_one_segment(shipped, monkeypatch):
    monkeypatch.setenv("QABASE_ENGINE", "whoosh")
    kbase = open_kb(shipped)
    kbase.build_index()
    queries = golden_queries(120) + ["民事诉讼法第二百三十七条", "失信 限高 终本", "执行"]
    assert compare(kbase, queries, FILTERS) > 100


def test_same_ranking_as_whoosh_after_updates_and_deletions(shipped, monkeypatch):
    monkeypatch.setenv("QABASE_ENGINE", "whoosh")
    kbase = open_kb(shipped)
    kbase.build_index()
    files = sorted((shipped / "qa_entries").rglob("*.md"))
    # Several small updates: new segments beside the first, and deleted documents in it.
    for i, p in enumerate(files[:6]):
        p.write_text(p.read_text(encoding="utf-8") + f"\n补充第{i}条：终本案件恢复执行。\n", encoding="utf-8")
        kbase.search("终本")
    files[7].unlink()
    kbase.search("终本")
    reader, _, _, _ = kbase.ensure_index()
    leaves = list(reader.reader.leaf_readers())
    assert len(leaves) > 1 and any(seg.has_deletions() for seg, _ in leaves)
    assert compare(kbase, golden_queries(80) + ["终本案件恢复执行"], FILTERS) > 60


def _group_plan(members, weight=1.0):
    return QueryPlan("", [QueryTerm(t, 1.0, "query" if i == 0 else "synonym", group=1) for i, t in enumerate(members)],
                     group_weights={1: weight})


def test_a_group_scores_as_one_term_and_never_outweighs_the_word(shipped):
    """Lucene's SynonymQuery: term frequencies summed, the largest doc frequency, no weight of
    its own. A member the index lacks changes nothing; two members found in one entry score
    less than the two words searched apart."""
    kbase = open_kb(shipped)
    reader, _, _, _ = kbase.ensure_index()
    f = Filters()
    alone = dict((d["id"], s) for s, d in reader.search(_group_plan(["终本"]), f, 100)[1])
    with_absent = dict((d["id"], s) for s, d in reader.search(_group_plan(["终本", "并无此词语"]), f, 100)[1])
    assert alone and with_absent == pytest.approx(alone, rel=1e-12)
    a = dict((d["id"], s) for s, d in reader.search(_group_plan(["终本"]), f, 100)[1])
    b = dict((d["id"], s) for s, d in reader.search(_group_plan(["终结本次执行程序"]), f, 100)[1])
    both = dict((d["id"], s) for s, d in reader.search(_group_plan(["终本", "终结本次执行程序"]), f, 100)[1])
    shared = set(a) & set(b)
    assert shared
    for i in shared:
        assert both[i] < a[i] + b[i]
    # An entry that only says the synonym is found, as if it said the word.
    assert set(both) == set(a) | set(b)
