"""The ``qabase`` command: each command parses its options, makes one library call and
renders the result as text or ``--json``. Library errors become one Chinese line on stderr."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from .errors import QabaseError

app = typer.Typer(
    help="qabase：交叉执行问答知识库。法官检索和查看答问；编写人员新建、导入、校验、发布和导出条目；"
         "开发人员评测检索质量。\n\n"
         "在知识库目录（含 kb/ 与 qa_entries/）或其子目录中运行，或用 --root 指定知识库。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class State:
    root: Optional[Path] = None
    index_dir: Optional[Path] = None
    statutes: Optional[Path] = None
    engine: Optional[str] = None


state = State()

JsonOpt = typer.Option(False, "--json", help="以 JSON 输出，供脚本使用。")


def _command(*args, **kwargs):
    """app.command that turns library errors into one Chinese line on stderr and exit code 1."""
    import functools

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*a, **k):
            try:
                return fn(*a, **k)
            except QabaseError as e:
                _fail(str(e))
        return app.command(*args, **kwargs)(inner)
    return wrap


@app.callback()
def _global(
    root: Optional[Path] = typer.Option(None, "--root", envvar="QABASE_ROOT",
                                        help="知识库目录（含 kb/ 与 qa_entries/）。默认从当前目录向上查找。"),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", envvar="QABASE_INDEX_DIR",
                                             help="索引存放目录。默认 kb/.index/，不可写时用用户缓存目录。"),
    statutes: Optional[Path] = typer.Option(None, "--statutes", envvar="QABASE_STATUTES",
                                            help="法规原文目录（LawRefBook Markdown 格式），用于显示和检索条文原文。"),
    engine: Optional[str] = typer.Option(None, "--engine", envvar="QABASE_ENGINE",
                                         help="检索引擎：whoosh（默认）或 tantivy（大型知识库）；也可在 kb/config.yaml 写 engine。"),
):
    state.root = root
    state.index_dir = index_dir
    state.statutes = statutes
    state.engine = engine


def _open():
    from .api import open_kb

    return open_kb(state.root, state.index_dir, state.engine)


def _out(text: str = "") -> None:
    typer.echo(text)


def _err(text: str) -> None:
    typer.echo(text, err=True)


def _json(data) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _fail(message: str, code: int = 1):
    _err(f"错误：{message}")
    raise typer.Exit(code)


def _highlight(runs: list[dict]) -> str:
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    parts = []
    for r in runs:
        if r["match"]:
            parts.append(typer.style(r["text"], fg="yellow", bold=True) if color else f"【{r['text']}】")
        else:
            parts.append(r["text"])
    return "".join(parts)


class _Progress:
    """Progress on stderr: a redrawn line on a terminal, one line per phase otherwise."""

    def __init__(self, quiet: bool = False):
        self.tty = sys.stderr.isatty()
        self.quiet = quiet
        self.last = None

    def __call__(self, phase: str, done: int, total: int):
        if self.quiet:
            return
        if self.tty:
            bar = ""
            if total:
                filled = int(20 * done / total)
                bar = f" [{'#' * filled}{'.' * (20 - filled)}] {done}/{total}"
            sys.stderr.write(f"\r{phase}{bar}\033[K")
            sys.stderr.flush()
        elif phase != self.last:
            sys.stderr.write(f"{phase}…\n")
            sys.stderr.flush()
        self.last = phase

    def done(self):
        if self.tty and self.last and not self.quiet:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


FLAGGED_TEXT = {
    "low": "把握不大：知识库中可能没有直接回答这个问题的条目。",
    "none": "没有把握：知识库中很可能没有回答这个问题的条目。",
}
CONFIDENCE_TEXT = {"high": "较有把握", "low": "把握不大", "none": "没有把握"}
DEFAULT_REPORT_TO = "请把问题告诉知识库的编写组（可在 kb/config.yaml 的 report_to 中写明联系方式）。"


@_command()
def search(
    query: str = typer.Argument(..., help="要查询的问题，用平常的话说即可，如：被执行人跑了找不到人怎么办"),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=100, help="最多显示几条结果。"),
    topic: Optional[str] = typer.Option(None, "--topic", "-t", help="只查某个专题（slug 或中文名，如 discovery 或 案件发现）。"),
    tag: Optional[str] = typer.Option(None, "--tag", help="只查带此标签的条目。"),
    batch: Optional[int] = typer.Option(None, "--batch", min=1, help="只查某一批次。"),
    all_status: bool = typer.Option(False, "--all-status", help="也查草稿、待审和已撤回的条目（默认只查已发布的）。"),
    laws: bool = typer.Option(False, "--laws", help="在问答结果下方另列相关法条（需要法规原文目录）。"),
    related: bool = typer.Option(False, "--related", help="--json 时为每条结果附上最多五个相关条目。"),
    no_log: bool = typer.Option(False, "--no-log", help="不把本次检索记入检索缺口（qabase gaps）；也可设 QABASE_NO_LOG=1。"),
    as_json: bool = JsonOpt,
):
    """检索知识库，按相关程度排列结果。

    示例：qabase search "交叉执行案件怎么结案"；qabase search 终本 --topic 立结案要求；
    qabase search "民诉法237条" --json
    """
    kbase = _open()
    progress = _Progress(quiet=as_json)
    result = kbase.search(query, limit=limit, topic=topic, tag=tag, batch=batch,
                          all_status=all_status, progress=progress)
    progress.done()
    if not no_log:
        from .search.gaps import record_if_gap

        record_if_gap(kbase, result)
    if result.rebuilt and not as_json:
        _err(f"（{result.rebuilt}）")
    law_hits = None
    # A flagged search leaves the judge with the law itself where statutes are configured.
    if laws or (result.flagged and result.searched_as):
        from .content.laws import HOW_TO_ADD, search_articles

        lib = _library(kbase)
        if lib is None:
            if laws:
                _err(HOW_TO_ADD)
        else:
            law_hits = search_articles(lib, kbase.analyzer.analyse(query), kbase.segmenter, 5)
    if as_json:
        data = result.to_dict(kbase.kb)
        if related:
            for item in data["results"]:
                item["related"] = kbase.related(item["id"])
        if laws:
            data["laws"] = law_hits
        _json(data)
        return
    if result.skipped:
        _err(f"注意：有 {len(result.skipped)} 个条目因错误未编入索引（运行 qabase check 查看）：")
        for p in result.skipped[:5]:
            _err(f"  {p}")
    if result.corrections:
        fixed = "，".join(f"“{c['from']}”按“{c['to']}”" for c in result.corrections)
        _out(f"输入的{fixed}检索；是不是要找：“{result.did_you_mean}”？")
    shown = "、".join(result.searched_as) or "（无可检索的词）"
    sure = f"，{CONFIDENCE_TEXT[result.confidence]}" if result.results else ""
    _out(f"按“{shown}”检索，共 {result.total} 条结果{sure}" + ("，查询过长已截断" if result.truncated else "") + "：")
    if result.flagged and result.results:
        _out(FLAGGED_TEXT[result.confidence] + "下面列出最接近的条目，请核对后再用。")
        _out(f"反映问题：{kbase.kb.settings.get('report_to') or DEFAULT_REPORT_TO}")
    if not result.results:
        _out("没有找到相关条目。建议：")
        for s in result.suggestions:
            _out(f"  · {s}")
    for i, h in enumerate(result.results, 1):
        t = kbase.kb.find_topic(h.topic)
        _out("")
        _out(f"{i}. [{h.id}] {h.question}")
        _out(f"   专题：{t.name if t else h.topic}" + ("" if h.status == "published" else f"　状态：{h.status}"))
        if h.snippet:
            _out(f"   {_highlight(h.snippet)}")
    if law_hits is not None:
        _out("")
        _out("—— 相关法条（法规原文检索，与上面的问答分开列出） ——" if laws else
             "—— 可能相关的法条（知识库把握不大，供直接查阅原文） ——")
        if not law_hits:
            _out("  没有找到相关条文。")
        for h in law_hits:
            _out(f"  《{h['title']}》{h['article']}")
            _out(f"    {h['text'].splitlines()[0][:120]}")
    _out("")
    _out(f"说明：{result.notice}")


@_command()
def show(
    entry_id: str = typer.Argument(..., metavar="ID", help="条目编号，如 dis-001。"),
    as_json: bool = JsonOpt,
):
    """显示一个条目的全文：问题、答复、法律依据和来源。

    示例：qabase show fil-003
    """
    from .content.laws import HOW_TO_ADD
    from .content.render import to_text

    kbase = _open()
    e = kbase.get(entry_id)
    lib = _library(kbase)
    data = kbase.entry_dict(e, lib)
    if as_json:
        _json(data)
        return
    articles, related = data["articles"], data["related"]
    t = kbase.kb.find_topic(e.topic)
    _out(f"[{e.id}] {e.question}")
    meta = [f"专题：{t.name if t else e.topic}", f"状态：{e.status}"]
    if e.batch:
        meta.append(f"第{e.batch}批")
    if e.updated:
        meta.append(f"更新：{e.updated.isoformat()}")
    _out("　".join(meta))
    if e.aliases:
        _out("其他问法：" + "；".join(e.aliases))
    _out("")
    _out(to_text(e.answer))
    _out("")
    if e.commentary:
        # A commentary (法答网 batches 1–3) is shown apart from the answer, with its own author.
        _out("点评意见" + (f"（点评专家：{e.commented_by}）" if e.commented_by else "") + "：")
        _out(e.commentary)
        _out("")
    if e.legal_basis:
        _out("法律依据：")
        for c in e.legal_basis:
            _out(f"  · {c}")
    if e.tags:
        _out("标签：" + "、".join(e.tags))
    if e.source:
        _out(f"来源：{e.source}")
    if e.superseded_by:
        _out(f"本条已被 {e.superseded_by} 取代。")
    if lib is None:
        _err(HOW_TO_ADD)
    elif any(a["text"] for a in articles):
        _out("")
        _out("所引条文：")
        for a in articles:
            if a["text"]:
                _out(f"  {a['citation']}")
                for line in a["text"].splitlines():
                    _out(f"    {line}")
    if related:
        _out("")
        _out("相关条目：")
        for r in related:
            _out(f"  [{r['id']}] {r['question']}")
    _out("")
    _out(f"说明：{kbase.kb.notice}")


@_command()
def topics(as_json: bool = JsonOpt):
    """列出全部专题及各专题的条目数。"""
    kbase = _open()
    rows = kbase.topic_counts()
    if as_json:
        _json({"schema_version": 1, "topics": rows})
        return
    for r in rows:
        _out(f"{r['slug']:<18} {r['name']}　{r['published']} 条已发布 / 共 {r['entries']} 条　{r['description']}")


@_command("list")
def list_(
    topic: Optional[str] = typer.Option(None, "--topic", "-t", help="只列某个专题（slug 或中文名）。"),
    as_json: bool = JsonOpt,
):
    """列出条目（编号、状态、问题），按专题和编号排序。"""
    kbase = _open()
    entries, _ = kbase.list_entries(topic)
    if as_json:
        _json({"schema_version": 1, "entries": [
            {"id": e.id, "topic": e.topic, "question": e.question, "status": e.status, "batch": e.batch}
            for e in entries]})
        return
    for e in entries:
        _out(f"{e.id:<9} {e.status:<10} {e.question}")
    _out(f"共 {len(entries)} 条。")


@_command()
def check(as_json: bool = JsonOpt):
    """校验全部条目：YAML 格式、必填字段、专题、编号重复、日期、法律依据格式等。

    每个问题一行，格式为“文件:行号: 错误/警告：说明”。有错误时退出码为 1，只有警告时为 0。
    """
    kbase = _open()
    report = kbase.check()
    if as_json:
        _json({"schema_version": 1, "entries": report.entries, "files": report.files,
               "errors": len(report.errors), "warnings": len(report.warnings),
               "problems": [p.to_dict() for p in report.problems]})
    else:
        for p in report.problems:
            _out(str(p))
        _out(f"检查了 {report.files} 个文件：{len(report.errors)} 个错误，{len(report.warnings)} 个警告。")
    if report.errors:
        raise typer.Exit(1)


@_command()
def index(
    wait: float = typer.Option(60.0, "--wait", help="另一个进程正在建索引时最多等待的秒数。"),
    as_json: bool = JsonOpt,
):
    """重建检索索引（检索时也会在需要时自动建立或更新）。"""
    kbase = _open()
    progress = _Progress(quiet=as_json)
    gen, manifest = kbase.build_index(progress=progress, lock_wait=wait)
    progress.done()
    if as_json:
        _json({"schema_version": 1, "generation": gen.name, "index_dir": str(kbase.location.path),
               "entries": manifest["entries"], "skipped": manifest["skipped"]})
        return
    _out(f"索引已建立：{manifest['entries']} 个条目，位于 {kbase.location.path}")
    if kbase.location.reason == "cache":
        _out("（kb/ 不可写，索引放在用户缓存目录。）")
    if manifest["skipped"]:
        _out(f"有 {len(manifest['skipped'])} 个文件因错误未编入（运行 qabase check 查看）。")


def _cells(text: str) -> int:
    """Terminal columns of ``text``: CJK and full-width characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _ljust(text: str, width: int) -> str:
    return text + " " * max(0, width - _cells(text))


