"""Trainers' workflow on entry files: scaffolding a new entry, editing front matter in place,
and publishing the entries under review as a numbered batch.

Front matter is edited line by line rather than re-dumped, so that a trainer's ordering,
quoting and comments survive ``qabase publish``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ERROR, WARNING, Problem, QabaseError, rel
from ..search.storage import atomic_write

# The order fields are written in; also where a missing field is inserted by set_fields.
FIELD_ORDER = (
    "id", "topic", "question", "aliases", "tags", "status", "batch", "updated", "published",
    "version", "legal_basis", "source", "asked_by", "answered_by", "reviewed_by", "superseded_by",
    "import_key",
)
LIST_KEYS = ("aliases", "tags", "legal_basis")
SCAFFOLD_BODY = "**结论**：\n\n**依据**：\n\n**操作步骤**：\n1. \n"
PUBLISHED_FILE = "published.json"
CHANGELOG_DIR = "changelog"


class PublishRefused(QabaseError):
    """publish found a reason not to touch anything; the message lists every reason."""


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


@dataclass
class NewEntry:
    id: str
    path: Path
    duplicates: list = field(default_factory=list)


def new_entry(kbase, topic: str, question: str | None = None) -> NewEntry:
    """Scaffold ``qa_entries/<topic>/<next id>.md`` as a draft with every field in place."""
    from ..content import duplicates

    t = kbase.kb.topic(topic)
    question = " ".join((question or "").split())
    eid = next_id(kbase.kb, t)
    path = kbase.kb.entries_dir / t.slug / f"{eid}.md"
    if path.exists():  # only if a file's name and its id disagree; never overwrite
        raise QabaseError(f"{rel(path, kbase.root)} 已存在，请先运行 qabase check 检查编号。")
    fields = {key: None for key in FIELD_ORDER if key != "import_key"}
    fields.update(id=eid, topic=t.slug, question=question, status="draft",
                  aliases=[], tags=[], legal_basis=[])
    dups = []
    if question:
        loaded = kbase.load_entries()
        dups = duplicates.similar_to([question], loaded.entries, duplicates.threshold(kbase.kb), eid)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, render_entry(fields, SCAFFOLD_BODY).encode("utf-8"))
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


# -- publishing ---------------------------------------------------------------------------------
def content_hash(entry) -> str:
    """What a reader sees of an entry; workflow fields (status, batch, dates, who) are left out
    so that publishing itself never counts as a change."""
    data = {
        "topic": entry.topic, "question": entry.question, "aliases": list(entry.aliases),
        "tags": list(entry.tags), "legal_basis": list(entry.legal_basis),
        "answer": entry.answer.replace("\r\n", "\n").strip(),
    }
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def read_records(kb) -> dict:
    path = kb.kb_dir / PUBLISHED_FILE
    if not path.exists():
        return {"schema_version": 1, "entries": {}, "batches": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise QabaseError(f"kb/{PUBLISHED_FILE} 无法读取（{e}）；它记录已发布内容的哈希，请从版本库恢复。") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        raise QabaseError(f"kb/{PUBLISHED_FILE} 格式不对：应是含 entries 的对象。")
    data.setdefault("batches", {})
    return data


@dataclass
class PublishItem:
    id: str
    topic: str
    question: str
    kind: str  # added | changed | withdrawn | republished
    version: int | None = None
    superseded_by: str | None = None
    path: Path | None = None

    def to_dict(self, root=None) -> dict:
        return {"id": self.id, "topic": self.topic, "question": self.question, "kind": self.kind,
                "version": self.version, "superseded_by": self.superseded_by,
                "path": rel(self.path, root) if self.path else None}


@dataclass
class PublishPlan:
    batch: int
    date: dt.date
    items: list[PublishItem]
    warnings: list[str]
    changelog_path: Path
    changelog: str
    dry_run: bool = False
    writes: list = field(default_factory=list)  # (path, new text)
    records: dict = field(default_factory=dict)

    def of(self, kind: str) -> list[PublishItem]:
        return [i for i in self.items if i.kind == kind]

    def to_dict(self, root=None) -> dict:
        return {
            "schema_version": 1, "batch": self.batch, "date": self.date.isoformat(),
            "dry_run": self.dry_run,
            "added": [i.to_dict(root) for i in self.of("added")],
            "changed": [i.to_dict(root) for i in self.of("changed")],
            "withdrawn": [i.to_dict(root) for i in self.of("withdrawn")],
            "republished": [i.to_dict(root) for i in self.of("republished")],
            "warnings": self.warnings,
            "changelog": rel(self.changelog_path, root),
        }


def plan_publish(kbase, batch: int, date: dt.date | None = None) -> PublishPlan:
    """Work out batch ``batch`` without writing anything; raise PublishRefused when it cannot be
    published (check errors, review entries not ready, batch number already used)."""
    kb = kbase.kb
    date = date or dt.date.today()
    if batch < 1:
        raise PublishRefused("批次应是正整数。")
    report = kbase.check()
    if report.errors:
        shown = "\n".join(f"  {p}" for p in report.errors[:10])
        more = f"\n  ……另有 {len(report.errors) - 10} 个错误" if len(report.errors) > 10 else ""
        raise PublishRefused(f"qabase check 发现 {len(report.errors)} 个错误，不能发布；请先改正：\n{shown}{more}")
    loaded = kbase.load_entries()
    entries = loaded.entries
    records = read_records(kb)
    recs = records["entries"]

    changelog_path = kb.kb_dir / CHANGELOG_DIR / f"batch-{batch}.md"
    used = [e.batch for e in entries if e.batch and e.status in ("published", "withdrawn")]
    used += [int(b) for b in records["batches"] if str(b).isdigit()]
    if changelog_path.exists() or str(batch) in records["batches"]:
        raise PublishRefused(f"第 {batch} 批已经发布过（{rel(changelog_path, kb.root)}）；新的一批请用 --batch {max(used + [batch]) + 1}。")
    if used and batch <= max(used):
        raise PublishRefused(f"已经发布到第 {max(used)} 批，第 {batch} 批不能再发布；新的一批请用 --batch {max(used) + 1}。")

    reasons = []
    for e in entries:
        if e.status != "review":
            continue
        where = rel(e.path, kb.root)
        if not e.reviewed_by:
            reasons.append(f"  {where}：{e.id} 没有审核人（reviewed_by），不能从 review 改为 published")
        if not e.legal_basis:
            reasons.append(f"  {where}：{e.id} 没有法律依据（legal_basis），发布的条目必须注明")
    if reasons:
        raise PublishRefused("以下待审条目还不能发布：\n" + "\n".join(reasons))

    items: list[PublishItem] = []
    writes = []
    warnings = []
    new_recs = {k: dict(v) for k, v in recs.items()}
    for e in entries:
        h = content_hash(e)
        rec = recs.get(e.id)
        if e.status == "review":
            if rec is None and e.version is None and e.published is None:
                kind, version = "added", 1
            elif rec is None:
                kind, version = "changed", (e.version or 1) + 1  # published before records were kept
            elif rec.get("status") == "withdrawn":
                kind = "added"
                version = max(int(rec.get("version") or 1), e.version or 1) + (rec.get("hash") != h)
            elif rec.get("hash") != h:
                kind, version = "changed", max(int(rec.get("version") or 1), e.version or 1) + 1
            else:
                kind, version = "republished", e.version or int(rec.get("version") or 1)
            changes = {"status": "published"}
            if kind == "republished":
                if e.batch is None:
                    changes["batch"] = rec.get("batch") or batch
                if e.updated is None:
                    changes["updated"] = date
            else:
                changes.update(batch=batch, updated=date, version=version)
                if e.published is None:
                    changes["published"] = date
            text = e.path.read_text(encoding="utf-8-sig")
            new_text = set_fields(text, changes)
            _check_rewritten(e.path, new_text, kb)
            writes.append((e.path, new_text))
            items.append(PublishItem(e.id, e.topic, e.question, kind, version, path=e.path))
            new_recs[e.id] = {"hash": h, "version": version, "status": "published",
                              "batch": changes.get("batch", e.batch), "date": date.isoformat()}
        elif e.status == "withdrawn":
            was_published = (rec is not None and rec.get("status") != "withdrawn") or (rec is None and e.batch)
            if was_published:
                items.append(PublishItem(e.id, e.topic, e.question, "withdrawn", e.version,
                                         superseded_by=e.superseded_by, path=e.path))
                new_recs[e.id] = {**(rec or {"hash": h, "version": e.version or 1, "batch": e.batch}),
                                  "status": "withdrawn", "withdrawn_in": batch, "date": date.isoformat()}
        elif e.status == "published":
            if rec is None:
                new_recs[e.id] = {"hash": h, "version": e.version or 1, "status": "published",
                                  "batch": e.batch, "date": (e.updated or date).isoformat()}
            elif rec.get("hash") != h:
                warnings.append(f"{e.id}（{rel(e.path, kb.root)}）已发布，但内容在上次发布后有改动，状态仍为 published，"
                                "改动没有经过审核；请把状态改为 review、填写 reviewed_by，随下一批发布。")

    if not items:
        raise PublishRefused("没有可发布的内容：没有状态为 review 的条目，也没有新撤回的条目。")
    order = {t.slug: i for i, t in enumerate(kb.topics)}
    items.sort(key=lambda i: (order.get(i.topic, 99), i.id))
    records = {**records, "entries": dict(sorted(new_recs.items()))}
    records["batches"] = {**records["batches"], str(batch): {
        "date": date.isoformat(),
        **{kind: [i.id for i in items if i.kind == kind] for kind in ("added", "changed", "withdrawn", "republished")},
    }}
    plan = PublishPlan(batch, date, items, warnings, changelog_path, "", writes=writes, records=records)
    plan.changelog = changelog_text(kbase, plan)
    return plan


def changelog_text(kbase, plan: PublishPlan) -> str:
    kb = kbase.kb

    def name(slug):
        t = kb.find_topic(slug)
        return t.name if t else slug

    out = [f"# 第 {plan.batch} 批发布说明", "", f"发布日期：{plan.date.isoformat()}　发布者：{kb.publisher}", ""]
    sections = (("added", "新增"), ("changed", "修改"), ("withdrawn", "撤回"))
    for kind, title in sections:
        its = plan.of(kind)
        out.append(f"## {title}（{len(its)} 条）")
        out.append("")
        if not its:
            out.append("无。")
        for i in its:
            line = f"- {i.id}〔{name(i.topic)}〕{i.question}"
            if kind == "changed":
                line += f"（第 {i.version} 版）"
            if kind == "withdrawn":
                line += f"；由 {i.superseded_by} 取代" if i.superseded_by else "；无替代条目"
            out.append(line)
        out.append("")
    again = plan.of("republished")
    if again:
        out += [f"内容未变、重新审核后恢复发布的条目：{'、'.join(i.id for i in again)}。", ""]
    out += [f"> {kb.notice}", ""]
    return "\n".join(out)


def publish(kbase, batch: int, date: dt.date | None = None, dry_run: bool = False) -> PublishPlan:
    """Publish batch ``batch``: entries in review become published, withdrawals are recorded,
    kb/published.json and kb/changelog/batch-N.md are written. Each file is replaced atomically;
    the changelog is written last, so a batch without its changelog was interrupted."""
    plan = plan_publish(kbase, batch, date)
    plan.dry_run = dry_run
    if dry_run:
        return plan
    for path, text in plan.writes:
        atomic_write(path, text.encode("utf-8"))
    kbd = kbase.kb.kb_dir
    atomic_write(kbd / PUBLISHED_FILE,
                 (json.dumps(plan.records, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    plan.changelog_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(plan.changelog_path, plan.changelog.encode("utf-8"))
    return plan
