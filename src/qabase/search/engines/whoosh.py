"""The Whoosh engine: schema, writing a generation, incremental updates and searching.

Terms arrive already analysed (qabase.search.documents); the schema's analyzer only splits on
spaces, so opening an index never imports jieba.
"""
from __future__ import annotations

import heapq
from math import log
from pathlib import Path

NAME = "whoosh"
# Question and aliases say what an entry is about; the answer only mentions things.
FIELD_BOOSTS = {"question": 4.0, "aliases": 3.0, "tags": 1.5, "answer": 1.0}
# Character bigrams of all the text: searched only with the query's bigrams (QueryPlan).
BIGRAM_FIELD = "bigrams"
CITATION_BOOST = 6.0
# Terms found in more than this share of the answers are not searched in the answer field.
COMMON_SHARE = 0.5  # golden set: MRR@10 0.9445 at 0.5 vs 0.9443 without; 0.2 loses 0.0014


# Whoosh's BM25F defaults, which the searcher uses when given no weighting.
K1, B = 1.2, 0.75
POSTINGS_CACHE = 20_000  # posting lists kept per open reader (common words recur across queries)


def _postings(seg, field: str, text: str) -> tuple[list[int], list[float]]:
    """Document numbers and weights (term frequencies) of one term in one segment, deleted
    documents included. Whoosh's block reader hands over a whole block
    at a time; other matchers (inlined short lists, future codecs) go posting by posting."""
    from whoosh.matching.mcore import ListMatcher
    from whoosh.matching.wrappers import FilterMatcher

    m = seg.postings(field, text)
    leaf = m.child if isinstance(m, FilterMatcher) else m
    # The deletion filter has already stepped its child past leading deleted documents
    # (possibly whole blocks): start over, deleted ones included, as doc_frequency counts them.
    leaf.reset()
    if all(hasattr(leaf, a) for a in ("_read_ids", "_read_weights", "_next_block", "_atend")):
        ids: list[int] = []
        weights: list[float] = []
        while not leaf._atend:
            leaf._read_ids()
            leaf._read_weights()
            ids.extend(leaf._ids)
            weights.extend(leaf._weights)
            leaf._next_block()
        return ids, weights
    if isinstance(leaf, ListMatcher):
        ids = list(leaf._ids)
        return ids, list(leaf._weights) if leaf._weights else [1.0] * len(ids)
    ids, weights = [], []
    while leaf.is_active():
        ids.append(leaf.id())
        weights.append(leaf.weight())
        leaf.next()
    return ids, weights


def _length_bytes(seg, field: str):
    """Whoosh keeps each document's field length as one byte (decoded by byte_to_length)."""
    try:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

        col = seg._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
        if col is None:
            return bytes(seg.doc_count_all())
        raw = col._dbfile.get(col._basepos, col._count)
        return bytes(raw) + bytes(max(0, seg.doc_count_all() - len(raw)))
    except (AttributeError, ImportError, TypeError):
        from whoosh.util.numeric import length_to_byte

        return bytes(length_to_byte(seg.doc_field_length(d, field, 0) or 0)
                     for d in range(seg.doc_count_all()))


class EngineCorrupt(Exception):
    """The generation cannot be opened or does not have qabase's schema."""


def schema():
    from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

    from .whoosh_analysis import pretokenized

    text = lambda: TEXT(analyzer=pretokenized(), phrase=False)  # noqa: E731
    return Schema(
        id=ID(stored=True, unique=True),
        topic=ID(stored=True),
        status=ID(stored=True),
        batch=ID(stored=True),
        tag=KEYWORD(commas=True),
        question=text(),
        aliases=text(),
        tags=text(),
        answer=text(),
        bigrams=text(),
        cites=KEYWORD(commas=True),
        doc=STORED(),
    )


def _fields(d: dict) -> dict:
    from .whoosh_analysis import join_terms

    out = dict(
        id=d["id"], topic=d["topic"], status=d["status"], batch=d["batch"],
        tag=",".join(t.replace(",", " ") for t in d["tag"]), cites=",".join(d["cites"]), doc=d["stored"],
    )
    for f, terms in d["terms"].items():
        out[f] = join_terms(terms)
    return out


def create(gen: Path, docs: list[dict], vocab: bytes, progress=None, phase="写入索引", before_commit=None) -> None:
    from whoosh import index as windex

    ix = windex.create_in(str(gen), schema())
    writer = ix.writer(limitmb=256, _lk=False)  # see _cancel: qabase's build.lock serialises writers
    try:
        for i, d in enumerate(docs, 1):
            writer.add_document(**_fields(d))
            if progress and (i % 100 == 0 or i == len(docs)):
                progress(phase, i, len(docs))
        _commit(gen, writer, vocab, before_commit)
    except BaseException:
        _cancel(writer)
        raise
    finally:
        ix.close()


def _commit(gen: Path, writer, vocab: bytes, before_commit) -> None:
    """Publish a writer's work. The vocabulary of a commit is written before the commit, under
    the generation number it creates, so a reader always finds the one matching what it reads."""
    from ..storage import atomic_write, vocab_path

    atomic_write(vocab_path(gen, writer.generation), vocab)
    if before_commit:
        before_commit()
    writer.commit()