GOLDEN_SETS = ("golden.tsv", "golden-batch2.tsv")


@_command("eval")
def eval_(
    file: Optional[Path] = typer.Argument(None, help="只评测这个问题文件（TSV：query、ids、kind 三列）；默认评测 kb/ 中的全部问题集。"),
    min_mrr: Optional[float] = typer.Option(None, "--min-mrr", help="kb/golden.tsv（或 FILE）的 MRR@10（不含 typo 类）低于此值时退出码为 1。"),
    show: int = typer.Option(10, "--show", help="每个黄金问题集最多列出多少条未排第一的查询。"),
    as_json: bool = JsonOpt,
):
    """评测检索质量，各问题集分开报告。

    黄金问题集（kb/golden.tsv、kb/golden-batch2.tsv）的作者读过条目，用于回归检查：MRR@10、
    Recall@1/3/10、nDCG@10。盲测集（kb/blind/）的作者没读过条目，是检索质量的主要量尺：只把
    “完全回答”算作答对，报告 MRR@10、Success@1/3（前 1/3 条中有完全回答）、nDCG@10，按查询
    类型和专题分列，并报告检索把握度对答不了的问题提示了多少。

    示例：qabase eval；qabase eval --json；qabase eval my_questions.tsv --min-mrr 0.9
    """
    from dataclasses import asdict

    from .search.blind import BlindFormatError
    from .search.evaluate import GoldenFormatError

    kbase = _open()
    kbd = kbase.kb.kb_dir
    files = [file] if file else [kbd / n for n in GOLDEN_SETS if (kbd / n).exists()]
    reports = {}
    try:
        for f in files:
            reports[f.name] = kbase.evaluate(f)
        blind = kbase.evaluate_blind() if not file and (kbd / "blind" / "queries.tsv").exists() else None
    except (GoldenFormatError, BlindFormatError, OSError) as e:
        _fail(str(e))
    if as_json:
        _json({"schema_version": 1, "engine": kbase.engine,
               "golden": {n: asdict(r) for n, r in reports.items()}, "blind": blind})
    else:
        for name, report in reports.items():
            _golden_table(kbase, name, report, show)
        if blind:
            _blind_table(kbase, blind)
    first = reports.get(files[0].name) if files else None
    if min_mrr is not None and first and first.non_typo["MRR@10"] < min_mrr:
        _err(f"MRR@10（不含 typo）为 {first.non_typo['MRR@10']:.3f}，低于 --min-mrr {min_mrr}")
        raise typer.Exit(1)


