"""The package's shape: three layers under a thin top, imports running one way, no cycles.

cli/web → api → authoring → search → content → the shared base (errors, kb, yamlsafe).
The cli package (qabase.cli and every qabase.cli.* module) is top level with the web page.
Every import counts, including those inside functions, since a deferred import is still a
dependency. The rule is documented in each layer's ``__init__`` and in the README.
"""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "qabase"

BASE = {"qabase.errors", "qabase.kb", "qabase.yamlsafe"}
TOP = {"qabase", "qabase.__main__", "qabase.cli", "qabase.web"}


def level(mod: str) -> int:
    if mod in BASE:
        return 0
    for n, layer in enumerate(("content", "search", "authoring"), start=1):
        if mod == f"qabase.{layer}" or mod.startswith(f"qabase.{layer}."):
            return n
    if mod == "qabase.api":
        return 4
    if mod in TOP or mod.startswith("qabase.cli."):
        return 5
    raise AssertionError(f"{mod} belongs to no layer: put it in content, search or authoring")


def modules() -> dict[str, Path]:
    out = {}
    for p in sorted(SRC.rglob("*.py")):
        parts = list(p.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = p
    return out


def imports(mod: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The qabase modules ``mod`` imports anywhere in its body."""
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # "from pkg import name" imports the module pkg.name when there is one.
            names = [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names]
        else:
            continue
        found.update(n for n in names if n == "qabase" or n.startswith("qabase."))
    return {n for n in found if n in known and n != mod}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(m, p, known) for m, p in known.items()}


def test_every_module_has_a_layer_and_imports_only_downward():
    g = graph()
    upward = [f"{m} (层 {level(m)}) 导入了 {t} (层 {level(t)})"
              for m, targets in g.items() for t in sorted(targets) if level(t) > level(m)]
    assert not upward, "向上层的导入：\n" + "\n".join(upward)


def test_no_import_cycle():
    g = graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(g[m]):
            if state.get(t) == 1:
                cycles.append(" → ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m)
    assert not cycles, "导入环：\n" + "\n".join(cycles)


def test_only_the_engine_modules_import_whoosh_or_tantivy():
    offending = []
    for mod, path in modules().items():
        if mod.startswith("qabase.search.engines."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            offending += [f"{mod}: {n}" for n in names if n.split(".")[0] in ("whoosh", "tantivy")]
    assert not offending, "\n".join(offending)


def test_the_walk_sees_deferred_relative_and_upward_imports(tmp_path, monkeypatch):
    """The checks above would pass vacuously if the walk missed imports; it does not."""
    g = graph()
    # A deferred import inside a function (index picks its engine at run time).
    assert "qabase.search.engines.whoosh" in g["qabase.search.index"]
    # "from .. import yamlsafe" resolves to the module, not the package.
    assert "qabase.yamlsafe" in g["qabase.content.entries"]
    # An upward import and a cycle in a made-up package are caught.
    pkg = tmp_path / "qabase"
    (pkg / "content").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "content" / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("def f():\n    from .content import a\n")
    (pkg / "content" / "a.py").write_text("from ..errors import f\n")
    import sys
    monkeypatch.setattr(sys.modules[__name__], "SRC", pkg)
    bad = graph()
    assert "qabase.content.a" in bad["qabase.errors"] and level("qabase.content.a") > level("qabase.errors")
    assert "qabase.errors" in bad["qabase.content.a"]


def test_the_cli_package_is_top_level():
    """qabase.cli is a package (terminal output, one module per command group); all of it sits
    at the top with the web page, over the api."""
    cli = [m for m in modules() if m == "qabase.cli" or m.startswith("qabase.cli.")]
    assert "qabase.cli.terminal" in cli and len(cli) > 3
    assert all(level(m) == 5 for m in cli)
    g = graph()
    assert "qabase.cli.terminal" in g["qabase.cli.reading"] and "qabase.api" not in g["qabase.cli.terminal"]
