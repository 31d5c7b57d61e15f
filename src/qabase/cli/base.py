"""The ``qabase`` application: the Typer app, the global options (accepted before and after
the command, listed in every command's help), and what every command shares: opening the
knowledge base, one Chinese line on stderr for a library error, ``--json`` output."""
from __future__ import annotations

import functools
import inspect
import json
import os
import sys
import typing
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperCommand, TyperGroup

from . import terminal
from ..errors import QabaseError

try:  # Typer ≥ 0.2x bundles its own Click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older Typer on the real Click
    from click.exceptions import UsageError

APP_HELP = (
    "qabase：交叉执行问答知识库。法官检索和查看答问；编写人员新建、导入、校验、发布和导出条目；"
    "开发人员评测检索质量。\n\n"
    "在知识库目录（含 kb/ 与 qa_entries/）或其子目录中运行，或用 --root 指定知识库。\n\n"
    "示例：\n"
    "qabase search 终本后又找到财产\n"
    "qabase show fil-003\n"
    "qabase search 终本 --root ~/知识库"
)

SECTIONS = {
    "judge": "法官检索和查看：",
    "author": "编写、导入和发布（培训和编写人员）：",
    "maintain": "索引、评测和网页版：",
}
_section_of: dict[str, str] = {}


class State:
    root: Optional[Path] = None
    index_dir: Optional[Path] = None
    statutes: Optional[Path] = None
    engine: Optional[str] = None


state = State()


def _show_help(ctx, param, value):
    if value and not ctx.resilient_parsing:
        terminal.out(ctx.get_help())
        terminal.flush()
        ctx.exit()


def _chinese_help_option(option):
    if option is not None:
        option.help = "显示本帮助并退出。"
        option.callback = _show_help
    return option


class QabaseCommand(TyperCommand):
    """A command whose help page is rendered by ``terminal`` (Chinese, width-aware)."""

    def format_help(self, ctx, formatter):
        formatter.write(terminal.command_help(ctx, GLOBAL_NAMES) + "\n")

    def get_help_option(self, ctx):
        return _chinese_help_option(super().get_help_option(ctx))


class QabaseGroup(TyperGroup):
    """The ``qabase`` group: its own help page, and usage errors shown in Chinese."""

    def format_help(self, ctx, formatter):
        sections = {key: [] for key in SECTIONS}
        for name, cmd in self.commands.items():
            sections[_section_of.get(name, "maintain")].append((name, cmd))
        formatter.write(terminal.group_help(
            ctx, [(SECTIONS[k], v) for k, v in sections.items() if v], _notice()) + "\n")

    def get_help_option(self, ctx):
        return _chinese_help_option(super().get_help_option(ctx))

    def make_context(self, info_name, args, parent=None, **extra):
        terminal.reset()
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as e:
            self._in_chinese(e)
            raise

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageError as e:
            self._in_chinese(e)
            raise

    def _in_chinese(self, e):
        if type(e).__name__ != "NoArgsIsHelpError":  # that one shows the help page
            e.show = functools.partial(terminal.show_usage_error, e, commands=list(self.commands))


def _notice() -> str:
    """The full disclaimer for --help: the knowledge base's own when one is found here."""
    from ..kb import DEFAULT_NOTICE, find_root
    from .. import yamlsafe

    try:
        root = find_root(explicit=state.root)
        data = yamlsafe.load((root / "kb" / "config.yaml").read_text(encoding="utf-8-sig"))
        return str(data.get("notice") or DEFAULT_NOTICE).strip()
    except Exception:  # noqa: BLE001 - help never fails for want of a knowledge base
        return DEFAULT_NOTICE


