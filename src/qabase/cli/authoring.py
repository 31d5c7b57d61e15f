"""What trainers run: new, import, check, publish, export."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

import typer

from . import terminal as t
from .base import JsonOpt, command, fail, json_out, open_kb


@command("author", "new")
def new(
    topic: str = typer.Option(..., "--topic", "-t", metavar="专题", help="新条目的专题（slug 或中文名）。"),
    question: Optional[str] = typer.Option(None, "--question", "-q", metavar="问题", help="预先填好的问题；与已有条目相近时给出提示。"),
    edit: bool = typer.Option(False, "--edit", "-e", help="建好后用编辑器打开：$EDITOR，其次 $VISUAL，再次 nano 或 vi（Windows 上为记事本）。"),
    as_json: bool = JsonOpt,
):
    """新建一个草稿条目：用该专题下一个空闲编号，全部字段就位，输出文件路径。

    示例：
    qabase new --topic 案件发现
    qabase new --topic 案件发现 --question "执行法院能否主动申请提级执行？" --edit
    """
    from ..authoring.workflow import new_entry

    kbase = open_kb()
    made = new_entry(kbase, topic, question)
    for d in made.duplicates:
        t.err(f"警告：{d.message()}")
    if as_json:
        json_out({"schema_version": 1, "id": made.id, "path": str(made.path),
                  "duplicates": [{"id": d.b_id, "text": d.b_text, "similarity": d.score} for d in made.duplicates]})
    else:
        t.out(str(made.path))
        t.err(f"已新建草稿 {made.id}。填写问题、答复和法律依据后运行 qabase check；审核后把状态改为 review，由 qabase publish 发布。")
    if edit:
        t.flush(page=False)
        _edit(kbase, made)


def editors() -> list[str]:
    """The editors to try, in order: $EDITOR, $VISUAL, then the platform's plain editor:
    notepad on Windows; nano or vi elsewhere, when there is a terminal for them to run in."""
    import shutil
    import sys

    found = [os.environ.get(v, "").strip() for v in ("EDITOR", "VISUAL")]
    if os.name == "nt":
        found += ["notepad"]
    elif t.interactive(sys.stdin):
        found += [name for name in ("nano", "vi") if shutil.which(name)]
    return list(dict.fromkeys(e for e in found if e))


def _edit(kbase, made):
    import shlex
    import subprocess

    tried = []
    for editor in editors():
        try:
            code = subprocess.call(shlex.split(editor, posix=os.name != "nt") + [str(made.path)])
        except (OSError, ValueError) as e:
            tried.append(f"{editor}（{t.chinese(getattr(e, 'strerror', None) or str(e))}）")
            continue
        if code != 0:
            fail(f"编辑器 {editor} 退出码为 {code}；条目文件仍在：{made.path}")
        from ..content.entries import load_entry

        for p in load_entry(made.path, kbase.kb)[1]:
            t.err(str(p))
        return
    try:
        made.path.unlink()
    except OSError:
        pass
    why = f"试过：{'、'.join(tried)}" if tried else "没有设置 EDITOR 或 VISUAL，也没有找到 nano 或 vi"
    fail(f"没有能启动的编辑器（{why}），已删除刚建的草稿 {made.id}。请设置环境变量 EDITOR（如 export EDITOR=vim）后重试。")


@command("author", "import")
def import_(
    file: Path = typer.Argument(..., metavar="文件", help="要导入的文件：CSV、TSV、JSON（对象数组）、JSONL，或法答网答问的 Markdown。"),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", metavar="格式", help="csv、tsv、json、jsonl 或 fadawang；默认按扩展名判断（.md 按 fadawang）。"),
    topic: Optional[str] = typer.Option(None, "--topic", "-t", metavar="专题", help="整个文件的专题；行里有 topic 时以行为准。"),
    mapping: Optional[list[str]] = typer.Option(None, "--map", "-m", metavar="列名=字段", help="列名或键对应的字段，如 --map 问题=question --map 答复=answer；--map 备注= 表示忽略该列。"),
    status: str = typer.Option("draft", "--status", metavar="状态", help="导入后的状态：draft（草稿）或 review（待审）。"),
    encoding: str = typer.Option("utf-8", "--encoding", metavar="编码", help="文件编码，如 Excel 导出的 CSV 用 gb18030。"),
    source: Optional[str] = typer.Option(None, "--source", metavar="文字", help="没有来源列时写入 source 的文字，默认“导入自 文件名”。"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只检查并显示将要新建的条目，不写入。"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="有不合格的行时仍导入其余各行（默认一行不合格就什么都不写）。"),
    as_json: bool = JsonOpt,
):
    """把已有的问答集导入为草稿条目；重复运行不会重复导入。

    先校验全部行，任何一行不合格（报告行号和原因）就不写入任何文件；再逐个原子地写入新条目。

    示例：
    qabase import 旧问答.csv --topic 程序衔接 --map 问题=question --map 解答=answer
    qabase import 问答.jsonl --dry-run
    qabase import --format fadawang 第三十七批.md --topic procedure-linkage
    """
    from ..authoring.importing import import_file

    kbase = open_kb()
    r = import_file(kbase, file, fmt=fmt, topic=topic, mapping=mapping, status=status, encoding=encoding,
                    source=source, dry_run=dry_run, skip_invalid=skip_invalid)
    blocked = bool(r.rejected) and not skip_invalid
    if as_json:
        json_out(r.to_dict(kbase.root))
        if blocked:
            raise typer.Exit(1)
        return
    _import_text(kbase, file, r, blocked, dry_run, status)


def _import_text(kbase, file, r, blocked, dry_run, status):
    for w in r.warnings:
        # "第 N 行：…" warnings name the file too, so that each can be found in it.
        t.err(f"警告：{file.name} {w}" if w.startswith("第 ") else f"警告：{w}")
    if r.rejected:
        what = "个问题" if r.format == "fadawang" else "行"
        t.err(f"以下 {len(r.rejected)} {what}不能导入：")
        for x in r.rejected:
            t.err(f"  {file.name}:{x.line}: {x.reason}")
    verb = "将新建" if (dry_run or blocked) else "新建"
    t.table_out([[f"{verb} {p.id}", p.path.relative_to(kbase.root).as_posix(), p.question[:40]] for p in r.created])
    for line, what in r.existing:
        t.out(f"第 {line} 行已导入过，跳过（{what}）")
    t.block(r.summary(blocked))
    if blocked:
        what = "问题" if r.format == "fadawang" else "行"
        fail(f"有不合格的{what}，没有写入任何文件。改正后重新运行，或加 --skip-invalid 只导入合格的{what}。")
    if dry_run:
        t.out("（试运行，没有写入任何文件。）")
    elif r.created:
        t.block(f"导入的条目状态为 {status}（{t.status_name(status)}）：补上法律依据、经审核后改为 review，再用 qabase publish 发布。")


@command("author", "check")
def check(
    files: Optional[list[Path]] = typer.Argument(None, metavar="文件", help="只检查这些条目文件（以及涉及它们的全库规则，如编号重复、问题相近）；默认检查全部。"),
    as_json: bool = JsonOpt,
):
    """校验条目：YAML 格式、必填字段、专题、编号重复、日期、法律依据格式等。

    每个问题一行，格式为“文件:行号: 错误/警告：说明”。有错误时退出码为 1，只有警告时为 0。

    示例：
    qabase check
    qabase check qa_entries/discovery/dis-014.md
    qabase check --json
    """
    kbase = open_kb()
    report = kbase.check()
    problems, checked, entries = report.problems, report.files, report.entries
    if files:
        problems, checked, entries = _only(kbase, report, files)
    errors = [p for p in problems if p.level == "error"]
    if as_json:
        json_out({"schema_version": 1, "entries": entries, "files": checked,
                  "errors": len(errors), "warnings": len(problems) - len(errors),
                  "problems": [p.to_dict() for p in problems]})
    else:
        for p in problems:
            t.out(str(p))
        t.out(f"检查了 {checked} 个文件：{len(errors)} 个错误，{len(problems) - len(errors)} 个警告。")
    if errors:
        raise typer.Exit(1)


def _only(kbase, report, files):
    """The problems that concern ``files``: found in them, or naming them (a duplicate id or a
    near-duplicate question found in another file)."""
    from ..errors import rel

    wanted = {}
    base = kbase.kb.entries_dir.resolve()
    for f in files:
        p = Path(f).expanduser().resolve()
        if not p.is_file():
            fail(f"文件不存在：{f}")
        if base not in p.parents:
            fail(f"{f} 不在本知识库的 qa_entries/ 目录下（知识库：{kbase.root}）")
        wanted[rel(p, kbase.root.resolve())] = p.stem
    mention = re.compile("|".join(
        [re.escape(r) for r in wanted] + [rf"(?<![a-z0-9-]){re.escape(i)}(?![0-9])" for i in wanted.values()]))
    problems = [p for p in report.problems if p.path in wanted or mention.search(p.message)]
    broken = {p.path for p in problems if p.level == "error" and p.path in wanted}
    return problems, len(wanted), len(set(wanted) - broken)


def _parse_date(value: Optional[str]):
    import datetime as dt

    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"日期格式不对：{value}（应为 2026-01-31 这样的格式）")


@command("author", "publish")
def publish(
    batch: int = typer.Option(..., "--batch", "-b", min=1, metavar="批次", help="发布批次（正整数），应晚于已发布的批次。"),
    date: Optional[str] = typer.Option(None, "--date", metavar="日期", help="发布日期，默认今天，如 2026-12-01。"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只显示将要发生的变动，不写入。"),
    as_json: bool = JsonOpt,
):
    """发布一批：状态为 review 的条目改为 published，写入批次、日期和版本，生成发布说明。

    qabase check 有错误、待审条目缺审核人（reviewed_by）或法律依据时拒绝发布，不改动任何文件。

    示例：
    qabase publish --batch 2 --dry-run
    qabase publish --batch 2
    """
    from ..authoring.publish import publish as do_publish

    kbase = open_kb()
    plan = do_publish(kbase, batch, _parse_date(date), dry_run=dry_run)
    if as_json:
        return json_out(plan.to_dict(kbase.root))
    for w in plan.warnings:
        t.err(f"警告：{w}")
    head = "（试运行，没有写入任何文件）" if dry_run else ""
    t.block(f"第 {batch} 批（{plan.date.isoformat()}）{head}：新增 {len(plan.of('added'))} 条，"
            f"修改 {len(plan.of('changed'))} 条，撤回 {len(plan.of('withdrawn'))} 条。")
    labels = {"added": "新增", "changed": "修改", "withdrawn": "撤回", "republished": "恢复发布（内容未变）"}
    rows = []
    for item in plan.items:
        extra = f"（第 {item.version} 版）" if item.kind == "changed" else ""
        if item.kind == "withdrawn" and item.superseded_by:
            extra = f"（由 {item.superseded_by} 取代）"
        rows.append(["", f"{labels[item.kind]} {item.id}", item.question[:40] + extra])
    t.table_out(rows)
    where = plan.changelog_path.relative_to(kbase.root).as_posix()
    t.out(f"发布说明{'将写入' if dry_run else '已写入'} {where}。")


@command("author", "export")
def export(
    fmt: str = typer.Option("html", "--format", "-f", metavar="格式", help="html（可打印的单个网页）或 json。"),
    batch: Optional[int] = typer.Option(None, "--batch", "-b", min=1, metavar="批次", help="只导出这一批；默认导出全部已发布条目。"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="文件", help="写入此文件；默认输出到屏幕。"),
):
    """导出已发布的条目：一个自包含、可打印的 HTML 文件（按专题分目录，附法律依据和说明），或 JSON。

    示例：
    qabase export --format html --batch 2 -o 第2批.html
    qabase export --format json -o qabase.json
    """
    from ..authoring import export as exp

    if fmt.lower() not in exp.FORMATS:
        fail(f"未知的导出格式：{fmt}（可用：{' | '.join(exp.FORMATS)}）", 2)
    kbase = open_kb()
    text = exp.export(kbase, fmt, batch)
    if output is None:
        return t.out(text.rstrip("\n"))
    exp.write(text, output)
    t.out(f"已导出到 {output}。")
