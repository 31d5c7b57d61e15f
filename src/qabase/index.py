"""The search index: schema, builds, generations and the freshness check.

Layout of the index directory (``kb/.index/`` by default)::

    CURRENT            name of the live generation, replaced atomically with os.replace
    build.lock         held by the process that is building
    gen-<ns>-<pid>/    one Whoosh index per generation, plus manifest.json

A build writes a complete new generation, fsyncs its files and the directory, then
switches CURRENT; a kill at any moment leaves the previous generation live. Older
generations are removed only after the switch (the previous one is kept for readers that
opened it a moment before).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import IndexBusy, IndexUnavailable, QabaseError, rel

SCHEMA_VERSION = 1
ANALYSIS_VERSION = 1
CURRENT = "CURRENT"
LOCK = "build.lock"
MANIFEST = "manifest.json"

PHASES = ("读取条目", "分析文本", "写入索引", "提交", "切换版本")


class IndexCorrupt(QabaseError):
    """Raised when the live generation cannot be opened or read (truncated, foreign, or
    written by another schema version); the caller rebuilds from the entries."""


@dataclass
class Location:
    """Where the index of a knowledge base lives, and why there."""

    path: Path
    reason: str  # "kb", "cache", "override"


def _writable(d: Path) -> bool:
    try:
        d.mkdir(parents=True, exist_ok=True)
        probe = d / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False


def locate(root: Path, override: Path | str | None = None) -> Location:
    """``--index-dir``/``QABASE_INDEX_DIR``, else ``kb/.index``, else the user cache directory."""
    override = override or os.environ.get("QABASE_INDEX_DIR") or None
    if override:
        return Location(Path(override).expanduser().resolve(), "override")
    default = root / "kb" / ".index"
    if _writable(default):
        return Location(default, "kb")
    from platformdirs import user_cache_dir

    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return Location(Path(user_cache_dir("qabase", appauthor=False)) / "index" / key, "cache")


def _fsync_path(p: Path, directory: bool = False) -> None:
    try:
        fd = os.open(p, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        return  # Windows cannot open directories; its rename is durable enough
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_tree(d: Path) -> None:
    for p in d.iterdir():
        if p.is_file():
            _fsync_path(p)
    _fsync_path(d, directory=True)


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync it, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_path(path.parent, directory=True)


class BuildLock:
    """An advisory lock on ``build.lock``: one build at a time per index directory."""

    def __init__(self, base: Path):
        self.path = base / LOCK
        self.fd = None

    def acquire(self, wait: float | None = None) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            try:
                _lock(self.fd)
                return True
            except OSError:
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(self.fd)
                    self.fd = None
                    return False
                time.sleep(0.1)

    def release(self) -> None:
        if self.fd is not None:
            try:
                _unlock(self.fd)
            finally:
                os.close(self.fd)
                self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


try:
    import fcntl

    def _lock(fd):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd):
        fcntl.flock(fd, fcntl.LOCK_UN)
except ImportError:  # Windows
    import msvcrt

    def _lock(fd):
        os.lseek(fd, 0, 0)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd):
        os.lseek(fd, 0, 0)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


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


def current_generation(base: Path) -> Path | None:
    try:
        name = (base / CURRENT).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not name.startswith("gen-") or "/" in name or "\\" in name:
        return None
    gen = base / name
    return gen if gen.is_dir() else None


def read_manifest(gen: Path) -> dict | None:
    try:
        data = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def file_state(kb, files: list[Path]) -> dict[str, list]:
    """Cheap part of the freshness check: size and mtime of every entry file."""
    out = {}
    for p in files:
        try:
            st = p.stat()
        except OSError:
            continue
        out[rel(p, kb.root)] = [st.st_size, st.st_mtime_ns]
    return out


def sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def fingerprint(kb) -> str:
    """Everything besides the entries that decides what the index contains."""
    h = hashlib.sha256()
    h.update(f"schema={SCHEMA_VERSION};analysis={ANALYSIS_VERSION}".encode())
    h.update(kb.analysis_fingerprint().encode())
    cat = kb.kb_dir / "instruments.yaml"
    if cat.exists():
        h.update(cat.read_bytes())
    return h.hexdigest()[:16]


def is_fresh(kb, gen: Path, manifest: dict, files: list[Path]) -> bool:
    """Size and mtime first; a content hash only for files whose size or mtime changed."""
    if manifest.get("schema_version") != SCHEMA_VERSION or manifest.get("fingerprint") != fingerprint(kb):
        return False
    known = manifest.get("files") or {}
    state = file_state(kb, files)
    if set(state) != set(known):
        return False
    for name, (size, mtime) in state.items():
        k = known[name]
        if k[0] == size and k[1] == mtime:
            continue
        if k[0] != size:
            return False
        try:
            if sha256_file(kb.root / name) != k[2]:
                return False
        except OSError:
            return False
    return True


def build(kb, segmenter, catalogue, progress=None, lock_wait: float | None = 60.0, location: Location | None = None):
    """Write a complete new generation from the entries and make it live.

    :param progress: ``callable(phase, done, total)`` called as the build advances.
    :param lock_wait: seconds to wait for another build; None waits forever.
    :returns: (generation path, manifest dict)
    """
    loc = location or locate(kb.root)
    base = loc.path
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise IndexUnavailable(f"无法创建索引目录 {base}：{e.strerror or e}") from None
    lock = BuildLock(base)
    if not lock.acquire(wait=lock_wait):
        raise IndexBusy(f"另一个 qabase 进程正在建索引（{base / LOCK}），请稍后再试。")
    try:
        return _build_locked(kb, segmenter, catalogue, base, progress)
    finally:
        lock.release()


def _hook(phase: str) -> None:
    # Test-only: lets the kill tests stop the build at a known phase (tests/test_reliability.py).
    target = os.environ.get("QABASE_TEST_PAUSE_AT")
    if target and target == phase:
        print(f"QABASE-PAUSED {phase}", flush=True)
        time.sleep(float(os.environ.get("QABASE_TEST_PAUSE_SECONDS", "30")))


def _build_locked(kb, segmenter, catalogue, base: Path, progress):
    from whoosh import index as windex

    from .analysis import join_terms
    from .catalogue import citation_key
    from .entries import entry_files, load_entries
    from .render import to_text

    def report(phase, done=0, total=0):
        _hook(phase)
        if progress:
            progress(phase, done, total)

    report(PHASES[0])
    files = entry_files(kb)
    state = file_state(kb, files)
    loaded = load_entries(kb, files)
    hashes = {}
    for p in files:
        name = rel(p, kb.root)
        if name in state:
            try:
                hashes[name] = state[name] + [sha256_file(p)]
            except OSError:
                pass

    total = len(loaded.entries)
    docs = []
    for i, e in enumerate(loaded.entries, 1):
        answer_text = to_text(e.answer)
        cites = []
        for c in e.citations:
            key = citation_key(catalogue, c)
            if key not in cites:
                cites.append(key)
        docs.append(dict(
            id=e.id, topic=e.topic, status=e.status, batch=str(e.batch or ""),
            tag=",".join(t.replace(",", " ") for t in e.tags),
            question=join_terms(segmenter.terms(e.question)),
            aliases=join_terms(t for a in e.aliases for t in segmenter.terms(a)),
            tags=join_terms(t for a in e.tags for t in segmenter.terms(a)),
            answer=join_terms(segmenter.terms(answer_text)),
            cites=",".join(cites),
            doc=dict(id=e.id, topic=e.topic, question=e.question, status=e.status, batch=e.batch,
                     tags=list(e.tags), aliases=list(e.aliases), legal_basis=list(e.legal_basis),
                     answer_text=answer_text, path=rel(e.path, kb.root)),
        ))
        if progress and (i % 25 == 0 or i == total):
            progress(PHASES[1], i, total)
    _hook(PHASES[1])

    gen = base / f"gen-{time.time_ns()}-{os.getpid()}"
    gen.mkdir()
    try:
        ix = windex.create_in(str(gen), schema())
        writer = ix.writer()
        for i, d in enumerate(docs, 1):
            writer.add_document(**d)
            if progress and (i % 25 == 0 or i == len(docs)):
                progress(PHASES[2], i, len(docs))
        report(PHASES[3])
        writer.commit()
        ix.close()
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "fingerprint": fingerprint(kb),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "entries": len(docs),
            "files": hashes,
            "skipped": [p.to_dict() for p in loaded.skipped],
        }
        atomic_write(gen / MANIFEST, json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
        fsync_tree(gen)
        report(PHASES[4])
        atomic_write(base / CURRENT, gen.name.encode())
    except BaseException:
        shutil.rmtree(gen, ignore_errors=True)
        raise
    _clean(base, keep={gen.name})
    return gen, manifest


def _clean(base: Path, keep: set[str]) -> None:
    """Remove generations other than the live one and the newest older one."""
    gens = sorted((p for p in base.iterdir() if p.is_dir() and p.name.startswith("gen-")),
                  key=lambda p: _gen_time(p.name))
    live = [p for p in gens if p.name in keep]
    older = [p for p in gens if p.name not in keep and live and _gen_time(p.name) < _gen_time(live[0].name)]
    spare = older[-1].name if older else None
    for p in gens:
        if p.name in keep or p.name == spare:
            continue
        shutil.rmtree(p, ignore_errors=True)  # files still open elsewhere are left for next time


def _gen_time(name: str) -> int:
    try:
        return int(name.split("-")[1])
    except (IndexError, ValueError):
        return 0


def open_generation(gen: Path):
    """Open a generation for searching; IndexCorrupt if it cannot be read."""
    from whoosh import index as windex

    try:
        ix = windex.open_dir(str(gen))
        names = set(ix.schema.names())
        if names != set(schema().names()):
            ix.close()
            raise IndexCorrupt(f"索引 {gen} 的结构与当前版本不符")
        return ix
    except IndexCorrupt:
        raise
    except Exception as e:  # Whoosh raises many kinds on damaged files
        raise IndexCorrupt(f"索引 {gen} 已损坏：{type(e).__name__}") from None
