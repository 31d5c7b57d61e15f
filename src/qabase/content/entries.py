"""Entries: one Markdown file with YAML front matter each, under ``qa_entries/<topic>/``.

``load_entry`` turns one file into an Entry or a list of Problems (with file and line);
``load_entries`` walks the tree in sorted order and never lets one bad file stop the rest.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .citations import Citation, CitationSyntaxError, parse_citation
from ..errors import ERROR, WARNING, Problem, rel
from ..kb import KB

STATUSES = ("draft", "review", "published", "withdrawn")
REQUIRED = ("id", "topic", "question", "status")
REQUIRED_PUBLISHED = ("batch", "updated", "legal_basis")
LIST_FIELDS = ("aliases", "tags", "legal_basis")
KNOWN_FIELDS = {
    "id": "编号", "topic": "专题", "question": "问题", "status": "状态", "batch": "批次",
    "updated": "更新日期", "legal_basis": "法律依据", "aliases": "其他问法", "tags": "标签",
    "source": "来源", "version": "版本", "published": "发布日期", "asked_by": "提问人",
    "answered_by": "答复人", "reviewed_by": "审核人", "reviewed_at": "审核日期", "superseded_by": "被替代为",
    "import_key": "导入标识", "commented_by": "点评专家", "commentary": "点评意见",
}
ID_RE = re.compile(r"^[a-z]+-\d{3,}$")
MAX_BYTES = 1_000_000


@dataclass
class Entry:
    id: str
    topic: str
    question: str
    status: str
    answer: str  # Markdown source of the body
    path: Path
    aliases: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    legal_basis: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    citation_lines: list[int] = field(default_factory=list)
    batch: int | None = None
    updated: dt.date | None = None
    published: dt.date | None = None
    version: int | None = None
    source: str | None = None
    asked_by: str | None = None
    answered_by: str | None = None
    # 法答网 batches 1–3: an expert's commentary on the answer, and who wrote it. Kept apart
    # from the answer and from answered_by, so that the commentator is never shown as the
    # one who answered.
    commented_by: str | None = None
    commentary: str | None = None
    reviewed_by: str | None = None
    reviewed_at: dt.date | None = None
    superseded_by: str | None = None
    body_line: int = 1
    # True when the working file differs from what was last published and the published
    # text was served instead (content.published).
    pending_edit: bool = False
    field_lines: dict = field(default_factory=dict)

    def to_dict(self, root: Path | None = None) -> dict:
        return {
            "id": self.id, "topic": self.topic, "question": self.question, "status": self.status,
            "aliases": list(self.aliases), "tags": list(self.tags), "legal_basis": list(self.legal_basis),
            "batch": self.batch,
            "updated": self.updated.isoformat() if self.updated else None,
            "published": self.published.isoformat() if self.published else None,
            "version": self.version, "source": self.source, "asked_by": self.asked_by,
            "answered_by": self.answered_by, "reviewed_by": self.reviewed_by,
            "reviewed_at": self.reviewed_at.isoformat() if self.reviewed_at else None,
            "superseded_by": self.superseded_by, "answer": self.answer,
            "path": rel(self.path, root),
            # Only entries that have a commentary carry these keys, so the JSON of every other
            # entry (and the API schema describing it) stays as it was.
            **({"commented_by": self.commented_by, "commentary": self.commentary}
               if self.commented_by or self.commentary else {}),
        }


@dataclass
class LoadResult:
    entries: list[Entry]
    problems: list[Problem]
    skipped: list[Problem]  # one error per file left out

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == WARNING]


def split_front_matter(text: str):
    """Return (yaml_text, yaml_first_line, body, body_first_line) or raise ValueError(line, msg)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise ValueError((1, "文件应以 --- 开始的 YAML 头部（front matter）开头"))
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "".join(lines[1:i]), 2, "".join(lines[i + 1:]), i + 2
    raise ValueError((1, "YAML 头部没有以 --- 结束"))


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def load_entry(path: Path, kb: KB, catalogue=None, served: bool = False) -> tuple[Entry | None, list[Problem]]:
    """Parse one entry file. Return the Entry (None when any error) and every problem found.

    ``served``: read what judges are served, the text as last published when the file has
    been edited since (content.published), instead of the working file.
    """
    from .. import yamlsafe

    if served:
        from .published import served_snapshot

        snapshot = served_snapshot(kb, path)
        if snapshot is not None:
            entry, problems = load_entry(snapshot, kb, catalogue)
            if entry is not None:
                entry.path = path
                entry.pending_edit = True
            return entry, [Problem(rel(path, kb.root), p.line, p.level, p.message) for p in problems]

    shown = rel(path, kb.root)
    problems: list[Problem] = []

    def err(line, msg):
        problems.append(Problem(shown, line, ERROR, msg))

    def warn(line, msg):
        problems.append(Problem(shown, line, WARNING, msg))

    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            err(1, f"文件过大（{size} 字节，上限 {MAX_BYTES}）")
            return None, problems
        raw = path.read_bytes()
    except OSError as e:
        err(1, f"无法读取文件：{e.strerror or e}")
        return None, problems
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        err(raw[: e.start].count(b"\n") + 1, "文件不是 UTF-8 编码，请另存为 UTF-8")
        return None, problems
    if "\x00" in text:
        err(text[: text.index("\x00")].count("\n") + 1, "文件含有空字符（\\0），不是文本文件")
        return None, problems

    try:
        head, head_line, body, body_line = split_front_matter(text)
    except ValueError as e:
        line, msg = e.args[0]
        err(line, msg)
        return None, problems
    try:
        meta, lines = yamlsafe.load_with_lines(head, head_line)
    except yamlsafe.YAMLProblem as e:
        err(e.line, e.message)
        return None, problems
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        err(head_line, "YAML 头部应是“字段: 值”的键值对")
        return None, problems

    def line_of(key):
        return lines.get(key, head_line)

    for key in meta:
        if str(key) not in KNOWN_FIELDS:
            warn(line_of(str(key)), f"未知字段：{key}（已忽略）")

    for key in REQUIRED:
        if key not in meta:
            err(1, f"缺少必填字段：{key}（{KNOWN_FIELDS[key]}）")

    def text_field(key, required=False):
        v = meta.get(key)
        if v is None:
            return None
        if isinstance(v, (dict, list)) or isinstance(v, bool):
            err(line_of(key), f"字段 {key} 应是一段文字")
            return None
        s = str(v).strip()
        if required and not s:
            err(line_of(key), f"字段 {key}（{KNOWN_FIELDS[key]}）不能为空")
        return s

    eid = text_field("id", True)
    if eid and not ID_RE.match(eid):
        err(line_of("id"), f"编号 {eid} 不合规：应为专题前缀加三位以上数字，如 dis-001")
        eid = None
    topic_value = text_field("topic", True)
    topic = kb.find_topic(topic_value) if topic_value else None
    if topic_value and topic is None:
        names = "、".join(t.slug for t in kb.topics)
        err(line_of("topic"), f"未知专题：{topic_value}（可用：{names}）")
    if topic is not None:
        folder = path.parent.name
        if folder != topic.slug:
            err(line_of("topic"), f"专题 {topic.slug} 与所在目录 {folder}/ 不一致；应放在 qa_entries/{topic.slug}/")
        if eid and not eid.startswith(topic.prefix + "-"):
            err(line_of("id"), f"编号 {eid} 的前缀应为专题 {topic.slug} 的前缀 {topic.prefix}-")
    question = text_field("question", True)
    status = text_field("status", True)
    if status and status not in STATUSES:
        err(line_of("status"), f"未知状态：{status}（可用：{' | '.join(STATUSES)}）")
        status = None

    lists = {}
    for key in LIST_FIELDS:
        v = meta.get(key)
        if v is None:
            lists[key] = []
            continue
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in v):
            err(line_of(key), f"字段 {key}（{KNOWN_FIELDS[key]}）应是文字列表")
            lists[key] = []
            continue
        lists[key] = [str(x).strip() for x in v if str(x).strip()]

    citations, citation_lines = [], []
    for i, item in enumerate(lists["legal_basis"]):
        line = _item_line(head, head_line, line_of("legal_basis"), item)
        try:
            citations.append(parse_citation(item))
            citation_lines.append(line)
        except CitationSyntaxError as e:
            err(line, f"法律依据无法解析：{e}{_canonical_hint(kb, item)}")

    batch = meta.get("batch")
    if batch is not None:
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            if isinstance(batch, str) and batch.strip().isdigit() and int(batch) >= 1:
                batch = int(batch)
            else:
                err(line_of("batch"), f"批次应是正整数：{batch}")
                batch = None
    version = meta.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        err(line_of("version"), f"版本应是正整数：{version}")
        version = None
    dates = {}
    for key in ("updated", "published", "reviewed_at"):
        v = meta.get(key)
        if v is None:
            dates[key] = None
            continue
        d = _as_date(v)
        if d is None:
            err(line_of(key), f"日期格式不对：{v}（应为 2026-01-31 这样的格式）")
        dates[key] = d

    if status == "published":
        for key in REQUIRED_PUBLISHED:
            if meta.get(key) in (None, "", []):
                err(line_of("status"), f"已发布（published）的条目必须填写 {key}（{KNOWN_FIELDS[key]}）")

    answer = body.strip()
    if not answer:
        err(body_line, "答复正文为空")
    commented_by, commentary = text_field("commented_by") or None, text_field("commentary") or None
    if commented_by and not commentary:
        warn(line_of("commented_by"), f"有点评专家（commented_by：{commented_by}），但没有点评意见（commentary）")

    if any(p.level == ERROR for p in problems):
        return None, problems
    entry = Entry(
        id=eid, topic=topic.slug, question=question, status=status, answer=answer, path=path,
        aliases=lists["aliases"], tags=lists["tags"], legal_basis=lists["legal_basis"],
        citations=citations, citation_lines=citation_lines, batch=batch, updated=dates["updated"], published=dates["published"],
        version=version, source=text_field("source"), asked_by=text_field("asked_by"),
        answered_by=text_field("answered_by"), commented_by=commented_by, commentary=commentary,
        reviewed_by=text_field("reviewed_by"), reviewed_at=dates["reviewed_at"],
        superseded_by=text_field("superseded_by"), body_line=body_line, field_lines=dict(lines),
    )
    return entry, problems


