"""Everything the terminal shows passes through here, for every command.

- **Widths.** A Chinese character takes two columns (``cells``); text is wrapped by columns,
  between characters but never before a closing mark (，。）》…) or after an opening one, and
  Latin words, options and paths are never split (``wrap``); tables are aligned by columns
  (``table``).
- **Output.** Commands add lines with ``out``; ``flush`` writes them at the end of the command,
  through a pager (``less -FRX`` unless ``QABASE_PAGER``/``PAGER`` says otherwise) when stdout
  is a terminal and the text is taller than the screen, never otherwise. A reader that closes
  the pipe early (``qabase search 终本 | head -1``) ends the command quietly with exit code 0.
- **Chinese framework text.** Help pages and usage errors are rendered here from the command
  definitions, in Chinese (``command_help``, ``group_help``, ``show_usage_error``): the English
  text of the Click that Typer bundles is never shown. System error texts inside messages
  ("Address already in use") are put into Chinese too (``chinese``).
"""
from __future__ import annotations

import errno
import inspect
import os
import re
import shutil
import subprocess
import sys
import unicodedata

# -- widths ---------------------------------------------------------------------------------
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
HL_START, HL_END = "\x01", "\x02"  # zero-width marks around a highlighted run, until painted


def cells(text: str) -> int:
    """Terminal columns of ``text``: CJK and full-width characters take two, marks and
    control sequences none."""
    if text.isascii() and text.isprintable():
        return len(text)
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    n = 0
    for c in text:
        if c < " " or "\x7f" <= c < "\xa0" or unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        n += 2 if unicodedata.east_asian_width(c) in "WF" else 1
    return n


def ljust(text: str, width: int) -> str:
    return text + " " * max(0, width - cells(text))


def rjust(text: str, width: int) -> str:
    return " " * max(0, width - cells(text)) + text


# A line may not start with a closing mark, nor end with an opening one.
_NO_START = frozenset("，。、；：！？）》」』〉】〕”’…—,.;:!?)]}%=/_-" + HL_END)
_NO_END = frozenset("（《「『〈【〔“‘([{=/_-@" + HL_START)
# Spaces; a short word joined to ASCII by "=" (问题=question); an ASCII word; one character.
_TOKEN = re.compile(r"[ \t]+|\w{1,6}=[!-~]*|[!-~]+|.", re.S)


def _units(text: str) -> list[str]:
    """Text cut where a line may break: spaces (as " "), whole ASCII words, single CJK
    characters with the marks that must stay with them."""
    units: list[str] = []
    glue = False
    for m in _TOKEN.finditer(text):
        t = m.group()
        if t[0] in " \t":
            units.append(" ")
            glue = False
            continue
        if units and units[-1] != " " and (glue or t[0] in _NO_START):
            units[-1] += t
        else:
            units.append(t)
        glue = t[-1] in _NO_END
    # "（.md 按 fadawang）": a bracket opened on a short word keeps the next word with it.
    i = 0
    while i + 2 < len(units):
        if units[i][0] in "（([【《“" and cells(units[i]) <= 6 and units[i + 1] == " " and units[i + 2] != " ":
            units[i:i + 3] = [units[i] + " " + units[i + 2]]
        else:
            i += 1
    return units


def wrap(text: str, width: int | None, indent: str = "", subsequent: str | None = None) -> list[str]:
    """``text`` as lines of at most ``width`` columns: the first starts with ``indent``, the
    others (continuations, and the lines after each newline) with ``subsequent``.
    ``width=None`` (not a terminal): one line per line of text, indented the same way."""
    subsequent = indent if subsequent is None else subsequent
    out: list[str] = []
    for n, raw in enumerate(text.split("\n")):
        lead = indent if n == 0 else subsequent
        if width is None:
            out.append(lead + raw)
            continue
        line, used, filled, space = lead, cells(lead), False, False
        for u in _units(raw):
            if u == " ":
                space = filled
                continue
            w = cells(u)
            if filled and used + space + w > width:
                out.append(line)
                line, used, filled = subsequent, cells(subsequent), False
            elif space:
                line += " "
                used += 1
            space = False
            if not filled and used + w > width:  # longer than a whole line: break it anywhere
                for c in u:
                    cw = cells(c)
                    if filled and used + cw > width:
                        out.append(line)
                        line, used = subsequent, cells(subsequent)
                    line += c
                    used += cw
                    filled = True
                continue
            line += u
            used += w
            filled = True
        out.append(line)
    return out


