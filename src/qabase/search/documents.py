"""Entries turned into engine-neutral documents: analysed terms per field, filter values,
citation keys and the stored fields a hit needs. Every engine indexes exactly this."""
from __future__ import annotations

from contextlib import closing

from ..errors import rel

TEXT_FIELDS = ("question", "aliases", "tags", "answer", "bigrams")


def join_terms(terms) -> str:
    """Terms as one space-separated string, the form both engines index."""
    return " ".join(t.replace(" ", "") for t in terms)

_worker = {}


def analyse_entry(e, segmenter, catalogue, root) -> dict:
    from ..content.catalogue import citation_key
    from ..content.render import to_text
    from .segment import cjk_bigrams, normalise

    answer_text = to_text(e.answer)
    cites = []
    for c in e.citations:
        key = citation_key(catalogue, c)
        if key not in cites:
            cites.append(key)
    return {
        "id": e.id, "topic": e.topic, "status": e.status, "batch": str(e.batch or ""),
        "tag": list(e.tags), "cites": cites,
        "terms": {
            "question": segmenter.terms(e.question),
            "aliases": [t for a in e.aliases for t in segmenter.terms(a)],
            "tags": [t for a in e.tags for t in segmenter.terms(a)],
            "answer": segmenter.terms(answer_text),
            # Where segmentation differs between a query and an entry, characters still meet.
            "bigrams": cjk_bigrams(normalise(" ".join([e.question, *e.aliases, *e.tags, answer_text]))),
        },
        "stored": {"id": e.id, "topic": e.topic, "question": e.question, "status": e.status, "batch": e.batch,
                   "tags": list(e.tags), "aliases": list(e.aliases), "legal_basis": list(e.legal_basis),
                   "answer_text": answer_text, "path": rel(e.path, root)},
    }


PARALLEL_FROM = 400


def _procs(n_items: int) -> int:
    import os

    return min(os.cpu_count() or 1, 4) if n_items >= PARALLEL_FROM else 1


def _in_worker(item):
    return _worker["fn"](item, **_worker["args"])


def _each(fn, items, args: dict):
    """``fn(item, **args)`` for every item, in order; large batches on every core (jieba's
    algorithm and YAML parsing are pure Python), in forked workers that share ``args``."""
    procs = _procs(len(items))
    if procs == 1:
        for item in items:
            yield fn(item, **args)
        return
    import multiprocessing as mp

    args["segmenter"].cutter  # load jieba's dictionary once in the parent; forked workers share it
    try:
        ctx = mp.get_context("fork")
    except ValueError:
        ctx = mp.get_context()
    pool = ctx.Pool(procs, initializer=_worker.update, initargs=({"fn": fn, "args": args},))
    try:
        yield from pool.imap(_in_worker, items, chunksize=64)
    finally:
        pool.terminate()
        pool.join()


def _every(n_items: int) -> int:
    """How often progress is reported: kill tests stop builds at "分析文本:25"."""
    return 100 if _procs(n_items) > 1 else 25


def analyse_entries(entries, segmenter, catalogue, root, progress=None, phase="分析文本") -> list[dict]:
    """Analyse every entry; large knowledge bases use every core."""
    total, every, out = len(entries), _every(len(entries)), []
    args = dict(segmenter=segmenter, catalogue=catalogue, root=root)
    with closing(_each(analyse_entry, entries, args)) as results:  # workers stop with us
        for i, doc in enumerate(results, 1):
            out.append(doc)
            if progress and (i % every == 0 or i == total):
                progress(phase, i, total)
    return out


def _load_one(path, kb, segmenter, catalogue):
    from ..content.entries import load_entry

    entry, problems = load_entry(path, kb, served=True)
    if entry is None:
        return None, 2, problems, None
    return entry.id, entry.field_lines.get("id", 2), problems, analyse_entry(entry, segmenter, catalogue, kb.root)


def load_and_analyse(kb, paths, segmenter, catalogue, progress=None, phase="分析文本"):
    """Read and analyse every entry file in one pass (what a full build needs), on every core
    for large knowledge bases: reading YAML front matter is a tenth of the work.

    Same outcome as ``load_entries`` then ``analyse_entries``: broken files are skipped with
    their first error, and of two files with one id the first in order wins.
    Returns (documents, {file: id}, skipped problems).
    """
    from ..errors import ERROR, Problem

    total, every = len(paths), _every(len(paths))
    docs, ids, skipped, seen = [], {}, [], {}
    with closing(_each(_load_one, paths, dict(kb=kb, segmenter=segmenter, catalogue=catalogue))) as results:
        for i, (path, (eid, id_line, found, doc)) in enumerate(zip(paths, results), 1):
            name = rel(path, kb.root)
            if doc is not None and eid in seen:
                found.append(Problem(name, id_line, ERROR, f"编号 {eid} 重复，已被 {seen[eid]} 使用"))
                doc = None
            if doc is None:
                skipped.append(next(p for p in found if p.level == ERROR))
            else:
                seen[eid] = name
                ids[name] = eid
                docs.append(doc)
            if progress and (i % every == 0 or i == total):
                progress(phase, i, total)
    return docs, ids, skipped
