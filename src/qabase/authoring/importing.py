"""Bringing existing Q&A collections in: CSV, JSON, JSONL, and 法答网精选答问 batches (read by
``fadawang``).

Every row is read and validated before anything is written; then each new entry is written
as a draft with the next free id of its topic, created exclusively so that two imports (or an
import and ``qabase new``) running at once can never overwrite each other's files. Each
imported entry records an ``import_key`` (a hash of its question and answer), so importing the
same file again finds its rows already present and writes nothing.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import QabaseError, os_reason, rel
# The 法答网 reader lives in its own module; its names are re-exported for callers of this one.
from .fadawang import FadawangBatch, FadawangQuestion, parse_fadawang, person  # noqa: F401

FIELDS = ("question", "answer", "topic", "aliases", "tags", "legal_basis", "source",
          "asked_by", "answered_by", "commented_by", "commentary", "reviewed_by")
LIST_FIELDS = ("aliases", "tags", "legal_basis")
PEOPLE_FIELDS = ("asked_by", "answered_by", "commented_by", "reviewed_by")
# Column names understood without --map, besides the field names themselves.
LABELS = {
    "question": ("问题", "问", "提问"),
    "answer": ("答复", "答案", "回答", "答", "答疑意见", "正文"),
    "topic": ("专题",),
    "aliases": ("其他问法", "别名"),
    "tags": ("标签",),
    "legal_basis": ("法律依据", "依据"),
    "source": ("来源",),
    "asked_by": ("提问人", "咨询人"),
    "answered_by": ("答复人", "答疑专家", "答疑人"),
    "commented_by": ("点评专家", "点评人"),
    "commentary": ("点评意见", "点评"),
    "reviewed_by": ("审核人",),
}
FORMATS = ("csv", "tsv", "json", "jsonl", "fadawang")
STATUSES = ("draft", "review")
MAX_FILE = 50_000_000
# Invisible characters that make an entry unreadable for ``qabase check`` (NUL) or for YAML
# (the other C0 and C1 controls); tab, newline and carriage return are text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {0: "空字符 NUL", 0x1b: "ESC", 0x7f: "DEL", 0x0b: "垂直制表符", 0x0c: "换页符"}


class ImportFailed(QabaseError):
    """The file as a whole cannot be imported (unreadable, not valid JSON, bad --map)."""


@dataclass
class Rejected:
    line: int
    reason: str

    def __str__(self):
        return f"第 {self.line} 行：{self.reason}"


@dataclass
class Planned:
    line: int
    id: str
    topic: str
    question: str
    path: Path
    text: str
    import_key: str
    fields: dict = field(default_factory=dict, repr=False)  # to re-render under another id
    body: str = field(default="", repr=False)
    extra: dict = field(default_factory=dict, repr=False)


@dataclass
class ImportResult:
    file: Path
    format: str
    rows: int = 0
    created: list[Planned] = field(default_factory=list)
    existing: list[tuple[int, str]] = field(default_factory=list)  # (line, id or reason)
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False

    def summary(self, blocked: bool = False) -> str:
        """The closing count every import prints: found, imported, skipped and why."""
        verb = "将新建" if (self.dry_run or blocked) else "新建"
        found, each = ("找到", "个问题") if self.format == "fadawang" else ("读取", "行")
        unit = "个" if self.format == "fadawang" else "行"
        text = f"{found} {self.rows} {each}：{verb} {len(self.created)} 条，已存在 {len(self.existing)} 条，" \
               f"不合格 {len(self.rejected)} {unit}"
        why = []
        if self.existing:
            why.append(f"{len(self.existing)} {unit}以前已导入过")
        if self.rejected:
            why.append(f"{len(self.rejected)} {unit}不合格（原因见上）")
        if why:
            text += f"；跳过 {len(self.existing) + len(self.rejected)} {unit}：{'，'.join(why)}"
        if blocked and self.created:
            text += f"；因为有不合格的{'问题' if unit == '个' else '行'}，其余 {len(self.created)} 条也没有写入"
        return text + "。"

    def to_dict(self, root=None) -> dict:
        return {
            "schema_version": 1, "file": str(self.file), "format": self.format, "rows": self.rows,
            "written": self.written, "dry_run": self.dry_run,
            "counts": {"found": self.rows, "created": len(self.created), "existing": len(self.existing),
                       "rejected": len(self.rejected), "warnings": len(self.warnings)},
            "created": [{"line": p.line, "id": p.id, "topic": p.topic, "question": p.question,
                         "path": rel(p.path, root)} for p in self.created],
            "existing": [{"line": line, "id": what} for line, what in self.existing],
            "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected],
            "warnings": self.warnings,
        }


def import_key(question: str, answer: str) -> str:
    """Stable for the same question and answer, whatever the whitespace around them."""
    q = " ".join(question.split())
    a = "\n".join(line.strip() for line in answer.replace("\r\n", "\n").strip().split("\n"))
    return hashlib.sha256(json.dumps([q, a], ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def existing_keys(kb) -> dict[str, str]:
    """import_key → entry id for every entry file, read with a regex so that a file with other
    errors still counts as imported."""
    from ..content.entries import entry_files

    out = {}
    key_re = re.compile(r"^import_key:\s*['\"]?([0-9a-f]{8,64})['\"]?\s*(#.*)?$", re.M)
    id_re = re.compile(r"^id:\s*['\"]?([^'\"\s#]+)", re.M)
    for p in entry_files(kb):
        try:
            head = p.read_text(encoding="utf-8-sig", errors="replace")[:20000]
        except OSError:
            continue
        m = key_re.search(head)
        if m:
            i = id_re.search(head)
            out[m.group(1)] = i.group(1) if i else p.stem
    return out


# -- reading files ------------------------------------------------------------------------------
def _check_path(path: Path) -> None:
    """Say what is wrong with the path itself before guessing a format from its name."""
    try:
        if path.is_dir():
            raise ImportFailed(f"{path} 是目录，不是文件；请给出要导入的文件，如 {path / '第五批.md'}")
        if not path.exists():
            raise ImportFailed(f"找不到文件：{path}")
    except OSError as e:
        raise ImportFailed(f"无法读取 {path}：{os_reason(e)}") from None


def _utf16(raw: bytes) -> str | None:
    """"UTF-16-LE" or "UTF-16-BE" when ``raw`` reads as sensible text in it, else None.

    Sensible: nearly every character is a line break, ASCII, CJK or its punctuation. UTF-8
    or GB18030 bytes read as UTF-16 land all over the code space and never pass."""
    head = raw[:4000] if len(raw) % 2 == 0 else raw[:3999]
    if len(head) < 8:
        return None
    for name in ("utf-16-le", "utf-16-be"):
        try:
            text = head.decode(name)
        except UnicodeDecodeError:
            continue
        good = sum(1 for ch in text if ch in "\r\n\t" or " " <= ch <= "~" or "\u3000" <= ch <= "\u303f"
                   or "\u4e00" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" or "\u2000" <= ch <= "\u206f")
        if good >= 0.95 * len(text):
            return name.upper()
    return None


def _read_text(path: Path, encoding: str) -> str:
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            raise ImportFailed(f"{name} 过大（{size} 字节），请拆分后导入。")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportFailed(f"找不到文件：{path}") from None
    except IsADirectoryError:
        raise ImportFailed(f"{path} 是目录，不是文件；请给出要导入的文件。") from None
    except OSError as e:
        raise ImportFailed(f"无法读取 {path}：{os_reason(e)}") from None
    if not raw:
        raise ImportFailed(f"{name} 是空文件（0 字节），没有可导入的内容；请确认文件已完整保存或下载。")
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise ImportFailed(f"未知的编码：{encoding}（常用的有 utf-8、gb18030、utf-16）") from None
    wide = codec.startswith(("utf-16", "utf-32"))
    if not wide:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise ImportFailed(f"{name} 是 UTF-16 编码（文件开头有 UTF-16 的字节顺序标记），按 {encoding} 无法读取；"
                               "请加 --encoding utf-16，或把文件另存为 UTF-8。")
    utf8 = codec == "utf-8"
    guess = None if wide else _utf16(raw)
    if guess and (b"\x00" in raw or not _decodes(raw, "utf-8-sig" if utf8 else encoding)):
        raise ImportFailed(f"{name} 看起来是 UTF-16 编码（没有字节顺序标记，按 {guess} 可以读通），按 {encoding} 无法读取；"
                           f"请加 --encoding {guess.lower()}，或把文件另存为 UTF-8。")
    try:
        text = raw.decode("utf-8-sig" if utf8 else encoding)
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        if e.end >= len(raw) and e.reason in ("unexpected end of data", "incomplete multibyte sequence"):
            raise ImportFailed(f"{name} 的末尾被截断（第 {line} 行）：最后一个字符只有一部分字节（按 {encoding} 读取），"
                               "文件可能没有完整复制或下载；请重新获取完整的文件。") from None
        what = f"按 {encoding} 读取 {name} 失败：第 {line} 行有不是 {encoding} 编码的字节（{raw[e.start:e.end][:4].hex(' ')}）"
        if utf8:
            try:
                raw.decode("gb18030")
                hint = "。文件可能是 GBK/GB18030 编码（Excel 导出的 CSV 常是这样），可加 --encoding gb18030"
            except UnicodeDecodeError:
                hint = "。它也不是 GB18030 编码，文件可能已损坏或不是文本文件"
        else:
            try:
                raw.decode("utf-8-sig")
                hint = "。文件是 UTF-8 编码，请去掉 --encoding（默认按 utf-8 读取）"
            except UnicodeDecodeError:
                hint = "。它也不是 UTF-8 编码，文件可能已损坏或不是文本文件"
        raise ImportFailed(what + hint) from None
    if not utf8 and not wide and _is_utf8(raw):
        # GB18030 decodes most UTF-8 without an error, into mojibake; a file that is valid
        # UTF-8 with Chinese text in it is UTF-8.
        raise ImportFailed(f"{name} 是 UTF-8 编码，但指定了 --encoding {encoding}：按 {encoding} 读取会得到乱码。"
                           "请去掉 --encoding（默认按 utf-8 读取）。")
    if not text.lstrip("\ufeff").strip():
        raise ImportFailed(f"{name} 只有空白（{len(raw)} 字节），没有可导入的内容。")
    return text


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _is_utf8(raw: bytes) -> bool:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return sum(1 for ch in text if ord(ch) > 0x7f) >= 4


def clean_controls(text: str, name: str, warnings: list[str]) -> str:
    """Remove control characters, saying on which lines; refuse a file that is mostly NULs.

    They are invisible, no one means to import them, and a NUL in an entry makes ``qabase
    check`` fail for the whole knowledge base, which blocks publishing."""
    if not _CONTROL.search(text):
        return text
    nuls = text.count("\x00")
    if nuls > max(16, len(text) // 100):
        line = text[: text.index("\x00")].count("\n") + 1
        raise ImportFailed(f"{name} 含有 {nuls} 个空字符（\\0，从第 {line} 行起），不像文本文件；"
                           "如果它是 UTF-16 编码，请加 --encoding utf-16，否则请另存为 UTF-8 文本。")
    found: dict[int, set[str]] = {}
    for no, line in enumerate(text.split("\n"), 1):
        for m in _CONTROL.finditer(line):
            code = ord(m.group(0))
            found.setdefault(no, set()).add(f"U+{code:04X}" + (f"（{_CONTROL_NAMES[code]}）" if code in _CONTROL_NAMES else ""))
    shown = list(found.items())[:10]
    for no, names in shown:
        warnings.append(f"第 {no} 行：含有控制字符 {'、'.join(sorted(names))}，已删除（它们不可见，留在条目里会使 qabase check 报错）")
    if len(found) > len(shown):
        warnings.append(f"另有 {len(found) - len(shown)} 行含有控制字符，也已删除")
    return _CONTROL.sub("", text)


def detect_format(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in (".csv",):
        return "csv"
    if ext in (".tsv", ".tab"):
        return "tsv"
    if ext == ".json":
        return "json"
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    if ext in (".md", ".markdown", ".txt"):
        return "fadawang"
    raise ImportFailed(f"无法从扩展名判断 {path.name} 的格式；请用 --format 指定（{' | '.join(FORMATS)}）。")


def _csv_rows(text: str, delimiter: str):
    """(header, [(line, {column: cell})], rejected); line is where the record starts."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, rejected = [], []
    header = None
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                dup = sorted({h for h in header if header.count(h) > 1 and h})
                if dup:
                    raise ImportFailed(f"表头第 {line} 行有重复的列名：{'、'.join(dup)}")
                continue
            if len(cells) > len(header):
                extra = [c for c in cells[len(header):] if c.strip()]
                if extra:
                    rejected.append(Rejected(line, f"比表头多出 {len(cells) - len(header)} 列（单元格里的逗号要用引号括起来）"))
                    continue
            rows.append((line, {h: c for h, c in zip(header, cells) if h}))
    except csv.Error as e:
        raise ImportFailed(f"CSV 第 {reader.line_num} 行格式错误：{e}") from None
    if header is None:
        raise ImportFailed("文件里没有内容：连表头也没有。")
    # The lenient reader takes an unclosed quote as running to the end of the file; a strict
    # one tells that apart, and it almost always means the file was cut off.
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            raise ImportFailed(f"CSV 第 {line} 行起的引号一直没有闭合，到文件末尾为止：文件似乎被截断，"
                               "或单元格里少了一个引号。") from None
    return header, rows, rejected


