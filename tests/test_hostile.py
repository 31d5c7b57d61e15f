"""Hostile input, much of it property-based: any query, any entry file, any id.

Nothing here may raise, hang, exhaust memory or touch a file outside the knowledge base.
Example counts are modest (a few hundred in all) so that the suite stays fast.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qabase import open_kb
from qabase.content.entries import load_entry
from qabase.errors import BadId, EntryNotFound, ERROR

from conftest import entry_text, make_kb

QABASE = [sys.executable, "-m", "qabase"]
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def bounded(seconds: float):
    """A hang detector, not a timer: fail if the block has not finished after ``seconds``,
    which is orders of magnitude more than it needs."""
    def alarm(*_):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    k = open_kb(make_kb(tmp_path_factory.mktemp("hostile") / "k"))
    k.search("预热")  # build the index once
    return k


# -- queries -----------------------------------------------------------------------------------
ANY_CHAR = st.characters(exclude_categories=())  # surrogates, controls, private use: everything
NASTY = list("终本拒执交叉执行法院ＡＢ１２AND OR NOT*?:()[]{}\"'~^\\/<>&;|`$%") + [
    "\x00", "\x07", "\x1b[31m", "\t", "\n", "\r", "\u3000", "\u200b", "\u200e", "\u200f", "\u202e", "\u2066",
    "\ufeff", "\ud800", "\udfff", "\U0001f600", "\U00020000", "e\u0301", "\ufffd", "第二百三十七条", "民诉法"]
QUERIES = st.one_of(
    st.text(ANY_CHAR, max_size=300),
    st.lists(st.sampled_from(NASTY), max_size=80).map("".join),
    st.tuples(st.sampled_from(NASTY), st.integers(1, 20_000)).map(lambda t: t[0] * t[1]),
)


@SOME
@given(q=QUERIES, limit=st.integers(1, 100), all_status=st.booleans())
def test_any_query_never_raises(kb, q, limit, all_status):
    with bounded(30):
        r = kb.search(q, limit=limit, all_status=all_status)
    assert 0 <= len(r.results) <= limit and r.total >= len(r.results)
    text = json.dumps(r.to_dict(kb.kb), ensure_ascii=False)
    assert json.loads(text)["total"] == r.total
    text.encode("utf-8", "replace").decode("utf-8")  # printable through any console
    if not r.results:
        assert r.suggestions


def test_hundred_thousand_characters(kb):
    for q in ("终本" * 50_000, "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(100_000)), "\u202e" * 100_000):
        with bounded(30):
            r = kb.search(q)
        assert r.truncated  # only the start of the query is analysed, so the work is bounded


def test_hostile_queries_on_the_command_line(kb):
    """Through a real process: invalid UTF-8 in argv (lone surrogates after decoding), control
    and right-to-left characters, and 100,000 characters."""
    env = dict(os.environ, QABASE_ROOT=str(kb.root), QABASE_NO_LOG="1", PYTHONIOENCODING="utf-8")
    for arg in (b"\xff\xfe\xed\xa0\x80\xe7\xbb\x88\xe6\x9c\xac", "\x1b[2J\u202e终本\x07".encode(), b"a1 " * 33_333):
        for extra in ([], ["--json"]):
            r = subprocess.run(QABASE + [b"search", arg] + extra, env=env, capture_output=True, timeout=120)
            assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
            assert b"Traceback" not in r.stderr
            out = r.stdout.decode("utf-8")  # valid UTF-8 whatever came in
            if extra:
                assert json.loads(out)["schema_version"] == 1


# -- entry files -----------------------------------------------------------------------------------
def _check_problems(problems, entry):
    assert entry is None or not [p for p in problems if p.level == ERROR]
    for p in problems:
        assert p.line >= 1 and p.message and any("\u4e00" <= c <= "\u9fff" for c in p.message), p


@FEW
@given(data=st.binary(max_size=4000))
def test_random_bytes_as_an_entry(kb, data):
    path = kb.kb.entries_dir / "discovery" / "dis-901.md"
    path.write_bytes(data)
    try:
        with bounded(30):
            entry, problems = load_entry(path, kb.kb)
        assert entry is None and problems  # random bytes are never a valid entry
        _check_problems(problems, entry)
    finally:
        path.unlink()


YAMLISH = st.lists(st.sampled_from([
    "id: dis-902", "topic: discovery", "question: 问？", "status: published", "batch: 1", "updated: 2026-01-01",
    "legal_basis: [《中华人民共和国民事诉讼法》第二百三十七条]", "tags: [a, b]", "aliases:", "  - 别问", "- x", "? k",
    ": v", "&a x", "*a", "<<: *a", "!!python/object:os.system ls", "!!binary aGk=", "{", "}", "[", "]", "'", '"',
    "key: |", "  block", "\t", "%YAML 1.1", "---", "...", "batch: 1e999", "batch: " + "9" * 5000, "id: [", "😀: 🙃",
]), max_size=25).map("\n".join)


@SOME
@given(head=YAMLISH | st.text(ANY_CHAR, max_size=400), body=st.text(ANY_CHAR, max_size=400))
def test_arbitrary_front_matter_and_body(kb, head, body):
    path = kb.kb.entries_dir / "discovery" / "dis-902.md"
    path.write_text(f"---\n{head}\n---\n{body}", encoding="utf-8", errors="surrogatepass")
    try:
        with bounded(30):
            entry, problems = load_entry(path, kb.kb)
        _check_problems(problems, entry)
        if entry is not None:
            from qabase.content.render import to_html, to_text

            with bounded(30):
                to_text(entry.answer), to_html(entry.answer)
    finally:
        path.unlink()


def _bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["---", 'l0: &l0 "lol"']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines + ["id: dis-903", "topic: discovery", "question: 炸弹？", "status: draft", "---", "答。"])


BOMBS = {
    "billion laughs": (_bomb(), "锚点"),
    "merge-key bomb": ("---\nbase: &b {id: dis-903}\n" + "".join(f"k{i}: {{<<: *b}}\n" for i in range(1000)) + "---\n答", "锚点"),
    "deep flow nesting": ("---\nid: " + "[" * 100_000 + "\n---\n答", "嵌套"),
    "deep mapping nesting": ("---\nid: " + "{a: " * 50_000 + "\n---\n答", "嵌套"),
    "deep block nesting": ("---\n" + "".join("  " * i + f"k{i}:\n" for i in range(300)) + "---\n答", "嵌套"),
    "huge integer": ("---\nid: dis-903\nbatch: " + "9" * 100_000 + "\n---\n答", "YAML"),
    "python object": ("---\nid: !!python/object/apply:os.system [echo pwned]\n---\n答", "YAML"),
    "not UTF-8": ("---\nid: dis-903\nquestion: 问\n---\n".encode() + "答复".encode("gbk"), "UTF-8"),
    "NUL bytes": (b"---\nid: dis-903\n\x00---\n", "空字符"),
}


@pytest.mark.parametrize("case", list(BOMBS))
def test_bombs_are_rejected_with_a_clear_message(kb, case):
    text, words = BOMBS[case]
    path = kb.kb.entries_dir / "discovery" / "dis-903.md"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    try:
        with bounded(30):
            entry, problems = load_entry(path, kb.kb)
        errors = [p for p in problems if p.level == ERROR]
        assert entry is None and errors and words in errors[0].message, problems
        with bounded(60):
            r = kb.search("交叉执行案件怎么结案")  # the rest of the knowledge base still answers
        assert r.results and any(s.path.endswith("dis-903.md") for s in r.skipped)
    finally:
        path.unlink()


def test_pathological_markdown_is_bounded(kb):
    """Python-Markdown is quadratic on some inputs and recurses on others; an answer like that
    is shown as plain text instead of hanging the build, the page or the terminal."""
    from qabase.content.render import to_html, to_text

    for body in ("[" * 200_000, "![" * 100_000, "1. " * 30_000, "+ " * 5000, "a\n-\n" * 50_000,
                 "> " * 100_000, "*" * 200_000 + "a", "<" * 200_000, "`" * 200_000):
        with bounded(20):
            text, html = to_text(body), to_html(body)
        assert text.strip() and "<script" not in html
    # A real answer still gets its formatting.
    assert "<strong>结论</strong>" in to_html("**结论**：可以。\n\n1. 申请\n2. 审查")


def test_huge_and_hostile_entry_files_in_a_small_memory(tmp_path):
    """A 4 GB entry file (sparse), a billion-laughs file and a quadratic Markdown body, in a
    process that may use 1.5 GB of memory at most: ``qabase check`` and ``qabase search``
    name each bad file and carry on."""
    root = make_kb(tmp_path / "k")
    d = root / "qa_entries" / "discovery"
    with open(d / "dis-904.md", "wb") as f:
        f.truncate(4 << 30)
    (d / "dis-905.md").write_text(_bomb(12, 12).replace("dis-903", "dis-905"), encoding="utf-8")
    (d / "dis-906.md").write_text(entry_text("dis-906", "discovery", "方括号？", "[" * 20_000), encoding="utf-8")
    limit = "import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29)); " \
            "sys.argv = ['qabase'] + sys.argv[1:]; runpy.run_module('qabase', run_name='__main__')"
    env = dict(os.environ, QABASE_ROOT=str(root), QABASE_NO_LOG="1", PYTHONIOENCODING="utf-8")
    r = subprocess.run([sys.executable, "-c", limit, "check"], env=env, capture_output=True, timeout=300)
    out = r.stdout.decode("utf-8")
    assert r.returncode == 1 and b"MemoryError" not in r.stderr and b"Traceback" not in r.stderr, r.stderr[-2000:]
    assert "dis-904.md:1: 错误：文件过大" in out and "dis-905.md" in out and "锚点" in out
    r = subprocess.run([sys.executable, "-c", limit, "search", "方括号", "--json"], env=env, capture_output=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")[-2000:]
    data = json.loads(r.stdout)
    assert data["results"][0]["id"] == "dis-906"
    assert {Path(s["path"]).name for s in data["skipped"]} == {"dis-904.md", "dis-905.md"}


def test_oversize_entry_file_is_never_opened(tmp_path):
    """A stray 4 GB file among the entries is judged by its size alone: neither loading the
    entries, nor building or updating the index, nor the freshness check ever opens it."""
    root = make_kb(tmp_path / "k")
    big = root / "qa_entries" / "discovery" / "dis-907.md"
    with open(big, "wb") as f:
        f.truncate(4 << 30)
    k = open_kb(root)
    with opened_files() as seen:
        r = k.search("拒执")
        os.utime(big, ns=(1, 2))  # changed mtime, same size: the freshness check looks again
        r2 = open_kb(root).search("拒执")
        k.build_index()
    assert r.results and any(s.path.endswith("dis-907.md") for s in r.skipped) and r2.results
    assert not [p for p in seen if p.endswith("dis-907.md")], "the 4 GB file was opened"


# -- ids that look like paths ---------------------------------------------------------------------------
@contextmanager
def opened_files():
    """Every path the interpreter opens meanwhile (sys.addaudithook; hooks cannot be removed,
    so one hook serves all tests and records only while asked to)."""
    seen: list[str] = []
    _AUDIT["sink"] = seen
    try:
        yield seen
    finally:
        _AUDIT["sink"] = None


_AUDIT: dict = {"sink": None}


def _audit(event, args):
    sink = _AUDIT["sink"]
    if sink is not None and event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
        sink.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)

PATHS = ["../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd", "dis-001/../../../etc/passwd",
         "dis-001\x00.md", "%2e%2e%2fetc%2fpasswd", "....//....//etc/passwd", "~/.ssh/id_rsa", "DIS-001", "dis-001 ",
         "dis-1", "con", "NUL", "dis-001.md", "qa_entries/discovery/dis-001", "\u202edis-001", "dis‐001"]


@SOME
@given(entry_id=st.one_of(st.sampled_from(PATHS), st.text(ANY_CHAR, max_size=60),
                          st.lists(st.sampled_from(["..", "/", "\\", "dis-001", "etc", "passwd", "%2f", "\x00"]),
                                   max_size=12).map("".join)))
def test_path_like_ids_never_reach_the_filesystem(kb, entry_id):
    root = str(kb.root.resolve())
    with opened_files() as seen:
        try:
            e = kb.get(entry_id)
        except (BadId, EntryNotFound) as err:
            e = None
            assert str(err)
    if e is not None:
        from qabase.api import check_id

        # Short forms resolve (dis-1 → dis-001); whatever resolves is a plain id, never a path.
        assert e.id == check_id(entry_id) and "/" not in e.id and "." not in e.id
    outside = [p for p in seen if not os.path.abspath(p).startswith(root) and "site-packages" not in p
               and "/lib/python" not in p]
    assert not outside, outside
    assert not [p for p in seen if any(w in p for w in ("passwd", "win.ini", "id_rsa"))], seen


def test_path_like_ids_over_http(kb):
    from starlette.testclient import TestClient

    from qabase.web import create_app

    from urllib.parse import quote

    client = TestClient(create_app(kb))
    root = str(kb.root.resolve())
    for entry_id in PATHS[:8]:
        for url in [f"{base}{quote(entry_id, safe='')}" for base in ("/api/entries/", "/entry/")] + \
                [f"{base}{entry_id}" for base in ("/api/entries/", "/entry/") if entry_id.isprintable()]:
            with opened_files() as seen:
                r = client.get(url)
            assert r.status_code in (400, 404), (url, r.status_code)
            assert not [p for p in seen if "passwd" in p or "win.ini" in p or "id_rsa" in p], seen
            assert all(os.path.abspath(p).startswith(root) or "site-packages" in p or "/lib/python" in p
                       or "/static" in p or "/templates" in p for p in seen), seen


def test_ids_in_entry_files_cannot_name_paths(tmp_path):
    """An entry whose front matter claims a path as its id is rejected by check and skipped by
    the index; nothing is written anywhere because of it."""
    root = make_kb(tmp_path / "k", {"discovery/dis-001.md": entry_text("../../etc/passwd", "discovery", "问？", "答。")})
    k = open_kb(root)
    report = k.check()
    assert any("编号" in p.message for p in report.errors)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    r = k.search("问")
    assert not r.results and r.skipped
    after = sorted(str(p) for p in tmp_path.rglob("*") if "/kb/.index" not in str(p))
    assert after == [p for p in before if "/kb/.index" not in p]