def table(rows: list[list[str]], align: str = "", gap: str = "  ") -> list[str]:
    """Rows of cells as lines whose columns line up on screen; ``align`` has one letter per
    column, ``l`` or ``r`` (default ``l``). The last cell of a row is never padded."""
    rows = [[str(c) for c in r] for r in rows]
    if not rows:
        return []
    n = max(len(r) for r in rows)
    widths = [max((cells(r[i]) for r in rows if i < len(r)), default=0) for i in range(n)]
    lines = []
    for r in rows:
        parts = []
        for i, c in enumerate(r):
            if (align[i:i + 1] or "l") == "r":
                parts.append(rjust(c, widths[i]))
            else:
                parts.append(c if i == len(r) - 1 else ljust(c, widths[i]))
        lines.append(gap.join(parts).rstrip())
    return lines


def table_out(rows: list[list[str]], align: str = "", gap: str = "  ") -> None:
    """``table`` as output lines, the last column wrapped to the screen under itself."""
    rows = [[str(c) for c in r] for r in rows]
    if not rows:
        return
    heads = table([r[:-1] for r in rows], align, gap)
    lead = max(cells(h) for h in heads) + cells(gap)
    cols = width()
    below = cols is not None and cols - lead < 30  # too narrow a column: the text goes below
    for head, r in zip(heads, rows):
        if len(r) == 1:
            block(r[0])
        elif below:
            out(head)
            block(r[-1], "    ")
        else:
            block(r[-1], ljust(head, lead - cells(gap)) + gap, " " * lead)


