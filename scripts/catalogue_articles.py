#!/usr/bin/env python3
"""Write or verify the article-numbering facts of kb/instruments.yaml from a statute directory
in the LawRefBook Markdown layout (on these machines: ../shared/reference/statutes).

  python scripts/catalogue_articles.py --statutes DIR --write   # update `articles:` lines
  python scripts/catalogue_articles.py --statutes DIR --check   # CI: catalogue == texts

Only facts are written (how many articles, which 之一 articles exist), never statute text.
Instruments marked ``articles: unknown`` (text not held) are left alone.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from qabase.content.catalogue import load_catalogue  # noqa: E402
from qabase.content.laws import StatuteLibrary  # noqa: E402


def facts(statute) -> dict:
    nums = sorted(int(k) for k in statute.articles if "-" not in k)
    extra = sorted((k for k in statute.articles if "-" in k), key=lambda k: tuple(int(x) for x in k.split("-")))
    top = max(nums) if nums else 0
    missing = sorted(set(range(1, top + 1)) - set(nums))
    out = {"count": top}
    if extra:
        out["extra"] = extra
    if missing:
        out["missing"] = missing
    return out


def render(f: dict) -> str:
    parts = [f"count: {f['count']}"]
    for k in ("extra", "missing"):
        if k in f:
            parts.append(f"{k}: [{', '.join(str(x) for x in f[k])}]")
    return "    articles: {" + ", ".join(parts) + "}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--statutes", required=True, type=Path)
    ap.add_argument("--catalogue", type=Path, default=Path(__file__).resolve().parent.parent / "kb" / "instruments.yaml")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = ap.parse_args()

    cat = load_catalogue(args.catalogue)
    lib = StatuteLibrary(args.statutes)
    problems, computed = [], {}
    matched_files = set()
    for inst in cat.instruments:
        if inst.articles == "unknown":
            continue
        st = lib.find(inst)
        if st is None:
            problems.append(f"{inst.id}：在 {args.statutes} 中找不到原文")
            continue
        matched_files.add(st.path.name)
        computed[inst.id] = facts(st)
        if args.check:
            have = inst.article_keys()
            want = set(st.articles)
            if have is None:
                problems.append(f"{inst.id}：目录中没有条号事实")
            elif have != want:
                problems.append(f"{inst.id}：目录缺 {sorted(want - have)[:10]}，多出 {sorted(have - want)[:10]}")
    for st in lib.statutes:
        if st.path.name not in matched_files:
            problems.append(f"{st.path.name}：参考目录中的这个文件没有对应的目录条目")

    if args.write:
        lines = args.catalogue.read_text(encoding="utf-8").splitlines()
        out, current = [], None
        for line in lines:
            m = re.match(r"^  - id: (\S+)", line)
            if m:
                if current in computed:
                    _insert(out, render(computed[current]))
                current = m.group(1)
            if re.match(r"^    articles:", line) and current in computed:
                continue
            out.append(line)
        if current in computed:
            _insert(out, render(computed[current]))
        args.catalogue.write_text("\n".join(out) + "\n", encoding="utf-8")
        print(f"已写入 {len(computed)} 个文件的条号事实。")
    for p in problems:
        print(p)
    if args.check:
        print(f"核对了 {len(computed)} 个文件：{len(problems)} 处不一致。")
    return 1 if problems else 0


def _insert(out: list[str], line: str) -> None:
    # Insert before trailing comment/blank lines that introduce the next block.
    i = len(out)
    while i > 0 and (not out[i - 1].strip() or out[i - 1].lstrip().startswith("#")):
        i -= 1
    out.insert(i, line)


if __name__ == "__main__":
    sys.exit(main())