def _golden_table(kbase, name, report, show):
    def row(label, m):
        return (f"{_ljust(label, 18)} {m['queries']:>5} {m['MRR@10']:.3f}  {m['Recall@1']:.3f}  "
                f"{m['Recall@3']:.3f}  {m['Recall@10']:.3f}  {m['nDCG@10']:.3f}")
    _out(f"黄金问题集 kb/{name}（作者读过条目；回归检查）")
    _out(f"{_ljust('', 18)} {'查询':>4} MRR@10 R@1    R@3    R@10   nDCG@10")
    _out(row("全部", report.overall))
    _out(row("不含 typo", report.non_typo))
    for k, m in report.by_kind.items():
        _out(row("  " + k, m))
    for t, m in report.by_topic.items():
        topic = kbase.kb.find_topic(t)
        _out(row("  " + (topic.name if topic else t), m))
    if report.misses and show:
        _out(f"正确答案未排第一（{len(report.misses)} 条，列出前 {min(show, len(report.misses))} 条）：")
        for m in report.misses[:show]:
            where = f"排第 {m['rank']}" if m["rank"] else "前 10 未出现"
            _out(f"  [{m['kind']}] {m['query']}")
            _out(f"      应为 {','.join(m['expected'])}，{where}；排第一的是 {m['first']}")
    _out("")


