"""The published state of the knowledge base: what judges are served.

``qabase publish`` records every entry it publishes in ``kb/published.json`` (content hash,
version, batch, date, reviewer) and keeps the exact file it published under
``kb/published/<topic>/<id>.md``. Both are committed with the knowledge base.

Search, ``show``, the web page and the export read an entry through ``served_snapshot``:
when the working file under ``qa_entries/`` differs from the kept copy by a single byte,
the kept copy is served, so an edit goes live only when it has been reviewed and
published again. ``check`` reads the working files and warns about every such edit.
A knowledge base without ``published.json`` serves its working files as they are.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import QabaseError

PUBLISHED_FILE = "published.json"
SNAPSHOT_DIR = "published"


def empty_records() -> dict:
    return {"schema_version": 1, "entries": {}, "batches": {}}


def read_records(kb) -> dict:
    path = kb.kb_dir / PUBLISHED_FILE
    if not path.exists():
        return empty_records()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise QabaseError(f"kb/{PUBLISHED_FILE} 无法读取（{e}）；它记录已发布的内容，请从版本库恢复。") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        raise QabaseError(f"kb/{PUBLISHED_FILE} 格式不对：应是含 entries 的对象；请从版本库恢复。")
    data.setdefault("batches", {})
    return data


def snapshot_path(kb, topic: str, entry_id: str) -> Path:
    return kb.kb_dir / SNAPSHOT_DIR / topic / f"{entry_id}.md"


# Records are read once per state of published.json: every entry file of a build asks.
_cache: dict[str, tuple[tuple, dict]] = {}


def _records_cached(kb) -> dict:
    path = kb.kb_dir / PUBLISHED_FILE
    try:
        st = os.stat(path)
    except OSError:
        return empty_records()["entries"]
    key = (st.st_mtime_ns, st.st_size, st.st_ino)
    hit = _cache.get(str(path))
    if hit and hit[0] == key:
        return hit[1]
    entries = read_records(kb)["entries"]
    _cache[str(path)] = (key, entries)
    return entries


def served_snapshot(kb, path: Path) -> Path | None:
    """The kept published copy to serve in place of the working file ``path``, or None when
    the working file is what was published (or was never published)."""
    rec = _records_cached(kb).get(path.stem)
    if not rec:
        return None
    snap = snapshot_path(kb, path.parent.name, path.stem)
    try:
        kept = snap.read_bytes()
    except OSError:
        return None  # published before copies were kept: nothing else to serve
    try:
        if path.stat().st_size == len(kept) and path.read_bytes() == kept:
            return None
    except OSError:
        pass  # the working file is gone or unreadable: judges keep the published text
    return snap


def published_ids(kb) -> set[str]:
    return set(_records_cached(kb))
