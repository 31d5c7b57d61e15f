"""Knowledge-base-wide validation: every problem of every entry, in one run."""
from __future__ import annotations

from dataclasses import dataclass

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
    problems += authoring.workflow_problems(kbase, loaded.entries)
    from .publish import publication_problems

    problems += publication_problems(kbase, loaded.entries)
    problems.sort(key=lambda p: (p.path, p.line, p.level != ERROR))
    return CheckReport(problems, len(loaded.entries), len(loaded.entries) + len(loaded.skipped))