def _cancel(writer) -> None:
    # Whoosh's own write lock (disabled above) would outlive a writer whose construction or
    # commit failed on a full disk until garbage collection, blocking every later update of a
    # long-running process; qabase's build.lock already admits one writer at a time.
    try:
        writer.cancel()
    except Exception:
        if getattr(writer, "writelock", None) is not None:
            try:
                writer.writelock.release()
            except Exception:
                pass


def update(gen: Path, docs: list[dict], delete_ids: list[str], vocab: bytes, before_commit=None) -> None:
    """Replace and delete documents in place; Whoosh's commit publishes them atomically."""
    ix = _open(gen)
    writer = ix.writer(_lk=False)
    try:
        for i in delete_ids:
            writer.delete_by_term("id", i)
        for d in docs:
            writer.update_document(**_fields(d))
        _commit(gen, writer, vocab, before_commit)
    except BaseException:
        _cancel(writer)
        raise
    finally:
        ix.close()
    for p in gen.glob("vocab-*"):  # keep the live one and the one before it
        try:
            if int(p.stem.split("-")[1]) < writer.generation - 1:
                p.unlink()
        except (ValueError, OSError):
            pass


def latest_generation(gen: Path) -> int:
    """Number of the newest commit (Whoosh's TOC generation), without opening the index."""
    import re

    best = -1
    for p in gen.iterdir():
        m = re.fullmatch(r"_MAIN_(\d+)\.toc", p.name)
        if m:
            best = max(best, int(m.group(1)))
    return best


# mmap is safe here: qabase never rewrites an index file in place (updates add files and
# delete old ones), so a mapped file cannot shrink under a reader.
MMAP = True


def _open(gen: Path):
    from whoosh.filedb.filestore import FileStorage

    return FileStorage(str(gen), supports_mmap=MMAP).open_index()


