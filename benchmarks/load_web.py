"""Load check for `qabase serve`: N concurrent clients on loopback for a bounded time.

Starts `qabase serve --port 0` on 127.0.0.1 against a copy of the shipped knowledge base (the
copy keeps the index and any log out of the repository; QABASE_NO_LOG=1 keeps these made-up
searches out of the gaps log), lets every client send keep-alive requests in a loop, and
prints requests per second and latency percentiles. Only loopback is ever contacted, and the
run stops by itself after --duration seconds or --max-requests requests.

    .venv/bin/python benchmarks/load_web.py --clients 8 --duration 30

Request mix per client, in turn: the search page (HTML), the JSON search API, an entry page.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent

QUERIES = [
    "老赖拒执怎么移送公安", "终本后又找到财产怎么办", "交叉执行案件怎么结案", "法院半年没动静能找上级法院吗",
    "当事人上访找谁", "执转破由哪个法院移送", "限高令谁来解除", "提级执行的案子怎么报结",
    "消极执行怎么追责", "交叉执行干警怎么奖励", "查封冻结到期怎么续封", "执行异议向哪个法院提",
]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def start_server(root: Path) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "QABASE_NO_LOG": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "qabase", "--root", str(root), "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", env=env)
    said = []
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("qabase serve 没有启动：\n" + "".join(said) + proc.stderr.read())
        said.append(line)
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if m:
            return proc, int(m.group(1))


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.read()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="qabase serve 的负载检查（只访问本机回环地址）")
    ap.add_argument("--clients", type=int, default=8, help="并发客户端数")
    ap.add_argument("--duration", type=float, default=30.0, help="计时阶段的秒数（上限 600）")
    ap.add_argument("--warmup", type=float, default=3.0, help="预热秒数，不计入结果")
    ap.add_argument("--max-requests", type=int, default=200_000, help="请求总数上限")
    ap.add_argument("--root", type=Path, default=REPO, help="知识库目录（会先复制到临时目录）")
    ap.add_argument("--json", type=Path, help="把结果另存为 JSON")
    args = ap.parse_args(argv)
    duration = min(max(args.duration, 1.0), 600.0)
    clients = min(max(args.clients, 1), 256)

    tmp = Path(tempfile.mkdtemp(prefix="qabase-load-"))
    try:
        root = tmp / "kb-copy"
        shutil.copytree(args.root / "kb", root / "kb", ignore=shutil.ignore_patterns(".index"))
        shutil.copytree(args.root / "qa_entries", root / "qa_entries")
        proc, port = start_server(root)
        try:
            return run(port, clients, duration, args)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(port: int, clients: int, duration: float, args) -> int:
    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    ids = []
    for q in QUERIES:
        status, body = get(probe, "/api/search?limit=3&q=" + quote(q))
        if status != 200:
            raise SystemExit(f"预检失败：/api/search 返回 {status}")
        ids += [h["id"] for h in json.loads(body)["results"]]
    probe.close()
    ids = sorted(set(ids)) or ["dis-001"]
    paths = []
    for i, q in enumerate(QUERIES):
        paths.append(("page", "/search?q=" + quote(q)))
        paths.append(("api", "/api/search?q=" + quote(q)))
        paths.append(("entry", f"/entry/{ids[i % len(ids)]}"))

    lock = threading.Lock()
    samples: list[tuple[str, float, int]] = []
    counter = [0]
    measuring = threading.Event()
    stop = threading.Event()

    def client(n: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = n * 7
        while not stop.is_set():
            kind, path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            try:
                status, _ = get(conn, path)
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            dt = time.perf_counter() - t0
            if measuring.is_set() and not stop.is_set():
                with lock:
                    samples.append((kind, dt, status))
                    counter[0] += 1
                    if counter[0] >= args.max_requests:
                        stop.set()
        conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    time.sleep(max(args.warmup, 0.0))
    measuring.set()
    started = time.perf_counter()
    stop.wait(duration)
    stop.set()
    elapsed = time.perf_counter() - started
    for t in threads:
        t.join(timeout=70)

    lat = [s[1] * 1000 for s in samples]
    errors = sum(1 for s in samples if s[2] != 200)
    report = {
        "clients": clients, "seconds": round(elapsed, 1), "requests": len(samples), "errors": errors,
        "rps": round(len(samples) / elapsed, 1),
        "p50_ms": round(percentile(lat, 50), 1), "p95_ms": round(percentile(lat, 95), 1),
        "p99_ms": round(percentile(lat, 99), 1), "max_ms": round(max(lat), 1) if lat else None,
        "by_kind": {},
        "machine": f"{os.cpu_count()} 核, Python {sys.version.split()[0]}",
    }
    for kind in ("page", "api", "entry"):
        k = [s[1] * 1000 for s in samples if s[0] == kind]
        report["by_kind"][kind] = {"requests": len(k), "p50_ms": round(percentile(k, 50), 1),
                                   "p95_ms": round(percentile(k, 95), 1),
                                   "mean_ms": round(statistics.fmean(k), 1) if k else None}
    print(f"{clients} 个并发客户端，计时 {report['seconds']} 秒：{report['requests']} 个请求，"
          f"{report['errors']} 个错误")
    print(f"每秒请求数：{report['rps']}")
    print(f"延迟：p50 {report['p50_ms']} ms，p95 {report['p95_ms']} ms，p99 {report['p99_ms']} ms，"
          f"最长 {report['max_ms']} ms")
    names = {"page": "检索页（HTML）", "api": "检索接口（JSON）", "entry": "条目页"}
    for kind, r in report["by_kind"].items():
        print(f"  {names[kind]}：{r['requests']} 个，p50 {r['p50_ms']} ms，p95 {r['p95_ms']} ms")
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
