#!/usr/bin/env python3
"""List the pool pairs of the blind set that no assessor has judged yet.

The pool of a query is every published entry of its topic plus the union of the top 20 of
qabase (both engines) and of each plain baseline (benchmarks/baselines.py), as in TREC
pooling. Assessors see the pool unordered (sorted by entry id), never a ranking. Run it after
every batch of new entries and have the pairs it lists labelled before anyone scores on them.

  python benchmarks/blind_pool.py                 # TSV: qid, entry_id (pairs not yet judged)
  python benchmarks/blind_pool.py --json          # {qid: [entry ids]} for the assessors' sheets
  python benchmarks/blind_pool.py --depth 20 --blind kb/blind
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from baselines import BASELINES  # noqa: E402
from qabase import open_kb  # noqa: E402
from qabase.search.blind import load_blind  # noqa: E402
from quality import corpus  # noqa: E402


def pool(kbase, blind, depth: int, engines=("whoosh", "tantivy")) -> dict[str, set[str]]:
    entries = [e for e in kbase.load_entries().entries if e.status == "published"]
    by_topic: dict[str, set[str]] = {}
    for e in entries:
        by_topic.setdefault(e.topic, set()).add(e.id)
    out = {q: set(by_topic.get(blind.topics.get(q, "-"), ())) for q in blind.queries}
    runs = []
    for engine in engines:
        try:
            runs.append(open_kb(kbase.kb.root, engine=engine).run_queries(blind.queries, depth)[0])
        except Exception as err:  # tantivy is optional; the pool then has one engine fewer
            print(f"（{engine} 引擎不可用，池中不含它的结果：{err}）", file=sys.stderr)
    docs = corpus(kbase)
    runs += [fn(docs, blind.queries, depth)[0] for fn in BASELINES.values()]
    for run in runs:
        for q, ranked in run.items():
            out[q].update(list(ranked)[:depth])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--blind", type=Path, default=None, help="盲测集目录（默认 kb/blind）")
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--json", action="store_true", help="按问题分组输出 JSON")
    args = ap.parse_args()
    kbase = open_kb(args.root)
    blind = load_blind(args.blind or kbase.kb.kb_dir / "blind")
    pools = pool(kbase, blind, args.depth)
    todo = {q: sorted(ids - {e for (qq, e) in blind.judged if qq == q}) for q, ids in pools.items()}
    todo = {q: ids for q, ids in todo.items() if ids}
    if args.json:
        print(json.dumps(todo, ensure_ascii=False, indent=1))
    else:
        for q, ids in todo.items():
            for e in ids:
                print(f"{q}\t{e}")
    print(f"未判定的池内配对：{sum(map(len, todo.values()))} 个，涉及 {len(todo)} 个问题。", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
