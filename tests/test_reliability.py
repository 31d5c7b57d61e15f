"""Reliability of the index: a build killed at every phase, an I/O error and a machine crash
injected at every write, searches and builds running at the same time, damaged or foreign
index directories, a read-only knowledge base, and consoles that cannot print everything.

The knowledge base changes between the "before" and "after" builds, so a reader can always
tell which index it is looking at, and a mix of the two would show.
"""
from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qabase.search import index as ix_mod
from qabase import open_kb
from qabase.cli import app
from qabase.search.retrieve import Filters, run

from conftest import ENGINES, entry_text, make_kb

runner = CliRunner()
QABASE = [sys.executable, "-m", "qabase"]
QUERIES = ("悔拍保证金怎么处理", "终本后恢复执行", "拒执线索移送公安", "交叉执行案件怎么结案", "信访案件上一级法院")
TOPICS = (("discovery", "dis"), ("accountability", "acc"), ("rewards", "rew"), ("petitions", "pet"),
          ("filing-closing", "fil"), ("procedure-linkage", "pl"))
WORDS = ("终结本次执行程序", "恢复执行", "拒不执行判决裁定罪", "移送公安机关", "交叉执行", "结案方式", "信访",
         "上一级法院", "查封冻结", "执行回转", "异议复议", "失信被执行人", "限制高消费", "执转破", "卷宗移交",
         "考核奖励", "消极执行", "指定执行", "提级执行", "网络司法拍卖")


# -- knowledge bases whose "before" and "after" answer differently ---------------------------
def corpus(n: int, version: str = "A") -> dict[str, str]:
    """``n`` entries spread over the six topics. Version B rewrites every third question,
    deletes the last five entries and adds five new ones (more than a fifth of the files, so
    a search rebuilds in full); version "B1" changes a single file (an in-place update)."""
    out = {}
    total = n if version != "B" else n - 5
    for i in range(total):
        slug, prefix = TOPICS[i % 6]
        eid = f"{prefix}-{i // 6 + 1:03d}"
        a, b = WORDS[i % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)]
        question = f"{a}与{b}的第{i}个问题如何处理？"
        answer = f"**结论**：{a}依法办理；{b}按规定处理。第{i}条答复。"
        if (version == "B" and i % 3 == 0) or (version == "B1" and i == 4):
            question = f"悔拍保证金与{b}的第{i}个问题如何处理？"
            answer = f"**结论**：悔拍保证金不予退还，{b}另行处理。第{i}条答复。"
        out[f"{slug}/{eid}.md"] = entry_text(eid, slug, question, answer, tags=[a[:4]])
    if version == "B":
        for k in range(5):
            slug, prefix = TOPICS[k]
            eid = f"{prefix}-{900 + k:03d}"
            out[f"{slug}/{eid}.md"] = entry_text(
                eid, slug, f"网络司法拍卖悔拍后保证金第{k}问？", f"**结论**：悔拍保证金用于弥补差价。第{k}问。",
                tags=["悔拍"])
    return out


def write_entries(root: Path, entries: dict[str, str]) -> None:
    base = root / "qa_entries"
    for p in base.rglob("*.md"):
        p.unlink()
    for rel, text in entries.items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def live_view(root: Path, queries=QUERIES) -> dict:
    """What a reader of the live index sees right now, without building or updating anything:
    the same generation, vocabulary and retrieval that ``search`` would use."""
    kb = open_kb(root)
    try:
        gen = ix_mod.current_generation(kb.location.path)
        assert gen is not None, f"CURRENT names no usable generation in {kb.location.path}"
        manifest = ix_mod.read_manifest(gen)
        assert manifest is not None, f"generation {gen.name} has no readable manifest"
        reader, _, analyzer, _ = kb._open_live(gen, manifest, None)
        return {q: [asdict(h) for h in run(reader, analyzer.analyse(q), Filters(), 10)[1]] for q in queries}
    finally:
        kb.close()


def index_leftovers(root: Path) -> list[str]:
    """Anything in the index directory besides CURRENT, the lock, the live generation and
    at most one older one."""
    base = open_kb(root).location.path
    live = ix_mod.current_generation(base)
    names = sorted(p.name for p in base.iterdir())
    gens = [n for n in names if n.startswith("gen-")]
    extra = [n for n in names if not n.startswith("gen-") and n not in (ix_mod.CURRENT, ix_mod.LOCK)]
    if live is None or live.name not in gens or len(gens) > 2:
        extra += gens
    # The spare kept beside the live generation is a complete one (the generation it replaced),
    # never the remains of a killed build.
    extra += [n for n in gens if ix_mod.read_manifest(base / n) is None]
    return extra


def cli(root: Path, *args):
    r = runner.invoke(app, ["--root", str(root), *args])
    return r


