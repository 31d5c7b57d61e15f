"""Gaps: searches the knowledge base does not answer (no result, or confidence low or none),
so trainers know what to write next.

Only the query text and the time are kept, locally, in the user's data directory
(``platformdirs.user_data_dir("qabase")``, or ``QABASE_DATA_DIR``), one JSONL file per
knowledge base named by a hash of its path. ``QABASE_NO_LOG=1`` (or ``search --no-log``)
turns recording off. Recording never raises: a search must not fail because a log cannot
be written.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

MAX_QUERY = 200


def _kb(obj):
    return getattr(obj, "kb", obj)


def disabled() -> bool:
    return os.environ.get("QABASE_NO_LOG", "").strip().lower() not in ("", "0", "false", "no", "off")


def data_dir() -> Path:
    override = os.environ.get("QABASE_DATA_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("qabase", appauthor=False))


def log_path(kbase) -> Path:
    root = str(Path(_kb(kbase).root).resolve())
    digest = hashlib.sha256(root.encode("utf-8")).hexdigest()[:16]
    return data_dir() / "gaps" / f"{digest}.jsonl"


def is_gap(kbase, result) -> bool:
    """A search the knowledge base does not answer: no result, or confidence low or none
    (search.confidence). Searches with nothing to search for, or narrowed by a filter (topic,
    tag, batch, all statuses), are not gaps: the knowledge base may well answer them without
    the filter. A citation query that finds entries citing the article is answered, however
    little else it says (this is also every click on a 法律依据 link)."""
    if not (result.searched_as or getattr(result, "searched_terms", None)) or result.filters:
        return False
    if not result.results:
        return True
    if getattr(result, "cited", False):
        return False
    return getattr(result, "confidence", "high") != "high"


def record_if_gap(kbase, result, now: dt.datetime | None = None) -> bool:
    """Append the query to this knowledge base's gap log when ``result`` is a gap; True when
    recorded. Never raises."""
    try:
        if disabled() or not is_gap(kbase, result):
            return False
        path = log_path(kbase)
        path.parent.mkdir(parents=True, exist_ok=True)
        when = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
        line = json.dumps({"query": " ".join(str(result.query).split())[:MAX_QUERY], "time": when},
                          ensure_ascii=False) + "\n"
        # An append-only log: one O_APPEND write per record keeps concurrent searches from
        # interleaving, where rewriting the file atomically would lose records.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
        return True
    except Exception:
        return False


@dataclass
class Gap:
    query: str
    count: int
    first: str
    last: str

    def to_dict(self) -> dict:
        return {"query": self.query, "count": self.count, "first": self.first, "last": self.last}


def read(kbase) -> list[Gap]:
    """Recorded gaps grouped by query, most frequent first (then most recent)."""
    path = log_path(kbase)
    groups: dict[str, Gap] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as e:
        from ..errors import QabaseError

        raise QabaseError(f"无法读取检索缺口记录 {path}：{e.strerror or e}") from None
    for raw in text.splitlines():
        try:
            rec = json.loads(raw)
            q, t = str(rec["query"]), str(rec.get("time") or "")
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash; the rest of the log is still good
        g = groups.get(q)
        if g is None:
            groups[q] = Gap(q, 1, t, t)
        else:
            g.count += 1
            g.first = min(g.first, t) if g.first and t else (g.first or t)
            g.last = max(g.last, t)
    return sorted(groups.values(), key=lambda g: (-g.count, _neg(g.last), g.query))


def _neg(s: str):
    return [-ord(c) for c in s]


def clear(kbase) -> int:
    """Delete this knowledge base's gap log; the number of records it held."""
    path = log_path(kbase)
    try:
        n = sum(1 for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip())
        path.unlink()
    except FileNotFoundError:
        return 0
    except OSError as e:
        from ..errors import QabaseError

        raise QabaseError(f"无法删除检索缺口记录 {path}：{e.strerror or e}") from None
    return n
