"""The Whoosh engine: schema, writing a generation, incremental updates and searching.

Terms arrive already analysed (qabase.documents); the schema's analyzer only splits on
spaces, so opening an index never imports jieba.
"""
from __future__ import annotations

from pathlib import Path

NAME = "whoosh"
# Question and aliases say what an entry is about; the answer only mentions things.
FIELD_BOOSTS = {"question": 4.0, "aliases": 3.0, "tags": 1.5, "answer": 1.0}
CITATION_BOOST = 6.0
# Terms found in more than this share of the answers are not searched in the answer field.
COMMON_SHARE = 0.5  # golden set: MRR@10 0.9445 at 0.5 vs 0.9443 without; 0.2 loses 0.0014


class EngineCorrupt(Exception):
    """The generation cannot be opened or does not have qabase's schema."""


def schema():
    from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

    from .analysis import pretokenized

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
        cites=KEYWORD(commas=True),
        doc=STORED(),
    )


def _fields(d: dict) -> dict:
    from .analysis import join_terms

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
    from .index import atomic_write, vocab_path

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
    for p in gen.glob("vocab-*.tsv"):  # keep the live one and the one before it
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
            self.searcher = self.ix.searcher()
            self.generation = self.ix.latest_generation()
        except EngineCorrupt:
            raise
        except Exception as e:  # Whoosh raises many kinds on damaged files
            raise EngineCorrupt(f"索引 {gen} 已损坏：{type(e).__name__}") from None

    def vocab(self) -> bytes:
        from .index import vocab_path

        try:
            return vocab_path(self.gen, self.generation).read_bytes()
        except OSError:
            raise EngineCorrupt(f"索引 {self.gen} 缺少词表") from None

    def close(self):
        try:
            self.searcher.close()
        finally:
            self.ix.close()

    def search(self, plan, filters, limit: int) -> tuple[int, list[tuple[float, dict]]]:
        from whoosh.query import And, Or, Term

        subs = []
        rd = self.searcher.reader()
        common = COMMON_SHARE * max(1, rd.doc_count())
        for t in plan.terms:
            for f, b in FIELD_BOOSTS.items():
                df = rd.doc_frequency(f, t.text)
                # Absent terms cost a lookup each; a word in most answers ("执行", "法院")
                # ranks little and costs the most in Python. Both are left out of the answer field.
                if not df or (f == "answer" and df > common):
                    continue
                subs.append(Term(f, t.text, boost=b * t.weight))
        for key in plan.citations:
            subs.append(Term("cites", key, boost=CITATION_BOOST))
        if not subs:
            return 0, []
        parts = []
        if not filters.all_status:
            parts.append(Term("status", "published"))
        if filters.topic:
            parts.append(Term("topic", filters.topic))
        if filters.tag:
            parts.append(Term("tag", filters.tag))
        if filters.batch is not None:
            parts.append(Term("batch", str(filters.batch)))
        flt = None if not parts else parts[0] if len(parts) == 1 else And(parts)
        try:
            # No refresh here: the caller reopens when the generation moves, so the
            # query vocabulary always matches what this searcher reads.
            results = self.searcher.search(Or(subs), limit=max(1, limit), filter=flt)
            hits = [(float(r.score), r["doc"]) for r in results]
            total = len(hits) if len(hits) < max(1, limit) else self._count(plan, parts)
            return total, hits
        except Exception as e:  # damaged segment files surface only when read
            raise EngineCorrupt(f"索引已损坏：{type(e).__name__}") from None

    def _count(self, plan, filter_terms) -> int:
        # Whoosh's len(results) runs the whole query a second time; a union of the posting
        # lists is several times cheaper and exact (deleted documents are filtered out).
        rd = self.searcher.reader()
        ids = set()
        for t in plan.terms:
            for f in FIELD_BOOSTS:
                if (f, t.text) in rd:
                    ids.update(rd.postings(f, t.text).all_ids())
        for key in plan.citations:
            if ("cites", key) in rd:
                ids.update(rd.postings("cites", key).all_ids())
        for ft in filter_terms:
            keep = set(rd.postings(ft.fieldname, ft.text).all_ids()) if (ft.fieldname, ft.text) in rd else set()
            ids &= keep
        return len(ids)

    def docs(self) -> list[dict]:
        try:
            return [f["doc"] for f in self.searcher.all_stored_fields()]
        except Exception as e:
            raise EngineCorrupt(f"索引已损坏：{type(e).__name__}") from None
