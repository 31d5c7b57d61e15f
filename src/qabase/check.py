"""Knowledge-base-wide validation: every problem of every entry, in one run."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ERROR, WARNING, Problem


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
    loaded = kbase.load_entries()
    problems = list(kbase.kb.warnings) + list(loaded.problems)
    problems.sort(key=lambda p: (p.path, p.line, p.level != ERROR))
    return CheckReport(problems, len(loaded.entries), len(loaded.entries) + len(loaded.skipped))
