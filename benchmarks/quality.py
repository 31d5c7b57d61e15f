#!/usr/bin/env python3
"""Search quality of qabase and two baselines on the same golden questions, in one run.

Baselines (BEIR-style: each is a function queries -> run):
  (a) whoosh-jieba: plain Whoosh, jieba's stock ChineseAnalyzer, all text in one field,
      no user dictionary, no synonyms, default query parser (OR group).
  (b) bm25-jieba:   rank_bm25's BM25Okapi over jieba tokens (stock dictionary) of all text.

  python benchmarks/quality.py [--golden kb/golden.tsv] [--out benchmarks/results/quality.json]

Prints a Markdown table (the one in README.md) and writes TREC runs beside the JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from qabase import open_kb  # noqa: E402
from qabase.search.evaluate import evaluate, load_golden, write_trec  # noqa: E402
from qabase.content.render import to_text  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import run_bm25_jieba, run_whoosh_jieba  # noqa: E402


def corpus(kbase) -> dict[str, str]:
    out = {}
    for e in kbase.load_entries().entries:
        if e.status == "published":
            out[e.id] = "\n".join([e.question, *e.aliases, " ".join(e.tags), to_text(e.answer)])
    return out


def run_qabase(kbase, queries, k):
    return kbase.run_queries(queries, k)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--golden", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "quality.json")
    args = ap.parse_args()

    kbase = open_kb(args.root)
    golden = load_golden(args.golden or kbase.kb.kb_dir / "golden.tsv")
    docs = corpus(kbase)
    topic_of = {e.id: e.topic for e in kbase.load_entries().entries}.get
    systems = {
        "qabase": lambda: run_qabase(kbase, golden.queries, 10),
        "qabase (tantivy engine)": lambda: run_qabase(open_kb(args.root, engine="tantivy"), golden.queries, 10),
        "whoosh-jieba (a)": lambda: run_whoosh_jieba(docs, golden.queries, 10),
        "bm25-jieba (b)": lambda: run_bm25_jieba(docs, golden.queries, 10),
    }
    results = {}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for name, fn in systems.items():
        t = time.perf_counter()
        run, top = fn()
        secs = time.perf_counter() - t
        rep = evaluate(golden, run, top, topic_of)
        results[name] = {"non_typo": rep.non_typo, "typo": rep.by_kind.get("typo"), "overall": rep.overall,
                         "seconds": round(secs, 2)}
        tag = name.split()[0] + ("-tantivy" if "tantivy" in name else "")
        write_trec(run, args.out.with_name(f"run-{tag}.trec"), tag)

    q = results["qabase"]["non_typo"]
    lines = ["| system | MRR@10 | Recall@1 | Recall@3 | Recall@10 | nDCG@10 | typo MRR@10 | qabase/system MRR |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        m = r["non_typo"]
        ratio = q["MRR@10"] / m["MRR@10"] if m["MRR@10"] else float("inf")
        lines.append(f"| {name} | {m['MRR@10']:.3f} | {m['Recall@1']:.3f} | {m['Recall@3']:.3f} | "
                     f"{m['Recall@10']:.3f} | {m['nDCG@10']:.3f} | {r['typo']['MRR@10']:.3f} | {ratio:.2f} |")
    table = "\n".join(lines)
    print(f"{len(golden.qrels)} answered queries ({sum(1 for k in golden.kinds.values() if k != 'typo') - len(golden.unanswered)} "
          f"non-typo), {len(docs)} published entries; metrics over non-typo queries, typo reported apart.\n")
    print(table)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
