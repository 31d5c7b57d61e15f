"""``qabase law``: a reference to an article, resolved; or a search in the statute texts."""
from __future__ import annotations

import typer

from . import terminal as t
from .base import JsonOpt, command, fail, json_out, library, open_kb


@command("judge", "law")
def law(
    reference: list[str] = typer.Argument(..., metavar="条文", help="条文，如：民诉法 237、民事诉讼法第二百三十七条、异议复议规定第5条；配合 --search 时为检索词。"),
    search_text: bool = typer.Option(False, "--search", help="在法规原文中检索（需要法规原文目录）。"),
    limit: int = typer.Option(5, "--limit", "-n", min=1, max=50, metavar="数字", help="--search 时最多显示几条。"),
    as_json: bool = JsonOpt,
):
    """查条文：把各种写法解析为规范引用（全称、版本、条号、效力），并列出引用该条的条目。

    有法规原文目录时（--statutes、QABASE_STATUTES 或 kb/config.yaml 的 statutes）同时显示条文原文。

    示例：
    qabase law 民诉法 237
    qabase law 异议复议规定第5条 --json
    qabase law 终结本次执行程序 --search --statutes ../statutes
    """
    from ..content.laws import HOW_TO_ADD, search_articles

    text = " ".join(reference)
    kbase = open_kb()
    lib = library(kbase)
    if not search_text:
        return _resolve(kbase, lib, text, as_json)
    if lib is None:
        fail(HOW_TO_ADD)
    hits = search_articles(lib, kbase.analyzer.analyse(text), kbase.segmenter, limit)
    if as_json:
        return json_out({"schema_version": 1, "query": text, "results": hits})
    if not hits:
        t.out("法规原文中没有找到相关条文。")
    for h in hits:
        t.block(f"《{h['title']}》{h['article']}")
        t.block(h["text"], "  ")


def _resolve(kbase, lib, text, as_json):
    from ..content.catalogue import citation_key
    from ..content.laws import HOW_TO_ADD, article_text, resolve_reference

    r = resolve_reference(text, kbase.catalogue)
    if lib is not None:
        r.text = article_text(lib, r.instrument, r.citation)
    key = citation_key(kbase.catalogue, r.citation)
    citing = [e for e in kbase.load_entries().entries
              if any(citation_key(kbase.catalogue, c) == key for c in e.citations)]
    if as_json:
        data = r.to_dict()
        data["schema_version"] = 1
        data["entries"] = [{"id": e.id, "question": e.question, "status": e.status} for e in citing]
        data["statutes_available"] = lib is not None
        return json_out(data)
    d = r.to_dict()
    i = r.instrument
    t.block(d["citation"])
    t.block(f"文件：{i.name}（{i.version}，{i.issuer}）", "  ", "        ")
    t.out(f"  效力：{i.status}")
    if i.superseded_by:
        succ = kbase.catalogue.by_id(i.superseded_by)
        if succ:
            t.block(f"现行文本：《{succ.name}》（{succ.version}）", "  ", "    ")
    t.out(f"  条号：{d['article']['label']}（第 {r.citation.article} 条）")
    if lib is None:
        t.err(HOW_TO_ADD)
    elif r.text:
        t.out("")
        t.block(r.text)
    elif i.articles == "unknown":
        t.out("（原文未收录，请对照官方文本。）")
    t.out("")
    if citing:
        t.out(f"引用该条的条目（{len(citing)} 条）：")
        for e in citing:
            t.block(f"[{e.id}] {e.question}", "  ", "  " + " " * t.cells(f"[{e.id}] "))
    else:
        t.out("知识库中没有条目引用该条。")