def _blind_table(kbase, b):
    def row(label, m):
        return (f"{_ljust(label, 18)} {m['queries']:>5} {m['MRR@10']:.3f}  {m['Success@1']:.3f}  "
                f"{m['Success@3']:.3f}  {m['nDCG@10']:.3f}")
    _out(f"盲测集 kb/blind（{b['queries']} 个问题，作者没读过条目；只把完全回答算作答对）")
    _out(f"{_ljust('', 18)} {'查询':>4} MRR@10 S@1    S@3    nDCG@10")
    _out(row("有完全回答的", b["answerable"]))
    _out(row("全部 kb 问题", b["all_kb"]))
    for k, m in b["by_kind"].items():
        _out(row("  " + k, m))
    for t, m in b["by_topic"].items():
        topic = kbase.kb.find_topic(t)
        _out(row("  " + (topic.name if topic else t), m))
    c = b["confidence"]
    if b.get("kb_without_full_answer") is not None:
        _out(f"没有条目完全回答的 kb 问题：{b['kb_without_full_answer']:.1%}")
    if c["unanswerable_flagged"] is not None:
        _out(f"检索把握度：答不了的 {c['unanswerable']} 个问题中提示了 {c['unanswerable_flagged']:.0%}；"
             f"第一条即完全回答的 {c['answered_first']} 个问题中误提示 {c['answered_first_flagged']:.0%}")
    _out("")