class Reader:
    def __init__(self, gen: Path):
        self.gen = gen
        try:
            self.ix = _open(gen)
            if set(self.ix.schema.names()) != set(schema().names()):
                self.ix.close()
                raise EngineCorrupt(f"索引 {gen} 的结构与当前版本不符")
            # A reader, not a searcher: qabase scores by itself, and whoosh.searching with the
            # query modules it pulls in would add to every cold search.
            self.reader = self.ix.reader()
            self.generation = self.ix.latest_generation()
            # A generation's commit never changes once opened: what is read from it can be kept.
            self._length_cache: dict = {}
            self._filter_cache: dict = {}
            self._postings_cache: dict = {}
            from whoosh.util.numeric import byte_to_length

            self._length_of_byte = [byte_to_length(b) for b in range(256)]
        except EngineCorrupt:
            raise
        except Exception as e:  # Whoosh raises many kinds on damaged files
            raise EngineCorrupt(f"索引 {gen} 已损坏：{type(e).__name__}") from None

    def vocab(self) -> bytes:
        from ..storage import vocab_path

        try:
            return vocab_path(self.gen, self.generation).read_bytes()
        except OSError:
            raise EngineCorrupt(f"索引 {self.gen} 缺少词表") from None

    def close(self):
        try:
            self.reader.close()
        finally:
            self.ix.close()

    def search(self, plan, filters, limit: int) -> tuple[int, list[tuple[float, dict]]]:
        """BM25F over the terms of ``plan`` in every field, exactly as Whoosh's own searcher
        scores an Or of boosted Terms (tests/test_whoosh_scoring.py compares the two), but summed
        over whole posting blocks: Whoosh's matcher tree spends most of a query in Python
        calls per posting, which at 5,000 entries made a query take a quarter of a second."""
        rd = self.reader
        common = COMMON_SHARE * max(1, rd.doc_count())
        leaves = list(enumerate(rd.leaf_readers()))
        subs, weak = [], []
        for weight, members in plan.groups():
            bigram = members[0].origin == "bigram"
            fields = {BIGRAM_FIELD: 1.0} if bigram else FIELD_BOOSTS
            for f, b in fields.items():
                # Whoosh's doc_frequency, from the cached posting lists (deleted documents
                # count until a merge drops them, as there).
                found = []
                for t in members:
                    df = sum(self._postings(n, seg, f, t.text)[2] for n, (seg, _) in leaves)
                    if df:
                        found.append((t.text, t.weight, df))
                if not found:
                    continue
                # A group is one term: Lucene's SynonymQuery takes the largest doc frequency.
                gdf = max(df for _, _, df in found)
                # A word in most answers ("执行", "法院") ranks little and costs the most; so
                # does a bigram found in most entries.
                if f in ("answer", BIGRAM_FIELD) and gdf > common:
                    continue
                subs.append((f, found, b * weight, gdf))
                weak.append(members[0].origin in ("bigram", "character"))
        for key in plan.citations:
            subs.append(("cites", [(key, 1.0, 0)], CITATION_BOOST, 0))
            weak.append(False)
        if not subs:
            return 0, []
        parts = []
        if not filters.all_status:
            parts.append(("status", "published"))
        if filters.topic:
            parts.append(("topic", filters.topic))
        if filters.tag:
            parts.append(("tag", filters.tag))
        if filters.batch is not None:
            parts.append(("batch", str(filters.batch)))
        try:
            scores, worded = self._scores(subs, weak)
            if parts:
                allowed = set.intersection(*(self._docset(f, v) for f, v in parts))
                scores = {d: s for d, s in scores.items() if d in allowed}
            best = heapq.nsmallest(max(1, limit), scores.items(), key=lambda kv: (-kv[1], kv[0]))
            # "共 N 条" counts entries matching a word (or a cited article); bigrams and lone
            # characters rank entries but would make nearly every entry a "result".
            total = len(scores) if all(weak) else len(worded & scores.keys())
            return total, [(s, rd.stored_fields(d)["doc"]) for d, s in best]
        except Exception as e:  # damaged segment files surface only when read
            raise EngineCorrupt(f"索引已损坏：{type(e).__name__}") from None

    def doc_frequency(self, text: str) -> tuple[int, int]:
        """(documents containing ``text`` in any word field, documents in the index)."""
        rd = self.reader
        leaves = list(enumerate(rd.leaf_readers()))
        df = max(sum(self._postings(n, seg, f, text)[2] for n, (seg, _) in leaves) for f in FIELD_BOOSTS)
        return df, rd.doc_count_all()

    def _scores(self, subs, weak=None) -> tuple[dict[int, float], set[int]]:
        """Scores of every matching document, and the documents matched by a sub that is
        not weak (``weak[i]`` marks bigram and lone-character subs)."""
        rd = self.reader
        weak = weak or [False] * len(subs)
        worded: set[int] = set()
        doc_count = rd.doc_count_all()
        length_of_byte = self._length_of_byte
        scores: dict[int, float] = {}
        get = scores.get
        for n, (seg, base) in enumerate(rd.leaf_readers()):
            for (f, members, boost, df), is_weak in zip(subs, weak):
                if f == "cites":  # not scorable: Whoosh scores the bare weight
                    for d, w in zip(*self._postings(n, seg, f, members[0][0])[:2]):
                        d += base
                        scores[d] = get(d, 0.0) + w * boost
                        worded.add(d)
                    continue
                if len(members) == 1:
                    ids, weights, _ = self._postings(n, seg, f, members[0][0])
                    mw = members[0][1]
                    tfs = zip(ids, weights) if mw == 1.0 else ((d, w * mw) for d, w in zip(ids, weights))
                else:  # a group: term frequencies summed per document, each by its weight
                    acc: dict[int, float] = {}
                    for text, mw, _ in members:
                        ids, weights, _ = self._postings(n, seg, f, text)
                        for d, w in zip(ids, weights):
                            acc[d] = acc.get(d, 0.0) + w * mw
                    tfs = acc.items()
                # Whoosh's idf and average field length (WeightingModel.idf,
                # Searcher.avg_field_length), over every segment, deleted documents included.
                idf = log(doc_count / (df + 1)) + 1
                avgfl = rd.field_length(f) / (doc_count or 1) or 1
                lengths = self._lengths(n, seg, f)
                for d, tf in tfs:
                    fl = length_of_byte[lengths[d]]
                    # Same expression as whoosh.scoring.bm25, then the Term's boost.
                    s = idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl))) * boost
                    d += base
                    scores[d] = get(d, 0.0) + s
                    if not is_weak:
                        worded.add(d)
        return scores, worded

    def _postings(self, n: int, seg, field: str, text: str):
        """(live document numbers, their weights, doc frequency) of a term in segment ``n``;
        the doc frequency counts deleted documents too, as Whoosh's does until a merge."""
        key = (n, field, text)
        got = self._postings_cache.get(key)
        if got is None:
            ids, weights = _postings(seg, field, text) if (field, text) in seg else ((), ())
            df = len(ids)
            if df and seg.has_deletions():
                deleted = seg.deleted_docs_set
                live = [(d, w) for d, w in zip(ids, weights) if d not in deleted]
                ids, weights = [d for d, _ in live], [w for _, w in live]
            got = (ids, weights, df)
            if len(self._postings_cache) >= POSTINGS_CACHE:
                self._postings_cache.clear()
            self._postings_cache[key] = got
        return got

    def _lengths(self, n: int, seg, field: str):
        """Length bytes of ``field`` for every document of segment ``n``, read once per reader."""
        key = (n, field)
        got = self._length_cache.get(key)
        if got is None:
            got = self._length_cache[key] = _length_bytes(seg, field)
        return got

    def _docset(self, field, value) -> set[int]:
        key = (field, value)
        got = self._filter_cache.get(key)
        if got is None:
            got = set()
            for n, (seg, base) in enumerate(self.reader.leaf_readers()):
                got.update(d + base for d in self._postings(n, seg, field, value)[0])
            self._filter_cache[key] = got
        return got

    def docs(self) -> list[dict]:
        try:
            return [f["doc"] for f in self.reader.all_stored_fields()]
        except Exception as e:
            raise EngineCorrupt(f"索引已损坏：{type(e).__name__}") from None
