#!/usr/bin/env python3
"""Check the shipped entries against the reference texts (run by .ci/run after the tests).

1. Every ``legal_basis`` item names a catalogued instrument, in force (or with its version
   written), whose text is in the statute directory, and the article exists there.
2. No answer copies statute text or the cross-execution digest. Both sides are normalised
   first — punctuation and quotation marks dropped, 或者 folded to 或, 的 and 其中 dropped — so
   that quoting a passage or changing a word or two does not hide it. Any run of ``--max-copy``
   (20) characters or more that also occurs in a reference text is reported, quoted or not.
   Instrument names and article labels (第二百三十七条) do not count towards the length: citing
   《最高人民法院关于适用〈中华人民共和国民事诉讼法〉执行程序若干问题的解释》第十条 is not copying.

The entries checked are the files under qa_entries/ as they stand (what ``qabase check``
checks and what the next publication ships).

Usage: python scripts/check_content.py --statutes ../shared/reference/statutes \
           --notes ../shared/reference/cross-execution-notes.md [--root .] [--self-test]
``--self-test`` builds copied passages at run time from the notes file (quoted, with small
wording changes) and checks that they are flagged and that citations alone are not.
Exit code 1 when anything is wrong.
"""
from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from qabase import open_kb
from qabase.content.catalogue import load_catalogue
from qabase.content.laws import StatuteLibrary
from qabase.content.render import to_text

_KEEP = re.compile(r"[\u4e00-\u9fff0-9a-zA-Z]")
# Wording changes that leave a copied passage a copy. Longer forms first (或者 before 或).
FOLDS = (("或者", "或"), ("其中", ""), ("的", ""))


def normalise(text: str) -> str:
    """Only CJK, digits and letters, with the variants of FOLDS made equal."""
    text = unicodedata.normalize("NFKC", text)
    for a, b in FOLDS:
        text = text.replace(a, b)
    return "".join(_KEEP.findall(text))


# Article labels and the like: 第二百三十七条, 第三款, 第一项, 之一, 第十五章.
_LABEL = re.compile(r"第[零〇一二两三四五六七八九十百千0-9]+[条款项编章节]|之[一二三四五六七八九十]+")
# Names of laws that no catalogue lists: 中华人民共和国刑事诉讼法 and the like.
_LAW = re.compile(r"中华人民共和国[\u4e00-\u9fff]{2,12}?法")


class NameMask:
    """Which characters of a normalised text are instrument names or article labels."""

    def __init__(self, names):
        forms = {normalise(n) for n in names}
        forms = {f for f in forms if len(f) >= 3}
        self._re = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))) if forms else None

    def mask(self, s: str) -> list[bool]:
        covered = [False] * len(s)
        pats = [p for p in (self._re, _LAW, _LABEL) if p is not None]
        for pat in pats:
            for m in pat.finditer(s):
                for i in range(m.start(), m.end()):
                    covered[i] = True
        return covered


@dataclass
class CopyIndex:
    """Every ``n``-character window of the reference texts, after normalising."""

    n: int
    grams: set
    names: NameMask

    @classmethod
    def build(cls, texts, names, n: int = 20) -> "CopyIndex":
        grams = set()
        for text in texts:
            t = normalise(text)
            grams.update(t[i:i + n] for i in range(len(t) - n + 1))
        return cls(n, grams, NameMask(names))

    def copied_runs(self, answer: str) -> list[str]:
        """The runs of ``answer`` (plain text) shared with a reference text, longest first
        within each stretch, ignoring those that are only names and article labels."""
        s = normalise(answer)
        covered = self.names.mask(s)
        n, runs, i = self.n, [], 0
        while i + n <= len(s):
            if s[i:i + n] in self.grams:
                j = i + n
                while j < len(s) and s[j - n + 1:j + 1] in self.grams:
                    j += 1
                wording = sum(1 for k in range(i, j) if not covered[k])
                if wording >= n:
                    runs.append(s[i:j])
                i = j
            else:
                i += 1
        return runs


def reference_names(catalogue, library) -> list[str]:
    """Every instrument name and abbreviation the catalogue and the statute texts know."""
    names = []
    for inst in catalogue.instruments:
        names += [inst.name, *inst.abbr]
    names += [st.title for st in library.statutes]
    return names


def build_index(args, kbase, lib) -> CopyIndex:
    sources = [s for st in lib.statutes for s in st.articles.values()]
    if args.notes and args.notes.exists():
        sources.append(args.notes.read_text(encoding="utf-8"))
    return CopyIndex.build(sources, reference_names(kbase.catalogue, lib), args.max_copy)


# --- self-test -----------------------------------------------------------------------------

