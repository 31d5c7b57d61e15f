"""What judges run: search, show, topics, list."""
from __future__ import annotations

from typing import Optional

import typer

from . import terminal as t
from .base import JsonOpt, command, fail, json_out, library, open_kb

FLAGGED_TEXT = {
    "low": "把握不大：知识库中可能没有直接回答这个问题的条目。",
    "none": "没有把握：知识库中很可能没有回答这个问题的条目。",
}
CONFIDENCE_TEXT = {"high": "较有把握", "low": "把握不大", "none": "没有把握"}
DEFAULT_REPORT_TO = "请把问题告诉知识库的编写组（可在 kb/config.yaml 的 report_to 中写明联系方式）。"


@command("judge", "search")
def search(
    query: list[str] = typer.Argument(..., metavar="问题", help="要查询的问题，用平常的话说即可，如：被执行人跑了找不到人怎么办；几个词不加引号也可以。"),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=100, metavar="数字", help="最多显示几条结果。"),
    topic: Optional[str] = typer.Option(None, "--topic", "-t", metavar="专题", help="只查某个专题（slug 或中文名，如 discovery 或 案件发现）。"),
    tag: Optional[str] = typer.Option(None, "--tag", metavar="标签", help="只查带此标签的条目。"),
    batch: Optional[int] = typer.Option(None, "--batch", min=1, metavar="批次", help="只查某一批次。"),
    all_status: bool = typer.Option(False, "--all-status", help="也查草稿、待审和已撤回的条目（默认只查已发布的）。"),
    laws: bool = typer.Option(False, "--laws", help="在问答结果下方另列相关法条（需要法规原文目录）。"),
    related: bool = typer.Option(False, "--related", help="在每条结果下列出最多五个相关条目（--json 时附在每条结果里）。"),
    no_log: bool = typer.Option(False, "--no-log", help="不把本次检索记入检索缺口（qabase gaps）；也可设 QABASE_NO_LOG=1。"),
    as_json: bool = JsonOpt,
):
    """检索知识库，按相关程度排列结果，并说明检索的把握。

    结果先列编号、问题和专题，再列答复中命中的片段；最后一行是简短的说明，全文见 qabase --help。

    示例：
    qabase search 交叉执行案件怎么结案
    qabase search 委托执行 销案
    qabase search 终本 --topic 立结案要求
    qabase search 民诉法237条 --json
    """
    text = " ".join(query)
    kbase = open_kb()
    progress = t.Progress(quiet=as_json)
    result = kbase.search(text, limit=limit, topic=topic, tag=tag, batch=batch,
                          all_status=all_status, progress=progress)
    progress.done()
    if not no_log:
        from ..search.gaps import record_if_gap

        record_if_gap(kbase, result)
    law_hits = _law_hits(kbase, text, laws, result)
    related_of = {h.id: kbase.related(h.id) for h in result.results} if related else {}
    if as_json:
        data = result.to_dict(kbase.kb)
        for item in data["results"] if related else ():
            item["related"] = related_of[item["id"]]
        if laws:
            data["laws"] = law_hits
        return json_out(data)
    _search_text(kbase, result, law_hits, laws, related_of)


def _law_hits(kbase, text, laws, result):
    """Articles for --laws; a flagged search leaves the judge with the law itself where
    statutes are configured."""
    if not (laws or (result.flagged and result.searched_as)):
        return None
    from ..content.laws import HOW_TO_ADD, search_articles

    lib = library(kbase)
    if lib is None:
        if laws:
            t.err(HOW_TO_ADD)
        return None
    return search_articles(lib, kbase.analyzer.analyse(text), kbase.segmenter, 5)


def _search_text(kbase, result, law_hits, laws, related_of):
    if result.rebuilt:
        t.err(f"（{result.rebuilt}）")
    if result.skipped:
        t.err(f"注意：有 {len(result.skipped)} 个条目因错误未编入索引（运行 qabase check 查看）：")
        for p in result.skipped[:5]:
            t.err(f"  {p}")
    if result.corrections:
        fixed = "，".join(f"“{c['from']}”按“{c['to']}”" for c in result.corrections)
        t.block(f"输入的{fixed}检索；是不是要找：“{result.did_you_mean}”？")
    shown = "、".join(result.searched_as) or "（无可检索的词）"
    sure = f"，{CONFIDENCE_TEXT[result.confidence]}" if result.results else ""
    cut = "，查询过长已截断" if result.truncated else ""
    t.block(f"按“{shown}”检索，共 {result.total} 条结果{sure}{cut}：")
    if result.flagged and result.results:
        t.block(FLAGGED_TEXT[result.confidence] + "下面列出最接近的条目，请核对后再用。")
        t.block(f"反映问题：{kbase.kb.settings.get('report_to') or DEFAULT_REPORT_TO}", "", "　　　　　")
    if not result.results:
        t.out("没有找到相关条目。建议：")
        for s in result.suggestions:
            t.block(s, "  · ", "    ")
    for i, h in enumerate(result.results, 1):
        _hit(kbase, i, h, related_of.get(h.id))
    if law_hits is not None:
        _law_list(law_hits, laws)
    t.out("")
    t.block(t.notice_line(result.notice))


