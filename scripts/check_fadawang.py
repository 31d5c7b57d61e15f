#!/usr/bin/env python3
"""Import every published 法答网精选答问 batch under a folder (and its subfolders) into a
throwaway knowledge base per collection, and verify each entry against an independent reading
of the file: question, every answer paragraph, asker, answerer, commentator and commentary.

An item passes when it became exactly one entry with all of these right. The run fails on any
item lost without a report, merged into another, split, or with a role given to the wrong
person; on HTML in an item that the import did not mention; on a second import that changes
anything; and on a ``qabase check`` error afterwards. An item the import reported (with its
line) instead of importing it is listed, and fails the run too unless ``--allow-reported``:
the published batches are all importable, so a report on them is a regression. It prints a count per collection (one folder = one
collection; each gets its own knowledge base, since the collections publish the same items).

The reading here shares no code with qabase's parser and works differently on purpose: it
cuts the file at every line starting with a question number, and finds the labels anywhere in
a line rather than walking a state machine. Two readings that agree are unlikely to share a
mistake.

    .venv/bin/python scripts/check_fadawang.py ../shared/reference/fadawang
"""
from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KB_FILES = ("topics.yaml", "config.yaml", "userdict.txt", "synonyms.txt", "stopwords.txt", "instruments.yaml")
ROLES = {"答疑意见": "answer", "点评意见": "commentary", "咨询人": "asker", "提问人": "asker",
         "答疑专家": "answerer", "答疑人": "answerer", "点评专家": "commentator", "点评人": "commentator"}
ANY_LABEL = re.compile(r"(答疑意见|点评意见|咨询人|提问人|答疑专家|答疑人|点评专家|点评人)\**\s*[：:]")
START = re.compile(r"^(#+)?\s*\**\s*问题\s*(\d+)\s*\**\s*([：:])?")
NOT_FILES = {"readme.md", "sources.md"}


# -- the independent reading ------------------------------------------------------------------
def squash(text: str | None) -> str:
    return re.sub(r"\s+", "", (text or "").replace("\u00a0", " ").replace("\u3000", " "))


def bare(line: str) -> str:
    """A line without what is only presentation: tags, quote marks, edge blanks and stars."""
    line = re.sub(r"<[^<>]*>", "", line)
    return line.strip().lstrip(">").strip(" \t\u00a0\u3000*>")


def read_items(text: str) -> list[dict]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    starts = []
    for i, raw in enumerate(lines):
        m = START.match(bare(raw))
        if m and (m.group(1) or m.group(3)):
            starts.append(i)
    items = []
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(lines)
        block = lines[start:stop]
        head = bare(block[0])
        head = re.sub(r"^#*\s*\**\s*问题\s*\d+\s*\**\s*[：:]?\s*\**", "", head)
        item = {"line": start + 1, "number": START.match(bare(block[0])).group(2),
                "question": [head], "answer": [], "commentary": [], "asker": None, "answerer": None,
                "commentator": None, "html": any(re.search(r"</?[a-zA-Z][^<>]*>", x) for x in block)}
        where = "question"
        for raw in block[1:]:
            line = bare(raw)
            if not line or re.fullmatch(r"-{3,}|\*{3,}|_{3,}", line):
                if line:
                    where = None
                continue
            if line.startswith("责任编辑"):
                break
            cuts = list(ANY_LABEL.finditer(line))
            if not cuts or cuts[0].start() > 0:
                if where in ("question", "answer", "commentary"):
                    item[where].append(line)
                continue
            for n, c in enumerate(cuts):
                role = ROLES[c.group(1)]
                value = line[c.end(): cuts[n + 1].start() if n + 1 < len(cuts) else len(line)].strip(" *\u00a0\u3000")
                if role in ("answer", "commentary"):
                    if value:
                        item[role].append(value)
                    where = role
                else:
                    item[role] = value or None
                    where = None
        item["question"] = "".join(item["question"])
        items.append(item)
    return items


# -- comparing -------------------------------------------------------------------------------
def compare(item: dict, e) -> list[str]:
    wrong = []
    if squash(e.question) != squash(item["question"]):
        wrong.append("问题原文不一致")
    got = [squash(p) for p in e.answer.split("\n\n") if p.strip()]
    want = [squash(p) for p in item["answer"]]
    if got != want:
        wrong.append(f"答复不一致（原文 {len(want)} 段，条目 {len(got)} 段）")
    got = [squash(p) for p in (e.commentary or "").split("\n\n") if p.strip()]
    want = [squash(p) for p in item["commentary"]]
    if got != want:
        wrong.append(f"点评意见不一致（原文 {len(want)} 段，条目 {len(got)} 段）")
    for key, role in (("asked_by", "asker"), ("answered_by", "answerer"), ("commented_by", "commentator")):
        value = getattr(e, key)
        if squash(value) != squash(item[role]):
            wrong.append(f"{key} 应为 {item[role]!r}，实为 {value!r}")
        elif value and (value != value.strip() or "\u00a0" in value or "  " in value):
            wrong.append(f"{key} 含有多余的空白：{value!r}")
    return wrong


