"""The knowledge base on disk: where it is, and its kb/ configuration files.

A knowledge base is a folder holding ``kb/`` and ``qa_entries/``. Everything a trainer
configures is a plain file under ``kb/`` that can be read and diffed:

- ``topics.yaml``    the topics (slug, Chinese name, id prefix, description)
- ``config.yaml``    who publishes the knowledge base and the notice shown with every result
- ``userdict.txt``   legal-domain words for jieba, one per line
- ``synonyms.txt``   groups of equivalent terms and abbreviations, ``=``-separated
- ``stopwords.txt``  question words and particles dropped from queries
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, NoKnowledgeBase, Problem, UnknownTopic, ERROR, WARNING

KB_DIR = "kb"
ENTRIES_DIR = "qa_entries"
CONFIG_KEYS = {
    "publisher": "谁编写、发布本知识库",
    "notice": "随每条结果显示的说明",
    "engine": "检索引擎（whoosh）",
    "duplicate_threshold": "问题相似度达到多少（0–1）时 check 提示重复",
    "report_to": "知识库答不了的问题向谁反映（邮箱或内网链接），检索把握不大时显示",
    "gaps": "已停用：是否记入检索缺口改由检索把握度决定（kb/confidence.yaml）",
}
DEFAULT_NOTICE = "本知识库不是任何法院的正式发布，办案时请以官方发布的法律文本为准。"


@dataclass(frozen=True)
class Topic:
    slug: str
    name: str
    prefix: str
    description: str = ""


@dataclass
class KB:
    """A loaded knowledge base: its root folder and validated configuration."""

    root: Path
    topics: list[Topic]
    publisher: str
    notice: str
    userdict: list[tuple[str, int | None, str | None]]
    synonyms: list[list[str]]
    stopwords: frozenset[str]
    settings: dict = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def kb_dir(self) -> Path:
        return self.root / KB_DIR

    @property
    def entries_dir(self) -> Path:
        return self.root / ENTRIES_DIR

    def topic(self, value: str) -> Topic:
        """Resolve a slug or a Chinese topic name; raise UnknownTopic otherwise."""
        found = self.find_topic(value)
        if found is None:
            names = "、".join(f"{t.slug}（{t.name}）" for t in self.topics)
            close = self.closest_topic(value)
            hint = f"是不是“{close.name}”（{close.slug}）？" if close else ""
            raise UnknownTopic(f"未知专题：{value}。{hint}可用的专题：{names}")
        return found

    def closest_topic(self, value: str | None) -> Topic | None:
        """The topic whose Chinese name or slug is nearest to a mistyped ``value`` (程序衔结 →
        程序衔接), or None when none is near."""
        import difflib

        value = str(value or "").strip().lower()
        if not value:
            return None
        pool = {}
        for t in self.topics:
            pool.setdefault(t.name, t)
            pool.setdefault(t.slug, t)
        close = difflib.get_close_matches(value, list(pool), n=1, cutoff=0.5)
        return pool[close[0]] if close else None

    def find_topic(self, value: str | None) -> Topic | None:
        if not value:
            return None
        value = str(value).strip()
        for t in self.topics:
            if value in (t.slug, t.name):
                return t
        return None

    def analysis_fingerprint(self) -> str:
        """Changes whenever anything that shapes segmentation or query expansion changes."""
        h = hashlib.sha256()
        for name in ("userdict.txt", "synonyms.txt", "stopwords.txt", "topics.yaml", "colloquial.yaml"):
            p = self.kb_dir / name
            h.update(name.encode())
            if p.exists():
                h.update(p.read_bytes())
        return h.hexdigest()[:16]


def find_root(start: Path | str | None = None, explicit: Path | str | None = None) -> Path:
    """The knowledge base to work on: ``explicit`` (``--root``/``QABASE_ROOT``), else the
    current directory or its nearest parent holding both ``kb/`` and ``qa_entries/``."""
    explicit = explicit or os.environ.get("QABASE_ROOT") or None
    if explicit:
        root = Path(explicit).expanduser().resolve()
        if not (root / KB_DIR).is_dir() or not (root / ENTRIES_DIR).is_dir():
            raise NoKnowledgeBase(
                f"{root} 不是知识库：知识库目录应同时包含 kb/ 和 qa_entries/ 两个子目录。"
            )
        return root
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / KB_DIR).is_dir() and (candidate / ENTRIES_DIR).is_dir():
            return candidate
    raise NoKnowledgeBase(
        f"在 {here} 及其上级目录中没有找到知识库（同时包含 kb/ 和 qa_entries/ 的目录）。"
        "请进入知识库目录，或用 --root 指定，或设置环境变量 QABASE_ROOT。"
    )


def _read_lines(path: Path) -> list[tuple[int, str]]:
    if not path.exists():
        return []
    out = []
    for no, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append((no, line))
    return out


def _load_yaml(path: Path, problems: list[Problem], root: Path):
    from . import yamlsafe

    try:
        return yamlsafe.load(path.read_text(encoding="utf-8-sig"))
    except yamlsafe.YAMLProblem as e:
        problems.append(Problem(_rel(path, root), e.line, ERROR, e.message))
    except (OSError, UnicodeDecodeError) as e:
        problems.append(Problem(_rel(path, root), 1, ERROR, f"无法读取：{e}"))
    return None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def load_kb(root: Path | str | None = None) -> KB:
    """Load and validate ``kb/`` of the knowledge base at ``root`` (found as find_root does).

    Every problem in the configuration is collected before a single ConfigError is raised.
    """
    root = find_root(explicit=root) if root else find_root()
    kbd = root / KB_DIR
    problems: list[Problem] = []

    topics: list[Topic] = []
    tpath = kbd / "topics.yaml"
    data = _load_yaml(tpath, problems, root) if tpath.exists() else None
    if not tpath.exists():
        problems.append(Problem(_rel(tpath, root), 1, ERROR, "缺少专题文件 kb/topics.yaml"))
    elif data is not None:
        items = data.get("topics") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            problems.append(Problem(_rel(tpath, root), 1, ERROR, "应有 topics: 列表，每项含 slug、name、prefix"))
        else:
            seen: set[str] = set()
            for i, item in enumerate(items, 1):
                if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item.get(k) for k in ("slug", "name", "prefix")):
                    problems.append(Problem(_rel(tpath, root), 1, ERROR, f"第 {i} 个专题缺少 slug、name 或 prefix"))
                    continue
                if not re.fullmatch(r"[a-z][a-z0-9-]*", item["slug"]) or not re.fullmatch(r"[a-z]+", item["prefix"]):
                    problems.append(Problem(_rel(tpath, root), 1, ERROR, f"专题 {item['slug']}：slug 只能用小写字母、数字和连字符，prefix 只能用小写字母"))
                    continue
                for key in ("slug", "name", "prefix"):
                    if (key, item[key]) in seen:
                        problems.append(Problem(_rel(tpath, root), 1, ERROR, f"专题的 {key} 重复：{item[key]}"))
                    seen.add((key, item[key]))
                topics.append(Topic(item["slug"], item["name"], item["prefix"], str(item.get("description") or "")))

    settings: dict = {}
    cpath = kbd / "config.yaml"
    if cpath.exists():
        cdata = _load_yaml(cpath, problems, root)
        if isinstance(cdata, dict):
            settings = cdata
        elif cdata is not None:
            problems.append(Problem(_rel(cpath, root), 1, ERROR, "config.yaml 应是键值对"))
    warnings = [
        Problem(_rel(cpath, root), 1, WARNING, f"未知的设置项：{k}")
        for k in settings if k not in CONFIG_KEYS
    ]
    if "gaps" in settings:
        warnings.append(Problem(_rel(cpath, root), 1, WARNING,
                                "gaps.threshold 已不再使用：检索是否记入缺口，改由检索把握度决定（分界在 kb/confidence.yaml，"
                                "由 python benchmarks/calibrate.py 校准生成）。请从 config.yaml 删去 gaps 一项"))

    userdict = []
    for no, line in _read_lines(kbd / "userdict.txt"):
        parts = line.split()
        word = parts[0]
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[2] if len(parts) > 2 else (parts[1] if len(parts) > 1 and not parts[1].isdigit() else None)
        userdict.append((word, freq, tag))

    synonyms = []
    for no, line in _read_lines(kbd / "synonyms.txt"):
        group = [w.strip() for w in line.split("=") if w.strip()]
        if len(group) < 2:
            problems.append(Problem("kb/synonyms.txt", no, ERROR, "同义词组至少要有两个词，用 = 分隔"))
            continue
        synonyms.append(group)

    stopwords = frozenset(w for _, w in _read_lines(kbd / "stopwords.txt"))

    if problems:
        raise ConfigError(problems)
    return KB(
        root=root,
        topics=topics,
        publisher=str(settings.get("publisher") or "未署名"),
        notice=str(settings.get("notice") or DEFAULT_NOTICE).strip(),
        userdict=userdict,
        synonyms=synonyms,
        stopwords=stopwords,
        settings=settings,
        warnings=warnings,
    )