def _json_rows(text: str):
    """A JSON array of objects; each object's line is found by decoding element by element."""
    dec = json.JSONDecoder()
    s = text.lstrip("\ufeff")
    pos = _skip_ws(s, 0)
    end_of_text = len(s.rstrip())

    def line_at(i):
        return s.count("\n", 0, i) + 1

    def fail(i, msg, cut=False):
        if cut or i >= end_of_text:
            raise ImportFailed(f"JSON 在第 {line_at(i)} 行意外结束（{msg}）：文件似乎被截断，缺少结尾的 ] 或 }}")
        raise ImportFailed(f"JSON 第 {line_at(i)} 行：{msg}")

    if pos >= len(s) or s[pos] != "[":
        fail(pos, "应是由对象组成的数组（[ {…}, {…} ]）")
    pos = _skip_ws(s, pos + 1)
    rows, rejected = [], []
    if pos < len(s) and s[pos] == "]":
        return rows, rejected
    while True:
        try:
            obj, end = dec.raw_decode(s, pos)
        except json.JSONDecodeError as e:
            # An unterminated string runs to the end of the text: the file stops inside it.
            fail(e.pos, f"不是有效的 JSON（{e.msg}）", cut=e.msg.startswith("Unterminated string"))
        if isinstance(obj, dict):
            rows.append((line_at(pos), obj))
        else:
            rejected.append(Rejected(line_at(pos), "数组元素应是对象（{\"question\": …, \"answer\": …}）"))
        pos = _skip_ws(s, end)
        if pos < len(s) and s[pos] == ",":
            pos = _skip_ws(s, pos + 1)
            continue
        if pos < len(s) and s[pos] == "]":
            if _skip_ws(s, pos + 1) != len(s):
                fail(pos + 1, "数组结束后还有多余内容")
            return rows, rejected
        fail(pos, "数组元素之间应有逗号，或以 ] 结束")


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t\r\n":
        i += 1
    return i


