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
  python benchmarks/speed.py --statutes DIR --sizes shipped,5000 --compare ee83fc6 --shipped-rev HEAD

``--compare REV`` measures, in the same run, the code of commit REV: its ``src/`` is extracted
under --workdir (``git archive``; the checkout is left alone), the checkout's own src/ is copied
there too (edits made elsewhere during the run do not change what is measured), and each
side's child processes run with PYTHONPATH pointing at its copy (PYTHONPATH comes before the
editable install's .pth entry; each side's child reports ``qabase.__file__`` and the run stops
if it is the wrong code). Each code
version keeps its own index directory (``QABASE_INDEX_DIR``: index formats differ between
versions) over the same copy of the knowledge base. Every measurement of the current code is
paired with one of REV's taken right beside it, in alternating order, and the table gives the
median of the per-pair ratios, current / REV, against the budgets (cold search, warm p95 and
edit → search ≤ 1.15; build ≤ 1.30). ``--shipped-rev REV`` takes the shipped knowledge base
(``kb/`` and ``qa_entries/``) from a commit instead of the working tree, e.g. while entries are
being edited.

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


KB_FILES = ("topics.yaml", "config.yaml", "userdict.txt", "synonyms.txt", "stopwords.txt", "instruments.yaml",
            "colloquial.yaml", "confidence.yaml")


def copy_kb_files(src_kb: Path, dest: Path) -> None:
    """The knowledge base's settings and analysis files (not its published state: generated
    entries are served as they are)."""
    (dest / "kb").mkdir(parents=True, exist_ok=True)
    for f in KB_FILES:
        if (src_kb / f).exists():
            shutil.copy(src_kb / f, dest / "kb" / f)
        else:
            (dest / "kb" / f).unlink(missing_ok=True)


def generate(dest: Path, n: int, pool: list[str], seed: int = 7, src_kb: Path = ROOT / "kb") -> Path:
    if (dest / "qa_entries").exists() and len(list((dest / "qa_entries").rglob("*.md"))) == n:
        copy_kb_files(src_kb, dest)
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    copy_kb_files(src_kb, dest)
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
    p = subprocess.Popen(job["cmd"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env=job["env"])
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    print(json.dumps({"secs": secs, "rss_kb": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status),
                      "cpu": usage.ru_utime + usage.ru_stime,
                      "out": out.decode("utf-8", "replace")}), flush=True)
"""
_launcher = None
last_cpu = 0.0


def start_launcher() -> None:
    global _launcher
    _launcher = subprocess.Popen([sys.executable, "-c", _LAUNCHER_CODE], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, encoding="utf-8")


def run(cmd, env=None) -> tuple[float, int, str]:
    """Wall seconds and peak RSS (MB) of one child process (and its output); its CPU seconds
    (user + system, its reaped children included) are kept in ``last_cpu``."""
    global last_cpu
    _launcher.stdin.write(json.dumps({"cmd": cmd, "env": dict(env if env is not None else os.environ)}) + "\n")
    _launcher.stdin.flush()
    r = json.loads(_launcher.stdout.readline())
    if r["code"] != 0:
        raise RuntimeError(f"{cmd} failed")
    last_cpu = r["cpu"]
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


# The warm run, in a child process of the code being measured: like a service, it checks that
# the index is fresh at most once a second (every check stats every entry file).
_WARM_CODE = r"""
import json, sys, time
import qabase
from qabase import open_kb
root, engine, qfile = sys.argv[1:4]
with open(qfile, encoding="utf-8") as f:
    job = json.load(f)
kb = open_kb(root, engine=engine)
kb.freshness_interval = 1.0
kb.search(job["first"])
lat, cpu = [], []
for q in job["queries"]:
    c, t = time.process_time(), time.perf_counter()
    kb.search(q)
    lat.append((time.perf_counter() - t) * 1000)
    cpu.append((time.process_time() - c) * 1000)
