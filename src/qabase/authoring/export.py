"""Exporting published entries: one self-contained, printable HTML document (the form in which
a batch is distributed) or JSON for other systems.

All entry text reaches the HTML through Jinja2 autoescaping; answers are converted with
render.to_html, which escapes raw HTML, and only that output is marked safe.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..errors import QabaseError

FORMATS = ("html", "json")


class NothingToExport(QabaseError):
    """No published entry matches what was asked for."""


def select(kbase, batch: int | None = None):
    """Published entries (of one batch), in topic order then id; and the topics they fill."""
    loaded = kbase.load_entries()
    order = {t.slug: i for i, t in enumerate(kbase.kb.topics)}
    entries = [e for e in loaded.entries if e.status == "published" and (batch is None or e.batch == batch)]
    if not entries:
        what = f"第 {batch} 批" if batch is not None else "知识库"
        raise NothingToExport(f"{what}没有已发布的条目，无可导出。")
    entries.sort(key=lambda e: (order.get(e.topic, len(order)), e.id))
    return entries


def _topic_name(kb, slug):
    t = kb.find_topic(slug)
    return t.name if t else slug


def to_json(kbase, batch: int | None = None, today: dt.date | None = None) -> dict:
    from ..content.render import to_html

    kb = kbase.kb
    entries = select(kbase, batch)
    items = []
    for e in entries:
        d = e.to_dict(kb.root)
        d.pop("path", None)
        d["topic"] = {"slug": e.topic, "name": _topic_name(kb, e.topic)}
        d["answer_html"] = to_html(e.answer)
        items.append(d)
    topics = [{"slug": t.slug, "name": t.name, "entries": sum(1 for e in entries if e.topic == t.slug)}
              for t in kb.topics if any(e.topic == t.slug for e in entries)]
    return {
        "schema_version": 1, "publisher": kb.publisher, "notice": kb.notice, "batch": batch,
        "generated": (today or dt.date.today()).isoformat(), "total": len(items),
        "topics": topics, "entries": items,
    }


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("qabase", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def to_html_document(kbase, batch: int | None = None, today: dt.date | None = None) -> str:
    from markupsafe import Markup

    from ..content.render import to_html

    kb = kbase.kb
    entries = select(kbase, batch)
    sections = []
    for t in kb.topics:
        mine = [e for e in entries if e.topic == t.slug]
        if not mine:
            continue
        sections.append({
            "slug": t.slug, "name": t.name, "description": t.description,
            "entries": [{"e": e, "answer_html": Markup(to_html(e.answer))} for e in mine],
        })
    title = f"{kb.publisher}：交叉执行问答" + (f"（第 {batch} 批）" if batch is not None else "（全部已发布条目）")
    return _environment().get_template("export.html").render(
        title=title, publisher=kb.publisher, notice=kb.notice, batch=batch, sections=sections,
        total=len(entries), generated=(today or dt.date.today()).isoformat(),
    )


def export(kbase, fmt: str = "html", batch: int | None = None, today: dt.date | None = None) -> str:
    """The export document as text (HTML or pretty JSON)."""
    import json

    fmt = fmt.lower()
    if fmt == "html":
        return to_html_document(kbase, batch, today)
    if fmt == "json":
        return json.dumps(to_json(kbase, batch, today), ensure_ascii=False, indent=2) + "\n"
    raise QabaseError(f"未知的导出格式：{fmt}（可用：{' | '.join(FORMATS)}）")


def write(text: str, path: Path | str) -> Path:
    from ..search.storage import atomic_write

    path = Path(path)
    if path.is_dir():
        raise QabaseError(f"{path} 是目录；-o 请给出文件名，如 -o 第2批.html")
    if not path.parent.exists():
        raise QabaseError(f"目录 {path.parent} 不存在。")
    try:
        atomic_write(path, text.encode("utf-8"))
    except OSError as e:
        raise QabaseError(f"无法写入 {path}：{e.strerror or e}") from None
    return path