def notes_passages(notes_text: str, count: int = 2, min_len: int = 30) -> list[str]:
    """Real passages of the notes, each at least ``min_len`` characters once normalised.

    Passages with 或 come first (so that the 或→或者 change applies), and among them the two
    the issue found copied into entries (消极执行……指令异地法院执行, 地方因素……信访案件).
    """
    clauses = []
    for line in notes_text.splitlines():
        line = re.sub(r"^\s*(?:[-*>]|\d+[.)])\s*", "", line).replace("**", "")
        if "http" in line or not line.strip():
            continue
        for clause in re.split(r"[。；;]", line):
            clause = clause.strip("，,：: ")
            if len(normalise(clause)) >= min_len:
                clauses.append(clause)
    preferred = ("指令异地法院执行", "地方因素")
    clauses.sort(key=lambda c: ("或" not in c, not any(p in c for p in preferred)))
    return clauses[:count]


def disguise(passage: str, k: int) -> str:
    """The passage as a writer might copy it: quoted, 或→或者, a 的 or 其中 put in."""
    text = re.sub(r"或(?!者)", "或者", passage)
    mid = len(text) // 2
    while mid < len(text) and not re.match(r"[\u4e00-\u9fff]", text[mid]):
        mid += 1
    text = text[:mid] + ("的" if k % 2 == 0 else "其中") + text[mid:]
    text = text.replace("“", "").replace("”", "")
    return f"“{text}”" if k % 2 == 0 else f"「{text}」"


def self_test(args, kbase, lib) -> int:
    if not args.notes or not args.notes.exists():
        print(f"自检需要报道摘要文件（--notes），没有找到：{args.notes}")
        return 1
    index = build_index(args, kbase, lib)
    notes = args.notes.read_text(encoding="utf-8")
    passages = notes_passages(notes)
    failures = 0
    if len(passages) < 2:
        print("自检失败：报道摘要中找不到两段 30 字以上的文字")
        return 1
    for k, passage in enumerate(passages):
        copied = disguise(passage, k)
        answer = f"**依据**：据公开报道，{copied}。编写组认为可以参考。"
        runs = index.copied_runs(to_text(answer))
        ok = any(len(r) >= index.n for r in runs)
        failures += not ok
        print(f"自检{'通过' if ok else '失败'}：加引号、改字后的摘要原文{'被' if ok else '没有被'}检出：{copied[:50]}…")
    # A statute sentence, quoted, is a copy too.
    statute = next((t for st in lib.statutes for t in st.articles.values() if len(normalise(t)) >= 40), None)
    if statute:
        runs = index.copied_runs(to_text(f"条文规定：“{statute[:60]}”"))
        ok = bool(runs)
        failures += not ok
        print(f"自检{'通过' if ok else '失败'}：照录的条文{'被' if ok else '没有被'}检出：{statute[:30]}…")
    # Citations and short terms alone are not copying.
    names_only = ("《最高人民法院关于适用〈中华人民共和国民事诉讼法〉执行程序若干问题的解释》第十条、"
                  "《最高人民法院关于人民法院执行工作若干问题的规定（试行）》第七十四条第二款、"
                  "《中华人民共和国民事诉讼法》第二百三十七条；终结本次执行程序；失信被执行人名单")
    runs = index.copied_runs(to_text(names_only))
    ok = not runs
    failures += not ok
    print(f"自检{'通过' if ok else '失败'}：只有文件名称、条号和短术语的文字{'没有被' if ok else '被误'}报为照抄"
          + ("" if ok else f"：{runs}"))
    print(f"自检完成：{'全部通过' if not failures else f'{failures} 项失败'}。")
    return 1 if failures else 0


# --- the normal run -------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--statutes", required=True, type=Path)
    ap.add_argument("--notes", type=Path)
    ap.add_argument("--root", type=Path, default=Path("."))
    ap.add_argument("--max-copy", type=int, default=20, help="shared run that counts as copying, in characters")
    ap.add_argument("--self-test", action="store_true", help="check that the copy check catches disguised copies")
    args = ap.parse_args()

    kbase = open_kb(args.root)
    lib = StatuteLibrary(args.statutes)
    if args.self_test:
        return self_test(args, kbase, lib)
    loaded = kbase.load_entries(working=True)
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

    index = build_index(args, kbase, lib)
    copies = 0
    for e in loaded.entries:
        for run in index.copied_runs(to_text(e.answer)):
            print(f"{e.path.relative_to(kbase.root).as_posix()}: 与法规原文或报道摘要连续相同 {len(run)} 字"
                  f"（已忽略标点、引号和“或者/的/其中”的差别）：{run[:40]}{'…' if len(run) > 40 else ''}")
            copies += 1
    print(f"核对了 {len(loaded.entries)} 个条目的 {checked} 处引用：{failures} 处有误；"
          f"照抄原文（连续 {index.n} 字以上，加引号也算）{copies} 处。")
    if loaded.errors:
        print(f"另有 {len(loaded.errors)} 个条目校验错误（运行 qabase check 查看）。")
    return 1 if failures or copies or loaded.errors else 0


if __name__ == "__main__":
    sys.exit(main())
