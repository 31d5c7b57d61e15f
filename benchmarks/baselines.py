"""Plain baselines for the quality benchmarks, run over the same published entries as qabase.

Each is a function ``(docs, queries, k) -> (run, top)`` in the BEIR/Pyserini manner: ``docs``
maps entry id to all its text (question, aliases, tags, answer), ``queries`` maps qid to text,
``run`` maps qid to {entry id: score} for the top ``k``, ``top`` maps qid to the best score.
None of them uses qabase's dictionary, synonyms, fields or boosts.

  (a) whoosh-jieba: plain Whoosh, jieba's stock ChineseAnalyzer, all text in one field,
      the default query parser with an OR group.
  (b) bm25-jieba:   rank_bm25's BM25Okapi over jieba ``cut_for_search`` tokens.
  (c) bigram-bm25:  Lucene BM25 (k1 1.2, b 0.75) over overlapping CJK character bigrams,
      Latin and digit runs kept whole: what Elasticsearch's stock ``cjk`` analyzer indexes.
"""
from __future__ import annotations

import math
import re
import tempfile
from collections import Counter


def run_whoosh_jieba(docs, queries, k):
    import logging

    import jieba
    from jieba.analyse import ChineseAnalyzer
    from whoosh import index
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.qparser import OrGroup, QueryParser

    jieba.setLogLevel(logging.WARNING)
    tmp = tempfile.mkdtemp(prefix="qabase-bl-")
    ix = index.create_in(tmp, Schema(id=ID(stored=True), text=TEXT(analyzer=ChineseAnalyzer())))
    w = ix.writer()
    for d, t in docs.items():
        w.add_document(id=d, text=t)
    w.commit()
    parser = QueryParser("text", ix.schema, group=OrGroup)
    run, top = {}, {}
    with ix.searcher() as s:
        for q, text in queries.items():
            try:
                hits = s.search(parser.parse(text), limit=k)
                run[q] = {h["id"]: float(h.score) for h in hits}
            except Exception:  # the stock parser rejects some punctuation; a baseline just misses
                run[q] = {}
            top[q] = max(run[q].values(), default=0.0)
    return run, top


def run_bm25_jieba(docs, queries, k):
    import logging

    import jieba
    from rank_bm25 import BM25Okapi

    jieba.setLogLevel(logging.WARNING)
    ids = list(docs)
    tok = lambda s: [w for w in jieba.cut_for_search(s) if w.strip()]  # noqa: E731
    bm = BM25Okapi([tok(docs[d]) for d in ids])
    run, top = {}, {}
    for q, text in queries.items():
        scores = bm.get_scores(tok(text))
        best = sorted(range(len(ids)), key=lambda i: -scores[i])[:k]
        run[q] = {ids[i]: float(scores[i]) for i in best if scores[i] > 0}
        top[q] = max(run[q].values(), default=0.0)
    return run, top


_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[0-9A-Za-z]+")


def cjk_bigrams(text: str) -> list[str]:
    """Elasticsearch's ``cjk`` analyzer: lower-cased Latin and digit runs whole, CJK runs as
    overlapping bigrams, a lone CJK character as itself. Punctuation separates runs."""
    out = []
    for m in _RUN.finditer(text.lower()):
        r = m.group()
        if not re.match(rf"[{_CJK}]", r):
            out.append(r)
        elif len(r) == 1:
            out.append(r)
        else:
            out.extend(r[i:i + 2] for i in range(len(r) - 1))
    return out


def run_bigram_bm25(docs, queries, k, k1=1.2, b=0.75):
    """Lucene's BM25: idf = ln(1 + (N - n + 0.5) / (n + 0.5)), tf saturated by k1 and
    normalised by document length with b; query terms counted once each, as a BooleanQuery
    of SHOULD clauses over the analysed terms sums each distinct term's score once per
    occurrence in the query."""
    ids = list(docs)
    tfs = [Counter(cjk_bigrams(docs[d])) for d in ids]
    lens = [sum(c.values()) for c in tfs]
    avg = sum(lens) / len(lens) if lens else 1.0
    df = Counter(t for c in tfs for t in c)
    n = len(ids)
    run, top = {}, {}
    for q, text in queries.items():
        qterms = Counter(cjk_bigrams(text))
        scores = [0.0] * n
        for t, qtf in qterms.items():
            if t not in df:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            for i, c in enumerate(tfs):
                tf = c.get(t)
                if tf:
                    scores[i] += qtf * idf * tf / (tf + k1 * (1 - b + b * lens[i] / avg))
        best = sorted(range(n), key=lambda i: -scores[i])[:k]
        run[q] = {ids[i]: scores[i] for i in best if scores[i] > 0}
        top[q] = max(run[q].values(), default=0.0)
    return run, top


BASELINES = {
    "whoosh-jieba (a)": run_whoosh_jieba,
    "bm25-jieba (b)": run_bm25_jieba,
    "bigram-bm25 (c)": run_bigram_bm25,
}