def _jsonl_rows(text: str):
    rows, rejected = [], []
    lines = text.lstrip("\ufeff").splitlines()
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            cut = "；这是最后一行且没有换行结尾，文件似乎被截断" if no == len(lines) and not text.endswith("\n") else ""
            rejected.append(Rejected(no, f"不是有效的 JSON（{e.msg}，第 {e.colno} 列）{cut}"))
            continue
        if not isinstance(obj, dict):
            rejected.append(Rejected(no, "每行应是一个对象（{\"question\": …, \"answer\": …}）"))
            continue
        rows.append((no, obj))
    return rows, rejected


def parse_map(items: list[str] | None) -> dict[str, str | None]:
    """``--map 问题=question`` → {"问题": "question"}; ``--map 备注=`` ignores a column."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ImportFailed(f"--map 的写法是 列名=字段，如 --map 问题=question；收到：{item}")
        src, dst = item.split("=", 1)
        src, dst = src.strip(), dst.strip()
        if not src:
            raise ImportFailed(f"--map {item}：缺少列名")
        if dst and dst not in FIELDS:
            raise ImportFailed(f"--map {item}：没有字段 {dst}；可用的字段：{'、'.join(FIELDS)}（留空表示忽略该列）")
        out[src] = dst or None
    return out


def _auto_field(column: str) -> str | None:
    c = column.strip()
    if c in FIELDS:
        return c
    for f, names in LABELS.items():
        if c in names:
            return f
    return None


def resolve_columns(columns: list[str], mapping: dict[str, str | None]) -> tuple[dict[str, str], list[str]]:
    """column → field for the columns seen; and the columns that map to nothing."""
    out, unknown = {}, []
    for c in columns:
        f = mapping[c] if c in mapping else _auto_field(c)
        if f:
            out[c] = f
        elif c not in mapping:
            unknown.append(c)
    taken: dict[str, list[str]] = {}
    for c, f in out.items():
        taken.setdefault(f, []).append(c)
    clash = {f: cs for f, cs in taken.items() if len(cs) > 1}
    if clash:
        f, cs = next(iter(clash.items()))
        raise ImportFailed(f"列 {'、'.join(cs)} 都对应字段 {f}；请用 --map 列= 忽略其中一列")
    return out, unknown


# -- turning rows into entries ------------------------------------------------------------------
_LIST_SPLIT = {
    "aliases": re.compile(r"\s*(?:\r?\n|[；;|])\s*"),
    "legal_basis": re.compile(r"\s*(?:\r?\n|[；;|])\s*"),
    "tags": re.compile(r"\s*(?:\r?\n|[；;|,，、])\s*"),
}


def _clean_row(raw: dict, columns: dict[str, str]) -> tuple[dict, str | None]:
    """Mapped field values, or a reason to reject the row."""
    out: dict = {}
    for col, value in raw.items():
        f = columns.get(col)
        if f is None:
            continue
        if value is None:
            continue
        if f in LIST_FIELDS:
            if isinstance(value, list):
                if not all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in value):
                    return {}, f"{col} 应是文字列表"
                items = [str(x).strip() for x in value]
            elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
                items = _LIST_SPLIT[f].split(str(value).strip())
            else:
                return {}, f"{col} 应是文字或文字列表"
            out[f] = [" ".join(x.split()) for x in items if x.strip()]
        else:
            if isinstance(value, (dict, list, bool)):
                return {}, f"{col} 应是一段文字"
            out[f] = str(value)
    return out, None


def _paragraphs(value) -> str:
    return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _validate(values: dict, kb, default_topic) -> tuple[dict, str | None]:
    from ..content.citations import CitationSyntaxError, parse_citation

    question = " ".join((values.get("question") or "").split())
    answer = _paragraphs(values.get("answer"))
    if not question:
        return {}, "问题（question）为空"
    if not answer:
        return {}, "答复（answer）为空"
    if re.match(r"^-{3,}\s*$", answer.split("\n", 1)[0]):
        return {}, "答复不能以 --- 开头（会被当作 YAML 头部）"
    topic_value = (values.get("topic") or "").strip()
    if topic_value:
        topic = kb.find_topic(topic_value)
        if topic is None:
            return {}, f"未知专题：{topic_value}（可用：{'、'.join(f'{t.slug}（{t.name}）' for t in kb.topics)}）"
    elif default_topic is not None:
        topic = default_topic
    else:
        return {}, "没有专题：这一行没有 topic，也没有用 --topic 为整个文件指定"
    for c in values.get("legal_basis", []):
        try:
            parse_citation(c)
        except CitationSyntaxError as e:
            return {}, f"法律依据无法解析：{c}（{e}）"
    clean = {"question": question, "answer": answer, "topic": topic}
    for key in ("aliases", "tags", "legal_basis"):
        clean[key] = values.get(key, [])
    for key in ("source", *PEOPLE_FIELDS):
        v = " ".join((values.get(key) or "").split())
        clean[key] = v or None
    clean["commentary"] = _paragraphs(values.get("commentary")) or None
    return clean, None


def _with_commentary(text: str, extra: dict) -> str:
    """Put the commentary fields right after ``answered_by``, where a reader looks for who
    said what. (They are not in workflow.FIELD_ORDER: only imports write them.)"""
    from .workflow import yaml_scalar

    present = {k: v for k, v in extra.items() if v}
    if not present:
        return text
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("answered_by:")) + 1
    lines[at:at] = [f"{k}: {yaml_scalar(v)}" for k, v in present.items()]
    return "\n".join(lines)


def _render(fields: dict, body: str, extra: dict) -> str:
    from .workflow import render_entry

    return _with_commentary(render_entry(fields, body), extra)


def _plan(kbase, rows, result: ImportResult, status: str, default_source: str | None) -> None:
    """Fill result.created / existing / rejected from validated rows (dicts with ``line``)."""
    from . import workflow as authoring
    from ..content import duplicates
    from ..content.entries import load_entries

    kb = kbase.kb
    have = existing_keys(kb)
    seen: dict[str, int] = {}
    taken: dict[str, set[int]] = {}
    loaded = load_entries(kb)
    limit = duplicates.threshold(kb)
    matcher = duplicates.Matcher(loaded.entries)  # grows with the rows planned, to catch repeats within the file
    planned = set()
    for row in rows:
        line = row["line"]
        key = import_key(row["question"], row["answer"])
        if key in have:
            result.existing.append((line, have[key]))
            continue
        if key in seen:
            result.existing.append((line, f"与第 {seen[key]} 行相同"))
            continue
        seen[key] = line
        topic = row["topic"]
        if topic.prefix not in taken:
            taken[topic.prefix] = authoring.used_numbers(kb, topic.prefix)
        nums = taken[topic.prefix]
        n = max(nums, default=0) + 1
        nums.add(n)
        eid = f"{topic.prefix}-{n:03d}"
        path = kb.entries_dir / topic.slug / f"{eid}.md"
        fields = {k: None for k in authoring.FIELD_ORDER}
        fields.update(
            id=eid, topic=topic.slug, question=row["question"], aliases=row["aliases"], tags=row["tags"],
            status=status, legal_basis=row["legal_basis"], source=row["source"] or default_source,
            asked_by=row["asked_by"], answered_by=row["answered_by"], reviewed_by=row["reviewed_by"],
            import_key=key,
        )
        extra = {"commented_by": row["commented_by"], "commentary": row["commentary"]}
        text = _render(fields, row["answer"], extra)
        result.created.append(Planned(line, eid, topic.slug, row["question"], path, text, key,
                                      fields, row["answer"], extra))
        for d in matcher.match([row["question"], *row["aliases"]], limit, eid):
            where = "（同一文件中将新建的条目）" if d.b_id in planned else ""
            result.warnings.append(f"第 {line} 行：{d.message()}{where}")
        planned.add(eid)
        for text in [row["question"], *row["aliases"]]:
            matcher.add(eid, text)


def _write(kbase, result: ImportResult) -> None:
    """Create every planned file exclusively. A number taken meanwhile (by a process that did
    not wait for the lock, or a file added by hand) moves the entry to the next free one: its
    text is rendered again under that id, and the result reports the id actually written."""
    from . import workflow as authoring

    kb = kbase.kb
    written = []
    try:
        for p in result.created:
            p.path.parent.mkdir(parents=True, exist_ok=True)
            while not authoring.create_exclusive(p.path, p.text.encode("utf-8")):
                prefix = p.id.rsplit("-", 1)[0]
                nums = authoring.used_numbers(kb, prefix) | {int(x.id.rsplit("-", 1)[1]) for x in result.created
                                                              if x.id.startswith(prefix + "-")}
                eid = f"{prefix}-{max(nums, default=0) + 1:03d}"
                p.fields["id"] = eid
                p.id, p.path = eid, p.path.with_name(f"{eid}.md")
                p.text = _render(p.fields, p.body, p.extra)
            written.append(p)
    except OSError as e:
        done = "、".join(x.id for x in written) or "无"
        raise ImportFailed(f"写入 {rel(p.path, kb.root)} 失败：{os_reason(e)}。已写入的条目：{done}；"
                           "解决问题后重新运行同一命令，已写入的会被识别为已存在、不会重复导入。") from None
    result.written = True


def import_file(kbase, path: Path | str, *, fmt: str | None = None, topic: str | None = None,
                mapping: list[str] | dict | None = None, status: str = "draft", encoding: str = "utf-8",
                source: str | None = None, dry_run: bool = False, skip_invalid: bool = False) -> ImportResult:
    """Import ``path`` into the knowledge base. Nothing is written when any row is rejected
    (unless ``skip_invalid``) or when ``dry_run``."""
    from . import workflow as authoring

    path = Path(path)
    _check_path(path)
    fmt = (fmt or detect_format(path)).lower()
    if fmt not in FORMATS:
        raise ImportFailed(f"未知格式：{fmt}（可用：{' | '.join(FORMATS)}）")
    if status not in STATUSES:
        raise ImportFailed(f"导入的条目只能是 draft 或 review，不能是 {status}：发布要经过 qabase publish。")
    default_topic = kbase.kb.topic(topic) if topic else None
    if fmt == "fadawang" and default_topic is None:
        raise ImportFailed("导入法答网答问要用 --topic 指定专题，如 --topic procedure-linkage")
    text = _read_text(path, encoding)
    result = ImportResult(file=path, format=fmt, dry_run=dry_run)
    text = clean_controls(text, path.name, result.warnings)

    if fmt == "fadawang":
        parsed = parse_fadawang(text)
        result.warnings += [f"第 {line} 行：{msg}" for line, msg in parsed.warnings]
        result.rejected += [Rejected(line, reason) for line, reason in parsed.rejected]
        if not parsed.questions and not parsed.rejected:
            raise ImportFailed(f"{path.name} 里没有找到“## 问题N：”开头的问题；这不是法答网精选答问的格式。")
        raw_rows = []
        for q in parsed.questions:
            src = f"{parsed.title}，问题{q.number}" + "".join(f"；{n}" for n in q.notes)
            raw_rows.append((q.line, {"question": q.question, "answer": q.answer, "asked_by": q.asked_by,
                                      "answered_by": q.answered_by, "commented_by": q.commented_by,
                                      "commentary": q.commentary, "source": src}))
        columns = {k: k for k in FIELDS}
    else:
        maps = mapping if isinstance(mapping, dict) else parse_map(mapping)
        if fmt in ("csv", "tsv"):
            header, raw_rows, rejected = _csv_rows(text, "," if fmt == "csv" else "\t")
            missing = [c for c in maps if c not in header]
            if missing:
                raise ImportFailed(f"--map 中的列 {'、'.join(missing)} 不在表头中（表头：{'、'.join(h for h in header if h)}）")
            names = [h for h in header if h]
        else:
            raw_rows, rejected = _json_rows(text) if fmt == "json" else _jsonl_rows(text)
            names = []
            for _, obj in raw_rows:
                names += [k for k in obj if k not in names]
        result.rejected += rejected
        columns, unknown = resolve_columns(names, maps)
        if unknown:
            result.warnings.append(f"忽略未对应到字段的列：{'、'.join(unknown)}（用 --map 列=字段 导入，或 --map 列= 表示忽略）")
        if "question" not in columns.values() or "answer" not in columns.values():
            need = [f for f in ("question", "answer") if f not in columns.values()]
            raise ImportFailed(f"找不到 {'、'.join(need)} 对应的列；请用 --map 指定，如 --map 问题=question --map 答复=answer")

    result.rows = len(raw_rows) + len(result.rejected)
    rows = []
    for line, raw in raw_rows:
        values, why = _clean_row(raw, columns)
        if why is None:
            values, why = _validate(values, kbase.kb, default_topic)
        if why:
            result.rejected.append(Rejected(line, why))
            continue
        values["line"] = line
        rows.append(values)
    result.rejected.sort(key=lambda r: r.line)
    if dry_run:
        _plan(kbase, rows, result, status, source or f"导入自 {path.name}")
        return result
    # Deciding which rows are new and which numbers are free, then writing, is one step under
    # the entries lock: otherwise two imports at once both see the same free numbers, or both
    # see a row as new and import it twice.
    with authoring.entries_lock(kbase.kb):
        _plan(kbase, rows, result, status, source or f"导入自 {path.name}")
        if result.rejected and not skip_invalid:
            return result
        _write(kbase, result)
    return result