def cli_results(root: Path, q: str) -> list[dict]:
    r = cli(root, "search", q, "--json", "--no-log")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["results"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    # An index that falls back to the user cache directory must land in the test's tmp.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("QABASE_INDEX_DIR", raising=False)
    monkeypatch.delenv("QABASE_ROOT", raising=False)


_SEGMENTERS: dict = {}
_CATALOGUES: dict = {}


@pytest.fixture(autouse=True)
def _shared_tables(monkeypatch):
    # Loading jieba's dictionary takes a second; these tests open hundreds of knowledge bases
    # with the same kb/ configuration, so in this process they share one segmenter.
    from qabase import api

    real = api.KnowledgeBase.segmenter

    def shared(self):
        if self._segmenter is None:
            key = self.kb.analysis_fingerprint()
            if key not in _SEGMENTERS:
                _SEGMENTERS[key] = real.fget(self)
            self._segmenter = _SEGMENTERS[key]
        return self._segmenter

    monkeypatch.setattr(api.KnowledgeBase, "segmenter", property(shared))
    # Likewise the citation catalogue: every knowledge base here has the shipped one.
    from qabase.content import catalogue

    real_load = catalogue.load_catalogue

    def load_catalogue(path):
        key = path.read_bytes() if path.exists() else b""
        if key not in _CATALOGUES:
            _CATALOGUES[key] = real_load(path)
        return _CATALOGUES[key]

    monkeypatch.setattr(catalogue, "load_catalogue", load_catalogue)
    # And the two tables each generation carries (vocabulary, homophones): parsed once per
    # distinct content. Both are pure functions of the bytes read from disk, so a damaged
    # file is still parsed (and fails) as itself.
    from qabase.search import pinyin
    from qabase.search import segment

    real_homophones, real_parse = pinyin.Homophones, segment.VocabSegmenter.parse.__func__

    def homophones(data):
        key = ("h", data)
        if key not in _CATALOGUES:
            _CATALOGUES[key] = real_homophones(data)
        return _CATALOGUES[key]

    def parse(cls, data):
        key = ("v", data)
        if key not in _CATALOGUES:
            _CATALOGUES[key] = real_parse(cls, data)
        return _CATALOGUES[key]

    monkeypatch.setattr(pinyin, "Homophones", homophones)
    monkeypatch.setattr(segment.VocabSegmenter, "parse", classmethod(parse))


def use_engine(root: Path, engine: str) -> Path:
    """Choose the engine in the knowledge base's own kb/config.yaml, so that every process
    working on it (and every copy of it) uses that engine."""
    cfg = root / "kb" / "config.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + f"\nengine: {engine}\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module", params=ENGINES)
def kill_kbs(request, tmp_path_factory):
    """A built "before" knowledge base (101 entries, so the writing phase reports progress
    mid-way) and references for every "after": full rebuild and in-place update; once per
    engine."""
    if request.param == "tantivy":
        pytest.importorskip("tantivy")
    base = tmp_path_factory.mktemp(f"kill-{request.param}")
    before = use_engine(make_kb(base / "before", corpus(101, "A")), request.param)
    assert open_kb(before).engine == request.param
    open_kb(before).build_index()
    refs = {"A": live_view(before)}
    for version in ("B", "B1"):
        ref = base / f"ref-{version}"
        shutil.copytree(before, ref)
        write_entries(ref, corpus(101, version))
        if version == "B":
            assert cli(ref, "index").exit_code == 0
        else:  # the in-place update that a search makes when one file changed
            r = cli(ref, "search", QUERIES[0], "--json", "--no-log")
            assert r.exit_code == 0 and r.stdout
        refs[version] = live_view(ref)
        refs[version + "-cli"] = {q: cli_results(ref, q) for q in QUERIES}
        if version == "B1":  # B is a full build already
            assert cli(ref, "index").exit_code == 0
        refs[version + "-full"] = live_view(ref)
    assert refs["A"] != refs["B"] and refs["A"] != refs["B1"], "the test needs different before/after answers"
    return dict(workdir=base, before=before, refs=refs, engine=request.param)


# -- kill at any point ---------------------------------------------------------------------
FULL = ("index",)  # qabase index: a complete new generation, then the CURRENT switch
UPDATE = ("search", QUERIES[0], "--json", "--no-log")  # one entry changed: updated in place
OLD, NEW, EITHER = "old", "new", "either"

# One line per kill point: command, where it is stopped (a phase of index.PHASES, a finer
# point "phase:detail", or "after-engine-commit": the names index._hook answers to), what a
# reader must see afterwards, and an optional delay after reaching the point (the process
# keeps running meanwhile, so the kill lands somewhere inside the next step). Each point is
# reached by name (QABASE_TEST_PAUSE_AT), never by a timer alone.
KILL_POINTS = [
    (FULL, "读取条目", OLD, None),
    (FULL, "分析文本:25", OLD, None),
    (FULL, "分析文本:100", OLD, None),
    (FULL, "分析文本", OLD, None),
    (FULL, "写入索引", OLD, None),
    (FULL, "写入索引:100", OLD, None),
    (FULL, "提交", OLD, None),
    (FULL, "提交", EITHER, 0.02),
    (FULL, "提交:已提交", OLD, None),
    (FULL, "提交:已写清单", OLD, None),
    (FULL, "切换版本", OLD, None),
    (FULL, "切换版本", EITHER, 0.005),
    (FULL, "切换版本:已切换", NEW, None),
    (FULL, "切换版本:已清理", NEW, None),
    (UPDATE, "增量读取", OLD, None),
    (UPDATE, "增量提交", OLD, None),  # the pending manifest is written; the engine has not committed
    (UPDATE, "增量提交", EITHER, 0.005),
    (UPDATE, "after-engine-commit", NEW, None),  # committed; manifest.json not yet written
    (UPDATE, "增量提交:已写清单", NEW, None),  # manifest.json written; the pending one not yet removed
]


def _kill_run(workdir: Path, before: Path, i: int) -> dict:
    """Run ``qabase <cmd>`` in a process of its own, stop it at the kill point and SIGKILL it.

    The process is forked from this (worker) process and runs ``python -m qabase``'s own entry
    point: a real process killed as ``kill -9`` kills it, without paying for a new
    interpreter and jieba's dictionary at every point."""
    import runpy

    cmd, where, expect, delay = KILL_POINTS[i]
    root = workdir / f"k{i}"
    shutil.copytree(before, root)
    version = "B" if cmd is FULL else "B1"
    write_entries(root, corpus(101, version))
    err_path = workdir / f"k{i}.stderr"
    r_fd, w_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the qabase process
        code = 1
        try:
            os.close(r_fd)
            os.dup2(w_fd, 1)
            err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(err, 2)
            sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", line_buffering=True)
            sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", line_buffering=True)
            os.environ.pop("QABASE_INDEX_DIR", None)
            os.environ.update(QABASE_ROOT=str(root), QABASE_TEST_PAUSE_AT=where, QABASE_NO_LOG="1",
                              QABASE_TEST_PAUSE_SECONDS="0" if delay else "600")
            sys.argv = ["qabase", *cmd]
            try:
                runpy.run_module("qabase", run_name="__main__", alter_sys=True)
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)  # never back into pytest's or the pool's code
    os.close(w_fd)
    watchdog = threading.Timer(300, os.kill, (pid, signal.SIGKILL))
    watchdog.start()
    reached = False
    try:
        with open(r_fd, "rb") as out:
            for line in out:
                if line.decode("utf-8", "replace").strip() == f"QABASE-PAUSED {where}":
                    reached = True
                    if delay:
                        threading.Event().wait(delay)
                    os.kill(pid, signal.SIGKILL)
                    break
        status = os.waitpid(pid, 0)[1]
    finally:
        watchdog.cancel()
    returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    err_path.unlink()
    return dict(root=root, version=version, reached=reached, returncode=returncode, stderr=stderr)


def _kill_point(data: dict, i: int) -> str | None:
    cmd, where, expect, delay = KILL_POINTS[i]
    refs = data["refs"]
    o = _kill_run(data["workdir"], data["before"], i)
    label = f"{data['engine']}: {' '.join(cmd[:1])} killed at {where}" + (f" +{delay}s" if delay else "")
    assert o["reached"], f"{label}: the build never reached this point\n{o['stderr']}"
    assert o["returncode"] in (-signal.SIGKILL, 0), f"{label}: {o['stderr']}"
    if delay is None:
        assert o["returncode"] == -signal.SIGKILL, label
    view = live_view(o["root"])
    after = refs[o["version"]]
    if expect == OLD:
        assert view == refs["A"], f"{label}: the reader no longer sees the index before the build"
    elif expect == NEW or o["returncode"] == 0:
        assert view == after, f"{label}: the reader does not see the completed build"
    else:
        assert view in (refs["A"], after), f"{label}: the reader sees a mix of before and after"
    # qabase search answers (updating the index as it needs) with the very scores of a run
    # never interrupted: an update is neither lost nor applied twice (Whoosh and tantivy count
    # a replaced document in idf until its segment is merged, so a second application would
    # show), and the next build completes.
    for q in QUERIES:
        got, want = cli_results(o["root"], q), refs[o["version"] + "-cli"][q]
        assert got == want, f"{label}: search after the kill"
    assert live_view(o["root"]) == after, f"{label}: the index after the next search"
    if view != refs["A"] or cmd is UPDATE:  # else that search was the next (full) build
        r = cli(o["root"], "index")
        assert r.exit_code == 0, f"{label}: {r.output}"
    assert live_view(o["root"]) == refs[o["version"] + "-full"], label
    assert index_leftovers(o["root"]) == [], f"{label}: leftovers after the next build"
    return None