_catalogues: dict = {}


def _canonical_hint(kb: KB, item: str) -> str:
    """For a loose reference in legal_basis (民诉法第119条), the canonical citation to write
    instead, read with the same resolver as ``qabase law``; empty when it cannot be resolved."""
    from .catalogue import load_catalogue
    from .laws import resolve_reference

    path = kb.kb_dir / "instruments.yaml"
    try:
        key = (path, path.stat().st_mtime_ns)
        if key not in _catalogues:
            _catalogues.clear()
            _catalogues[key] = load_catalogue(path)
        resolved = resolve_reference(item, _catalogues[key])
    except Exception:  # noqa: BLE001 - no suggestion is better than a wrong one
        return ""
    return f"。应写作：{resolved.to_dict()['citation']}"


def _item_line(head: str, head_line: int, default: int, item: str) -> int:
    for i, line in enumerate(head.splitlines()):
        if item and item in line:
            return head_line + i
    return default


def scan_entry_files(kb: KB) -> list[tuple[str, int, int]]:
    """(path relative to the root with /, size, mtime_ns) of every ``*.md`` under qa_entries/,
    in ``entry_files`` order (path components compared one by one, as sorting Paths does).

    Every cold search runs this, so it is a plain os.scandir walk: at 50,000 files pathlib's
    per-path objects cost more than the stats themselves.
    """
    base = kb.entries_dir
    try:
        prefix = base.relative_to(kb.root).as_posix() + "/"
    except ValueError:
        prefix = base.as_posix() + "/"
    out: list[tuple[str, int, int]] = []
    seen_dirs: set[tuple[int, int]] = set()

    def walk(path: str, rel: str) -> None:
        try:
            st = os.stat(path)
            if (st.st_dev, st.st_ino) in seen_dirs:  # a symlink loop
                return
            seen_dirs.add((st.st_dev, st.st_ino))
            with os.scandir(path) as it:
                items = sorted(it, key=lambda d: d.name)
        except OSError:
            return
        for d in items:
            name = d.name
            try:
                if name.endswith(".md") and name[0] != "." and d.is_file():
                    st = d.stat()
                    out.append((rel + name, st.st_size, st.st_mtime_ns))
                elif d.is_dir():
                    walk(d.path, rel + name + "/")
            except OSError:  # removed while scanning
                continue

    walk(str(base), prefix)
    return out