def _library(kbase):
    from .content.laws import StatuteLibrary, statutes_dir

    d = statutes_dir(kbase.kb, state.statutes)
    return StatuteLibrary(d) if d else None


@_command()
def law(
    reference: list[str] = typer.Argument(..., help="条文，如：民诉法 237、民事诉讼法第二百三十七条、异议复议规定第5条；配合 --search 时为检索词。"),
    search_text: bool = typer.Option(False, "--search", help="在法规原文中检索（需要法规原文目录）。"),
    limit: int = typer.Option(5, "--limit", "-n", min=1, max=50, help="--search 时最多显示几条。"),
    as_json: bool = JsonOpt,
):
    """查条文：把各种写法解析为规范引用（全称、版本、条号、效力），并列出引用该条的条目。

    有法规原文目录时（--statutes、QABASE_STATUTES 或 kb/config.yaml 的 statutes）同时显示条文原文。
    示例：qabase law 民诉法 237；qabase law "异议复议规定第5条" --json；qabase law 终结本次执行程序 --search
    """
    from .content.laws import HOW_TO_ADD, article_text, resolve_reference, search_articles

    reference = " ".join(reference)
    kbase = _open()
    lib = _library(kbase)
    if search_text:
        if lib is None:
            _fail(HOW_TO_ADD)
        hits = search_articles(lib, kbase.analyzer.analyse(reference), kbase.segmenter, limit)
        if as_json:
            _json({"schema_version": 1, "query": reference, "results": hits})
            return
        if not hits:
            _out("法规原文中没有找到相关条文。")
        for h in hits:
            _out(f"《{h['title']}》{h['article']}")
            _out(f"  {h['text']}")
        return
    r = resolve_reference(reference, kbase.catalogue)
    if lib is not None:
        r.text = article_text(lib, r.instrument, r.citation)
    from .content.catalogue import citation_key

    key = citation_key(kbase.catalogue, r.citation)
    citing = [e for e in kbase.load_entries().entries
              if any(citation_key(kbase.catalogue, c) == key for c in e.citations)]
    if as_json:
        data = r.to_dict()
        data["schema_version"] = 1
        data["entries"] = [{"id": e.id, "question": e.question, "status": e.status} for e in citing]
        data["statutes_available"] = lib is not None
        _json(data)
        return
    d = r.to_dict()
    i = r.instrument
    _out(d["citation"])
    _out(f"  文件：{i.name}（{i.version}，{i.issuer}）　效力：{i.status}")
    if i.superseded_by:
        succ = kbase.catalogue.by_id(i.superseded_by)
        if succ:
            _out(f"  现行文本：《{succ.name}》（{succ.version}）")
    _out(f"  条号：{d['article']['label']}（第 {r.citation.article} 条）")
    if lib is None:
        _err(HOW_TO_ADD)
    elif r.text:
        _out("")
        _out(r.text)
    elif i.articles == "unknown":
        _out("（原文未收录，请对照官方文本。）")
    _out("")
    if citing:
        _out(f"引用该条的条目（{len(citing)} 条）：")
        for e in citing:
            _out(f"  [{e.id}] {e.question}")
    else:
        _out("知识库中没有条目引用该条。")


