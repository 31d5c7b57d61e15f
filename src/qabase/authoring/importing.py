"""Bringing existing Q&A collections in: CSV, JSON, JSONL, and the layout in which the Supreme
People's Court publishes 法答网精选答问.

Every row is read and validated before anything is written; then each new entry is written
atomically as a draft with the next free id of its topic. Each imported entry records an
``import_key`` (a hash of its question and answer), so importing the same file again finds
its rows already present and writes nothing.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import QabaseError, rel

FIELDS = ("question", "answer", "topic", "aliases", "tags", "legal_basis", "source",
          "asked_by", "answered_by", "reviewed_by")
LIST_FIELDS = ("aliases", "tags", "legal_basis")
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
    "reviewed_by": ("审核人",),
}
FORMATS = ("csv", "tsv", "json", "jsonl", "fadawang")
STATUSES = ("draft", "review")
MAX_FILE = 50_000_000


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

    def to_dict(self, root=None) -> dict:
        return {
            "schema_version": 1, "file": str(self.file), "format": self.format, "rows": self.rows,
            "written": self.written, "dry_run": self.dry_run,
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
def _read_text(path: Path, encoding: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            raise ImportFailed(f"{path} 过大（{size} 字节），请拆分后导入。")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportFailed(f"找不到文件：{path}") from None
    except IsADirectoryError:
        raise ImportFailed(f"{path} 是目录，请给出文件。") from None
    except OSError as e:
        raise ImportFailed(f"无法读取 {path}：{e.strerror or e}") from None
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        return raw.decode(enc)
    except LookupError:
        raise ImportFailed(f"未知的编码：{encoding}") from None
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ImportFailed(f"{path.name} 第 {line} 行不是 {encoding} 编码；Excel 导出的 CSV 常是 GBK，"
                           "可加 --encoding gb18030") from None


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
        raise ImportFailed("文件是空的：没有表头。")
    return header, rows, rejected


def _json_rows(text: str):
    """A JSON array of objects; each object's line is found by decoding element by element."""
    dec = json.JSONDecoder()
    s = text.lstrip("\ufeff")
    pos = _skip_ws(s, 0)

    def line_at(i):
        return s.count("\n", 0, i) + 1

    def fail(i, msg):
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
            fail(e.pos, f"不是有效的 JSON（{e.msg}）")
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
    for no, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            rejected.append(Rejected(no, f"不是有效的 JSON（{e.msg}，第 {e.colno} 列）"))
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


def _validate(values: dict, kb, default_topic) -> tuple[dict, str | None]:
    from ..content.citations import CitationSyntaxError, parse_citation

    question = " ".join((values.get("question") or "").split())
    answer = (values.get("answer") or "").replace("\r\n", "\n").replace("\r", "\n").strip()
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
    for key in ("source", "asked_by", "answered_by", "reviewed_by"):
        v = " ".join((values.get(key) or "").split())
        clean[key] = v or None
    return clean, None


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
        text = authoring.render_entry(fields, row["answer"])
        result.created.append(Planned(line, eid, topic.slug, row["question"], path, text, key))
        for d in matcher.match([row["question"], *row["aliases"]], limit, eid):
            where = "（同一文件中将新建的条目）" if d.b_id in planned else ""
            result.warnings.append(f"第 {line} 行：{d.message()}{where}")
        planned.add(eid)
        for text in [row["question"], *row["aliases"]]:
            matcher.add(eid, text)


def _write(result: ImportResult) -> None:
    from ..search.storage import atomic_write

    for p in result.created:
        if p.path.exists():
            raise ImportFailed(f"{p.path} 已存在，未覆盖；请运行 qabase check 检查编号后重新导入。")
    for p in result.created:
        p.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(p.path, p.text.encode("utf-8"))
    result.written = True


def import_file(kbase, path: Path | str, *, fmt: str | None = None, topic: str | None = None,
                mapping: list[str] | dict | None = None, status: str = "draft", encoding: str = "utf-8",
                source: str | None = None, dry_run: bool = False, skip_invalid: bool = False) -> ImportResult:
    """Import ``path`` into the knowledge base. Nothing is written when any row is rejected
    (unless ``skip_invalid``) or when ``dry_run``."""
    path = Path(path)
    fmt = (fmt or detect_format(path)).lower()
    if fmt not in FORMATS:
        raise ImportFailed(f"未知格式：{fmt}（可用：{' | '.join(FORMATS)}）")
    if status not in STATUSES:
        raise ImportFailed(f"导入的条目只能是 draft 或 review，不能是 {status}：发布要经过 qabase publish。")
    default_topic = kbase.kb.topic(topic) if topic else None
    text = _read_text(path, encoding)
    result = ImportResult(file=path, format=fmt, dry_run=dry_run)

    if fmt == "fadawang":
        if default_topic is None:
            raise ImportFailed("导入法答网答问要用 --topic 指定专题，如 --topic procedure-linkage")
        parsed = parse_fadawang(text)
        result.warnings += parsed.warnings
        result.rejected += parsed.rejected
        raw_rows = [(q.line, {"question": q.question, "answer": q.answer, "asked_by": q.asked_by,
                              "answered_by": q.answered_by, "source": f"{parsed.title}，问题{q.number}"})
                    for q in parsed.questions]
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
    _plan(kbase, rows, result, status, source or f"导入自 {path.name}")
    if dry_run or (result.rejected and not skip_invalid):
        return result
    _write(result)
    return result


