"""Trainers' workflow on entry files: scaffolding a new entry, editing front matter in place,
and publishing the entries under review as a numbered batch.

Front matter is edited line by line rather than re-dumped, so that a trainer's ordering,
quoting and comments survive ``qabase publish``.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ERROR, WARNING, Problem, QabaseError, rel
from ..search.storage import atomic_write

# The order fields are written in; also where a missing field is inserted by set_fields.
FIELD_ORDER = (
    "id", "topic", "question", "aliases", "tags", "status", "batch", "updated", "published",
    "version", "legal_basis", "source", "asked_by", "answered_by", "reviewed_by", "reviewed_at", "superseded_by",
    "import_key",
)
LIST_KEYS = ("aliases", "tags", "legal_basis")
SCAFFOLD_BODY = "**结论**：\n\n**依据**：\n\n**操作步骤**：\n1. \n"


# -- writing entries -------------------------------------------------------------------------
def yaml_scalar(value) -> str:
    """One YAML scalar as it should appear after ``key: `` — plain when that reads back as the
    same string, double-quoted otherwise (JSON strings are valid YAML double-quoted scalars)."""
    from .. import yamlsafe

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    s = str(value)
    if s and all(ord(ch) >= 0x2E80 for ch in s):
        return s  # CJK text and full-width punctuation are never YAML syntax
    if s and "\n" not in s and "\r" not in s and s == s.strip():
        try:
            if yamlsafe.load(f"k: {s}\n") == {"k": s}:
                return s
        except yamlsafe.YAMLProblem:
            pass
    return json.dumps(s, ensure_ascii=False)


def _field_lines(key: str, value) -> list[str]:
    if key in LIST_KEYS:
        items = [x for x in (value or []) if str(x).strip()]
        if not items:
            return [f"{key}: []"]
        return [f"{key}:"] + [f"  - {yaml_scalar(str(x))}" for x in items]
    rendered = yaml_scalar(value)
    return [f"{key}: {rendered}" if rendered else f"{key}:"]


def render_entry(fields: dict, body: str) -> str:
    """A complete entry file: every field of FIELD_ORDER that ``fields`` holds, in that order."""
    lines = ["---"]
    for key in FIELD_ORDER:
        if key in fields:
            lines += _field_lines(key, fields[key])
    lines.append("---")
    return "\n".join(lines) + "\n" + body.strip("\n") + "\n"


def used_numbers(kb, prefix: str) -> set[int]:
    """Numbers taken under ``prefix``: file names anywhere under qa_entries/ (so broken files
    count too) and the ids written inside files."""
    from ..content.entries import entry_files

    pat = re.compile(rf"^{re.escape(prefix)}-(\d+)$")
    id_line = re.compile(rf"^id:\s*['\"]?{re.escape(prefix)}-(\d+)['\"]?\s*$", re.M)
    taken = set()
    for p in entry_files(kb):
        m = pat.match(p.stem)
        if m:
            taken.add(int(m.group(1)))
        try:
            head = p.read_text(encoding="utf-8-sig", errors="replace")[:4000]
        except OSError:
            continue
        taken.update(int(x) for x in id_line.findall(head))
    return taken


def next_id(kb, topic, taken: set[int] | None = None) -> str:
    numbers = used_numbers(kb, topic.prefix) | (taken or set())
    n = max(numbers, default=0) + 1
    return f"{topic.prefix}-{n:03d}"


# -- allocating ids safely ---------------------------------------------------------------------
# Allocating an id is "find the highest number in use, write the next one". Two processes
# doing that at once (two imports, an import and `qabase new`) both find the same number, so
# allocating and writing happen under an advisory lock on qa_entries/ itself (no lock file to
# leave behind or commit), and every file is created exclusively, never replaced: a number
# taken by someone who did not wait for the lock makes the writer move on instead of
# overwriting. Either measure alone would do on a good day; together they also cover a
# filesystem without locks and an editor creating files by hand.
LOCK_WAIT = 120.0


class entries_lock:
    """``with entries_lock(kb): …`` holds the qa_entries/ lock (waiting up to ``wait`` s)."""

    def __init__(self, kb, wait: float = LOCK_WAIT):
        self.dir = kb.entries_dir
        self.wait = wait
        self.fd = None

    def __enter__(self):
        import os
        import time

        try:
            import fcntl
        except ImportError:  # Windows: no flock; exclusive creation still prevents overwriting
            return self
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self.fd = os.open(self.dir, os.O_RDONLY)
        except OSError:
            return self  # a directory that cannot be opened cannot be locked; see above
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    self.fd = None
                    raise QabaseError(f"另一个 qabase 进程正在新建或导入条目，等了 {self.wait:.0f} 秒仍未结束；"
                                      "请稍后再试。") from None
                time.sleep(0.05)
            except OSError:
                return self  # e.g. a network filesystem without flock

    def __exit__(self, *exc):
        import os

        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd = None


def create_exclusive(path: Path, data: bytes) -> bool:
    """Create ``path`` with ``data``, durably; False, touching nothing, if it already exists.

    The text is written and fsynced under a temporary name (by atomic_write, like every
    write), then hard-linked into place: linking fails if the name is taken, and a reader
    never sees half a file. Where hard links are not supported the temporary file is renamed
    into place after a check that the name is free, which the entries lock makes safe
    against other qabase processes."""
    import errno
    import os
    import secrets

    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    atomic_write(tmp, data)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK):
                raise
            if path.exists():
                return False
            os.replace(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    # The new name itself must survive a power cut, not only the file's bytes.
    from ..search.storage import _fsync_path

    _fsync_path(path.parent, directory=True)
    return True


@dataclass
class NewEntry:
    id: str
    path: Path
    duplicates: list = field(default_factory=list)


def new_entry(kbase, topic: str, question: str | None = None) -> NewEntry:
    """Scaffold ``qa_entries/<topic>/<next id>.md`` as a draft with every field in place.

    The number is allocated and the file created under the entries lock, exclusively: two
    ``qabase new`` (or a new and an import) at once get different ids."""
    from ..content import duplicates

    t = kbase.kb.topic(topic)
    question = " ".join((question or "").split())
    loaded = kbase.load_entries() if question else None
    fields = {key: None for key in FIELD_ORDER if key != "import_key"}
    fields.update(topic=t.slug, question=question, status="draft", aliases=[], tags=[], legal_basis=[])
    folder = kbase.kb.entries_dir / t.slug
    folder.mkdir(parents=True, exist_ok=True)
    tried: set[int] = set()
    with entries_lock(kbase.kb):
        while True:
            eid = next_id(kbase.kb, t, tried)
            path = folder / f"{eid}.md"
            fields["id"] = eid
            if create_exclusive(path, render_entry(fields, SCAFFOLD_BODY).encode("utf-8")):
                break
            tried.add(int(eid.rsplit("-", 1)[1]))  # taken meanwhile: try the next number
    dups = []
    if question:
        dups = duplicates.similar_to([question], loaded.entries, duplicates.threshold(kbase.kb), eid)
    return NewEntry(eid, path, dups)


# -- editing front matter in place ------------------------------------------------------------
def _front_matter_end(lines: list[str]) -> int:
    if not lines or lines[0].strip() != "---":
        raise ValueError("文件应以 --- 开始的 YAML 头部开头")
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return i
    raise ValueError("YAML 头部没有以 --- 结束")


def _key_line(lines: list[str], end: int, key: str) -> int | None:
    pat = re.compile(rf"^{re.escape(key)}\s*:(\s|$)")
    for i in range(1, end):
        if pat.match(lines[i]):
            return i
    return None


def _block_end(lines: list[str], start: int, end: int) -> int:
    """Index after the value of the key on ``start``: its indented or ``- `` continuation lines."""
    j = start + 1
    while j < end and (lines[j][:1] in (" ", "\t") or (lines[j].startswith("-") and not lines[j].startswith("---"))):
        j += 1
    return j


def set_fields(text: str, changes: dict) -> str:
    """Rewrite only the front matter lines of the keys in ``changes`` (scalar values); keep
    every other line, the line endings and a trailing ``# comment`` on a rewritten line.
    Keys not present are inserted after the nearest preceding key of FIELD_ORDER."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    end = _front_matter_end(lines)
    for key, value in changes.items():
        rendered = yaml_scalar(value)
        new = f"{key}: {rendered}" if rendered else f"{key}:"
        i = _key_line(lines, end, key)
        if i is not None:
            old = lines[i].rstrip("\r\n")
            m = re.match(rf"^{re.escape(key)}\s*:\s*([^'\"\s][^#]*?|)(\s+#.*)?$", old)
            if m and m.group(2):
                new += m.group(2)
            stop = _block_end(lines, i, end)
            lines[i:stop] = [new + newline]
            end -= stop - i - 1
            continue
        at = 1
        order = FIELD_ORDER.index(key) if key in FIELD_ORDER else len(FIELD_ORDER)
        for before in reversed(FIELD_ORDER[:order]):
            j = _key_line(lines, end, before)
            if j is not None:
                at = _block_end(lines, j, end)
                break
        else:
            at = end
        lines.insert(at, new + newline)
        end += 1
    return "".join(lines)