@_command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址。默认 127.0.0.1，只有本机能访问；0.0.0.0 表示允许其他计算机访问。"),
    port: int = typer.Option(8000, "--port", "-p", min=0, max=65535, help="端口。0 表示任选一个空闲端口。"),
):
    """启动网页版：法官在浏览器中检索、查看条目，另有只读的 JSON 接口（/api/…，说明见 /openapi.json）。

    示例：qabase serve；qabase serve --port 8080；qabase serve --host 0.0.0.0
    """
    # The web stack is imported here so that `qabase search` never pays for it.
    from .web import serve as run

    run(_open(), host, port, statutes=state.statutes, say=_out)


@_command("new")
def new(
    topic: str = typer.Option(..., "--topic", "-t", help="新条目的专题（slug 或中文名）。"),
    question: Optional[str] = typer.Option(None, "--question", "-q", help="预先填好的问题；与已有条目相近时给出提示。"),
    edit: bool = typer.Option(False, "--edit", "-e", help="建好后用 $VISUAL 或 $EDITOR 打开。"),
    as_json: bool = JsonOpt,
):
    """新建一个草稿条目：用该专题下一个空闲编号，全部字段就位，输出文件路径。

    示例：qabase new --topic 案件发现 --question "执行法院能否主动申请提级执行？" --edit
    """
    from .authoring.workflow import new_entry

    kbase = _open()
    made = new_entry(kbase, topic, question)
    for d in made.duplicates:
        _err(f"警告：{d.message()}")
    if as_json:
        _json({"schema_version": 1, "id": made.id, "path": str(made.path),
               "duplicates": [{"id": d.b_id, "text": d.b_text, "similarity": d.score} for d in made.duplicates]})
    else:
        _out(str(made.path))
        _err(f"已新建草稿 {made.id}。填写问题、答复和法律依据后运行 qabase check；审核后把状态改为 review，由 qabase publish 发布。")
    if edit:
        import shlex
        import subprocess

        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            _fail("没有设置编辑器：请设置环境变量 EDITOR（如 export EDITOR=vim），或直接打开上面的文件。")
        try:
            code = subprocess.call(shlex.split(editor) + [str(made.path)])
        except OSError as e:
            _fail(f"无法启动编辑器 {editor}：{e.strerror or e}")
        if code != 0:
            _fail(f"编辑器 {editor} 退出码为 {code}；条目文件仍在：{made.path}")
        from .content.entries import load_entry

        _, problems = load_entry(made.path, kbase.kb)
        for p in problems:
            _err(str(p))