# -- 法答网精选答问 ---------------------------------------------------------------------------------
_TITLE = re.compile(r"^#\s+(.+?)\s*$")
_QUESTION = re.compile(r"^##\s*问题\s*([0-9０-９一二三四五六七八九十百零〇]+)\s*[：:]?\s*(.*)$")
_ANSWER = re.compile(r"^(答疑意见|点评意见)\s*[：:]\s*(.*)$")
_ASKER = re.compile(r"^(咨询人|提问人)\s*[：:]\s*(.*)$")
_ANSWERER = re.compile(r"^(答疑专家|点评专家|答疑人)\s*[：:]\s*(.*)$")
_TRAILER = re.compile(r"^责任编辑\s*[：:]")
_SPACES = re.compile(r"[\s\u00a0\u3000\u2002\u2003\u2009\u200b]+")


@dataclass
class FadawangQuestion:
    number: str
    line: int
    question: str
    answer: str
    asked_by: str | None
    answered_by: str | None


@dataclass
class FadawangBatch:
    title: str
    questions: list[FadawangQuestion]
    rejected: list[Rejected]
    warnings: list[str]


def person(text: str) -> str:
    """``单位<U+00A0 and spaces>姓<spaces>名`` → ``单位 姓名``.

    The unit ends at the first run of blanks holding a U+00A0 (or at the first run of blanks
    when there is none); the blanks inside the name are typesetting and dropped."""
    text = text.replace("\u3000", " ").strip(" \u00a0\t")
    runs = list(re.finditer(r"[ \t\u00a0]+", text))
    if not runs:
        return text
    cut = next((r for r in runs if "\u00a0" in r.group(0)), runs[0])
    unit, name = text[: cut.start()], text[cut.end():]
    name = re.sub(r"[ \t\u00a0]+", "", name)
    return f"{unit} {name}" if name else unit


def parse_fadawang(text: str) -> FadawangBatch:
    """Split one published batch into questions. A question starts at ``## 问题N：``; its answer
    starts at ``答疑意见：`` (or ``点评意见：``) and runs over the following unprefixed paragraphs;
    who asked and who answered come from ``咨询人``/``提问人`` and ``答疑专家``/``点评专家``/``答疑人``;
    ``责任编辑：`` ends the batch."""
    title = ""
    questions: list[FadawangQuestion] = []
    rejected: list[Rejected] = []
    warnings: list[str] = []
    cur = None

    def close():
        nonlocal cur
        if cur is None:
            return
        q = "".join(cur["question"]).strip()  # a question broken over lines is one Chinese sentence
        answer = "\n\n".join(cur["answer"]).strip()
        if not q:
            rejected.append(Rejected(cur["line"], f"问题{cur['number']}：问题原文为空"))
        elif not cur["answer_seen"] or not answer:
            rejected.append(Rejected(cur["line"], f"问题{cur['number']}：没有找到答疑意见（应以“答疑意见：”开头）"))
        else:
            if not cur["answered_by"]:
                warnings.append(f"第 {cur['line']} 行：问题{cur['number']} 没有答疑专家（答疑专家：/点评专家：/答疑人：）")
            questions.append(FadawangQuestion(cur["number"], cur["line"], q, answer,
                                              cur["asked_by"], cur["answered_by"]))
        cur = None

    for no, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        line = raw.strip(" \t\u00a0\u3000\ufeff")
        if not line:
            continue
        if _TRAILER.match(line):
            close()
            break
        m = _QUESTION.match(line)
        if m:
            close()
            number = m.group(1).translate(str.maketrans("０１２３４５６７８９", "0123456789"))
            cur = {"number": number, "line": no, "question": [_SPACES.sub(" ", m.group(2)).strip()] if m.group(2).strip() else [],
                   "answer": [], "answer_seen": False, "asked_by": None, "answered_by": None}
            continue
        m = _TITLE.match(line)
        if m and cur is None:
            title = title or _SPACES.sub(" ", m.group(1)).strip()
            continue
        if cur is None:
            continue  # an introduction before the first question is not part of any entry
        m = _ASKER.match(line)
        if m:
            cur["asked_by"] = person(m.group(2)) or None
            continue
        m = _ANSWERER.match(line)
        if m:
            cur["answered_by"] = person(m.group(2)) or None
            continue
        m = _ANSWER.match(line)
        if m:
            cur["answer_seen"] = True
            if m.group(2).strip():
                cur["answer"].append(_SPACES.sub(" ", m.group(2)).strip())
            continue
        text_line = _SPACES.sub(" ", line).strip()
        if cur["answer_seen"]:
            cur["answer"].append(text_line)
        else:
            cur["question"].append(text_line)
    close()
    if not title:
        warnings.append("第 1 行：没有“# ”标题，来源只记为“法答网精选答问”")
        title = "法答网精选答问"
    if not questions and not rejected:
        raise ImportFailed("没有找到“## 问题N：”开头的问题；这不是法答网精选答问的格式。")
    numbers = [q.number for q in questions]
    dup = sorted({n for n in numbers if numbers.count(n) > 1})
    if dup:
        warnings.append(f"问题编号重复：{'、'.join(dup)}")
    return FadawangBatch(title, questions, rejected, warnings)
