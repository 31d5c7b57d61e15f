"""Fixtures: a tiny knowledge base in tmp_path, built from dicts, with the shipped kb/ config."""
from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
KB_FILES = ("topics.yaml", "config.yaml", "userdict.txt", "synonyms.txt", "stopwords.txt", "instruments.yaml")


def entry_text(id, topic, question, answer, *, status="published", aliases=(), tags=(),
               legal_basis=("《中华人民共和国民事诉讼法》第二百三十七条",), batch=1, updated="2026-01-01", extra=""):
    lines = ["---", f"id: {id}", f"topic: {topic}", f"question: {question}"]
    if aliases:
        lines.append("aliases:")
        lines += [f"  - {a}" for a in aliases]
    if tags:
        lines.append("tags: [" + ", ".join(tags) + "]")
    lines.append(f"status: {status}")
    if batch is not None:
        lines.append(f"batch: {batch}")
    if updated is not None:
        lines.append(f"updated: {updated}")
    if legal_basis:
        lines.append("legal_basis:")
        lines += [f"  - {c}" for c in legal_basis]
    if extra:
        lines.append(extra.rstrip("\n"))
    lines.append("---")
    return "\n".join(lines) + "\n" + textwrap.dedent(answer).strip() + "\n"


SAMPLE = {
    "discovery/dis-001.md": entry_text(
        "dis-001", "discovery", "执行法院超过六个月未执行，申请执行人可以向哪一级法院申请交叉执行？",
        "**结论**：向上一级法院申请。\n\n**依据**：民事诉讼法第二百三十七条。",
        aliases=["法院半年没动静能找上级法院吗"], tags=["六个月", "上一级法院"]),
    "discovery/dis-002.md": entry_text(
        "dis-002", "discovery", "终本案件发现新财产后能否纳入交叉执行？",
        "**结论**：可以。终结本次执行程序后发现财产的，申请执行人可以申请恢复执行。",
        aliases=["终本后又找到财产怎么办"], tags=["终结本次执行程序", "恢复执行"],
        legal_basis=["《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》第五百一十七条"]),
    "filing-closing/fil-001.md": entry_text(
        "fil-001", "filing-closing", "交叉执行案件有哪些结案方式？",
        "**结论**：执行完毕、终结本次执行程序、终结执行、不予执行、驳回申请、销案。",
        aliases=["提级执行的案子怎么报结"], tags=["结案方式"], batch=2),
    "procedure-linkage/pl-001.md": entry_text(
        "pl-001", "procedure-linkage", "被执行人拒不履行，如何移送拒不执行判决裁定罪线索？",
        "**结论**：执行法院将拒执线索移送公安机关；申请执行人也可以依法提起自诉。",
        aliases=["老赖拒执怎么移送公安"], tags=["拒执", "移送"],
        legal_basis=["《中华人民共和国刑法》第三百一十三条"]),
    "petitions/pet-001.md": entry_text(
        "pet-001", "petitions", "交叉执行案件的信访由哪个法院处理？",
        "**结论**：由正在执行案件的法院处理。",
        aliases=["当事人上访找谁"], tags=["信访"], status="draft", batch=None, updated=None, legal_basis=()),
}


def make_kb(root: Path, entries: dict[str, str] | None = None) -> Path:
    (root / "kb").mkdir(parents=True, exist_ok=True)
    for name in KB_FILES:
        shutil.copy(REPO / "kb" / name, root / "kb" / name)
    # The shipped gap thresholds are calibrated on the shipped knowledge base; BM25 scores
    # of a five-entry knowledge base live on another scale.
    cfg = root / "kb" / "config.yaml"
    text = re.sub(r"(?m)^(\s+whoosh:).*$", r"\1 8.0", cfg.read_text(encoding="utf-8"))
    cfg.write_text(re.sub(r"(?m)^(\s+tantivy:).*$", r"\1 5.0", text), encoding="utf-8")
    base = root / "qa_entries"
    base.mkdir(exist_ok=True)
    for rel, text in (SAMPLE if entries is None else entries).items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch):
    # Searches record gaps in the user's data directory; tests must never write there.
    monkeypatch.setenv("QABASE_DATA_DIR", str(tmp_path_factory.mktemp("qabase-data")))
    monkeypatch.delenv("QABASE_NO_LOG", raising=False)


@pytest.fixture
def kbroot(tmp_path) -> Path:
    return make_kb(tmp_path / "kbase")


@pytest.fixture
def kbase(kbroot):
    from qabase import open_kb

    return open_kb(kbroot)


ENGINES = ("whoosh", "tantivy")


def engine_fixture():
    """Module-level autouse fixture: run every test of the module once per engine."""

    @pytest.fixture(autouse=True, params=ENGINES)
    def engine(request, monkeypatch):
        monkeypatch.setenv("QABASE_ENGINE", request.param)
        return request.param

    return engine
