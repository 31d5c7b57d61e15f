"""The tantivy engine (tantivy-py, the Rust engine's official bindings), for knowledge bases
of tens of thousands of entries. Same analysed terms, fields, boosts and filters as the
Whoosh engine; scoring runs in native code.

The query vocabulary is stored inside the index as one extra document, so it is published
by the same atomic commit as the entries it describes.
"""
from __future__ import annotations

import json
from pathlib import Path

NAME = "tantivy"
FIELD_BOOSTS = {"question": 4.0, "aliases": 3.0, "tags": 1.5, "answer": 1.0}
BIGRAM_FIELD = "bigrams"
CITATION_BOOST = 6.0
VOCAB_ID = "__vocab__"
TEXT_FIELDS = tuple(FIELD_BOOSTS) + (BIGRAM_FIELD,)
RAW_FIELDS = ("id", "topic", "status", "batch", "tag", "cites")


def installed() -> bool:
    """tantivy is an optional dependency; the index asks before choosing this engine."""
    try:
        import tantivy  # noqa: F401
    except ImportError:
        return False
    return True


class EngineCorrupt(Exception):
    """The generation cannot be opened or does not have qabase's schema."""


def _schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    for f in RAW_FIELDS:
        sb.add_text_field(f, stored=(f == "id"), tokenizer_name="raw", index_option="basic")
    for f in TEXT_FIELDS:
        sb.add_text_field(f, stored=False, tokenizer_name="whitespace", index_option="freq")
    sb.add_bytes_field("doc", stored=True, indexed=False)
    return sb.build()


def _document(d: dict):
    import tantivy

    from ..documents import join_terms

    doc = tantivy.Document()
    for f in ("id", "topic", "status", "batch"):
        doc.add_text(f, d[f])
    for t in d["tag"]:
        doc.add_text("tag", t)
    for c in d["cites"]:
        doc.add_text("cites", c)
    for f, terms in d["terms"].items():
        doc.add_text(f, join_terms(terms))
    doc.add_bytes("doc", json.dumps(d["stored"], ensure_ascii=False).encode("utf-8"))
    return doc


def _vocab_document(vocab: bytes):
    import tantivy

    doc = tantivy.Document()
    doc.add_text("id", VOCAB_ID)
    doc.add_text("status", "meta")
    doc.add_bytes("doc", vocab)
    return doc


def _writer(ix, n_docs: int):
    import os

    threads = max(1, min(os.cpu_count() or 1, 4 if n_docs > 2000 else 1))
    return ix.writer(heap_size=max(15_000_000 * threads, 50_000_000), num_threads=threads)


def create(gen: Path, docs: list[dict], vocab: bytes, progress=None, phase="写入索引", before_commit=None) -> None:
    import tantivy

    ix = tantivy.Index(_schema(), path=str(gen))
    w = _writer(ix, len(docs))
    for i, d in enumerate(docs, 1):
        w.add_document(_document(d))
        if progress and (i % 100 == 0 or i == len(docs)):
            progress(phase, i, len(docs))
    w.add_document(_vocab_document(vocab))
    if before_commit:
        before_commit()
    w.commit()
    w.wait_merging_threads()


def update(gen: Path, docs: list[dict], delete_ids: list[str], vocab: bytes, before_commit=None) -> None:
    import tantivy

    ix = tantivy.Index.open(str(gen))
    w = _writer(ix, len(docs))
    for i in set(delete_ids) | {d["id"] for d in docs} | {VOCAB_ID}:
        w.delete_documents_by_term("id", i)
    for d in docs:
        w.add_document(_document(d))
    w.add_document(_vocab_document(vocab))
    if before_commit:
        before_commit()
    w.commit()
    w.wait_merging_threads()


def latest_generation(gen: Path) -> int:
    with open(gen / "meta.json", encoding="utf-8") as f:
        return int(json.load(f).get("opstamp", 0))