def test_kill_at_every_phase_leaves_before_or_after(kill_kbs):
    """``qabase index`` (and a search updating the index in place) killed with SIGKILL at every
    point of KILL_POINTS, on each engine: a reader then sees exactly the index before or the
    completed one, ``qabase search`` answers with the same scores as a run never interrupted,
    and the next build completes without leftovers."""
    assert len([k for k in KILL_POINTS if k[0] is FULL and not k[3]]) >= 12
    assert {k[1].split(":")[0] for k in KILL_POINTS if k[0] is FULL} == set(ix_mod.PHASES)
    assert ("after-engine-commit", NEW) in {(k[1], k[2]) for k in KILL_POINTS if k[0] is UPDATE}
    _in_workers(_kill_point, range(len(KILL_POINTS)), kill_kbs)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_update_already_made_is_not_made_again(tmp_path, engine):
    """Two processes notice the same edit; the second gets the build lock only after the first
    has updated the index. The second recognises the update as done (it judges the changes
    again against the manifest in force under the lock): the engine does not commit again,
    and the scores stay those of one update."""
    from qabase.content.entries import scan_entry_files

    if engine == "tantivy":
        pytest.importorskip("tantivy")
    root = use_engine(make_kb(tmp_path / "k", corpus(12, "A")), engine)
    open_kb(root).build_index()
    write_entries(root, corpus(12, "B1"))
    late = open_kb(root)
    base = late.location.path
    gen = ix_mod.current_generation(base)
    manifest = ix_mod.read_manifest(gen)
    changed, deleted, _ = ix_mod.changed_files(late.kb, gen, manifest, scan_entry_files(late.kb))
    assert len(changed) == 1 and not deleted  # one entry edited
    r = open_kb(root).search(QUERIES[0])  # the first process updates in place
    assert r.rebuilt and "已更新索引" in r.rebuilt, r.rebuilt
    want = live_view(root)
    eng = ix_mod.engine_module(engine)
    commit = eng.latest_generation(gen)
    got = ix_mod.update(late.kb, late.segmenter, late.catalogue, gen, manifest, changed, deleted,
                        location=late.location)
    assert got == (gen, ix_mod.read_manifest(gen))
    assert eng.latest_generation(gen) == commit, "the update was applied a second time"
    assert live_view(root) == want
    assert not (gen / ix_mod.PENDING).exists()


def test_readme_reports_the_kill_points():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    full = [k for k in KILL_POINTS if k[0] is FULL]
    assert f"{len(full)} 个中断点" in readme and f"{len(KILL_POINTS) - len(full)} 个增量更新的中断点" in readme
    assert f"全部 {len(ix_mod.PHASES)} 个阶段" in readme
    assert f"{len(DAMAGE)} 种损坏" in readme


# -- injected I/O errors and machine crashes at every write --------------------------------
class Crash(BaseException):
    """The power went out: nothing after this point reaches the disk, no cleanup runs."""