def _check_rewritten(path: Path, text: str, kb) -> None:
    """The rewritten file must still be a parseable entry; raise instead of writing otherwise."""
    from .. import yamlsafe
    from ..content.entries import split_front_matter

    try:
        head, head_line, _, _ = split_front_matter(text)
        meta = yamlsafe.load_with_lines(head, head_line)[0]
    except (ValueError, yamlsafe.YAMLProblem) as e:
        raise QabaseError(f"{rel(path, kb.root)}：改写头部后无法解析（{e}），未写入。") from None
    if not isinstance(meta, dict):
        raise QabaseError(f"{rel(path, kb.root)}：改写头部后不是键值对，未写入。")


# -- check rules that need the whole knowledge base -------------------------------------------
def workflow_problems(kbase, entries) -> list[Problem]:
    """``superseded_by`` must name another existing entry and belongs on withdrawn entries."""
    ids = {e.id for e in entries}
    out = []
    for e in entries:
        if not e.superseded_by:
            continue
        line = e.field_lines.get("superseded_by", 2)
        where = rel(e.path, kbase.kb.root)
        target = e.superseded_by.strip().lower()
        if target == e.id:
            out.append(Problem(where, line, ERROR, "superseded_by 不能指向条目自己"))
        elif target not in ids:
            out.append(Problem(where, line, ERROR, f"superseded_by 指向的条目 {e.superseded_by} 不存在"))
        if e.status != "withdrawn":
            out.append(Problem(where, line, WARNING,
                               f"条目状态为 {e.status}，只有已撤回（withdrawn）的条目才需要 superseded_by"))
    return out