def width() -> int | None:
    """Columns to wrap at: ``COLUMNS`` when set, else the terminal's width; None when stdout
    is not a terminal (a pipe or a file gets one line per item, for grep and scripts)."""
    value = os.environ.get("COLUMNS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    if _isatty(sys.stdout):
        return shutil.get_terminal_size().columns
    return None


def help_width() -> int:
    return max(40, min(width() or 80, 100))


# -- output ---------------------------------------------------------------------------------
class Settings:
    no_pager: bool = False


settings = Settings()
_buffer: list[str] = []


def reset() -> None:
    """A new command line: nothing pending, pager allowed (tests run many in one process)."""
    _buffer.clear()
    settings.no_pager = False


def out(text: str = "") -> None:
    """One line (or several, separated by newlines) of the command's output."""
    _buffer.append(text)


def block(text: str, indent: str = "", subsequent: str | None = None) -> None:
    """A paragraph wrapped to the screen, continuation lines indented by ``subsequent``."""
    for line in wrap(text, width(), indent, subsequent):
        out(line)


def err(text: str) -> None:
    """A message on stderr, at once (warnings and errors are not paged)."""
    emit(text + "\n", sys.stderr)


def say(text: str) -> None:
    """A line on stdout at once, for commands that keep running (serve)."""
    flush(page=False)
    emit(text + "\n")


def flush(page: bool = True) -> None:
    """Write what the command produced: through the pager when it is taller than the screen."""
    if not _buffer:
        return
    text = paint("\n".join(_buffer)) + "\n"
    _buffer.clear()
    if page and should_page(text) and run_pager(text):
        return
    emit(text)


def use_color() -> bool:
    return _isatty(sys.stdout) and not os.environ.get("NO_COLOR")


def highlight(runs: list[dict], color: bool | None = None) -> str:
    """Snippet runs as text: matches between zero-width marks (painted on output) on a colour
    terminal, in 【】 otherwise."""
    color = use_color() if color is None else color
    return "".join((f"{HL_START}{r['text']}{HL_END}" if color else f"【{r['text']}】") if r["match"]
                   else r["text"] for r in runs)


def paint(text: str) -> str:
    if HL_START not in text:
        return text
    return text.replace(HL_START, "\x1b[1;33m").replace(HL_END, "\x1b[0m")


def interactive(stream) -> bool:
    """Is ``stream`` a terminal (a person at the keyboard or the screen)?"""
    return _isatty(stream)


def _isatty(stream) -> bool:
    try:
        return bool(stream) and stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def closed_pipe(e: BaseException) -> bool:
    """A write failed because the reader went away (``| head``): EPIPE; EINVAL on Windows."""
    if isinstance(e, BrokenPipeError):
        return True
    return isinstance(e, OSError) and (e.errno == errno.EPIPE or (os.name == "nt" and e.errno == errno.EINVAL))


def silence(stream=None) -> None:
    """Point the stream's file descriptor at the null device, so that what is still buffered
    (and Python's own flush at exit) goes nowhere instead of failing again."""
    stream = stream or sys.stdout
    try:
        fd = stream.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def emit(text: str, stream=None) -> None:
    """Write and flush. When the reader of stdout has closed the pipe, stop quietly with exit
    code 0 as ripgrep does: the reader has what it wanted, and 1 would mean 错误."""
    stream = stream or sys.stdout
    try:
        stream.write(text)
        stream.flush()
    except OSError as e:
        if not closed_pipe(e):
            raise
        silence(stream)
        if stream is sys.stdout:
            raise SystemExit(0) from None


def rows(text: str, columns: int) -> int:
    """Screen rows ``text`` takes on a terminal ``columns`` wide (long lines wrap)."""
    columns = max(1, columns)
    return sum(max(1, -(-cells(line) // columns)) for line in text.rstrip("\n").split("\n"))


def should_page(text: str) -> bool:
    if settings.no_pager or not _isatty(sys.stdout):
        return False
    size = shutil.get_terminal_size()
    return rows(text, size.columns) >= size.lines


def pager_command() -> str | None:
    """``QABASE_PAGER``, else ``PAGER`` (empty or ``cat``: no pager), else ``less`` if installed."""
    for var in ("QABASE_PAGER", "PAGER"):
        if var in os.environ:
            value = os.environ[var].strip()
            return None if value in ("", "cat") else value
    return "less" if shutil.which("less") else None


def run_pager(text: str) -> bool:
    """Show ``text`` through the pager; False when none could be started (then print it)."""
    import shlex

    command = pager_command()
    if not command:
        return False
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")  # quit if one screen, keep colours, leave the text on screen
    env.setdefault("LV", "-c")
    try:
        argv = shlex.split(command, posix=os.name != "nt")
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, env=env)
    except (OSError, ValueError):
        return False
    try:
        proc.stdin.write(text.encode(getattr(sys.stdout, "encoding", None) or "utf-8", "replace"))
        proc.stdin.close()
    except OSError:
        pass  # the reader quit the pager before the end
    while True:
        try:
            proc.wait()
            return True
        except KeyboardInterrupt:  # the pager handles Ctrl+C itself
            continue


class Progress:
    """Progress on stderr: a redrawn line on a terminal, one line per phase otherwise."""

    def __init__(self, quiet: bool = False):
        self.tty = _isatty(sys.stderr)
        self.quiet = quiet
        self.last = None

    def __call__(self, phase: str, done: int, total: int):
        if self.quiet:
            return
        try:
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
        except OSError as e:
            if not closed_pipe(e):
                raise
            self.quiet = True
        self.last = phase

    def done(self):
        if self.tty and self.last and not self.quiet:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


# -- words ----------------------------------------------------------------------------------
STATUS_NAMES = {"draft": "草稿", "review": "待审", "published": "已发布", "withdrawn": "已撤回"}


def status_name(status: str) -> str:
    return STATUS_NAMES.get(status, status)


def parse_status(value: str) -> str | None:
    """``draft`` or ``草稿`` → ``draft``; None for anything else."""
    value = (value or "").strip().lower()
    for code, name in STATUS_NAMES.items():
        if value in (code, name):
            return code
    return None


NOTICE_COLUMNS = 80
SHORT_NOTICE = "说明：本知识库不是任何法院的正式发布，办案以官方文本为准；全文见 qabase --help"


def notice_line(notice: str) -> str:
    """The disclaimer as one line of at most 80 columns, after the results; the whole text is
    in --help, the README, the page footer and every --json."""
    full = "说明：" + " ".join(notice.split())
    return full if cells(full) <= NOTICE_COLUMNS else SHORT_NOTICE


_OS_TEXTS = {
    "EADDRINUSE": "端口已被其他程序占用",
    "EADDRNOTAVAIL": "本机没有这个地址",
    "EACCES": "没有权限",
    "EPERM": "没有权限",
    "ENOENT": "文件或目录不存在",
    "ENOTDIR": "路径中有一段不是目录",
    "EISDIR": "这是一个目录",
    "ENOSPC": "磁盘空间不足",
    "EROFS": "所在磁盘是只读的",
    "EIO": "磁盘读写出错",
    "ECONNREFUSED": "连接被拒绝",
    "EEXIST": "文件已存在",
    "EDQUOT": "超出磁盘配额",
}


def chinese(message: str) -> str:
    """Replace the system's English error texts inside a message ("Address already in use",
    "Permission denied"…) by Chinese ones."""
    for name, text in _OS_TEXTS.items():
        code = getattr(errno, name, None)
        if code is None:
            continue
        english = os.strerror(code)
        if english and english in message:
            message = message.replace(f"（{english}）", "").replace(english, text)
    return message


# -- help pages -----------------------------------------------------------------------------
GLOBAL_HEADING = "全局选项（放在命令之前或之后都可以）："
_TYPE_WORDS = {"int": "数字", "integer": "数字", "int range": "数字", "integer range": "数字",
               "float": "数值", "float range": "数值", "path": "路径", "str": "文字", "text": "文字"}


def metavar(p) -> str:
    if p.metavar:
        return p.metavar
    choices = getattr(p.type, "choices", None)
    if choices:
        return "|".join(map(str, choices))
    return _TYPE_WORDS.get(getattr(p.type, "name", ""), "值")


def is_argument(p) -> bool:
    return getattr(p, "param_type_name", "") == "argument"


def _option_names(p) -> list[str]:
    return sorted(p.opts, key=lambda o: (o.startswith("--"), o))


def param_hint(p) -> str:
    """How a parameter is named in messages: ``--limit（-n）`` or the argument's metavar."""
    if p is None:
        return "参数"
    if is_argument(p):
        return metavar(p)
    names = sorted(p.opts, key=lambda o: (not o.startswith("--"), o))
    return names[0] + (f"（{'、'.join(names[1:])}）" if len(names) > 1 else "")


def _label(p) -> str:
    if is_argument(p):
        return metavar(p) + ("…" if p.nargs == -1 else "")
    label = ", ".join(_option_names(p))
    if p.secondary_opts:
        label += " / " + ", ".join(p.secondary_opts)
    if not getattr(p, "is_flag", False) and not getattr(p, "count", False):
        label += " " + metavar(p)
    return label


def _number(x) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def range_text(t) -> str | None:
    lo, hi = getattr(t, "min", None), getattr(t, "max", None)
    if lo is not None and hi is not None:
        return f"{_number(lo)} 到 {_number(hi)}"
    if lo is not None:
        return f"不小于 {_number(lo)}" if not getattr(t, "min_open", False) else f"大于 {_number(lo)}"
    if hi is not None:
        return f"不大于 {_number(hi)}" if not getattr(t, "max_open", False) else f"小于 {_number(hi)}"
    return None


def _help_text(p) -> str:
    if getattr(p, "name", None) == "help":
        return "显示本帮助并退出。"
    text = (getattr(p, "help", None) or "").strip()
    extras = []
    r = range_text(p.type)
    if r:
        extras.append(f"取值 {r}" if " 到 " in r else r)
    if p.required:
        extras.append("必填")
    if getattr(p, "multiple", False):
        extras.append("可重复")
    d = p.default
    if (not is_argument(p) and not getattr(p, "is_flag", False) and d not in (None, "", (), [])
            and not callable(d) and d is not Ellipsis and "默认" not in text):
        extras.append(f"默认 {_number(d)}")
    if not extras:
        return text
    if text.endswith("。"):
        return f"{text[:-1]}（{'，'.join(extras)}）。"
    return f"{text}（{'，'.join(extras)}）"


def _param_rows(params, width_: int) -> list[str]:
    labels = [(_label(p), _help_text(p)) for p in params]
    if not labels:
        return []
    col = min(max(cells(lab) for lab, _ in labels), 26) + 4
    lines = []
    for lab, text in labels:
        head = "  " + lab
        if cells(head) + 2 > col:
            lines.append(head)
            lines += wrap(text, width_, " " * col)
        else:
            lines += wrap(text, width_, ljust(head, col), " " * col)
    return lines


def _join_lines(lines: list[str]) -> str:
    """Lines of one paragraph as one text: Chinese joins without a space, Latin with one."""
    text = ""
    for line in (x.strip() for x in lines):
        if text and line and text[-1].isascii() and line[0].isascii():
            text += " "
        text += line
    return text


def split_doc(doc: str | None) -> tuple[list[str], list[str]]:
    """A command's docstring as (paragraphs, examples). A paragraph starting with 示例 lists
    one example per line (the rest of its first line is one too); the others are prose."""
    doc = inspect.cleandoc(doc or "")
    paras, examples = [], []
    for chunk in re.split(r"\n\s*\n", doc):
        lines = [x for x in chunk.splitlines() if x.strip()]
        if not lines:
            continue
        if lines[0].startswith("示例"):
            first = re.sub(r"^示例[:：]?", "", lines[0]).strip()
            examples += ([first] if first else []) + [x.strip() for x in lines[1:]]
        else:
            paras.append(_join_lines(lines))
    return paras, examples


def _usage(path: str, cmd) -> str:
    pieces = [path, "[选项]"]
    for p in cmd.params:
        if is_argument(p):
            label = metavar(p) + ("…" if p.nargs == -1 else "")
            pieces.append(label if p.required else f"[{label}]")
    return " ".join(pieces)


def command_path(ctx) -> str:
    names = []
    while ctx is not None:
        names.append(ctx.info_name if ctx.parent is not None else "qabase")
        ctx = ctx.parent
    return " ".join(reversed(names))


def command_help(ctx, global_names: set[str]) -> str:
    """The help page of one command, in Chinese."""
    cmd = ctx.command
    w = help_width()
    paras, examples = split_doc(cmd.help)
    params = cmd.get_params(ctx)
    args = [p for p in params if is_argument(p)]
    own = [p for p in params if not is_argument(p) and p.name not in global_names and not p.hidden]
    glob = [p for p in params if p.name in global_names and not p.hidden]
    lines = wrap("用法：" + _usage(command_path(ctx), cmd), w, "", "      ")
    for para in paras:
        lines += [""] + wrap(para, w)
    for title, group in (("参数：", args), ("选项：", own), (GLOBAL_HEADING, glob)):
        if group:
            lines += ["", title] + _param_rows(group, w)
    if examples:
        lines += ["", "示例："] + ["  " + x for x in examples]
    return "\n".join(lines)


def group_help(ctx, sections: list[tuple[str, list]], notice: str) -> str:
    """The help page of ``qabase`` itself: what it is, the commands by who uses them, the
    global options, and the full disclaimer."""
    cmd = ctx.command
    w = help_width()
    paras, examples = split_doc(cmd.help)
    lines = wrap(paras[0], w) if paras else []
    lines += ["", "用法：qabase [全局选项] 命令 [参数和选项]"]
    for para in paras[1:]:
        lines += [""] + wrap(para, w)
    names = [name for _, commands in sections for name, _ in commands]
    col = max(cells(n) for n in names) + 5 if names else 10
    for title, commands in sections:
        lines += ["", title]
        for name, sub in commands:
            first = split_doc(sub.help)[0]
            short = first[0] if first else ""
            short = re.split(r"(?<=。)", short)[0]
            lines += wrap(short, w, ljust("  " + name, col), " " * col)
    glob = [p for p in cmd.get_params(ctx) if not p.hidden]
    lines += ["", GLOBAL_HEADING] + _param_rows(glob, w)
    if examples:
        lines += ["", "示例："] + ["  " + x for x in examples]
    lines += [""] + wrap("说明：" + notice, w)
    lines += ["", "每个命令的选项和示例：qabase 命令 --help"]
    return "\n".join(lines)


# -- usage errors ---------------------------------------------------------------------------
def _value_of(message: str) -> str | None:
    m = re.match(r"^(.*?) is not ", message or "")
    if not m:
        return None
    v = m.group(1).strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        v = v[1:-1]
    return v


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text or "")


def _bad_value(e) -> str:
    p = getattr(e, "param", None)
    hint = param_hint(p) if p is not None else "参数"
    hint += " " if hint[-1].isascii() else ""
    msg = getattr(e, "message", "") or ""
    if _has_chinese(msg):
        return f"{hint.strip()}：{msg}" if p is not None else msg
    value = _value_of(msg)
    shown = f"“{value}”" if value is not None else ""
    t = getattr(p, "type", None)
    kind = getattr(t, "name", "")
    if "range" in msg and "is not in the range" in msg:
        word = "整数" if kind in ("int range", "integer range") else "数"
        return f"{hint}的值{shown}超出范围：应为 {range_text(t)} 之间的{word}" if range_text(t) else \
            f"{hint}的值{shown}超出范围"
    if "is not a valid integer" in msg or (kind in ("int", "integer", "int range", "integer range") and "valid" in msg):
        return f"{hint}的值{shown}不是整数" + (f"：应为 {range_text(t)} 之间的整数" if range_text(t) else "")
    if "is not a valid float" in msg or kind in ("float", "float range"):
        return f"{hint}的值{shown}不是数字"
    if "boolean" in msg:
        return f"{hint}的值{shown}应为 是/否（true/false）"
    if "is not one of" in msg or "choice" in msg:
        choices = getattr(t, "choices", None) or []
        return f"{hint}的值{shown}不在可选范围内" + (f"：可用 {' | '.join(map(str, choices))}" if choices else "")
    m = re.match(r"^(?:File|Directory|Path) (['\"])(.*)\1 (.*?)\.?$", msg)
    if m:
        what = {"does not exist": "不存在", "is a directory": "是目录，这里需要文件",
                "is a file": "是文件，这里需要目录", "is not readable": "不可读",
                "is not writable": "不可写", "is not executable": "不可执行"}.get(m.group(3), "不可用")
        return f"{hint.strip()}：{m.group(2)} {what}"
    return f"{hint}的值不对"


def usage_message(e, commands: list[str] = ()) -> str:
    """A usage error of the bundled Click in Chinese, from the exception's kind and fields."""
    import difflib

    kind = type(e).__name__
    msg = getattr(e, "message", "") or ""
    if kind == "NoSuchOption":
        text = f"没有 {e.option_name} 这个选项"
        poss = sorted(getattr(e, "possibilities", None) or [])
        return text + (f"；是不是 {'、'.join(poss)}？" if poss else "")
    if kind == "BadOptionUsage":
        name = getattr(e, "option_name", "") or "选项"
        if "requires" in msg and "argument" in msg:
            return f"{name} 后面缺少它的值"
        if "does not take a value" in msg:
            return f"{name} 是开关，后面不带值"
        return msg if _has_chinese(msg) else f"{name} 的用法不对"
    if kind == "MissingParameter":
        p = getattr(e, "param", None)
        if p is None:
            return "缺少参数"
        what = f"缺少{metavar(p)}" if is_argument(p) else f"缺少必填的选项 {param_hint(p)}"
        help_ = (getattr(p, "help", None) or "").rstrip("。")
        return what + (f"：{help_}" if help_ else "")
    if kind == "BadParameter":
        return _bad_value(e)
    if kind == "BadArgumentUsage":
        return msg if _has_chinese(msg) else "参数的个数不对"
    m = re.match(r"^Got unexpected extra argument(?:\(s\)|s)? \((.*)\)$", msg)
    if m:
        return f"多余的参数：{m.group(1)}。含空格的文字请用引号括起来"
    m = re.match(r"^No such command (['\"])(.*?)\1", msg)
    if m:
        close = difflib.get_close_matches(m.group(2), list(commands), n=1, cutoff=0.5)
        return f"没有 {m.group(2)} 这个命令" + (f"；是不是 {close[0]}？" if close else "")
    if msg.startswith("Missing command"):
        return "缺少命令"
    return msg if _has_chinese(msg) else "命令行的写法不对"


def show_usage_error(e, file=None, commands: list[str] = ()) -> None:
    """Replaces the bundled Click's ``UsageError.show``: the error, the usage, where to read more."""
    ctx = getattr(e, "ctx", None)
    lines = [f"错误：{usage_message(e, commands)}。".replace("。。", "。").replace("？。", "？")]
    if ctx is not None:
        path = command_path(ctx)
        if ctx.parent is None:
            lines.append("用法：qabase [全局选项] 命令 [参数和选项]")
        else:
            lines.append("用法：" + _usage(path, ctx.command))
        lines.append(f"运行 {path} --help 查看全部选项和示例。")
    emit("\n".join(lines) + "\n", file or sys.stderr)