class FaultFS:
    """Lucene's MockDirectoryWrapper, for qabase: every operation that changes files under
    ``root`` (opening for writing, each write that reaches the OS, fsync, rename, mkdir,
    unlink) is numbered. With ``fail_at=N`` the Nth operation fails:

    - ``mode="enospc"``: a full disk from operation N on: every operation that needs space
      fails with ENOSPC; deleting still works.
    - ``mode="crash"``: the machine stops. Operation N and everything after it raise Crash;
      then ``lose_unsynced`` throws away what the OS never promised to keep: the contents of
      files written since their last fsync, and directory changes (new files, new
      directories, renames) since the directory's last fsync.

    Writes are counted at the OS level (below Python's buffering), which is where ENOSPC
    happens; Whoosh's FileStorage and qabase's atomic_write both come through here.
    """

    SPACE = {"open", "write", "fsync", "rename", "mkdir"}

    def __init__(self, root: Path, fail_at: int | None = None, mode: str = "enospc"):
        self.root = str(root) + os.sep
        self.fail_at = fail_at
        self.mode = mode
        self.count = 0
        self.kinds: list[str] = []
        self.failures = 0
        self.crashed = False
        self.active = False
        self.fd_paths: dict[int, str] = {}
        self.dirty: dict[str, bytes | None] = {}  # path -> content at its last fsync (None: never synced)
        self.pending: dict[str, list] = {}  # directory -> changes since its last fsync
        self.real = {}

    # bookkeeping ------------------------------------------------------------------------
    def mine(self, path, dir_fd=None) -> bool:
        return self.resolve(path, dir_fd) is not None

    def resolve(self, path, dir_fd=None):
        if isinstance(path, int):
            return None
        p = os.fsdecode(path)
        if dir_fd is not None:
            base = self.fd_paths.get(dir_fd)
            if base is None:
                return None
            p = os.path.join(base, p)
        p = os.path.abspath(p)
        return p if p.startswith(self.root) else None

    def step(self, kind: str, path: str) -> None:
        if self.crashed:
            raise Crash(path)
        self.count += 1
        self.kinds.append(kind)
        if self.fail_at is None or self.count < self.fail_at:
            return
        if self.mode == "crash":
            self.crashed = True
            raise Crash(path)
        if kind in self.SPACE:
            self.failures += 1
            raise OSError(errno.ENOSPC, "No space left on device", path)

    def touched(self, path: str) -> None:
        if path not in self.dirty:
            self.dirty[path] = None if not os.path.exists(path) else self._read(path)

    def _read(self, path):
        try:
            with self.real["open"](path, "rb") as f:
                return f.read()
        except OSError:
            return None

    def dir_change(self, path: str, change: tuple) -> None:
        self.pending.setdefault(os.path.dirname(path), []).append(change)

    # patched functions ------------------------------------------------------------------
    def _open(self, file, mode="r", buffering=-1, encoding=None, errors=None, newline=None, closefd=True, opener=None):
        path = self.resolve(file) if not isinstance(file, int) else None
        if path is None or not any(c in mode for c in "wax+"):
            if path is not None and self.crashed:
                raise Crash(path)
            return self.real["open"](file, mode, buffering, encoding, errors, newline, closefd, opener)
        self.step("open", path)
        existed = os.path.exists(path)
        if not existed:
            self.dir_change(path, ("create", path))
        if "w" in mode or not existed:
            self.touched(path)  # before the truncation: what was synced is what a crash leaves
        raw = _CountingRaw(self, path, mode.replace("t", "").replace("b", "") + "b")
        buf = io.BufferedRandom(raw) if "+" in mode else io.BufferedWriter(raw)
        if "b" in mode:
            return buf
        return io.TextIOWrapper(buf, encoding=encoding, errors=errors, newline=newline)

    def _os_open(self, path, flags, mode=0o777, *, dir_fd=None):
        p = self.resolve(path, dir_fd)
        if p is None:
            return self.real["os.open"](path, flags, mode, dir_fd=dir_fd)
        if self.crashed:
            raise Crash(p)
        writing = flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND)
        if writing:
            self.step("open", p)
            if not os.path.exists(p):
                self.dir_change(p, ("create", p))
                self.touched(p)
        fd = self.real["os.open"](path, flags, mode, dir_fd=dir_fd)
        self.fd_paths[fd] = p
        return fd

    def _os_close(self, fd):
        self.fd_paths.pop(fd, None)
        return self.real["os.close"](fd)

    def _os_write(self, fd, data):
        p = self.fd_paths.get(fd)
        if p is not None:
            self.step("write", p)
            self.touched(p)
        return self.real["os.write"](fd, data)

    def _fsync(self, fd):
        p = self.fd_paths.get(fd)
        if p is None:
            return self.real["os.fsync"](fd)
        self.step("fsync", p)  # recorded, not performed: the crash here is simulated anyway
        if os.path.isdir(p):
            self.pending.pop(p, None)
        else:
            self.dirty.pop(p, None)

    def _rename(self, which):
        def rename(src, dst, *, src_dir_fd=None, dst_dir_fd=None):
            s, d = self.resolve(src, src_dir_fd), self.resolve(dst, dst_dir_fd)
            if s is None and d is None:
                return self.real[which](src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
            self.step("rename", d or s)
            old = self._read(d) if d and os.path.isfile(d) else None
            self.real[which](src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
            if s in self.dirty:
                self.dirty[d] = self.dirty.pop(s)
            else:
                self.dirty.pop(d, None)
            self.dir_change(d, ("rename", s, d, old))
        return rename

    def _mkdir(self, path, mode=0o777, *, dir_fd=None):
        p = self.resolve(path, dir_fd)
        if p is None:
            return self.real["os.mkdir"](path, mode, dir_fd=dir_fd)
        self.step("mkdir", p)
        self.real["os.mkdir"](path, mode, dir_fd=dir_fd)
        self.dir_change(p, ("mkdir", p))

    def _remover(self, which):
        def remove(path, *, dir_fd=None):
            p = self.resolve(path, dir_fd)
            if p is not None:
                self.step("unlink", p)
                self.dirty.pop(p, None)
            return self.real[which](path, dir_fd=dir_fd)
        return remove

    def __enter__(self):
        self.real = {"open": builtins.open, "io.open": io.open, "os.open": os.open, "os.close": os.close,
                     "os.write": os.write, "os.fsync": os.fsync, "os.replace": os.replace,
                     "os.rename": os.rename, "os.mkdir": os.mkdir, "os.unlink": os.unlink,
                     "os.remove": os.remove, "os.rmdir": os.rmdir}
        builtins.open = io.open = self._open
        os.open, os.close, os.write, os.fsync = self._os_open, self._os_close, self._os_write, self._fsync
        os.replace, os.rename = self._rename("os.replace"), self._rename("os.rename")
        os.mkdir = self._mkdir
        os.unlink, os.remove, os.rmdir = self._remover("os.unlink"), self._remover("os.remove"), self._remover("os.rmdir")
        self.active = True
        return self

    def __exit__(self, *exc):
        builtins.open, io.open = self.real["open"], self.real["io.open"]
        for name in ("open", "close", "write", "fsync", "replace", "rename", "mkdir", "unlink", "remove", "rmdir"):
            setattr(os, name, self.real["os." + name])
        self.active = False
        return False

    def lose_unsynced(self, variant: str) -> None:
        """After a crash: file contents never fsynced are zeroed ("zero") or cut to nothing
        ("truncate"); directory changes never fsynced are undone, newest first, all of them
        ("zero"), or all but renames ("truncate": POSIX allows a rename to reach the disk
        before the creation of what it points to, unless the directory was synced between)."""
        for path, synced in self.dirty.items():
            if os.path.isfile(path):
                if synced is not None:
                    data = synced
                elif variant == "zero":
                    data = b"\0" * os.path.getsize(path)
                else:
                    data = b""
                with open(path, "wb") as f:
                    f.write(data)
        for changes in self.pending.values():
            for change in reversed(changes):
                if change[0] == "create":
                    Path(change[1]).unlink(missing_ok=True)
                elif change[0] == "mkdir":
                    shutil.rmtree(change[1], ignore_errors=True)
                elif change[0] == "rename" and variant == "zero":
                    _, src, dst, old = change
                    if os.path.exists(dst) and src:
                        shutil.move(dst, src)
                    if old is not None:
                        Path(dst).write_bytes(old)


class _CountingRaw(io.FileIO):
    def __init__(self, fs: FaultFS, path: str, mode: str):
        self.fs, self.path = fs, path
        super().__init__(path, mode)
        fs.fd_paths[self.fileno()] = path

    def write(self, b):
        if not self.fs.active:  # flushed by the garbage collector after the test's with-block
            return len(b) if self.fs.crashed else super().write(b)  # a dead process writes nothing
        self.fs.step("write", self.path)
        self.fs.touched(self.path)
        return super().write(b)

    def close(self):
        if not self.closed:
            self.fs.fd_paths.pop(self.fileno(), None)
        super().close()


@pytest.fixture(scope="module")
def fault_kbs(tmp_path_factory):
    """A small knowledge base built as "before", and what a reader sees before and after:
    after a full rebuild (three of five files changed) and after an in-place update (one)."""
    base = tmp_path_factory.mktemp("fault")
    before = make_kb(base / "before", corpus(5, "A"))
    open_kb(before).build_index()
    refs = {"A": live_view(before)}
    after = {"full": corpus(5, "B"), "update": corpus(5, "B1")}
    for kind, entries in after.items():
        ref = base / f"ref-{kind}"
        shutil.copytree(before, ref)
        write_entries(ref, entries)
        open_kb(ref).search(QUERIES[0])  # full: rebuild; update: in place, as the product does
        refs[kind] = live_view(ref)
        assert refs[kind] != refs["A"], kind
        open_kb(ref).build_index()
        refs[kind + "-full"] = live_view(ref)
    return dict(base=base, before=before, after=after, refs=refs)


def _fault_run(data: dict, kind: str, n: int | None, mode: str):
    """One operation of kind ``kind`` ("full": qabase index; "update": a search that updates
    the index in place) on a fresh copy of "before", with the fault at operation ``n``.
    Returns (FaultFS, root, outcome): "ok", "crash", or the exception raised."""
    from qabase.errors import QabaseError

    root = data["base"] / f"{kind}-{mode}-{n}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(data["before"], root)
    write_entries(root, data["after"][kind])
    kb = open_kb(root)
    kb.segmenter.tokenizer  # jieba's dictionary loads before the faults start
    outcome = "ok"
    with FaultFS(root, n, mode) as fs:
        try:
            if kind == "full":
                kb.build_index()
            else:
                kb.search(QUERIES[0])
        except Crash:
            outcome = "crash"
        except (QabaseError, OSError) as e:
            outcome = e
    kb.close()
    return fs, root, outcome


def _next_search_and_build(root: Path, kind: str, refs: dict, label: str) -> None:
    """The next search answers from the entries as they are now, building or updating the
    index as it needs (that is the next build: it completes and leaves no debris)."""
    r = open_kb(root).search(QUERIES[0])
    assert [h.id for h in r.results] == [h["id"] for h in refs[kind][QUERIES[0]]], f"{label}: next search"
    if r.rebuilt is not None:
        assert "\n" not in r.rebuilt, label
        # An update redone after a failure scores exactly as one never interrupted.
        view, want = live_view(root), refs[kind + "-full" if "重建" in r.rebuilt else kind]
        assert view == want, f"{label}: next build"
        assert index_leftovers(root) == [], f"{label}: leftovers after the next build"


def _disk_full_point(data: dict, kind: str, n: int) -> str | None:
    from qabase.errors import QabaseError

    refs = data["refs"]
    fs, root, outcome = _fault_run(data, kind, n, "enospc")
    if fs.count < n:
        return "beyond"
    label = f"ENOSPC at op {n}"
    # qabase index (the API) raises one QabaseError; the CLI prints it as one line (see below).
    assert outcome == "ok" or isinstance(outcome, QabaseError), f"{label}: {outcome!r}"
    if outcome != "ok":
        assert "\n" not in str(outcome) and "索引" in str(outcome), f"{label}: {outcome}"
    view = live_view(root)
    assert view in (refs["A"], refs[kind]), f"{label}: a reader sees a mix or a broken index"
    if outcome == "ok":
        assert view == refs[kind], f"{label}: it said it finished"
    _next_search_and_build(root, kind, refs, label)
    shutil.rmtree(root)
    return None


def _crash_point(data: dict, kind: str, n: int) -> str | None:
    refs = data["refs"]
    fs, root, outcome = _fault_run(data, kind, n, "crash")
    if fs.count < n:
        return "beyond"
    assert outcome == "crash", n
    crashed = root.with_name(root.name + "-as-crashed")
    shutil.copytree(root, crashed)
    seen = set()
    for variant in ("zero", "truncate"):
        label = f"crash at op {n} ({variant})"
        shutil.rmtree(root)
        shutil.copytree(crashed, root)
        fs.lose_unsynced(variant)
        state = _tree_digest(root / "kb" / ".index")
        if state in seen:
            continue  # both ways of losing data left the same disk
        seen.add(state)
        if kind == "full":
            assert live_view(root) in (refs["A"], refs[kind]), f"{label}: not exactly before or after"
        else:
            try:
                view = live_view(root)
            except (AssertionError, ix_mod.IndexCorrupt):
                view = None  # detected as damaged: search must rebuild it from the entries
            assert view in (refs["A"], refs[kind], None), f"{label}: a silent mix"
        _next_search_and_build(root, kind, refs, label)
    shutil.rmtree(root)
    shutil.rmtree(crashed)
    return None


def _tree_digest(d: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    for p in sorted(d.rglob("*")):
        h.update(str(p.relative_to(d)).encode())
        if p.is_file():
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


_POOL_DATA: dict = {}


def _in_workers(fn, args, data: dict) -> list:
    """``fn(data, *arg)`` for every arg, in forked worker processes (they inherit this
    process's patches and ``data``); fails the test with the first failures reported."""
    import multiprocessing

    _POOL_DATA.clear()
    _POOL_DATA.update(data)
    jobs = [(fn, a if isinstance(a, tuple) else (a,)) for a in args]
    with multiprocessing.get_context("fork").Pool(min(4, os.cpu_count() or 1)) as pool:
        results = pool.map(_pool_point, jobs, chunksize=1)
    failures = [r for r in results if isinstance(r, str) and r.startswith("FAIL")]
    assert not failures, "\n".join(failures[:5])
    return results


def _pool_point(job) -> str | None:
    fn, args = job
    try:
        return fn(_POOL_DATA, *args)
    except BaseException as e:  # reported to the parent, which fails the test with it
        return f"FAIL {type(e).__name__}: {e}"


def _at_every_op(data: dict, check, kind: str, mode: str) -> None:
    """Run ``check`` with the fault at operation N for every N of the operation, and beyond
    its last one (the operation then completes without reaching N). A full disk starting at
    a deletion is the same as one starting at the next operation that needs space, so for
    ENOSPC only those are run. The points are independent, so they run in forked worker
    processes (each inherits this process's patches)."""
    fs, root, outcome = _fault_run(data, kind, None, "enospc")
    assert outcome == "ok" and fs.count > 20, "the FaultFS sees nothing of the build"
    shutil.rmtree(root)
    ns = [n for n, k in enumerate(fs.kinds, 1) if mode == "crash" or k in FaultFS.SPACE]
    results = _in_workers(_fault_point, [(check, kind, n) for n in ns + [fs.count + 1, fs.count + 2, fs.count + 3]],
                          data)
    assert results[-1] == "beyond", "the last operations were not reached: count again"


def _fault_point(data: dict, check, kind: str, n: int) -> str | None:
    os.fsync = lambda fd: None  # a worker process: durability is simulated by FaultFS anyway
    return check(data, kind, n)


@pytest.mark.parametrize("kind", ["full", "update"])
def test_disk_full_at_every_write(fault_kbs, kind):
    """ENOSPC at operation N (and at every later one that needs space), for every N: the
    operation reports one clear Chinese error (or succeeds), readers keep seeing exactly the
    before or the after index, and once there is space the next search and build are right."""
    _at_every_op(fault_kbs, _disk_full_point, kind, "enospc")


@pytest.mark.parametrize("kind", ["full", "update"])
def test_machine_crash_at_every_write(fault_kbs, kind):
    """Power lost at operation N, for every N; then everything the OS was never asked to keep
    is lost, in two ways (see FaultFS.lose_unsynced). The full build syncs its generation
    (files, directory, and the directory's entry in the index directory) before switching
    CURRENT, so a reader sees exactly before or after. The in-place update syncs Whoosh's
    commit before the manifest; should the generation be unreadable after a crash, search
    notices and rebuilds it from the entries."""
    _at_every_op(fault_kbs, _crash_point, kind, "crash")


def test_disk_full_cli_message(fault_kbs):
    """``qabase index`` on a full disk: one Chinese line on stderr, exit code 1, old index live."""
    root = fault_kbs["base"] / "cli-enospc"
    shutil.copytree(fault_kbs["before"], root)
    write_entries(root, fault_kbs["after"]["full"])
    with FaultFS(root, 30, "enospc") as fs:  # inside the build, before the switch
        r = runner.invoke(app, ["--root", str(root), "--index-dir", str(root / "kb" / ".index"), "index"])
    assert fs.failures >= 1
    assert r.exit_code == 1, r.output
    lines = [line for line in r.stderr.splitlines() if line.strip() and not line.endswith("…")]
    assert len(lines) == 1 and lines[0].startswith("错误：") and "磁盘空间不足" in lines[0], r.stderr
    assert live_view(root) == fault_kbs["refs"]["A"]


# -- concurrency -----------------------------------------------------------------------------
SEARCHER = r"""
import json, sys, time
from pathlib import Path
from qabase import open_kb
root, stop, queries = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
kept = open_kb(root)  # like the web page: one KnowledgeBase for the whole run
rounds = 0
while not stop.exists() or rounds < 3:
    for kb in (kept, open_kb(root)):  # and like the CLI: a new one for every search
        for q in queries:
            r = kb.search(q)
            print(json.dumps({"q": q, "ids": [h.id for h in r.results], "why": r.rebuilt}), flush=True)
            time.sleep(0.005)  # leave the builders some of the CPU
    rounds += 1
"""
BUILDER = r"""
import sys
from qabase import open_kb
kb = open_kb(sys.argv[1])
for _ in range(int(sys.argv[2])):
    kb.build_index(lock_wait=None)
"""


def _env(root: Path, **extra) -> dict:
    env = dict(os.environ, QABASE_ROOT=str(root), QABASE_NO_LOG="1", PYTHONIOENCODING="utf-8")
    env.update(extra)
    for k in ("QABASE_INDEX_DIR", "QABASE_TEST_PAUSE_AT", "QABASE_TEST_PAUSE_SECONDS"):
        if k not in extra:
            env.pop(k, None)
    return env


def test_searches_in_other_processes_during_rebuilds(tmp_path):
    """Two searching processes (one keeping its KnowledgeBase open, one opening a new one for
    every search) run while three builds run at once, back to back: every search succeeds and
    answers exactly as the index before and after (the same entries) does; the builds all
    complete (those started together wait for each other) and leave one index."""
    root = make_kb(tmp_path / "k", corpus(24, "A"))
    open_kb(root).build_index()
    expected = {q: [h["id"] for h in v] for q, v in live_view(root).items()}
    stop = tmp_path / "stop"
    env = _env(root)
    searchers = [subprocess.Popen([sys.executable, "-c", SEARCHER, str(root), str(stop), json.dumps(QUERIES)],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    builders = [subprocess.Popen([sys.executable, "-c", BUILDER, str(root), "4"], env=env, stderr=subprocess.PIPE)]
    builders += [subprocess.Popen(QABASE + ["index"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(2)]
    try:
        for b in builders:
            _, err = b.communicate(timeout=300)
            assert b.returncode == 0, err.decode("utf-8", "replace")
    finally:
        stop.touch()
    for p in searchers:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode("utf-8", "replace")[-3000:]
        lines = [json.loads(line) for line in out.decode("utf-8").splitlines()]
        assert len(lines) >= 3 * 2 * len(QUERIES)
        for rec in lines:
            assert rec["ids"] == expected[rec["q"]], rec
            assert rec["why"] is None, rec  # nothing was stale, so nothing was rebuilt by a search
    assert index_leftovers(root) == []
    assert live_view(root) == live_view(root) and {q: [h["id"] for h in v] for q, v in live_view(root).items()} == expected


def _paused_build(root: Path, where: str = "写入索引") -> subprocess.Popen:
    p = subprocess.Popen(QABASE + ["index"], env=_env(root, QABASE_TEST_PAUSE_AT=where, QABASE_TEST_PAUSE_SECONDS="600"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = p.stdout.readline().decode("utf-8", "replace").strip()
    assert line == f"QABASE-PAUSED {where}", p.stderr.read().decode("utf-8", "replace") if not line else line
    return p


def test_build_lock_wait_zero_and_searches_while_building(tmp_path):
    """While a build holds the lock: ``qabase index --wait 0`` exits 1 with one Chinese line;
    a search of a fresh index answers at once; a search that needs an update answers from the
    index as it is, saying so; after the holder dies, the next build completes."""
    root = make_kb(tmp_path / "k", corpus(12, "A"))
    open_kb(root).build_index()
    before = {q: [h["id"] for h in v] for q, v in live_view(root).items()}
    holder = _paused_build(root)
    try:
        r = subprocess.run(QABASE + ["index", "--wait", "0"], env=_env(root), capture_output=True, timeout=120)
        assert r.returncode == 1
        err = [line for line in r.stderr.decode("utf-8").splitlines() if line.strip()]
        assert len(err) == 1 and err[0].startswith("错误：另一个 qabase 进程正在建索引"), err
        r = subprocess.run(QABASE + ["search", QUERIES[3], "--json"], env=_env(root), capture_output=True, timeout=120)
        assert r.returncode == 0 and [h["id"] for h in json.loads(r.stdout)["results"]] == before[QUERIES[3]]
        write_entries(root, corpus(12, "B1"))  # one entry changed: the search wants to update
        r = subprocess.run(QABASE + ["search", QUERIES[0]], env=_env(root), capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
        assert "本次结果来自更新前的索引" in r.stderr.decode("utf-8")
    finally:
        holder.kill()
        holder.wait()
    r = cli(root, "index")
    assert r.exit_code == 0 and index_leftovers(root) == []


# -- damaged or foreign index directories --------------------------------------------------
def _foreign_whoosh(gen: Path) -> None:
    """Replace the Whoosh index in ``gen`` by one with another schema (another program's, or
    a future qabase's), keeping qabase's manifest and vocabulary beside it."""
    from whoosh import index as windex
    from whoosh.fields import ID, TEXT, Schema

    for f in gen.iterdir():
        if f.suffix in (".seg", ".toc") or "_MAIN_" in f.name or f.name.startswith("MAIN"):
            f.unlink()
    ix = windex.create_in(str(gen), Schema(path=ID(stored=True), content=TEXT))
    w = ix.writer()
    w.add_document(path="a", content="hello")
    w.commit()
    ix.close()


def _truncate(pattern: str, keep: float):
    def damage(base: Path, gen: Path) -> None:
        files = sorted(gen.glob(pattern))
        assert files, pattern
        for f in files:
            data = f.read_bytes()
            f.write_bytes(data[: int(len(data) * keep)])
    return damage


def _zero(pattern: str, start: float = 0.0, end: float = 1.0):
    def damage(base: Path, gen: Path) -> None:
        files = sorted(gen.glob(pattern))
        assert files, pattern
        for f in files:
            data = bytearray(f.read_bytes())
            a, b = int(len(data) * start), int(len(data) * end)
            data[a:b] = bytes(b - a)
            f.write_bytes(bytes(data))
    return damage


def _table(how: str):
    """Damage the per-file table, then touch an entry (same content, new mtime): only then is
    the table read, since the manifest's digest no longer matches."""
    def damage(base: Path, gen: Path) -> None:
        table = next(gen.glob("files-*"))
        if how == "missing":
            table.unlink()
        else:
            table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])
        entry = sorted((base.parent.parent / "qa_entries").rglob("*.md"))[0]
        st = entry.stat()
        os.utime(entry, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    return damage


DAMAGE = {
    "garbage in CURRENT": (lambda base, gen: (base / "CURRENT").write_bytes(b"\xff\xfe\x00 not a generation"), "CURRENT"),
    "CURRENT empty": (lambda base, gen: (base / "CURRENT").write_bytes(b""), "CURRENT"),
    "CURRENT escapes": (lambda base, gen: (base / "CURRENT").write_text("../../kb", encoding="utf-8"), "CURRENT"),
    "CURRENT names a missing directory": (lambda base, gen: shutil.rmtree(gen), "不存在"),
    "manifest truncated": (_truncate("manifest.json", 0.5), "清单"),
    "manifest of another schema version": (
        lambda base, gen: (gen / "manifest.json").write_text(
            json.dumps({**json.loads((gen / "manifest.json").read_text(encoding="utf-8")), "schema_version": 99}),
            encoding="utf-8"), "结构"),
    "table of contents truncated": (_truncate("*.toc", 0.5), "损坏"),
    "segment truncated": (_truncate("*.seg", 0.5), "损"),
    "segment zeroed": (_zero("*.seg"), "损"),
    "segment zeroed in the middle": (_zero("*.seg", 0.3, 0.7), "损"),
    "segment zeroed at the start": (_zero("*.seg", 0.0, 0.5), "损"),
    "segment empty": (_truncate("*.seg", 0), "损"),
    "vocabulary empty": (_truncate("vocab*", 0), "词表"),
    "file table truncated": (_table("truncated"), "文件表"),
    "file table missing": (_table("missing"), "文件表"),
    "generation emptied": (lambda base, gen: [f.unlink() for f in gen.iterdir()], ""),
    "foreign Whoosh index": (lambda base, gen: _foreign_whoosh(gen), "结构"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_index_is_rebuilt_with_one_message(tmp_path, case):
    """``qabase search`` on a damaged or foreign index: exit 0, the right answer, and exactly
    one line on stderr saying what was wrong and that the index was rebuilt from the entries;
    the next search is quiet."""
    damage, words = DAMAGE[case]
    root = make_kb(tmp_path / "k", corpus(8, "A"))
    open_kb(root).build_index()
    want = cli_results(root, QUERIES[1])
    base = open_kb(root).location.path
    damage(base, ix_mod.current_generation(base))
    r = cli(root, "search", QUERIES[1], "--no-log")
    assert r.exit_code == 0, r.output
    notes = [line for line in r.stderr.splitlines() if line.strip() and not line.endswith("…")]
    assert len(notes) == 1 and "重建" in notes[0] and words in notes[0], notes
    assert cli_results(root, QUERIES[1]) == want
    r = cli(root, "search", QUERIES[1], "--no-log")
    assert r.exit_code == 0 and not [line for line in r.stderr.splitlines() if line.strip()], r.stderr
    assert index_leftovers(root) == []


# -- a read-only knowledge base ----------------------------------------------------------------
class _ReadOnly:
    """Make ``d`` read-only for root too: a read-only bind mount of it onto itself. Where that is
    not allowed, the index location inside it is made unusable instead (a file in its way)."""

    def __init__(self, d: Path):
        self.d = d
        self.mounted = False

    def __enter__(self):
        ok = subprocess.run(["mount", "--bind", str(self.d), str(self.d)], capture_output=True).returncode == 0
        if ok:
            self.mounted = subprocess.run(["mount", "-o", "remount,ro,bind", str(self.d)],
                                          capture_output=True).returncode == 0
            if not self.mounted:
                subprocess.run(["umount", str(self.d)], capture_output=True)
        if self.mounted:
            with pytest.raises(OSError):
                (self.d / "probe").write_bytes(b"")
        else:
            (self.d / ".index").write_bytes(b"")  # mkdir kb/.index now fails, as on a read-only disk
        return self

    def __exit__(self, *exc):
        if self.mounted:
            subprocess.run(["umount", str(self.d)], check=True)
        return False


def test_read_only_kb_puts_index_in_user_cache(tmp_path):
    root = make_kb(tmp_path / "k")
    cache = tmp_path / "cache"
    env = _env(root, XDG_CACHE_HOME=str(cache))
    with _ReadOnly(root / "kb"):
        before = sorted(p.name for p in (root / "kb").iterdir())
        r = subprocess.run(QABASE + ["search", "拒执", "--json"], env=env, capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
        assert json.loads(r.stdout)["results"][0]["id"] == "pl-001"
        assert len(list(cache.glob("qabase/index/*/CURRENT"))) == 1
        with pytest.MonkeyPatch.context() as mp:  # the rest in this process: the mount is the same
            mp.setenv("XDG_CACHE_HOME", str(cache))
            r = cli(root, "index")
            assert r.exit_code == 0 and "用户缓存目录" in r.stdout, r.output
            assert sorted(p.name for p in (root / "kb").iterdir()) == before  # nothing written in kb/
            # --index-dir and QABASE_INDEX_DIR take precedence over both.
            r = cli(root, "--index-dir", str(tmp_path / "a"), "search", "拒执", "--json", "--no-log")
            assert r.exit_code == 0 and (tmp_path / "a" / "CURRENT").exists(), r.output
            mp.setenv("QABASE_INDEX_DIR", str(tmp_path / "b"))
            r = cli(root, "search", "拒执", "--json", "--no-log")
            assert r.exit_code == 0 and (tmp_path / "b" / "CURRENT").exists(), r.output


def test_no_writable_place_for_the_index_is_one_clear_error(tmp_path):
    root = make_kb(tmp_path / "k")
    (tmp_path / "cache").write_bytes(b"")  # the cache directory cannot be created either
    with _ReadOnly(root / "kb"):
        r = subprocess.run(QABASE + ["search", "拒执"], env=_env(root, XDG_CACHE_HOME=str(tmp_path / "cache")),
                           capture_output=True, timeout=120)
    assert r.returncode == 1
    err = [line for line in r.stderr.decode("utf-8").splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("错误：") and "索引" in err[0], err


# -- consoles that cannot print everything -------------------------------------------------------
ODD_TEXT = "被执行人😀拒不履行𠀀（\u202e右到左）⚖️"


@pytest.fixture(scope="module")
def odd_kb(tmp_path_factory):
    root = make_kb(tmp_path_factory.mktemp("odd") / "k", {
        "procedure-linkage/pl-001.md": entry_text(
            "pl-001", "procedure-linkage", f"{ODD_TEXT}，如何移送拒执线索？", f"**结论**：{ODD_TEXT}，移送公安机关。",
            aliases=["老赖拒执怎么移送😀"], tags=["拒执", "移送"], extra="备注😀: check 会为未知字段给出警告"),
    })
    open_kb(root).build_index()
    return root


@pytest.mark.parametrize("args", [["search", "拒执😀"], ["search", "拒执", "--json"], ["show", "pl-001"],
                                  ["list"], ["check"]])
def test_gbk_console_never_crashes(odd_kb, args):
    """A Windows console in GBK cannot show 😀 or 𠀀: they become "?", and nothing crashes."""
    r = subprocess.run(QABASE + args, env=_env(odd_kb, PYTHONIOENCODING="gbk"), capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode("gbk", "replace")
    out = r.stdout.decode("gbk")  # strict: what reached the console is valid GBK
    assert "pl-001" in out and "?" in out
    assert _quiet(r.stderr)


@pytest.mark.parametrize("args", [["search", "拒执"], ["list"], ["show", "pl-001"], ["search", "拒执", "--json"]])
def test_broken_or_closed_stdout(odd_kb, args):
    """``qabase … | head -0`` (the reader has gone) and ``qabase … >&-`` (no stdout at all):
    no traceback, no error."""
    env = _env(odd_kb)
    r_fd, w_fd = os.pipe()
    os.close(r_fd)  # every write to the pipe now fails with EPIPE
    try:
        p = subprocess.run(QABASE + args, env=env, stdout=w_fd, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(w_fd)
    assert p.returncode in (0, 1) and _quiet(p.stderr), p.stderr.decode("utf-8", "replace")
    p = subprocess.run(["bash", "-c", 'exec 1>&-; exec "$@"', "qabase", *QABASE, *args], env=env,
                       stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 0 and _quiet(p.stderr), p.stderr.decode("utf-8", "replace")
    p = subprocess.run(["bash", "-c", '"$@" | head -0; exit "${PIPESTATUS[0]}"', "qabase", *QABASE, *args],
                       env=env, stderr=subprocess.PIPE, timeout=120)
    assert p.returncode in (0, 1) and _quiet(p.stderr), p.stderr.decode("utf-8", "replace")


def _quiet(stderr: bytes) -> bool:
    text = stderr.decode("utf-8", "replace")
    return not any(w in text for w in ("Traceback", "Error", "Exception", "错误"))


# -- everything is written through atomic_write ------------------------------------------------------
SRC = Path(__file__).resolve().parent.parent / "src" / "qabase"
# (module, function) pairs allowed to write directly, and why.
DIRECT_WRITES_ALLOWED = {
    ("storage.py", "atomic_write"): "the temporary file itself",
    ("index.py", "_writable"): "an empty probe file, removed at once",
    ("index.py", "acquire"): "the lock file: opened, never written",
    ("gaps.py", "record_if_gap"): "an append-only log of one O_APPEND write per line; the reader skips a torn last line",
    ("cli.py", "main"): "os.devnull in place of a closed stdout",
    ("base.py", "main"): "os.devnull in place of a closed stdout (the CLI split into qabase/cli/)",
    ("terminal.py", "silence"): "os.devnull dup'ed over stdout once the pipe's reader has gone",
}


def _direct_writes() -> list[tuple[str, str, int, str]]:
    import ast

    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        funcs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]

        def owner(node):
            best = None
            for f in funcs:
                if f.lineno <= node.lineno <= (f.end_lineno or f.lineno) and (best is None or f.lineno > best.lineno):
                    best = f
            return best.name if best else "<module>"

        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            what = None
            if name in ("write_text", "write_bytes"):
                what = name
            elif name == "open" or name == "fdopen":
                # open(path, mode), io.open(path, mode), os.fdopen(fd, mode); but Path.open(mode)
                on_path = isinstance(f, ast.Attribute) and not (
                    isinstance(f.value, ast.Name) and f.value.id in ("os", "io", "builtins", "codecs"))
                pos = 0 if on_path else 1
                mode = node.args[pos] if len(node.args) > pos else next(
                    (k.value for k in node.keywords if k.arg == "mode"), None)
                if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "os" and name == "open":
                    flags = ast.unparse(node.args[1]) if len(node.args) > 1 else ""
                    if any(x in flags for x in ("O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC")):
                        what = f"os.open({flags})"
                elif isinstance(mode, ast.Constant) and isinstance(mode.value, str) and set(mode.value) & set("wax+"):
                    what = f"open(…, {mode.value!r})"
                elif mode is not None and not isinstance(mode, ast.Constant) and not on_path:
                    what = "open(…, <computed mode>)"
            elif name in ("copyfile", "copy", "copy2", "move") and isinstance(f, ast.Attribute) \
                    and isinstance(f.value, ast.Name) and f.value.id == "shutil":
                what = f"shutil.{name}"
            if what:
                found.append((path.name, owner(node), node.lineno, what))
    return found


def test_every_write_goes_through_atomic_write():
    """Entries (new, import, publish), exports, the changelog and the index are written to a
    temporary file and renamed: a crash never leaves a half-written file. Direct writes are
    allowed only where listed, each with its reason."""
    offending = [f"{m}:{line} in {fn}(): {what}" for m, fn, line, what in _direct_writes()
                 if (m, fn) not in DIRECT_WRITES_ALLOWED]
    assert not offending, "write through qabase.search.storage.atomic_write instead:\n" + "\n".join(offending)
    # The scan itself finds what it is looking for.
    assert ("storage.py", "atomic_write") in {(m, fn) for m, fn, _, _ in _direct_writes()}


def test_paths_are_handled_with_pathlib_only():
    """Court desktops run Windows: no os.path string juggling or hard-coded separators."""
    offending = []
    for path in sorted(SRC.rglob("*.py")):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if "os.path." in code or "os.sep" in code:
                offending.append(f"{path.name}:{i}: {line.strip()}")
    assert not offending, "\n".join(offending)
