#!/usr/bin/env python3
"""Speed and scale of qabase, measured as a judge meets it: each search a new process.

For each knowledge base (the shipped one, and generated ones of 5,000 and 50,000 entries
built from a statute directory) and each engine, it reports median, min and max over
repeated runs of:

- cold ``qabase search`` (a new process, index already built), wall time and peak RSS;
- warm query latency through the Python API (p50, p95), in a process that, like a service,
  checks the index's freshness at most once a second;
- full build (``qabase index``);
- edit one entry, then the next cold search (which brings the index up to date itself);

and, in the same run, the plain-jieba reference: a process that runs
``import jieba; jieba.initialize()``. Targets are stated as ratios to that reference; each cold
search is paired with a reference run just before it and the ratio is taken per pair.

  python benchmarks/speed.py --statutes ../shared/reference/statutes
  python benchmarks/speed.py --statutes DIR --sizes shipped,5000 --engines whoosh

Generated entries live under --workdir (default: a temporary directory) and are never
committed. Results: benchmarks/results/speed.json and a Markdown table on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
QABASE = [sys.executable, "-m", "qabase"]
REFERENCE = [sys.executable, "-c", "import jieba, logging; jieba.setLogLevel(logging.WARNING); jieba.initialize()"]
TOPICS = [("discovery", "dis"), ("accountability", "acc"), ("rewards", "rew"), ("petitions", "pet"),
          ("filing-closing", "fil"), ("procedure-linkage", "pl")]
ASK = ["应当如何处理？", "怎么办？", "能否适用？", "由哪个法院负责？", "需要满足哪些条件？", "有什么要求？",
       "是否需要重新作出裁定？", "如何衔接？", "应当注意什么？", "可以申请吗？"]
LEAD = ["交叉执行中，", "提级执行后，", "指令执行的案件，", "执行过程中，", "案件移交后，", "终本以后，", "", ""]


def clauses(statutes: Path) -> list[str]:
    from qabase.content.laws import StatuteLibrary

    out = []
    for st in StatuteLibrary(statutes).statutes:
        for text in st.articles.values():
            for c in re.split(r"[。；：\n]", text):
                c = c.strip("，、 （）()0123456789")
                if 6 <= len(c) <= 80:
                    out.append(c)
    return out


def make_entry(rng: random.Random, pool: list[str], topic: str, eid: str) -> str:
    head = rng.choice(pool)
    frag = re.split(r"[，、]", head)[0][:26]
    q = (rng.choice(LEAD) + frag + rng.choice(ASK))[:40]
    while len(q) < 15:
        q = rng.choice(LEAD[:-2]) + q
    target = rng.randint(300, 800)
    parts, n = ["**结论**：" + rng.choice(pool) + "。"], 0
    while sum(len(p) for p in parts) < target:
        parts.append(rng.choice(pool) + rng.choice(["。", "；", "，并且"]))
        n += 1
        if n % 4 == 0:
            parts.append("\n\n**依据**：" if n == 4 else "\n\n")
    body = "".join(parts)[:target]
    aliases = [rng.choice(pool)[:20] + "？", rng.choice(LEAD[:-2]) + rng.choice(pool)[:18]]
    return (f"---\nid: {eid}\ntopic: {topic}\nquestion: \"{q}\"\naliases:\n"
            + "".join(f"  - \"{a}\"\n" for a in aliases)
            + "tags: [生成, 基准]\nstatus: published\nbatch: 1\nupdated: 2026-01-01\n"
              "legal_basis:\n  - 《中华人民共和国民事诉讼法》第二百三十七条\n---\n" + body + "\n")


def generate(dest: Path, n: int, pool: list[str], seed: int = 7) -> Path:
    if (dest / "qa_entries").exists() and len(list((dest / "qa_entries").rglob("*.md"))) == n:
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "kb").mkdir(parents=True)
    for f in ("topics.yaml", "config.yaml", "userdict.txt", "synonyms.txt", "stopwords.txt", "instruments.yaml"):
        shutil.copy(ROOT / "kb" / f, dest / "kb" / f)
    rng = random.Random(seed)
    for i in range(n):
        slug, prefix = TOPICS[i % len(TOPICS)]
        d = dest / "qa_entries" / slug
        d.mkdir(parents=True, exist_ok=True)
        eid = f"{prefix}-{i // len(TOPICS) + 1:05d}"
        (d / f"{eid}.md").write_text(make_entry(rng, pool, slug, eid), encoding="utf-8")
    return dest


# Children are started by a small launcher process, not by this one: Linux records a child's
# peak RSS including the address space it was forked from (up to exec), so a child of this
# process, which holds a generated knowledge base in memory, would report this process's size.
_LAUNCHER_CODE = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    t = time.perf_counter()
    p = subprocess.Popen(job["cmd"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=job["env"])
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    print(json.dumps({"secs": secs, "rss_kb": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status),
                      "out": out.decode("utf-8", "replace")}), flush=True)
"""
_launcher = None


def start_launcher() -> None:
    global _launcher
    _launcher = subprocess.Popen([sys.executable, "-c", _LAUNCHER_CODE], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, encoding="utf-8")


def run(cmd, env=None) -> tuple[float, int, str]:
    """Wall seconds and peak RSS (MB) of one child process."""
    _launcher.stdin.write(json.dumps({"cmd": cmd, "env": dict(env if env is not None else os.environ)}) + "\n")
    _launcher.stdin.flush()
    r = json.loads(_launcher.stdout.readline())
    if r["code"] != 0:
        raise RuntimeError(f"{cmd} failed")
    return r["secs"], r["rss_kb"] // 1024, r["out"]


