"""The colloquial lexicon, ``kb/colloquial.yaml``: how parties and clerks say things, mapped
to the words the entries use (跑了 → 下落不明). Read when the index is built and saved with
it (``lexicon.marshal``), so a cold search never parses YAML.

Each group: ``says`` (phrases as typed), ``means`` (the knowledge base's own terms),
optional ``when`` (a neighbouring word that must also appear, for ambiguous words such as
封 or 拍) and ``note`` (what it means in law, for the reviewer).
"""
from __future__ import annotations

import marshal
from pathlib import Path

from ..errors import ERROR, Problem

FILE = "colloquial.yaml"
SAVED = "lexicon.marshal"


def load(kb_dir: Path) -> tuple[list[tuple[str, tuple[str, ...], tuple[str, ...]]], list[Problem]]:
    """([(says, means, when)], problems); a missing file is an empty lexicon."""
    from .. import yamlsafe
    from .segment import normalise

    path = Path(kb_dir) / FILE
    if not path.exists():
        return [], []
    where = f"kb/{FILE}"
    try:
        data, lines = yamlsafe.load_with_lines(path.read_text(encoding="utf-8"), 1)
    except (OSError, UnicodeDecodeError) as e:
        return [], [Problem(where, 1, ERROR, f"无法读取：{e}")]
    except yamlsafe.YAMLProblem as e:
        return [], [Problem(where, e.line, ERROR, e.message)]
    groups = (data or {}).get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        return [], [Problem(where, 1, ERROR, "应有 groups: 列表")]
    out, problems, seen = [], [], set()

    def words(v):
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
            return None
        return [normalise(x).strip() for x in v]

    for i, g in enumerate(groups, 1):
        says = words(g.get("says")) if isinstance(g, dict) else None
        means = words(g.get("means")) if isinstance(g, dict) else None
        when = words(g.get("when", [])) if isinstance(g, dict) else None
        if not says or not means or when is None:
            problems.append(Problem(where, 1, ERROR, f"第 {i} 组应有 says 和 means（文字列表），when 可选"))
            continue
        for s in says:
            if s in seen:
                problems.append(Problem(where, 1, ERROR, f"第 {i} 组的说法“{s}”已在前面的组中出现"))
                continue
            seen.add(s)
            out.append((s, tuple(means), tuple(when)))
    # Longer phrases first: 找不到人 before 找不到.
    out.sort(key=lambda x: -len(x[0]))
    return out, problems


def dump(lexicon) -> bytes:
    return marshal.dumps([list(x) for x in lexicon], 4)


def parse(data: bytes):
    try:
        return [(s, tuple(m), tuple(w)) for s, m, w in marshal.loads(data)]
    except (EOFError, ValueError, TypeError):
        return []
