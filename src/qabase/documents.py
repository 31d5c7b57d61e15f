"""Entries turned into engine-neutral documents: analysed terms per field, filter values,
citation keys and the stored fields a hit needs. Every engine indexes exactly this."""
from __future__ import annotations

from .errors import rel

TEXT_FIELDS = ("question", "aliases", "tags", "answer")


def join_terms(terms) -> str:
    """Terms as one space-separated string, the form both engines index."""
    return " ".join(t.replace(" ", "") for t in terms)

_worker = {}


def analyse_entry(e, segmenter, catalogue, root) -> dict:
    from .catalogue import citation_key
    from .render import to_text

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
        },
        "stored": {"id": e.id, "topic": e.topic, "question": e.question, "status": e.status, "batch": e.batch,
                   "tags": list(e.tags), "aliases": list(e.aliases), "legal_basis": list(e.legal_basis),
                   "answer_text": answer_text, "path": rel(e.path, root)},
    }


def _init_worker(segmenter, catalogue, root):
    _worker.update(segmenter=segmenter, catalogue=catalogue, root=root)


def _analyse_in_worker(e):
    return analyse_entry(e, _worker["segmenter"], _worker["catalogue"], _worker["root"])


PARALLEL_FROM = 400


def analyse_entries(entries, segmenter, catalogue, root, progress=None, phase="分析文本") -> list[dict]:
    """Analyse every entry; large knowledge bases use every core (jieba is pure Python)."""
    import os

    total = len(entries)
    procs = min(os.cpu_count() or 1, 4)
    if total >= PARALLEL_FROM and procs > 1:
        import multiprocessing as mp

        segmenter.cutter  # initialise once in the parent; forked workers inherit it
        try:
            ctx = mp.get_context("fork")
        except ValueError:
            ctx = mp.get_context()
        out = []
        with ctx.Pool(procs, initializer=_init_worker, initargs=(segmenter, catalogue, root)) as pool:
            for i, doc in enumerate(pool.imap(_analyse_in_worker, entries, chunksize=64), 1):
                out.append(doc)
                if progress and (i % 100 == 0 or i == total):
                    progress(phase, i, total)
        return out
    out = []
    for i, e in enumerate(entries, 1):
        out.append(analyse_entry(e, segmenter, catalogue, root))
        if progress and (i % 25 == 0 or i == total):
            progress(phase, i, total)
    return out


def _load_one(path, kb, segmenter, catalogue):
    from .entries import load_entry

    entry, problems = load_entry(path, kb)
    if entry is None:
        return None, 2, problems, None
    return entry.id, entry.field_lines.get("id", 2), problems, analyse_entry(entry, segmenter, catalogue, kb.root)


def _load_in_worker(path):
    return _load_one(path, _worker["kb"], _worker["segmenter"], _worker["catalogue"])


def _init_load_worker(kb, segmenter, catalogue):
    _worker.update(kb=kb, segmenter=segmenter, catalogue=catalogue)


def load_and_analyse(kb, paths, segmenter, catalogue, progress=None, phase="分析文本"):
    """Read and analyse every entry file in one pass (what a full build needs), on every core
    for large knowledge bases: reading YAML front matter is a tenth of the work.

    Same outcome as ``load_entries`` then ``analyse_entries``: broken files are skipped with
    their first error, and of two files with one id the first in order wins.
    Returns (documents, {file: id}, skipped problems).
    """
    import os

    from .errors import ERROR, Problem

    total = len(paths)
    procs = min(os.cpu_count() or 1, 4)
    if total >= PARALLEL_FROM and procs > 1:
        import multiprocessing as mp

        segmenter.cutter  # load jieba's dictionary once in the parent; forked workers share it
        try:
            ctx = mp.get_context("fork")
        except ValueError:
            ctx = mp.get_context()
        pool = ctx.Pool(procs, initializer=_init_load_worker, initargs=(kb, segmenter, catalogue))
        results = pool.imap(_load_in_worker, paths, chunksize=64)
    else:
        pool = None
        results = (_load_one(p, kb, segmenter, catalogue) for p in paths)
    every = 100 if pool is not None else 25
    docs, ids, skipped, seen = [], {}, [], {}
    try:
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
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return docs, ids, skipped
