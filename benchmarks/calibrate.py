#!/usr/bin/env python3
"""Calibrate search confidence (high / low / none) per engine and write kb/confidence.yaml.

Calibration queries: the golden sets (kb/golden.tsv, kb/golden-batch2.tsv) plus a seeded half of the blind set; the other half is
held out and only reported. For each query the search's coverage (search.confidence) is
recorded, then:
  - ``low``: the largest cut-off that flags at most 5% of the calibration queries whose first
    result fully answers them (flagging more unanswerable ones cannot be bought with more
    wrong warnings);
  - ``none``: the largest cut-off that puts at most 1% of them below it.
The held-out half reports the issue's targets: share of unanswerable queries flagged (>= 80%)
and share of correctly answered queries flagged (<= 5%).

  python benchmarks/calibrate.py [--seed 20261206] [--engines whoosh tantivy] [--dry-run]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("QABASE_NO_LOG", "1")

from qabase import open_kb  # noqa: E402
from qabase.search.blind import load_blind  # noqa: E402
from qabase.search.evaluate import load_golden  # noqa: E402

SEED = 20261206
MAX_WRONG_FLAGS = 0.05
MAX_WRONG_NONE = 0.01


def split(qids: list[str], seed: int) -> tuple[list[str], list[str]]:
    qids = sorted(qids)
    random.Random(seed).shuffle(qids)
    half = len(qids) // 2
    return sorted(qids[:half]), sorted(qids[half:])


def observe(kbase, queries: dict[str, str]) -> dict[str, tuple[float, str | None, bool]]:
    """qid -> (coverage, first result id, any result)."""
    out = {}
    for q, text in queries.items():
        r = kbase.search(text)
        first = r.results[0].id if r.results else None
        out[q] = (r.evidence.get("score", 0.0) if r.results else 0.0, first, bool(r.results))
    return out


def samples(obs, answered: dict[str, set], unanswerable: set) -> tuple[list[float], list[float]]:
    """(coverages of queries whose first result fully answers them, of unanswerable ones)."""
    right = [obs[q][0] for q in obs if q in answered and obs[q][1] in answered[q]]
    none = [obs[q][0] if obs[q][2] else -1.0 for q in obs if q in unanswerable]
    return right, none


def cutoff(right: list[float], share: float) -> float:
    """The largest cut-off with at most ``share`` of ``right`` strictly below it."""
    xs = sorted(right)
    k = int(share * len(xs))  # this many may fall below
    return round(xs[k], 4) if xs else 0.0


def rates(right, none, low) -> dict:
    return {"unanswerable_flagged": round(sum(1 for x in none if x < low) / len(none), 3) if none else None,
            "answered_flagged": round(sum(1 for x in right if x < low) / len(right), 3) if right else None,
            "unanswerable": len(none), "answered_right": len(right)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--engines", nargs="+", default=["whoosh", "tantivy"])
    ap.add_argument("--dry-run", action="store_true", help="只报告，不写 kb/confidence.yaml")
    args = ap.parse_args()

    kb_dir = args.root / "kb"
    goldens = {n: load_golden(kb_dir / n) for n in ("golden.tsv", "golden-batch2.tsv") if (kb_dir / n).exists()}
    blind = load_blind(kb_dir / "blind")
    cal_b, held_b = split(list(blind.queries), args.seed)
    g_queries = {f"{n}:{q}": t for n, g in goldens.items() for q, t in g.queries.items()}
    g_answered = {f"{n}:{q}": set(rel) for n, g in goldens.items() for q, rel in g.qrels.items()}
    g_unanswerable = {f"{n}:{q}" for n, g in goldens.items() for q in g.unanswered}
    b_full = {q: {e for e, v in blind.grades.get(q, {}).items() if v >= 2} for q in blind.queries}
    b_answered = {q: ids for q, ids in b_full.items() if ids}
    b_unanswerable = {q for q, ids in b_full.items() if not ids}

    report, cutoffs = {}, {}
    for engine in args.engines:
        kbase = open_kb(args.root, engine=engine)
        obs = observe(kbase, g_queries)
        obs_b = observe(kbase, blind.queries)
        cal = {**obs, **{q: obs_b[q] for q in cal_b}}
        held = {q: obs_b[q] for q in held_b}
        right, none = samples(cal, {**g_answered, **b_answered}, g_unanswerable | b_unanswerable)
        low = cutoff(right, MAX_WRONG_FLAGS)
        nothing = min(cutoff(right, MAX_WRONG_NONE), low)
        cutoffs[engine] = {"low": low, "none": nothing}
        hr, hn = samples(held, b_answered, b_unanswerable)
        report[engine] = {"calibration": rates(right, none, low), "held_out": rates(hr, hn, low)}
        print(f"{engine}: low={low} none={nothing}  校准集 {report[engine]['calibration']}  留出集 {report[engine]['held_out']}")

    if not args.dry_run:
        lines = [
            "# 检索把握度的分界（由 benchmarks/calibrate.py 生成，请勿手改；重新校准：python benchmarks/calibrate.py）。",
            "# score（最佳条目包含的查询信息量占比，加上与其问题或其他问法的重合度）低于 low 为“把握不大”，低于 none 为“没有把握”。",
            f"# 校准：两个黄金问题集 + 盲测集按种子 {args.seed} 随机分出的一半（{len(cal_b)} 个问题）；另一半（{len(held_b)} 个）只用于报告。",
            f"seed: {args.seed}",
            f"calibration_qids: {len(cal_b)}",
            f"held_out_qids: {len(held_b)}",
            "cutoffs:",
        ]
        for engine, c in cutoffs.items():
            lines.append(f"  {engine}: {{low: {c['low']}, none: {c['none']}}}")
        lines.append("report: " + json.dumps(report, ensure_ascii=False))
        (kb_dir / "confidence.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"已写入 {kb_dir / 'confidence.yaml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
