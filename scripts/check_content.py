#!/usr/bin/env python3
"""Check the shipped entries against the reference texts (run by .ci/run after the tests).

1. Every ``legal_basis`` item names a catalogued instrument, in force (or with its version
   written), whose text is in the statute directory, and the article exists there.
2. No answer copies statute text or the cross-execution digest: any run of ``--max-copy``
   characters or more found verbatim in a reference text is reported.

Usage: python scripts/check_content.py --statutes ../shared/reference/statutes \
           [--notes ../shared/reference/cross-execution-notes.md] [--root .]
Exit code 1 when anything is wrong.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from qabase import open_kb
from qabase.content.laws import StatuteLibrary
from qabase.content.render import to_text

_KEEP = re.compile(r"[\u4e00-\u9fff0-9a-zA-Z]")


def squeeze(text: str) -> str:
    """Only CJK, digits and letters: copying is judged on wording, not punctuation."""
    return "".join(_KEEP.findall(text))


_SHORT_QUOTE = re.compile(r"“[^”]{1,30}”|「[^」]{1,30}」")


def copied_runs(answer: str, grams: set[str], n: int) -> list[str]:
    runs = []
    # A short phrase in quotation marks is a deliberate quotation, not copying.
    for part in _SHORT_QUOTE.split(answer):
        s = squeeze(part)
        i = 0
        while i + n <= len(s):
            if s[i:i + n] in grams:
                j = i + n
                while j < len(s) and s[j - n + 1:j + 1] in grams:
                    j += 1
                runs.append(s[i:j])
                i = j
            else:
                i += 1
    return runs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--statutes", required=True, type=Path)
    ap.add_argument("--notes", type=Path)
    ap.add_argument("--root", type=Path, default=Path("."))
    ap.add_argument("--max-copy", type=int, default=25, help="verbatim run that counts as copying, in characters")
    args = ap.parse_args()

    kbase = open_kb(args.root)
    lib = StatuteLibrary(args.statutes)
    loaded = kbase.load_entries()
    failures = 0
    checked = 0
    for e in loaded.entries:
        for raw, c in zip(e.legal_basis, e.citations):
            checked += 1
            inst = kbase.catalogue.resolve(c)
            where = f"{e.path.relative_to(kbase.root).as_posix()}: {raw}"
            if inst is None:
                print(f"{where}: 目录中没有这个文件或版本"); failures += 1; continue
            if not inst.is_current and not c.version:
                print(f"{where}: 引用的是{inst.status}的版本，应引用现行文本"); failures += 1; continue
            statute = lib.find(inst)
            if statute is None:
                print(f"{where}: 参考资料中没有该文件原文，无法核验"); failures += 1; continue
            if c.article_key not in statute.articles:
                print(f"{where}: {statute.path.name} 中没有{c.article_label}"); failures += 1; continue

    n = args.max_copy
    grams: set[str] = set()
    sources = [s for st in lib.statutes for s in st.articles.values()]
    if args.notes and args.notes.exists():
        sources.append(args.notes.read_text(encoding="utf-8"))
    for text in sources:
        t = squeeze(text)
        grams.update(t[i:i + n] for i in range(len(t) - n + 1))
    copies = 0
    for e in loaded.entries:
        for run in copied_runs(to_text(e.answer), grams, n):
            print(f"{e.path.relative_to(kbase.root).as_posix()}: 与参考原文连续相同 {len(run)} 字：{run[:40]}…")
            copies += 1
    print(f"核对了 {len(loaded.entries)} 个条目的 {checked} 处引用：{failures} 处有误；"
          f"照抄原文（引号外连续 {n} 字以上）{copies} 处。")
    if loaded.errors:
        print(f"另有 {len(loaded.errors)} 个条目校验错误（运行 qabase check 查看）。")
    return 1 if failures or copies or loaded.errors else 0


if __name__ == "__main__":
    sys.exit(main())