def stats(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def queries_for(root: Path, k: int, rng: random.Random) -> list[str]:
    from qabase import open_kb

    entries = open_kb(root).load_entries().entries
    qs = [e.question for e in entries]
    if len(qs) < k:  # a small knowledge base: its other phrasings are distinct queries too
        qs += [a for e in entries for a in e.aliases]
    picked = rng.sample(qs, min(k, len(qs)))
    # Judges rarely type the canonical question: keep a part of it.
    return [q[: max(6, len(q) * 2 // 3)] for q in picked]


def measure(root: Path, engine: str, repeat: int, build_repeat: int, warm_n: int, rng) -> dict:
    env = dict(os.environ, QABASE_ENGINE=engine, QABASE_NO_LOG="1", QABASE_ROOT=str(root))
    index_dir = root / "kb" / ".index"
    builds = []
    for _ in range(build_repeat):
        shutil.rmtree(index_dir, ignore_errors=True)
        secs, _, _ = run(QABASE + ["index"], env)
        builds.append(secs)
    # Distinct queries for the warm run too: the engines keep what they read from an open
    # index (posting lists, field lengths), and cycling a few queries would only measure that.
    qs = queries_for(root, max(repeat, warm_n + 1), rng)
    # Each cold search is paired with a reference process run right before it: this machine's
    # speed drifts by half within minutes, so a ratio to a reference taken elsewhere in the run
    # would mostly measure the drift.
    cold, rss, ratios = [], [], []
    for q in qs[:repeat]:
        ref, _, _ = run(REFERENCE)
        secs, mb, _ = run(QABASE + ["search", q], env)
        cold.append(secs)
        rss.append(mb)
        ratios.append(secs / ref)
    from qabase import open_kb

    kb = open_kb(root, engine=engine)
    # As a long-running service would: check that the index is fresh at most once a second
    # (every check stats every entry file).
    kb.freshness_interval = 1.0
    kb.search(qs[-1])
    lat = []
    for i in range(warm_n):
        t = time.perf_counter()
        kb.search(qs[i % len(qs)])
        lat.append((time.perf_counter() - t) * 1000)
    kb.close()
    lat.sort()
    edits = []
    files = sorted((root / "qa_entries").rglob("*.md"))
    for i in range(repeat):
        p = rng.choice(files)
        text = p.read_text(encoding="utf-8")
        p.write_text(text.rstrip("\n") + f"\n\n补充说明第{i}条：执行法院应当及时更新。\n", encoding="utf-8")
        secs, _, _ = run(QABASE + ["search", "执行法院及时更新"], env)
        edits.append(secs)
        p.write_text(text, encoding="utf-8")
    run(QABASE + ["search", "恢复"], env)  # leave the index matching the files
    return {
        "build_s": stats(builds),
        "cold_search_s": stats(cold),
        "cold_ratio_to_reference": stats(ratios),
        "cold_rss_mb": stats(rss),
        "warm_p50_ms": lat[len(lat) // 2],
        "warm_p95_ms": lat[int(len(lat) * 0.95) - 1],
        "edit_then_search_s": stats(edits),
    }


def reference(repeat: int) -> dict:
    xs, rss = [], []
    for _ in range(repeat):
        secs, mb, _ = run(REFERENCE)
        xs.append(secs)
        rss.append(mb)
    return {"seconds": stats(xs), "rss_mb": stats(rss)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--statutes", type=Path, required=True)
    ap.add_argument("--sizes", default="shipped,5000,50000")
    ap.add_argument("--engines", default="whoosh,tantivy")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warm", type=int, default=200)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "qabase-bench")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "speed.json")
    ap.add_argument("--whoosh-50000", action="store_true", help="also run Whoosh at 50,000 (slow)")
    args = ap.parse_args()
    start_launcher()  # first, while this process is still small

    rng = random.Random(11)
    pool = clauses(args.statutes)
    results = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "runs": []}
    results["reference"] = reference(args.repeat)
    for size in args.sizes.split(","):
        if size == "shipped":
            root = args.workdir / "shipped"
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(".git", ".venv", ".index", "benchmarks", "tests"))
        else:
            root = generate(args.workdir / f"gen-{size}", int(size), pool)
        for engine in args.engines.split(","):
            if size == "50000" and engine == "whoosh" and not args.whoosh_50000:
                continue
            build_repeat = 1 if size == "50000" else 3
            print(f"… {size} / {engine}", file=sys.stderr, flush=True)
            m = measure(root, engine, args.repeat, build_repeat, args.warm, rng)
            m.update(size=size, engine=engine)
            results["runs"].append(m)
            results["reference_after_" + size + "_" + engine] = reference(3)["seconds"]
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")

    ref = results["reference"]["seconds"]["median"]
    print(f"plain-jieba reference (import jieba; jieba.initialize()): median {ref:.2f} s, "
          f"{results['reference']['rss_mb']['median']} MB; {results['machine']['cpus']} CPUs, Python {results['machine']['python']}\n")
    print("| knowledge base | engine | cold search s | ratio to ref (paired) | cold peak RSS MB | warm p50 / p95 ms | full build s | edit → cold search s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results["runs"]:
        c, b, e, q = r["cold_search_s"], r["build_s"], r["edit_then_search_s"], r["cold_ratio_to_reference"]
        print(f"| {r['size']} | {r['engine']} | {c['median']:.2f} ({c['min']:.2f}–{c['max']:.2f}) | "
              f"{q['median']:.2f}× ({q['min']:.2f}–{q['max']:.2f}) | {r['cold_rss_mb']['median']} | "
              f"{r['warm_p50_ms']:.1f} / {r['warm_p95_ms']:.1f} | "
              f"{b['median']:.1f} ({b['min']:.1f}–{b['max']:.1f}) | {e['median']:.2f} ({e['min']:.2f}–{e['max']:.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