kb.close()
print(json.dumps({"file": qabase.__file__, "lat": lat, "cpu": cpu}))
"""
_WHICH_CODE = "import qabase; print(qabase.__file__)"


class Side:
    """One version of the code: the checkout's src/, or an extracted commit's."""

    def __init__(self, name: str, src: Path, separate_index: bool):
        self.name, self.src, self.separate_index = name, src, separate_index

    def env(self, base: dict, root: Path, engine: str, workdir: Path) -> dict:
        env = dict(base, PYTHONPATH=str(self.src))
        if self.separate_index:
            env["QABASE_INDEX_DIR"] = str(self.index_dir(root, engine, workdir))
        return env

    def index_dir(self, root: Path, engine: str, workdir: Path) -> Path:
        if not self.separate_index:
            return root / "kb" / ".index"
        return workdir / "index" / f"{self.name}-{root.name}-{engine}"

    def check(self, file: str) -> None:
        if not Path(file).resolve().is_relative_to(self.src.resolve()):
            raise RuntimeError(f"{self.name}: the child imported {file}, not the code under {self.src}")


def _p95(lat: list[float]) -> float:
    lat = sorted(lat)
    return lat[int(len(lat) * 0.95) - 1]


def measure(root: Path, engine: str, repeat: int, build_repeat: int, warm_n: int, rng, sides: list[Side],
            workdir: Path) -> list[dict]:
    """One result per side; with two sides each measurement of one is paired with one of the
    other taken right beside it (order alternating per pair), on the same knowledge base copy."""
    base = dict(os.environ, QABASE_ENGINE=engine, QABASE_NO_LOG="1", QABASE_ROOT=str(root))
    envs = [s.env(base, root, engine, workdir) for s in sides]
    n = len(sides)

    def order(i):  # pair i runs the sides in this order
        return list(range(n)) if i % 2 == 0 else list(range(n))[::-1]

    # CPU seconds beside wall seconds: on a shared machine a child's CPU time barely depends
    # on what else runs, its wall time does.
    cpu = {key: [[] for _ in sides] for key in ("build_s", "cold_search_s", "warm_p95_ms", "edit_then_search_s")}
    builds = [[] for _ in sides]
    for i in range(build_repeat):
        for k in order(i):
            shutil.rmtree(sides[k].index_dir(root, engine, workdir), ignore_errors=True)
            secs, _, _ = run(QABASE + ["index"], envs[k])
            builds[k].append(secs)
            cpu["build_s"][k].append(last_cpu)
    # Distinct queries for the warm run too: the engines keep what they read from an open
    # index (posting lists, field lengths), and cycling a few queries would only measure that.
    qs = queries_for(root, max(repeat, warm_n + 1), rng)
    # Each cold search is paired with a reference process run right before it: this machine's
    # speed drifts by half within minutes, so a ratio to a reference taken elsewhere in the run
    # would mostly measure the drift.
    cold, rss, ratios = [[] for _ in sides], [[] for _ in sides], [[] for _ in sides]
    for i, q in enumerate(qs[:repeat]):
        ref, _, _ = run(REFERENCE)
        for k in order(i):
            secs, mb, _ = run(QABASE + ["search", q], envs[k])
            cold[k].append(secs)
            cpu["cold_search_s"][k].append(last_cpu)
            rss[k].append(mb)
            ratios[k].append(secs / ref)
    qfile = workdir / f"warm-{root.name}-{engine}.json"
    qfile.parent.mkdir(parents=True, exist_ok=True)
    qfile.write_text(json.dumps({"first": qs[-1], "queries": [qs[i % len(qs)] for i in range(warm_n)]},
                                ensure_ascii=False), encoding="utf-8")
    warm = [[] for _ in sides]  # one list of latencies per warm process
    for i in range(repeat if n > 1 else 1):
        for k in order(i):
            _, _, out = run([sys.executable, "-c", _WARM_CODE, str(root), engine, str(qfile)], envs[k])
            got = json.loads(out)
            sides[k].check(got["file"])
            warm[k].append(got["lat"])
            cpu["warm_p95_ms"][k].append(_p95(got["cpu"]))
    edits = [[] for _ in sides]
    files = sorted((root / "qa_entries").rglob("*.md"))
    for i in range(repeat):
        p = rng.choice(files)
        text = p.read_text(encoding="utf-8")
        p.write_text(text.rstrip("\n") + f"\n\n补充说明第{i}条：执行法院应当及时更新。\n", encoding="utf-8")
        for k in order(i):
            secs, _, _ = run(QABASE + ["search", "执行法院及时更新"], envs[k])
            edits[k].append(secs)
            cpu["edit_then_search_s"][k].append(last_cpu)
        p.write_text(text, encoding="utf-8")
    for k in range(n):
        run(QABASE + ["search", "恢复"], envs[k])  # leave the index matching the files
    out = []
    for k in range(n):
        p50s = [sorted(lat)[len(lat) // 2] for lat in warm[k]]
        p95s = [_p95(lat) for lat in warm[k]]
        out.append({
            "build_s": stats(builds[k]),
            "cold_search_s": stats(cold[k]),
            "cold_ratio_to_reference": stats(ratios[k]),
            "cold_rss_mb": stats(rss[k]),
            "warm_p50_ms": statistics.median(p50s),
            "warm_p95_ms": statistics.median(p95s),
            "warm_p95_runs_ms": p95s,
            "edit_then_search_s": stats(edits[k]),
            "raw": {"build_s": builds[k], "cold_search_s": cold[k], "warm_p95_ms": p95s, "edit_then_search_s": edits[k]},
            "raw_cpu": {key: v[k] for key, v in cpu.items()},
        })
    return out


# measure, key in the raw lists, budget (largest allowed median of current / old)
BUDGETS = [("cold search", "cold_search_s", 1.15), ("warm p95", "warm_p95_ms", 1.15),
           ("edit → search", "edit_then_search_s", 1.15), ("full build", "build_s", 1.30)]


def required(size: str, engine: str) -> bool:
    """Issue 18's speed budgets: the shipped knowledge base, and 5,000 entries on Whoosh."""
    return size == "shipped" or (size == "5000" and engine == "whoosh")


