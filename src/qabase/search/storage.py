"""Files on disk that the index and its engines both write: durable atomic replacement,
fsync of a finished tree, and where a generation keeps the vocabulary of each engine commit.
It sits below the index and the engines so that neither has to import the other for them."""
from __future__ import annotations

import os
from pathlib import Path


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
    """fsync every file and directory under ``d`` (Whoosh itself never syncs)."""
    for p in d.iterdir():
        if p.is_dir():
            fsync_tree(p)
        elif p.is_file():
            _fsync_path(p)
    _fsync_path(d, directory=True)


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync it, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # A full disk must not leave a half-written temporary file behind to fill it further.
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_path(path.parent, directory=True)


def vocab_path(gen: Path, egen: int) -> Path:
    """The query vocabulary that belongs to engine commit ``egen`` of a generation: written
    before that commit, so a reader always finds the vocabulary of exactly what it reads."""
    return gen / f"vocab-{egen}.marshal"