@_command("import")
def import_(
    file: Path = typer.Argument(..., metavar="FILE", help="要导入的文件：CSV、TSV、JSON（对象数组）、JSONL，或法答网答问的 Markdown。"),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="csv | tsv | json | jsonl | fadawang；默认按扩展名判断（.md 按 fadawang）。"),
    topic: Optional[str] = typer.Option(None, "--topic", "-t", help="整个文件的专题；行里有 topic 时以行为准。"),
    mapping: Optional[list[str]] = typer.Option(None, "--map", "-m", help="列名或键对应的字段，可重复：--map 问题=question --map 答复=answer；--map 备注= 表示忽略该列。"),
    status: str = typer.Option("draft", "--status", help="导入后的状态：draft（默认）或 review。"),
    encoding: str = typer.Option("utf-8", "--encoding", help="文件编码，如 Excel 导出的 CSV 用 gb18030。"),
    source: Optional[str] = typer.Option(None, "--source", help="没有来源列时写入 source 的文字，默认“导入自 文件名”。"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只检查并显示将要新建的条目，不写入。"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="有不合格的行时仍导入其余各行（默认一行不合格就什么都不写）。"),
    as_json: bool = JsonOpt,
):
    """把已有的问答集导入为草稿条目；重复运行不会重复导入。

    先校验全部行，任何一行不合格（报告行号和原因）就不写入任何文件；再逐个原子地写入新条目。
    示例：qabase import 旧问答.csv --topic 程序衔接 --map 问题=question --map 解答=answer；
    qabase import --format fadawang 第三十七批.md --topic procedure-linkage
    """
    from .authoring.importing import import_file

    kbase = _open()
    r = import_file(kbase, file, fmt=fmt, topic=topic, mapping=mapping, status=status, encoding=encoding,
                    source=source, dry_run=dry_run, skip_invalid=skip_invalid)
    blocked = bool(r.rejected) and not skip_invalid
    if as_json:
        _json(r.to_dict(kbase.root))
        if blocked:
            raise typer.Exit(1)
        return
    for w in r.warnings:
        # "第 N 行：…" warnings name the file too, so that each can be found in it.
        _err(f"警告：{file.name} {w}" if w.startswith("第 ") else f"警告：{w}")
    if r.rejected:
        what = "个问题" if r.format == "fadawang" else "行"
        _err(f"以下 {len(r.rejected)} {what}不能导入：")
        for x in r.rejected:
            _err(f"  {file.name}:{x.line}: {x.reason}")
    verb = "将新建" if (dry_run or blocked) else "新建"
    for p in r.created:
        _out(f"{verb} {p.id:<9} {p.path.relative_to(kbase.root).as_posix()}　{p.question[:40]}")
    for line, what in r.existing:
        _out(f"第 {line} 行已导入过，跳过（{what}）")
    _out(r.summary(blocked))
    if blocked:
        what = "问题" if r.format == "fadawang" else "行"
        _fail(f"有不合格的{what}，没有写入任何文件。改正后重新运行，或加 --skip-invalid 只导入合格的{what}。")
    if dry_run:
        _out("（试运行，没有写入任何文件。）")
    elif r.created:
        _out("导入的条目状态为 " + status + "：补上法律依据、经审核后改为 review，再用 qabase publish 发布。")


def _parse_date(value: Optional[str]):
    import datetime as dt

    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"日期格式不对：{value}（应为 2026-01-31 这样的格式）")