def paired(cur: dict, old: dict, size: str, engine: str) -> list[dict]:
    rows = []
    for label, key, budget in BUDGETS:
        a, b = cur["raw"][key], old["raw"][key]
        r = [x / y for x, y in zip(a, b)]
        ratio = statistics.median(r)
        rc = [x / y for x, y in zip(cur["raw_cpu"][key], old["raw_cpu"][key]) if y > 0]
        rows.append({"measure": label, "key": key, "current_median": statistics.median(a),
                     "old_median": statistics.median(b), "paired_ratio": ratio, "ratio_min": min(r),
                     "ratio_max": max(r), "pairs": len(r), "budget": budget, "within": ratio <= budget,
                     "cpu_current_median": statistics.median(cur["raw_cpu"][key]),
                     "cpu_old_median": statistics.median(old["raw_cpu"][key]),
                     "cpu_paired_ratio": statistics.median(rc) if rc else None,
                     "required": required(size, engine)})
    return rows


def reference(repeat: int) -> dict:
    xs, rss = [], []
    for _ in range(repeat):
        secs, mb, _ = run(REFERENCE)
        xs.append(secs)
        rss.append(mb)
    return {"seconds": stats(xs), "rss_mb": stats(rss)}


def git_bytes(*args: str) -> bytes:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, stdout=subprocess.PIPE).stdout


