"""Knowledge-base-wide validation: every problem of every entry, in one run."""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ERROR, WARNING, Problem


@dataclass
class CheckReport:
    problems: list[Problem]
    entries: int
    files: int

    @property
    def errors(self):
        return [p for p in self.problems if p.level == ERROR]

    @property
    def warnings(self):
        return [p for p in self.problems if p.level == WARNING]


def check(kbase) -> CheckReport:
    """Run every rule: per-file validation (entries.load_entry), duplicate ids, kb/ warnings."""
    from ..content.catalogue import verify
    from ..errors import rel

    loaded = kbase.load_entries(working=True)
    problems = list(kbase.kb.warnings) + list(loaded.problems)
    for e in loaded.entries:
        for c, line in zip(e.citations, e.citation_lines):
            for level, message in verify(kbase.catalogue, c):
                problems.append(Problem(rel(e.path, kbase.root), line, level, message))
    from . import workflow as authoring
    from ..content import duplicates

    problems += duplicates.problems(kbase, loaded.entries)
    from ..content import bodycite

    problems += bodycite.problems(kbase, loaded.entries)  # articles cited in the answer body
    problems += authoring.workflow_problems(kbase, loaded.entries)
    from .publish import publication_problems

    problems += publication_problems(kbase, loaded.entries)
    problems += stale_temp_files(kbase)
    problems.sort(key=lambda p: (p.path, p.line, p.level != ERROR))
    return CheckReport(problems, len(loaded.entries), len(loaded.entries) + len(loaded.skipped))


# ".<name>.<pid>.tmp" (search.storage.atomic_write) or ".<name>.<pid>.<random>.tmp"
# (workflow.create_exclusive): written, then renamed or linked into place. One left behind
# means the writing process was killed in between; the entry itself is untouched.
_TEMP = re.compile(r"^\.(?P<name>.+?)\.(?P<pid>\d+)(?:\.[0-9a-f]+)?\.tmp$")
STALE_AFTER = 600  # seconds; older than this, a temporary file is stale whoever owns its pid


def _running(pid: int) -> bool:
    if os.name != "posix":
        return False  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def stale_temp_files(kbase) -> list[Problem]:
    """Temporary files left by a killed write under qa_entries/ and kb/ (not its index)."""
    from ..errors import rel

    kb = kbase.kb
    out = []
    now = time.time()
    for top in (kb.entries_dir, kb.kb_dir):
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != ".index")
            for name in sorted(files):
                m = _TEMP.match(name)
                if not m:
                    continue
                path = Path(folder) / name
                pid = int(m.group("pid"))
                try:
                    age = now - path.stat().st_mtime
                except OSError:
                    continue  # renamed into place while we looked
                running = _running(pid)
                if age < STALE_AFTER and running:
                    continue  # a write in progress
                why = (f"进程 {pid} 仍在运行，但这个文件已有 {int(age // 60)} 分钟没有变化" if running
                       else f"写入它的进程 {pid} 已结束")
                out.append(Problem(rel(path, kb.root), 1, WARNING,
                                   f"中断的写入留下的临时文件（{why}）：{m.group('name')} 没有因此改动，"
                                   "确认无用后可以删除这个临时文件"))
    return out