def kbase_ids(kbase) -> set[str]:
    return {e.id for e in kbase.load_entries().entries}


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted((root / "qa_entries").rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def check_collection(name: str, files: list[Path], topic: str, failures: list[str], allow_reported: bool) -> dict:
    from qabase import open_kb
    from qabase.authoring.importing import ImportFailed, import_file

    counts = {"files": len(files), "found": 0, "imported": 0, "reported": [], "warnings": 0}
    with tempfile.TemporaryDirectory(prefix="qabase-fadawang-") as tmp:
        root = Path(tmp) / "kb-root"
        (root / "kb").mkdir(parents=True)
        (root / "qa_entries").mkdir()
        for kb_file in KB_FILES:
            shutil.copy(REPO / "kb" / kb_file, root / "kb" / kb_file)
        kbase = open_kb(root, Path(tmp) / "index")
        for f in files:
            where = f"{name}/{f.name}"
            items = read_items(f.read_text(encoding="utf-8", errors="replace"))
            counts["found"] += len(items)
            try:
                r = import_file(kbase, f, fmt="fadawang", topic=topic, skip_invalid=True)
            except ImportFailed as e:
                if allow_reported:
                    counts["reported"] += [f"{where}:{i['line']}: 整个文件没有导入：{e}" for i in items]
                else:
                    failures.append(f"{where}: 整个文件没有导入：{e}")
                continue
            counts["warnings"] += len(r.warnings)
            by_line = {p.line: p.id for p in r.created}
            # An item identical to one imported before (another file of the collection, or
            # earlier in this one) is recognised as such; its entry must match just as well.
            by_line.update((line, what) for line, what in r.existing if what in kbase_ids(kbase))
            reported = {x.line: x.reason for x in r.rejected}
            entries = {e.id: e for e in kbase.load_entries().entries}
            lines = {i["line"] for i in items}
            for line in sorted(set(by_line) - lines):
                failures.append(f"{where}:{line}: 导入的条目 {by_line[line]} 在原文里不是一个问题的开头（拆分或合并了问题）")
            for line in sorted(set(reported) - lines):
                # An answer with no question before it is an item the reading here cannot see;
                # it must still have been reported, which is what this line is.
                counts["reported"].append(f"{where}:{line}: {reported[line]}")
            for it in items:
                if it["line"] in reported:
                    counts["reported"].append(f"{where}:{it['line']}: {reported[it['line']]}")
                    continue
                eid = by_line.get(it["line"])
                if eid is None:
                    failures.append(f"{where}:{it['line']}: 问题{it['number']} 既没有导入，也没有报告（遗漏或被合并）")
                    continue
                e = entries.get(eid)
                if e is None:
                    failures.append(f"{where}:{it['line']}: 问题{it['number']} 的条目 {eid} 读不出来")
                    continue
                for wrong in compare(it, e):
                    failures.append(f"{where}:{it['line']}: 问题{it['number']}（{eid}）{wrong}")
                if not e.source or not e.source.endswith(f"问题{it['number']}") and f"问题{it['number']}；" not in e.source:
                    failures.append(f"{where}:{it['line']}: {eid} 的来源没有写明问题{it['number']}：{e.source!r}")
                if e.status != "draft" or e.topic != topic:
                    failures.append(f"{where}:{it['line']}: {eid} 应是 {topic} 专题的草稿")
                if it["html"] and not any(w.startswith(f"第 {it['line']} 行：") and "HTML" in w for w in r.warnings):
                    failures.append(f"{where}:{it['line']}: 问题{it['number']} 含有 HTML 标记，但导入没有报告")
                counts["imported"] += 1

        before = tree_digest(root)
        for f in files:
            try:
                r = import_file(kbase, f, fmt="fadawang", topic=topic, skip_invalid=True)
            except ImportFailed:
                continue  # already counted as a failure above
            if r.created:
                failures.append(f"{name}/{f.name}: 重复导入又新建了 {len(r.created)} 条")
        if tree_digest(root) != before:
            failures.append(f"{name}: 重复导入改动了条目文件")
        for p in kbase.check().errors:
            failures.append(f"{name}: qabase check：{p}")
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=str(REPO.parent / "shared" / "reference" / "fadawang"))
    ap.add_argument("--topic", default="procedure-linkage")
    ap.add_argument("--allow-reported", action="store_true",
                    help="an item the import reports (file and line) instead of importing is not a failure")
    args = ap.parse_args(argv)

    folder = Path(args.folder)
    files = sorted(p for p in folder.rglob("*.md")
                   if p.name.lower() not in NOT_FILES and not p.name.startswith("."))
    if not files:
        print(f"check_fadawang: 在 {folder} 及其子目录中没有找到法答网答问文件", file=sys.stderr)
        return 1
    collections: dict[str, list[Path]] = {}
    for f in files:
        rel = f.parent.relative_to(folder).as_posix()
        collections.setdefault(folder.name if rel == "." else f"{folder.name}/{rel}", []).append(f)

    failures: list[str] = []
    results = {name: check_collection(name, collections[name], args.topic, failures, args.allow_reported) for name in sorted(collections)}

    for name, c in results.items():
        print(f"{name}: {c['files']} 个文件，{c['found']} 个问题：导入 {c['imported']} 条，"
              f"报告而未导入 {len(c['reported'])} 个，导入时的警告 {c['warnings']} 条。")
        for line in c["reported"]:
            print(f"  报告：{line}")
    reported = sum(len(c["reported"]) for c in results.values())
    if reported and not args.allow_reported:
        failures.append(f"{reported} 个问题被报告而没有导入（见上）；这些是已发布的批次，应能全部导入"
                        "（确属原文损坏时加 --allow-reported）")
    for msg in failures:
        print(f"check_fadawang: {msg}", file=sys.stderr)
    if failures:
        print(f"check_fadawang: {len(failures)} 个问题", file=sys.stderr)
        return 1
    found = sum(c["found"] for c in results.values())
    imported = sum(c["imported"] for c in results.values())
    print(f"check_fadawang: {len(results)} 个集合、{len(files)} 个文件共 {found} 个问题："
          f"导入 {imported} 条，角色无误，报告而未导入 {reported} 个；无遗漏、无合并，重复导入无变化。")
    return 0


if __name__ == "__main__":
    sys.exit(main())
