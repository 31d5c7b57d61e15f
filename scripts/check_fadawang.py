#!/usr/bin/env python3
"""Import the published 法答网精选答问 batches into a throwaway knowledge base and verify that
every question becomes exactly one entry: none lost, none merged, answers complete, who asked
and who answered kept, and a second import changing nothing.

The questions are counted here independently of qabase's parser (plain ``## 问题`` line
prefixes), so a parser that skips or merges a question cannot agree with this count.

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
PEOPLE = ("咨询人", "提问人", "答疑专家", "点评专家", "答疑人")


def squash(text: str) -> str:
    return re.sub(r"[\s\u00a0\u3000]+", "", text or "")


def expected_questions(text: str) -> list[dict]:
    """Each ``## 问题`` block: its heading text and its answer text, both without blanks."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("## 问题")]
    out = []
    for n, start in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else len(lines)
        heading = lines[start][len("## 问题"):]
        heading = heading.split("：", 1)[1] if "：" in heading else heading
        answer = []
        for line in lines[start + 1:stop]:
            bare = line.strip(" \u00a0\u3000\t")
            if bare.startswith("责任编辑"):
                break
            if not bare or bare.startswith(PEOPLE):
                continue
            for prefix in ("答疑意见：", "点评意见："):
                if bare.startswith(prefix):
                    bare = bare[len(prefix):]
            answer.append(bare)
        out.append({"line": start + 1, "question": squash(heading), "answer": squash("".join(answer))})
    return out


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted((root / "qa_entries").rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=str(REPO.parent / "shared" / "reference" / "fadawang"))
    ap.add_argument("--topic", default="procedure-linkage")
    args = ap.parse_args(argv)

    from qabase import open_kb
    from qabase.authoring.importing import import_file

    folder = Path(args.folder)
    files = sorted(p for p in folder.glob("*.md") if p.name.lower() != "readme.md")
    if not files:
        print(f"check_fadawang: 在 {folder} 中没有找到法答网答问文件", file=sys.stderr)
        return 1
    failures: list[str] = []
    total = 0
    with tempfile.TemporaryDirectory(prefix="qabase-fadawang-") as tmp:
        root = Path(tmp) / "kb-root"
        (root / "kb").mkdir(parents=True)
        (root / "qa_entries").mkdir()
        for name in KB_FILES:
            shutil.copy(REPO / "kb" / name, root / "kb" / name)
        kbase = open_kb(root, Path(tmp) / "index")

        for f in files:
            text = f.read_text(encoding="utf-8")
            want = expected_questions(text)
            title = next((line[2:].strip() for line in text.split("\n") if line.startswith("# ")), "")
            r = import_file(kbase, f, fmt="fadawang", topic=args.topic)
            for x in r.rejected:
                failures.append(f"{f.name}:{x.line}: 被拒绝：{x.reason}")
            if len(r.created) != len(want):
                failures.append(f"{f.name}: 有 {len(want)} 个“## 问题”，导入了 {len(r.created)} 条")
            entries = [e for e in kbase.load_entries().entries if (e.source or "").startswith(title + "，")]
            if len(entries) != len(want):
                failures.append(f"{f.name}: 来源为“{title}”的条目有 {len(entries)} 条，应为 {len(want)} 条")
            for q in want:
                same = [e for e in entries if squash(e.question) == q["question"]]
                if len(same) != 1:
                    failures.append(f"{f.name}:{q['line']}: 问题对应 {len(same)} 个条目（应为 1 个）")
                    continue
                e = same[0]
                if squash(e.answer) != q["answer"]:
                    failures.append(f"{f.name}:{q['line']}: {e.id} 的答复与原文不一致（缺段或多段）")
                for key in ("asked_by", "answered_by"):
                    value = getattr(e, key)
                    if not value or "\u00a0" in value or not re.fullmatch(r"\S+ \S+", value):
                        failures.append(f"{f.name}:{q['line']}: {e.id} 的 {key} 应为“单位 姓名”：{value!r}")
                if e.status != "draft" or e.topic != args.topic:
                    failures.append(f"{f.name}:{q['line']}: {e.id} 应是 {args.topic} 专题的草稿")
            total += len(want)
            print(f"{f.name}: {len(want)} 个问题 → {len(r.created)} 条草稿")

        before = tree_digest(root)
        for f in files:
            r = import_file(kbase, f, fmt="fadawang", topic=args.topic)
            if r.created:
                failures.append(f"{f.name}: 重复导入又新建了 {len(r.created)} 条")
        if tree_digest(root) != before:
            failures.append("重复导入改动了条目文件")

        report = kbase.check()
        for p in report.errors:
            failures.append(f"qabase check：{p}")

    for msg in failures:
        print(f"check_fadawang: {msg}", file=sys.stderr)
    if failures:
        print(f"check_fadawang: {len(failures)} 个问题", file=sys.stderr)
        return 1
    print(f"check_fadawang: {len(files)} 批共 {total} 个问题，逐条导入，无遗漏、无合并，重复导入无变化。")
    return 0


if __name__ == "__main__":
    sys.exit(main())