class Reader:
    def __init__(self, gen: Path):
        import tantivy

        try:
            self.generation = latest_generation(gen)
            self.ix = tantivy.Index.open(str(gen))
            self.schema = self.ix.schema
            self.searcher = self.ix.searcher()
            self.tantivy = tantivy
        except Exception as e:
            raise EngineCorrupt(f"索引 {gen} 已损坏：{type(e).__name__}") from None

    def close(self):
        self.searcher = None

    def vocab(self) -> bytes:
        t = self.tantivy
        try:
            r = self.searcher.search(t.Query.term_query(self.schema, "id", VOCAB_ID), 1)
            if not r.hits:
                raise EngineCorrupt("索引缺少词表")
            return self.searcher.doc(r.hits[0][1])["doc"][0]
        except EngineCorrupt:
            raise
        except Exception as e:
            raise EngineCorrupt(f"索引已损坏：{type(e).__name__}") from None

    def doc_frequency(self, text: str) -> tuple[int, int]:
        """(documents containing ``text`` in any word field, documents in the index)."""
        try:
            df = max(self.searcher.doc_freq(f, text) for f in FIELD_BOOSTS)
        except Exception as e:
            raise EngineCorrupt(f"索引已损坏：{type(e).__name__}") from None
        return df, max(1, self.searcher.num_docs - 1)  # the vocabulary document is not an entry

    def search(self, plan, filters, limit: int) -> tuple[int, list[tuple[float, dict]]]:
        t = self.tantivy
        Q, Occur = t.Query, t.Occur
        should, strong = [], []
        for weight, members in plan.groups():
            fields = {BIGRAM_FIELD: 1.0} if members[0].origin == "bigram" else FIELD_BOOSTS
            for f, b in fields.items():
                qs = [Q.term_query(self.schema, f, t.text) if t.weight == 1.0 else
                      Q.boost_query(Q.term_query(self.schema, f, t.text), t.weight) for t in members]
                # tantivy has no SynonymQuery: the best-scoring member stands for the group,
                # so what a word brought in still never adds to the word's own weight.
                q = qs[0] if len(qs) == 1 else Q.disjunction_max_query(qs)
                should.append((Occur.Should, Q.boost_query(q, b * weight)))
                if members[0].origin not in ("bigram", "character"):
                    strong.append(should[-1])
        for key in plan.citations:
            should.append((Occur.Should, Q.boost_query(Q.term_query(self.schema, "cites", key), CITATION_BOOST)))
            strong.append(should[-1])
        if not should:
            return 0, []
        must = [(Occur.Must, Q.boolean_query(should))]
        if not filters.all_status:
            must.append((Occur.Must, Q.term_query(self.schema, "status", "published")))
        if filters.topic:
            must.append((Occur.Must, Q.term_query(self.schema, "topic", filters.topic)))
        if filters.tag:
            must.append((Occur.Must, Q.term_query(self.schema, "tag", filters.tag)))
        if filters.batch is not None:
            must.append((Occur.Must, Q.term_query(self.schema, "batch", str(filters.batch))))
        try:
            r = self.searcher.search(Q.boolean_query(must), max(1, limit))
            out = [(float(score), json.loads(self.searcher.doc(addr)["doc"][0])) for score, addr in r.hits]
            total = r.count
            # "共 N 条" counts entries matching a word (or a cited article), not a bigram alone.
            if strong and len(strong) < len(should):
                total = self.searcher.search(Q.boolean_query([(Occur.Must, Q.boolean_query(strong))] + must[1:]), 1).count
            return total, out
        except Exception as e:
            raise EngineCorrupt(f"索引已损坏：{type(e).__name__}") from None

    def docs(self) -> list[dict]:
        t = self.tantivy
        r = self.searcher.search(t.Query.all_query(), self.searcher.num_docs)
        out = []
        for _, addr in r.hits:
            d = self.searcher.doc(addr)
            if d["id"][0] != VOCAB_ID:
                out.append(json.loads(d["doc"][0]))
        return out
