"""Publishing: entries under review become a numbered batch, and what judges are served
moves forward only here.

Every publication writes three things: the entry file's workflow fields (status, batch,
dates, version), the exact published file under ``kb/published/<topic>/<id>.md`` and its
record in ``kb/published.json`` (content.published serves that copy until the next
publication), and the batch's changelog. An edit to a published entry therefore reaches
judges only through a fresh review: ``reviewed_by`` set, ``reviewed_at`` no earlier than
the entry's last publication.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..content.published import PUBLISHED_FILE, read_records, snapshot_path
from ..errors import WARNING, Problem, QabaseError, rel
from ..search.storage import atomic_write
from .workflow import _check_rewritten, set_fields

CHANGELOG_DIR = "changelog"
# The parts of an entry a reader sees, in the order a changelog names them.
PARTS = (("question", "问题"), ("aliases", "其他问法"), ("tags", "标签"), ("legal_basis", "法律依据"),
         ("answer", "答复"), ("topic", "专题"), ("commented_by", "点评专家"), ("commentary", "点评意见"))


class PublishRefused(QabaseError):
    """publish found a reason not to touch anything; the message lists every reason."""


def _reader_view(entry) -> dict:
    view = {"topic": entry.topic, "question": entry.question, "aliases": list(entry.aliases),
            "tags": list(entry.tags), "legal_basis": list(entry.legal_basis),
            "answer": entry.answer.replace("\r\n", "\n").strip()}
    # Commentary (法答网 点评) is read too; only entries that have it hash it, so the
    # recorded hashes of every other entry stay valid.
    for key in ("commented_by", "commentary"):
        if getattr(entry, key, None):
            view[key] = getattr(entry, key)
    return view


def content_hash(entry) -> str:
    """What a reader sees of an entry; workflow fields (status, batch, dates, who) are left out
    so that publishing itself never counts as a change."""
    raw = json.dumps(_reader_view(entry), ensure_ascii=False, sort_keys=True).encode("utf-8")
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def what_changed(old, new) -> list[str]:
    """The parts that differ between the published entry ``old`` and the working ``new``, in
    words for the changelog; legal_basis lists the citations added and removed."""
    if old is None:
        return []
    a, b = _reader_view(old), _reader_view(new)
    out = []
    for key, name in PARTS:
        if a.get(key) == b.get(key):
            continue
        if key == "legal_basis":
            added = [c for c in b[key] if c not in a[key]]
            removed = [c for c in a[key] if c not in b[key]]  # noqa: E501
            bits = ([f"增加{'、'.join(added)}"] if added else []) + ([f"删去{'、'.join(removed)}"] if removed else [])
            out.append(f"{name}（{'；'.join(bits) or '顺序调整'}）")
        else:
            out.append(name)
    return out


def published_entry(kbase, entry_id: str, topic: str):
    """The entry as last published (its kept copy), or None."""
    from ..content.entries import load_entry

    snap = snapshot_path(kbase.kb, topic, entry_id)
    if not snap.exists():
        return None
    return load_entry(snap, kbase.kb)[0]


def publication_problems(kbase, entries) -> list[Problem]:
    """check's rules on the published state: an edit to a published entry that nobody has
    reviewed, and a re-review that predates the last publication."""
    records = read_records(kbase.kb)["entries"]
    out = []
    for e in entries:
        rec = records.get(e.id)
        if not rec or rec.get("status") != "published":
            continue
        where = rel(e.path, kbase.kb.root)
        last = rec.get("date") or ""
        if e.status == "published" and rec.get("hash") != content_hash(e):
            out.append(Problem(where, e.field_lines.get("status", 2), WARNING,
                               f"{e.id} 已发布（第 {rec.get('version') or 1} 版），发布后的改动没有经过审核；"
                               "检索、页面和导出仍显示已发布的版本。请把 status 改为 review，填写 reviewed_by 和 "
                               f"reviewed_at（不早于 {last}），随下一批发布"))
        elif e.status == "review" and rec.get("hash") != content_hash(e):
            if not e.reviewed_at or (last and e.reviewed_at.isoformat() < last):
                out.append(Problem(where, e.field_lines.get("reviewed_at", e.field_lines.get("status", 2)), WARNING,
                                   f"{e.id} 的修改需要重新审核才能发布：reviewed_at 应不早于上次发布日期 {last}"))
    return out


@dataclass
class PublishItem:
    id: str
    topic: str
    question: str
    kind: str  # added | changed | withdrawn | republished
    version: int | None = None
    superseded_by: str | None = None
    path: Path | None = None
    reviewer: str | None = None
    changes: list[str] = field(default_factory=list)

    def to_dict(self, root=None) -> dict:
        return {"id": self.id, "topic": self.topic, "question": self.question, "kind": self.kind,
                "version": self.version, "superseded_by": self.superseded_by, "reviewed_by": self.reviewer,
                "changes": list(self.changes), "path": rel(self.path, root) if self.path else None}


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
    snapshots: list = field(default_factory=list)  # (kept copy path, text)
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


def _unreviewed(kbase, entries, records) -> list[str]:
    return [f"{p.path}：{p.message}" for p in publication_problems(kbase, entries)]


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
    loaded = kbase.load_entries(working=True)
    entries = loaded.entries
    records = read_records(kb)
    recs = records["entries"]
    warnings = _unreviewed(kbase, entries, recs)

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
        rec = recs.get(e.id)
        if not e.reviewed_by:
            reasons.append(f"  {where}：{e.id} 没有审核人（reviewed_by），不能从 review 改为 published")
        if not e.legal_basis:
            reasons.append(f"  {where}：{e.id} 没有法律依据（legal_basis），发布的条目必须注明")
        if rec and rec.get("status") == "published" and rec.get("hash") != content_hash(e):
            last = rec.get("date") or ""
            if not e.reviewed_at:
                reasons.append(f"  {where}：{e.id} 是已发布条目的修改，需要重新审核：请填写 reviewed_at（审核日期，不早于 {last}）")
            elif last and e.reviewed_at.isoformat() < last:
                reasons.append(f"  {where}：{e.id} 的审核日期 {e.reviewed_at.isoformat()} 早于上次发布日期 {last}，"
                               "修改需要重新审核")
    if reasons:
        raise PublishRefused("以下待审条目还不能发布：\n" + "\n".join(reasons))

    items: list[PublishItem] = []
    writes, snapshots = [], []
    new_recs = {k: dict(v) for k, v in recs.items()}

    def record(e, text, version, status, batch_no, **extra):
        new_recs[e.id] = {"hash": content_hash(e), "version": version, "status": status, "batch": batch_no,
                          "date": date.isoformat(), "reviewed_by": e.reviewed_by,
                          "file": rel(e.path, kb.root), **extra}
        snapshots.append((snapshot_path(kb, e.topic, e.id), text))

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
            diff = what_changed(published_entry(kbase, e.id, (rec or {}).get("topic", e.topic)) or
                                published_entry(kbase, e.id, e.topic), e) if kind == "changed" else []
            items.append(PublishItem(e.id, e.topic, e.question, kind, version, path=e.path,
                                     reviewer=e.reviewed_by, changes=diff))
            record(e, new_text, version, "published", changes.get("batch", e.batch))
        elif e.status == "withdrawn":
            was_published = (rec is not None and rec.get("status") != "withdrawn") or (rec is None and e.batch)
            if was_published:
                items.append(PublishItem(e.id, e.topic, e.question, "withdrawn", e.version,
                                         superseded_by=e.superseded_by, path=e.path, reviewer=e.reviewed_by))
                old = rec or {"version": e.version or 1, "batch": e.batch}
                record(e, e.path.read_text(encoding="utf-8-sig"), old.get("version"), "withdrawn", old.get("batch"),
                       withdrawn_in=batch)
        elif e.status == "published" and rec is None:
            # Published before records were kept: adopt the file as it stands.
            record(e, e.path.read_text(encoding="utf-8-sig"), e.version or 1, "published", e.batch)
            new_recs[e.id]["date"] = (e.published or e.updated or date).isoformat()

    if not items:
        extra = ("\n另外，以下已发布条目有未经审核的改动（读者仍看到已发布的版本）：\n" +
                 "\n".join(f"  {w}" for w in warnings)) if warnings else ""
        raise PublishRefused("没有可发布的内容：没有状态为 review 的条目，也没有新撤回的条目。" + extra)
    order = {t.slug: i for i, t in enumerate(kb.topics)}
    items.sort(key=lambda i: (order.get(i.topic, 99), i.id))
    records = {**records, "entries": dict(sorted(new_recs.items()))}
    records["batches"] = {**records["batches"], str(batch): {
        "date": date.isoformat(),
        **{kind: [i.id for i in items if i.kind == kind] for kind in ("added", "changed", "withdrawn", "republished")},
    }}
    plan = PublishPlan(batch, date, items, warnings, changelog_path, "", writes=writes, snapshots=snapshots,
                       records=records)
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
                line += f"（第 {i.version} 版，审核：{i.reviewer or '未填写'}）"
                if i.changes:
                    line += f"：改动了{'，'.join(i.changes)}"
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
    the published copies, kb/published.json and kb/changelog/batch-N.md are written. Each file
    is replaced atomically; the changelog is written last, so a batch without its changelog
    was interrupted (publishing it again redoes the same writes)."""
    plan = plan_publish(kbase, batch, date)
    plan.dry_run = dry_run
    if dry_run:
        return plan
    for path, text in plan.writes:
        atomic_write(path, text.encode("utf-8"))
    for path, text in plan.snapshots:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text.encode("utf-8"))
    kbd = kbase.kb.kb_dir
    atomic_write(kbd / PUBLISHED_FILE,
                 (json.dumps(plan.records, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    plan.changelog_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(plan.changelog_path, plan.changelog.encode("utf-8"))
    return plan