app = typer.Typer(
    cls=QabaseGroup,
    help=APP_HELP,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

HELP_ROOT = "知识库目录（含 kb/ 与 qa_entries/）。默认从当前目录向上查找；也可设 QABASE_ROOT。"
HELP_INDEX = "索引存放目录。默认 kb/.index/，不可写时用用户缓存目录；也可设 QABASE_INDEX_DIR。"
HELP_STATUTES = "法规原文目录（LawRefBook Markdown 格式），用于显示和检索条文原文；也可设 QABASE_STATUTES。"
HELP_ENGINE = "检索引擎：whoosh（默认）或 tantivy（大型知识库）；也可设 QABASE_ENGINE，或在 kb/config.yaml 写 engine。"
HELP_NO_PAGER = "不用分页器（默认在终端上、输出超过一屏时用 less 分页）。"


def _no_pager(value: bool):
    if value:
        terminal.settings.no_pager = True
    return value


def _version(value: bool):
    if value:
        from .. import __version__

        terminal.out(f"qabase {__version__}")
        terminal.flush()
        raise typer.Exit()
    return value


@app.callback()
def _global(
    root: Optional[Path] = typer.Option(None, "--root", envvar="QABASE_ROOT", metavar="目录", show_envvar=False,
                                        help=HELP_ROOT),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", envvar="QABASE_INDEX_DIR", metavar="目录",
                                             show_envvar=False, help=HELP_INDEX),
    statutes: Optional[Path] = typer.Option(None, "--statutes", envvar="QABASE_STATUTES", metavar="目录",
                                            show_envvar=False, help=HELP_STATUTES),
    engine: Optional[str] = typer.Option(None, "--engine", envvar="QABASE_ENGINE", metavar="引擎",
                                         show_envvar=False, help=HELP_ENGINE),
    no_pager: bool = typer.Option(False, "--no-pager", is_eager=True, callback=_no_pager, help=HELP_NO_PAGER),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                 help="显示 qabase 的版本并退出。"),
):
    state.root = root
    state.index_dir = index_dir
    state.statutes = statutes
    state.engine = engine


# The same options on every command, so that `qabase search 终本 --root DIR` works as
# `qabase --root DIR search 终本` does (the environment variables are read once, above).
def _global_params() -> list[inspect.Parameter]:
    P = inspect.Parameter

    def opt(name, kind, *decls, **kw):
        return P(name, P.POSITIONAL_OR_KEYWORD, annotation=kind, default=typer.Option(*decls, **kw))
    return [
        opt("global_root", Optional[Path], None, "--root", metavar="目录", help=HELP_ROOT),
        opt("global_index_dir", Optional[Path], None, "--index-dir", metavar="目录", help=HELP_INDEX),
        opt("global_statutes", Optional[Path], None, "--statutes", metavar="目录", help=HELP_STATUTES),
        opt("global_engine", Optional[str], None, "--engine", metavar="引擎", help=HELP_ENGINE),
        opt("global_no_pager", bool, False, "--no-pager", is_eager=True, callback=_no_pager, help=HELP_NO_PAGER),
    ]


GLOBAL_NAMES = {p.name for p in _global_params()}


def command(section: str, name: str):
    """Register ``fn`` as the command ``name``, listed under ``section`` in ``qabase --help``.

    The command also takes the global options; its output is flushed (and paged) when it
    ends, and a library error (QabaseError) becomes one Chinese line on stderr and exit code 1.
    """
    def wrap(fn):
        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn)
        params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in sig.parameters.values()]
        params += _global_params()

        @functools.wraps(fn)
        def inner(**kwargs):
            for key in ("root", "index_dir", "statutes", "engine"):
                value = kwargs.pop(f"global_{key}", None)
                if value is not None:
                    setattr(state, key, value)
            kwargs.pop("global_no_pager", None)
            return run(fn, kwargs)

        inner.__signature__ = sig.replace(parameters=params)
        inner.__annotations__ = {p.name: p.annotation for p in params}
        _section_of[name] = section
        app.command(name, cls=QabaseCommand)(inner)
        return fn
    return wrap


def run(fn, kwargs):
    try:
        result = fn(**kwargs)
    except QabaseError as e:
        fail(str(e))
    except typer.Exit:
        terminal.flush()
        raise
    except BaseException:
        terminal.flush(page=False)
        raise
    terminal.flush()
    return result


JsonOpt = typer.Option(False, "--json", help="以 JSON 输出，供脚本使用。")


def open_kb():
    from ..api import open_kb as open_

    return open_(state.root, state.index_dir, state.engine)


def library(kbase):
    from ..content.laws import StatuteLibrary, statutes_dir

    d = statutes_dir(kbase.kb, state.statutes)
    return StatuteLibrary(d) if d else None


def json_out(data) -> None:
    terminal.out(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def fail(message: str, code: int = 1):
    """What was printed so far, then ``错误：message`` on stderr, then exit ``code``."""
    terminal.flush(page=False)
    terminal.err(f"错误：{terminal.chinese(message)}")
    raise typer.Exit(code)


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
        terminal.err(f"错误：{terminal.chinese(str(e))}")
        sys.exit(1)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except OSError as e:
        if not terminal.closed_pipe(e):
            raise
        terminal.silence()
        sys.exit(0)
    except KeyboardInterrupt:
        terminal.err("已中断。")
        sys.exit(130)
    except Exception as e:
        # Usage errors come from the Click that Typer bundles; the group gave them a Chinese show().
        if hasattr(e, "show") and hasattr(e, "exit_code"):
            e.show()
            sys.exit(e.exit_code)
        if type(e).__name__ == "Abort":
            terminal.err("已中断。")
            sys.exit(1)
        raise