def entry_files(kb: KB) -> list[Path]:
    """Every ``*.md`` under qa_entries/, sorted so the same tree always gives the same order."""
    return [kb.root / name for name, _, _ in scan_entry_files(kb)]


def load_entries(kb: KB, files: list[Path] | None = None, served: bool = False) -> LoadResult:
    """Load every entry; broken files are skipped (with their first error) and never fatal.
    ``served``: as judges see them (``load_entry``).

    Duplicate ids: the first file in sorted order wins; the others are errors and skipped.
    """
    entries: list[Entry] = []
    problems: list[Problem] = []
    skipped: list[Problem] = []
    seen: dict[str, Entry] = {}
    for path in files if files is not None else entry_files(kb):
        entry, found = load_entry(path, kb, served=served)
        if entry is not None and entry.id in seen:
            first = seen[entry.id]
            found.append(Problem(rel(path, kb.root), entry.field_lines.get("id", 2), ERROR,
                                 f"编号 {entry.id} 重复，已被 {rel(first.path, kb.root)} 使用"))
            entry = None
        problems.extend(found)
        if entry is None:
            skipped.append(next(p for p in found if p.level == ERROR))
        else:
            seen[entry.id] = entry
            entries.append(entry)
    return LoadResult(entries, problems, skipped)