def _hit(kbase, i, h, related):
    topic = kbase.kb.find_topic(h.topic)
    pad = " " * t.cells(f"{i}. ")
    t.out("")
    t.block(f"{i}. [{h.id}] {h.question}", "", pad)
    status = "" if h.status == "published" else f"　状态：{t.status_name(h.status)}"
    t.out(f"{pad}专题：{topic.name if topic else h.topic}{status}")
    if h.snippet:
        t.block(t.highlight(h.snippet), pad)
    for r in related or ():
        t.block(f"相关：[{r['id']}] {r['question']}", pad, pad + "      ")


def _law_list(hits, asked):
    t.out("")
    t.out("—— 相关法条（法规原文检索，与上面的问答分开列出） ——" if asked else
          "—— 可能相关的法条（知识库把握不大，供直接查阅原文） ——")
    if not hits:
        t.out("  没有找到相关条文。")
    for h in hits:
        t.block(f"《{h['title']}》{h['article']}", "  ")
        t.block(h["text"].splitlines()[0][:120], "    ")


@command("judge", "show")
def show(
    entry_id: str = typer.Argument(..., metavar="编号", help="条目编号，如 dis-001（dis-1 也可以）。"),
    as_json: bool = JsonOpt,
):
    """显示一个条目的全文：问题、答复、法律依据、来源和相关条目。

    示例：
    qabase show fil-003
    qabase show fil-3 --json
    """
    from ..content.laws import HOW_TO_ADD

    kbase = open_kb()
    e = kbase.get(entry_id)
    lib = library(kbase)
    data = kbase.entry_dict(e, lib)
    if as_json:
        return json_out(data)
    _entry_text(kbase, e, data)
    if lib is None:
        t.err(HOW_TO_ADD)


def _entry_text(kbase, e, data):
    from ..content.render import to_text

    topic = kbase.kb.find_topic(e.topic)
    t.block(f"[{e.id}] {e.question}")
    meta = [f"专题：{topic.name if topic else e.topic}", f"状态：{t.status_name(e.status)}"]
    meta += [f"第{e.batch}批"] if e.batch else []
    meta += [f"更新：{e.updated.isoformat()}"] if e.updated else []
    t.block("　".join(meta))
    if e.aliases:
        t.block("其他问法：" + "；".join(e.aliases), "", "　　　　　")
    t.out("")
    _answer(to_text(e.answer))
    t.out("")
    if e.commentary:
        # A commentary (法答网 batches 1–3) is shown apart from the answer, with its own author.
        t.block("点评意见" + (f"（点评专家：{e.commented_by}）" if e.commented_by else "") + "：")
        _answer(e.commentary)
        t.out("")
    if e.legal_basis:
        t.out("法律依据：")
        for c in e.legal_basis:
            t.block(c, "  · ", "    ")
    if e.tags:
        t.block("标签：" + "、".join(e.tags))
    if e.source:
        t.block(f"来源：{e.source}", "", "　　　")
    if e.superseded_by:
        t.out(f"本条已被 {e.superseded_by} 取代。")
    if any(a["text"] for a in data["articles"]):
        t.out("")
        t.out("所引条文：")
        for a in data["articles"]:
            if a["text"]:
                t.block(a["citation"], "  ")
                for line in a["text"].splitlines():
                    t.block(line, "    ")
    if data["related"]:
        t.out("")
        t.out("相关条目：")
        for r in data["related"]:
            t.block(f"[{r['id']}] {r['question']}", "  ", "  " + " " * t.cells(f"[{r['id']}] "))
    t.out("")
    t.block(t.notice_line(kbase.kb.notice))


def _answer(text: str):
    """Answer text wrapped to the screen; list items keep their number or dash hanging."""
    import re

    for line in text.splitlines():
        m = re.match(r"^(\d+[.)、]\s*|[-·•]\s+)", line)
        t.block(line, "", " " * t.cells(m.group(1)) if m else "")


@command("judge", "topics")
def topics(as_json: bool = JsonOpt):
    """列出全部专题及各专题的条目数。"""
    kbase = open_kb()
    rows = kbase.topic_counts()
    if as_json:
        return json_out({"schema_version": 1, "topics": rows})
    t.table_out([[r["slug"], r["name"], f"{r['published']} 条已发布", f"共 {r['entries']} 条", r["description"]]
                 for r in rows], "llrr")


@command("judge", "list")
def list_(
    topic: Optional[str] = typer.Option(None, "--topic", "-t", metavar="专题", help="只列某个专题（slug 或中文名）。"),
    status: Optional[str] = typer.Option(None, "--status", "-s", metavar="状态",
                                         help="只列某种状态的条目：draft（草稿）、review（待审）、published（已发布）、withdrawn（已撤回）。"),
    as_json: bool = JsonOpt,
):
    """列出条目（编号、状态、问题），按专题和编号排序。

    示例：
    qabase list --topic 程序衔接
    qabase list --status 草稿
    """
    wanted = None
    if status is not None:
        wanted = t.parse_status(status)
        if wanted is None:
            names = "、".join(f"{k}（{v}）" for k, v in t.STATUS_NAMES.items())
            fail(f"未知状态：{status}。可用的状态：{names}", 2)
    kbase = open_kb()
    entries, _ = kbase.list_entries(topic)
    entries = [e for e in entries if wanted is None or e.status == wanted]
    if as_json:
        return json_out({"schema_version": 1, "entries": [
            {"id": e.id, "topic": e.topic, "question": e.question, "status": e.status, "batch": e.batch}
            for e in entries]})
    t.table_out([[e.id, t.status_name(e.status), e.question] for e in entries])
    t.out(f"共 {len(entries)} 条。")

