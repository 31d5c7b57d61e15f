"""Keeping the knowledge base searchable: index, eval, gaps, and the web page (serve)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import terminal as t
from .base import JsonOpt, command, fail, json_out, open_kb, state


@command("maintain", "index")
def index(
    wait: float = typer.Option(60.0, "--wait", metavar="秒数", help="另一个进程正在建索引时最多等待的秒数。"),
    as_json: bool = JsonOpt,
):
    """重建检索索引（检索时也会在需要时自动建立或更新）。"""
    kbase = open_kb()
    progress = t.Progress(quiet=as_json)
    gen, manifest = kbase.build_index(progress=progress, lock_wait=wait)
    progress.done()
    if as_json:
        return json_out({"schema_version": 1, "generation": gen.name, "index_dir": str(kbase.location.path),
                         "entries": manifest["entries"], "skipped": manifest["skipped"]})
    t.block(f"索引已建立：{manifest['entries']} 个条目，位于 {kbase.location.path}")
    if kbase.location.reason == "cache":
        t.out("（kb/ 不可写，索引放在用户缓存目录。）")
    if manifest["skipped"]:
        t.out(f"有 {len(manifest['skipped'])} 个文件因错误未编入（运行 qabase check 查看）。")


GOLDEN_SETS = ("golden.tsv", "golden-batch2.tsv")


@command("maintain", "eval")
def eval_(
    file: Optional[Path] = typer.Argument(None, metavar="文件", help="只评测这个问题文件（TSV：query、ids、kind 三列）；默认评测 kb/ 中的全部问题集。"),
    min_mrr: Optional[float] = typer.Option(None, "--min-mrr", metavar="数值", help="kb/golden.tsv（或给出的文件）的 MRR@10（不含 typo 类）低于此值时退出码为 1。"),
    show: int = typer.Option(10, "--show", metavar="数字", help="每个黄金问题集最多列出多少条未排第一的查询。"),
    as_json: bool = JsonOpt,
):
    """评测检索质量，各问题集分开报告。

    黄金问题集（kb/golden.tsv、kb/golden-batch2.tsv）的作者读过条目，用于回归检查：MRR@10、
    Recall@1/3/10、nDCG@10。盲测集（kb/blind/）的作者没读过条目，是检索质量的主要量尺：只把
    “完全回答”算作答对，报告 MRR@10、Success@1/3（前 1/3 条中有完全回答）、nDCG@10，按查询
    类型和专题分列，并报告检索把握度对答不了的问题提示了多少。

    示例：
    qabase eval
    qabase eval --json
    qabase eval my_questions.tsv --min-mrr 0.9
    """
    from dataclasses import asdict

    from ..search.blind import BlindFormatError
    from ..search.evaluate import GoldenFormatError

    kbase = open_kb()
    kbd = kbase.kb.kb_dir
    files = [file] if file else [kbd / n for n in GOLDEN_SETS if (kbd / n).exists()]
    reports = {}
    try:
        for f in files:
            reports[f.name] = kbase.evaluate(f)
        blind = kbase.evaluate_blind() if not file and (kbd / "blind" / "queries.tsv").exists() else None
    except (GoldenFormatError, BlindFormatError, OSError) as e:
        fail(str(e))
    if as_json:
        json_out({"schema_version": 1, "engine": kbase.engine,
                  "golden": {n: asdict(r) for n, r in reports.items()}, "blind": blind})
    else:
        for name, report in reports.items():
            _golden_table(kbase, name, report, show)
        if blind:
            _blind_table(kbase, blind)
    first = reports.get(files[0].name) if files else None
    if min_mrr is not None and first and first.non_typo["MRR@10"] < min_mrr:
        t.flush()
        t.err(f"MRR@10（不含 typo）为 {first.non_typo['MRR@10']:.3f}，低于 --min-mrr {min_mrr}")
        raise typer.Exit(1)


def _metric_rows(kbase, first_rows, by_kind, by_topic, keys):
    def row(label, m):
        return [label, str(m["queries"])] + [f"{m[k]:.3f}" for k in keys]
    rows = [row(label, m) for label, m in first_rows]
    rows += [row("  " + k, m) for k, m in by_kind.items()]
    for slug, m in by_topic.items():
        topic = kbase.kb.find_topic(slug)
        rows.append(row("  " + (topic.name if topic else slug), m))
    return rows


def _golden_table(kbase, name, report, show):
    keys = ("MRR@10", "Recall@1", "Recall@3", "Recall@10", "nDCG@10")
    t.out(f"黄金问题集 kb/{name}（作者读过条目；回归检查）")
    head = ["", "查询", "MRR@10", "R@1", "R@3", "R@10", "nDCG@10"]
    rows = _metric_rows(kbase, [("全部", report.overall), ("不含 typo", report.non_typo)],
                        report.by_kind, report.by_topic, keys)
    for line in t.table([head] + rows, "lrrrrrr"):
        t.out(line)
    if report.misses and show:
        t.out(f"正确答案未排第一（{len(report.misses)} 条，列出前 {min(show, len(report.misses))} 条）：")
        for m in report.misses[:show]:
            where = f"排第 {m['rank']}" if m["rank"] else "前 10 未出现"
            t.block(f"[{m['kind']}] {m['query']}", "  ", "      ")
            t.block(f"应为 {','.join(m['expected'])}，{where}；排第一的是 {m['first']}", "      ")
    t.out("")


def _blind_table(kbase, b):
    keys = ("MRR@10", "Success@1", "Success@3", "nDCG@10")
    t.block(f"盲测集 kb/blind（{b['queries']} 个问题，作者没读过条目；只把完全回答算作答对）")
    head = ["", "查询", "MRR@10", "S@1", "S@3", "nDCG@10"]
    rows = _metric_rows(kbase, [("有完全回答的", b["answerable"]), ("全部 kb 问题", b["all_kb"])],
                        b["by_kind"], b["by_topic"], keys)
    for line in t.table([head] + rows, "lrrrrr"):
        t.out(line)
    c = b["confidence"]
    if b.get("kb_without_full_answer") is not None:
        t.out(f"没有条目完全回答的 kb 问题：{b['kb_without_full_answer']:.1%}")
    if c["unanswerable_flagged"] is not None:
        t.block(f"检索把握度：答不了的 {c['unanswerable']} 个问题中提示了 {c['unanswerable_flagged']:.0%}；"
                f"第一条即完全回答的 {c['answered_first']} 个问题中误提示 {c['answered_first_flagged']:.0%}")
    t.out("")


@command("maintain", "gaps")
def gaps(
    limit: int = typer.Option(20, "--limit", "-n", min=1, metavar="数字", help="最多列出几条。"),
    clear: bool = typer.Option(False, "--clear", help="清空本知识库的检索缺口记录。"),
    as_json: bool = JsonOpt,
):
    """列出检索缺口：没有结果或只有弱匹配的检索，按次数排列，供编写新条目参考。

    只在本机记录查询文字和时间；search --no-log 或 QABASE_NO_LOG=1 不记录。

    示例：
    qabase gaps --limit 10
    qabase gaps --json
    qabase gaps --clear
    """
    from ..search import gaps as g

    kbase = open_kb()
    path = g.log_path(kbase)
    if clear:
        n = g.clear(kbase)
        if as_json:
            return json_out({"schema_version": 1, "cleared": n, "log": str(path)})
        return t.out(f"已清空检索缺口记录（{n} 条）。")
    rows = g.read(kbase)
    if as_json:
        return json_out({"schema_version": 1, "log": str(path), "rule": "confidence", "recording": not g.disabled(),
                         "total": sum(r.count for r in rows), "queries": len(rows),
                         "gaps": [r.to_dict() for r in rows[:limit]]})
    if g.disabled():
        t.err("注意：QABASE_NO_LOG 已设置，目前不记录检索缺口。")
    if not rows:
        return t.out("还没有记录到检索缺口。")
    t.block(f"检索缺口（没有结果或把握不大的检索），共 {len(rows)} 种查询、{sum(r.count for r in rows)} 次：")
    t.table_out([[f"{r.count} 次", f"最近 {_local(r.last)}", r.query] for r in rows[:limit]], "rl", gap="　")
    if len(rows) > limit:
        t.out(f"……另有 {len(rows) - limit} 种查询（--limit 显示更多）。")
    t.out(f"记录文件：{path}")


def _local(stamp: str) -> str:
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp[:16]


@command("maintain", "serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", metavar="地址", help="监听地址。默认 127.0.0.1，只有本机能访问；0.0.0.0 表示允许其他计算机访问。"),
    port: int = typer.Option(8000, "--port", "-p", min=0, max=65535, metavar="端口", help="端口。0 表示任选一个空闲端口。"),
):
    """启动网页版：法官在浏览器中检索、查看条目，另有只读的 JSON 接口（/api/…，说明见 /openapi.json）。

    示例：
    qabase serve
    qabase serve --port 8080
    qabase serve --host 0.0.0.0
    """
    # The web stack is imported here so that `qabase search` never pays for it.
    from ..web import serve as run

    run(open_kb(), host, port, statutes=state.statutes, say=t.say)