@_command()
def publish(
    batch: int = typer.Option(..., "--batch", "-b", min=1, help="发布批次（正整数），应晚于已发布的批次。"),
    date: Optional[str] = typer.Option(None, "--date", help="发布日期，默认今天，如 2026-12-01。"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只显示将要发生的变动，不写入。"),
    as_json: bool = JsonOpt,
):
    """发布一批：状态为 review 的条目改为 published，写入批次、日期和版本，生成发布说明。

    qabase check 有错误、待审条目缺审核人（reviewed_by）或法律依据时拒绝发布，不改动任何文件。
    示例：qabase publish --batch 2 --dry-run；qabase publish --batch 2
    """
    from .authoring.publish import publish as do_publish

    kbase = _open()
    plan = do_publish(kbase, batch, _parse_date(date), dry_run=dry_run)
    if as_json:
        _json(plan.to_dict(kbase.root))
        return
    for w in plan.warnings:
        _err(f"警告：{w}")
    head = "（试运行，没有写入任何文件）" if dry_run else ""
    _out(f"第 {batch} 批（{plan.date.isoformat()}）{head}：新增 {len(plan.of('added'))} 条，"
         f"修改 {len(plan.of('changed'))} 条，撤回 {len(plan.of('withdrawn'))} 条。")
    labels = {"added": "新增", "changed": "修改", "withdrawn": "撤回", "republished": "恢复发布（内容未变）"}
    for item in plan.items:
        extra = f"（第 {item.version} 版）" if item.kind == "changed" else ""
        if item.kind == "withdrawn" and item.superseded_by:
            extra = f"（由 {item.superseded_by} 取代）"
        _out(f"  {labels[item.kind]} {item.id:<9} {item.question[:40]}{extra}")
    where = plan.changelog_path.relative_to(kbase.root).as_posix()
    _out(f"发布说明{'将写入' if dry_run else '已写入'} {where}。")


@_command()
def export(
    fmt: str = typer.Option("html", "--format", "-f", help="html（可打印的单个网页）或 json。"),
    batch: Optional[int] = typer.Option(None, "--batch", "-b", min=1, help="只导出这一批；默认导出全部已发布条目。"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="写入此文件；默认输出到屏幕。"),
):
    """导出已发布的条目：一个自包含、可打印的 HTML 文件（按专题分目录，附法律依据和说明），或 JSON。

    示例：qabase export --format html --batch 2 -o 第2批.html；qabase export --format json -o qabase.json
    """
    from .authoring import export as exp

    if fmt.lower() not in exp.FORMATS:
        _fail(f"未知的导出格式：{fmt}（可用：{' | '.join(exp.FORMATS)}）", 2)
    kbase = _open()
    text = exp.export(kbase, fmt, batch)
    if output is None:
        typer.echo(text, nl=False)
        return
    exp.write(text, output)
    _out(f"已导出到 {output}。")


@_command()
def gaps(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="最多列出几条。"),
    clear: bool = typer.Option(False, "--clear", help="清空本知识库的检索缺口记录。"),
    as_json: bool = JsonOpt,
):
    """列出检索缺口：没有结果或只有弱匹配的检索，按次数排列，供编写新条目参考。

    只在本机记录查询文字和时间；search --no-log 或 QABASE_NO_LOG=1 不记录。
    示例：qabase gaps --limit 10；qabase gaps --json；qabase gaps --clear
    """
    from .search import gaps as g

    kbase = _open()
    path = g.log_path(kbase)
    if clear:
        n = g.clear(kbase)
        if as_json:
            _json({"schema_version": 1, "cleared": n, "log": str(path)})
        else:
            _out(f"已清空检索缺口记录（{n} 条）。")
        return
    rows = g.read(kbase)
    if as_json:
        _json({"schema_version": 1, "log": str(path), "rule": "confidence", "recording": not g.disabled(),
               "total": sum(r.count for r in rows), "queries": len(rows), "gaps": [r.to_dict() for r in rows[:limit]]})
        return
    if g.disabled():
        _err("注意：QABASE_NO_LOG 已设置，目前不记录检索缺口。")
    if not rows:
        _out("还没有记录到检索缺口。")
        return
    _out(f"检索缺口（没有结果或把握不大的检索），共 {len(rows)} 种查询、{sum(r.count for r in rows)} 次：")
    import datetime as dt

    def local(stamp: str) -> str:
        try:
            return dt.datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return stamp[:16]

    for r in rows[:limit]:
        _out(f"{r.count:>5} 次　最近 {local(r.last)}　{r.query}")
    if len(rows) > limit:
        _out(f"……另有 {len(rows) - limit} 种查询（--limit 显示更多）。")
    _out(f"记录文件：{path}")


def main() -> None:
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:  # started with the stream closed: `qabase search x >&-`
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError):
            pass
    try:
        # Without standalone mode Click returns the code of a typer.Exit instead of raising it,
        # so errors (exit 1) must be passed on here. Typer turns Ctrl+C into Exit(130); Ctrl+C
        # is how `serve` is stopped, and that stays a clean exit (0) as it always was.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code and code != 130:
            sys.exit(code)
    except QabaseError as e:
        _err(f"错误：{e}")
        sys.exit(1)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        sys.exit(0)
    except KeyboardInterrupt:
        _err("已中断。")
        sys.exit(130)
    except Exception as e:
        # Usage errors come from the Click that Typer bundles; they know how to show themselves.
        if hasattr(e, "show") and hasattr(e, "exit_code"):
            e.show()
            sys.exit(e.exit_code)
        if type(e).__name__ == "Abort":
            sys.exit(1)
        raise