def extract(rev: str, paths: list[str], dest: Path) -> None:
    """``git archive rev paths | tar -x -C dest``: reads the repository, changes nothing in it."""
    import io
    import tarfile

    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(git_bytes("archive", rev, *paths))) as tar:
        tar.extractall(dest)


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
    ap.add_argument("--compare", metavar="REV", help="also measure commit REV's src/, paired with the current code")
    ap.add_argument("--shipped-rev", metavar="REV",
                    help="take the shipped knowledge base (kb/, qa_entries/) from commit REV, not the working tree")
    ap.add_argument("--runs", default="", help="only these size/engine pairs, e.g. 5000/whoosh,shipped/tantivy")
    ap.add_argument("--build-repeat", type=int, help="full builds per size/engine (and side); default 3, "
                    "with --compare at least --repeat, 1 at 50,000")
    args = ap.parse_args()
    start_launcher()  # first, while this process is still small
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)

    results = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "runs": []}
    results["command"] = " ".join([Path(sys.executable).name] + sys.argv)
    results["checkout"] = {"head": git_bytes("rev-parse", "HEAD").decode().strip(),
                           "src_status": git_bytes("status", "--porcelain", "--", "src").decode().splitlines()}
    current_src = ROOT / "src"
    if args.compare:
        # The checkout's src/ as it is now, copied: edits made elsewhere during a long run must
        # not change the code measured halfway (and both sides start without bytecode caches).
        snap = args.workdir / "current"
        shutil.rmtree(snap, ignore_errors=True)
        shutil.copytree(current_src, snap / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        current_src = snap / "src"
    sides = [Side("current", current_src, bool(args.compare))]
    if args.compare:
        commit = git_bytes("rev-parse", "--verify", args.compare + "^{commit}").decode().strip()
        old_root = args.workdir / f"rev-{commit[:7]}"
        extract(commit, ["src"], old_root)
        sides.append(Side("old", old_root / "src", True))
        results["compare"] = {"rev": args.compare, "commit": commit, "src": str(old_root / "src")}
    # Each side's child must import its own code (PYTHONPATH before the editable install).
    for s in sides:
        _, _, out = run([sys.executable, "-c", _WHICH_CODE], dict(os.environ, PYTHONPATH=str(s.src)))
        s.check(out.strip())
        results.setdefault("code", {})[s.name] = out.strip()
    shipped_kb_source = ROOT
    if args.shipped_rev:
        commit = git_bytes("rev-parse", "--verify", args.shipped_rev + "^{commit}").decode().strip()
        shipped_kb_source = args.workdir / f"kb-{commit[:7]}"
        extract(commit, ["kb", "qa_entries"], shipped_kb_source)
        results["shipped_rev"] = commit

    rng = random.Random(11)
    pool = clauses(args.statutes)
    only = {r for r in args.runs.split(",") if r}
    results["reference"] = reference(args.repeat)
    for size in args.sizes.split(","):
        if only and not any(r.startswith(size + "/") for r in only):
            continue
        if size == "shipped":
            root = args.workdir / "shipped"
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(shipped_kb_source, root,
                            ignore=shutil.ignore_patterns(".git", ".venv", ".index", "benchmarks", "tests"))
        else:
            root = generate(args.workdir / f"gen-{size}", int(size), pool, src_kb=shipped_kb_source / "kb")
        for engine in args.engines.split(","):
            if size == "50000" and engine == "whoosh" and not args.whoosh_50000:
                continue
            if only and f"{size}/{engine}" not in only:
                continue
            # With --compare: at least 5 paired builds, as for every other measure.
            build_repeat = args.build_repeat or (1 if size == "50000" else (max(3, args.repeat) if args.compare else 3))
            print(f"… {size} / {engine}", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            ms = measure(root, engine, args.repeat, build_repeat, args.warm, rng, sides, args.workdir)
            m = ms[0]
            m.update(size=size, engine=engine, entries=len(list((root / "qa_entries").rglob("*.md"))))
            if args.compare:
                m["old"] = ms[1]
                m["paired"] = paired(ms[0], ms[1], size, engine)
            results["runs"].append(m)
            results["reference_after_" + size + "_" + engine] = reference(3)["seconds"]
            print(f"  done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
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
    if args.compare:
        lines = [f"\nCompared with {args.compare} ({results['compare']['commit'][:10]}), same run; ratio = median over "
                 f"pairs of current / old (min–max); budgets from issue 18 apply to the shipped knowledge base "
                 f"and 5,000 entries on Whoosh. The last column is the same ratio over the children's CPU "
                 f"time (user + system; warm: p95 of per-query process time), less sensitive to other load.\n",
                 "| knowledge base | engine | measure | current median | old median | paired ratio (min–max) | budget | within | paired CPU-time ratio |",
                 "|---|---|---|---|---|---|---|---|---|"]
        for r in results["runs"]:
            for row in r["paired"]:
                unit = "ms" if row["key"].endswith("_ms") else "s"
                fmt = (lambda v: f"{v:.1f} {unit}") if unit == "ms" else (lambda v: f"{v:.2f} {unit}")
                verdict = ("yes" if row["within"] else "**no**") if row["required"] else \
                          ("(yes, not required)" if row["within"] else "(no, not required)")
                lines.append(f"| {r['size']} | {r['engine']} | {row['measure']} | {fmt(row['current_median'])} | "
                             f"{fmt(row['old_median'])} | {row['paired_ratio']:.2f} ({row['ratio_min']:.2f}–"
                             f"{row['ratio_max']:.2f}), n={row['pairs']} | ≤ {row['budget']:.2f} | {verdict} | "
                             + (f"{row['cpu_paired_ratio']:.2f} |" if row["cpu_paired_ratio"] is not None else "– |"))
        table = "\n".join(lines)
        print(table)
        results["compare"]["table_markdown"] = table
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
