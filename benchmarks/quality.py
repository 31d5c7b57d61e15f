#!/usr/bin/env python3
"""Search quality of qabase (both engines) and three plain baselines, on every question set,
in one run (BEIR/Pyserini style: each system is a function queries -> run).

Baselines (benchmarks/baselines.py), over the same published entries, all text in one field:
  (a) whoosh-jieba: plain Whoosh with jieba's stock ChineseAnalyzer, default OR query parser;
  (b) bm25-jieba:   rank_bm25's BM25Okapi over jieba cut_for_search tokens;
  (c) bigram-bm25:  Lucene BM25 (k1 1.2, b 0.75) over overlapping CJK bigrams (Elasticsearch's cjk).

Sets: the blind set (kb/blind: graded; grade 2 = fully answers) is the main measure; the
golden sets (kb/golden.tsv, kb/golden-batch2.tsv: written by people who read the entries)
are regression checks.

  python benchmarks/quality.py [--root .] [--out benchmarks/results/quality.json]

Prints the Markdown tables quoted in README.md and writes TREC runs beside the JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QABASE_NO_LOG", "1")

from baselines import BASELINES  # noqa: E402
from qabase import open_kb  # noqa: E402
from qabase.content.render import to_text  # noqa: E402
from qabase.search.blind import load_blind, report  # noqa: E402
from qabase.search.evaluate import evaluate, load_golden, write_trec  # noqa: E402

GOLDEN = ("golden.tsv", "golden-batch2.tsv")


def corpus(kbase) -> dict[str, str]:
    out = {}
    for e in kbase.load_entries().entries:
        if e.status == "published":
            out[e.id] = "\n".join([e.question, *e.aliases, " ".join(e.tags), to_text(e.answer)])
    return out


def systems(root: Path, docs: dict[str, str]):
    out = {}
    for engine in ("whoosh", "tantivy"):
        kb = open_kb(root, engine=engine)
        out["qabase" if engine == "whoosh" else "qabase (tantivy)"] = lambda qs, k, kb=kb: kb.run_queries(qs, k)
    for name, fn in BASELINES.items():
        out[name] = lambda qs, k, fn=fn: fn(docs, qs, k)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "quality.json")
    args = ap.parse_args()

    kbase = open_kb(args.root)
    kb_dir = args.root / "kb"
    docs = corpus(kbase)
    topic_of = {e.id: e.topic for e in kbase.load_entries().entries}.get
    blind = load_blind(kb_dir / "blind") if (kb_dir / "blind" / "queries.tsv").exists() else None
    goldens = {n: load_golden(kb_dir / n) for n in GOLDEN if (kb_dir / n).exists()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results: dict = {"entries": len(docs), "blind": {}, "golden": {n: {} for n in goldens}}
    for name, run_fn in systems(args.root, docs).items():
        tag = name.split()[0].replace("(", "").replace(")", "") + ("-tantivy" if "tantivy" in name else "")
        t = time.perf_counter()
        if blind:
            run, _ = run_fn(blind.queries, 10)
            results["blind"][name] = report(blind, run)
            write_trec(run, args.out.with_name(f"run-blind-{tag}.trec"), tag)
        for gname, g in goldens.items():
            run, top = run_fn(g.queries, 10)
            rep = evaluate(g, run, top, topic_of)
            results["golden"][gname][name] = {"non_typo": rep.non_typo, "typo": rep.by_kind.get("typo"),
                                              "overall": rep.overall}
            if gname == "golden.tsv":
                write_trec(run, args.out.with_name(f"run-{tag}.trec"), tag)
        results.setdefault("seconds", {})[name] = round(time.perf_counter() - t, 2)

    print(f"{len(docs)} 个已发布条目。\n")
    if blind:
        kinds = ("sentence", "keyword", "shorthand", "typo", "long", "citation")
        n = next(iter(results["blind"].values()))["answerable"]["queries"]
        print(f"盲测集（{len(blind.queries)} 个问题，其中 {n} 个有完全回答的条目；只把完全回答算作答对）：\n")
        print("| 系统 | MRR@10 | S@1 | S@3 | nDCG@10 | " + " | ".join(kinds) + " |")
        print("|---|---|---|---|---|" + "---|" * len(kinds))
        for name, r in results["blind"].items():
            a = r["answerable"]
            per = " | ".join(f"{r['by_kind'][k]['MRR@10']:.3f}" if k in r["by_kind"] else "–" for k in kinds)
            print(f"| {name} | {a['MRR@10']:.3f} | {a['Success@1']:.3f} | {a['Success@3']:.3f} | {a['nDCG@10']:.3f} | {per} |")
        print()
    for gname, rows in results["golden"].items():
        print(f"黄金问题集 kb/{gname}（不含 typo 类；typo 另列）：\n")
        print("| 系统 | MRR@10 | R@1 | R@3 | R@10 | nDCG@10 | typo MRR@10 |")
        print("|---|---|---|---|---|---|---|")
        for name, r in rows.items():
            m = r["non_typo"]
            typo = f"{r['typo']['MRR@10']:.3f}" if r["typo"] else "–"
            print(f"| {name} | {m['MRR@10']:.3f} | {m['Recall@1']:.3f} | {m['Recall@3']:.3f} | {m['Recall@10']:.3f} "
                  f"| {m['nDCG@10']:.3f} | {typo} |")
        print()
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
