"""Errors and problems. Library code raises these; only the CLI turns them into exit codes."""
from __future__ import annotations

from dataclasses import dataclass, asdict
from pathlib import Path

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding about a file: where it is, how bad, and what to do, in Chinese."""

    path: str
    line: int
    level: str
    message: str

    def __str__(self) -> str:
        label = "错误" if self.level == ERROR else "警告"
        return f"{self.path}:{self.line}: {label}：{self.message}"

    def to_dict(self) -> dict:
        return asdict(self)


class QabaseError(Exception):
    """Base of every error qabase raises on purpose; its text is a complete Chinese message."""


class NoKnowledgeBase(QabaseError):
    """Raised when no folder holding kb/ and qa_entries/ is found."""


class ConfigError(QabaseError):
    """Raised when the kb/ configuration itself is broken; carries the list of problems."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("知识库配置有误：\n" + "\n".join(str(p) for p in problems))


class EntryNotFound(QabaseError):
    """Raised by show when no entry has the given id."""


class BadId(QabaseError):
    """Raised when an id given on the command line or in a URL is not a well-formed entry id."""


class UnknownTopic(QabaseError):
    """Raised when a topic given as an option matches neither a slug nor a Chinese name."""


class IndexBusy(QabaseError):
    """Raised when another process is building the index and we chose not to wait."""


class IndexUnavailable(QabaseError):
    """Raised when no usable index exists and none can be built (e.g. nothing writable)."""


def os_reason(e: OSError) -> str:
    """An OSError in words a judge can act on: Chinese for the usual causes, else the system's."""
    import errno

    reasons = {errno.ENOSPC: "磁盘空间不足", errno.EDQUOT: "超出磁盘配额", errno.EACCES: "没有写入权限",
               errno.EPERM: "没有写入权限", errno.EROFS: "所在磁盘是只读的", errno.EIO: "磁盘读写出错",
               errno.EADDRINUSE: "端口已被其他程序占用", errno.EADDRNOTAVAIL: "本机没有这个地址"}
    text = reasons.get(e.errno)
    detail = e.strerror or str(e)
    return f"{text}（{detail}）" if text else detail


def rel(path: Path, root: Path | None) -> str:
    """Path as shown in messages: relative to the knowledge base when possible, always with /."""
    try:
        return path.relative_to(root).as_posix() if root else path.as_posix()
    except ValueError:
        return path.as_posix()
