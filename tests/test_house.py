"""House rules of the source tree, checked on ``src/marlkit`` itself (issue 13, item 6).

* No module imports another module's private name: ``from x import _y`` is allowed only where ``_y`` is a private
  submodule of the importer's own package (an internal module used inside its package), and no module outside a
  package imports from that package's private modules. Dunder names (``__version__``) are public.
* The import graph has no cycle. Edges are the imports a module runs when it is first imported: module-level
  statements (class bodies, ``try`` blocks included), not those inside functions (run later, when the importer is
  complete) nor those under ``if TYPE_CHECKING:`` (never run). An edge goes to the module an import names
  (``from pkg import sub`` names ``pkg.sub`` where that is a module); a package's own ``__init__`` importing its
  submodules, and a submodule importing a sibling, are ordinary edges like any other.
* The type checker passes with zero errors on ``src/marlkit`` under the ``[tool.mypy]`` configuration of
  ``pyproject.toml`` (slow: a cold run takes a minute or two).

The first two read the sources with :mod:`ast` and import nothing, so they run in well under a second.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src"
PACKAGE = "marlkit"


@dataclass(frozen=True)
class Module:
    """One module of the source tree: its dotted name, its file, and whether it is a package ``__init__``."""

    name: str
    path: Path
    is_package: bool

    @property
    def package(self) -> str:
        """The package the module's relative imports resolve against."""
        return self.name if self.is_package else self.name.rpartition(".")[0]

    @property
    def where(self) -> str:
        return str(self.path.relative_to(ROOT))


@dataclass(frozen=True)
class Import:
    """One imported name: ``from module import name`` (``name`` None for ``import module``), and where."""

    module: str
    name: str | None
    line: int
    module_level: bool


def modules() -> dict[str, Module]:
    """Every module of ``src/marlkit`` by dotted name."""
    found = {}
    for path in sorted((SOURCE / PACKAGE).rglob("*.py")):
        parts = path.relative_to(SOURCE).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        found[name] = Module(name, path, is_package)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(module: Module) -> Iterator[Import]:
    """Every import statement of a module, each marked as run at import time (``module_level``) or not."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))

    def visit(node: ast.AST, module_level: bool) -> Iterator[Import]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, None, node.lineno, module_level)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for alias in node.names:
                yield Import(target, alias.name, node.lineno, module_level)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for child in ast.iter_child_nodes(node):
                yield from visit(child, False)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from visit(child, False)
            for child in node.orelse:
                yield from visit(child, module_level)
        else:
            for child in ast.iter_child_nodes(node):
                yield from visit(child, module_level)

    yield from visit(tree, True)


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def private_imports() -> list[str]:
    """``file:line: what`` for every import of a private name or module from outside where it is internal."""
    tree = modules()
    problems = []
    for module in tree.values():
        for imp in imports(module):
            if not imp.module.startswith(PACKAGE):
                continue
            names = imp.module.split(".")
            # a private module in the path: internal to the package that holds it
            for depth, part in enumerate(names):
                owner = ".".join(names[:depth])
                if _private(part) and not (module.name == owner or module.name.startswith(owner + ".")):
                    problems.append(f"{module.where}:{imp.line}: imports {imp.module} (private to {owner})")
                    break
            else:
                if imp.name is not None and _private(imp.name):
                    submodule = f"{imp.module}.{imp.name}"
                    own = module.package == imp.module or module.package.startswith(imp.module + ".")
                    if not (submodule in tree and own):
                        problems.append(f"{module.where}:{imp.line}: imports private {imp.name} from {imp.module}")
    return list(dict.fromkeys(problems))  # one line per statement


def import_graph() -> dict[str, dict[str, int]]:
    """``{importer: {imported: line}}`` over the modules of ``src/marlkit``, module-level imports only."""
    tree = modules()
    graph: dict[str, dict[str, int]] = {name: {} for name in tree}
    for module in tree.values():
        for imp in imports(module):
            if not imp.module_level:
                continue
            target = imp.module
            if imp.name is not None and f"{imp.module}.{imp.name}" in tree:
                target = f"{imp.module}.{imp.name}"
            if target in tree and target != module.name:
                graph[module.name].setdefault(target, imp.line)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan 1972), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for v in sorted(graph):
            if v not in index:
                connect(v)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(components)


def describe_cycle(component: list[str], graph: dict[str, dict[str, int]]) -> str:
    """A cycle's modules and the import lines that join them."""
    tree = modules()
    members = set(component)
    edges = [
        f"  {tree[a].where}:{line} imports {b}"
        for a in component
        for b, line in sorted(graph[a].items(), key=lambda item: item[1])
        if b in members
    ]
    return f"cycle of {len(component)} modules: {', '.join(component)}\n" + "\n".join(edges)


# ------------------------------------------------------------------------------------------------- the checks
def test_the_checks_see_the_tree():
    tree = modules()
    assert f"{PACKAGE}.errors" in tree and tree[f"{PACKAGE}.solve.stage"].is_package
    graph = import_graph()
    assert f"{PACKAGE}.solve.stage.lp" in graph[f"{PACKAGE}.solve.stage.ce"]  # a module-level import
    assert sum(len(edges) for edges in graph.values()) > len(tree)


def test_cycle_finder_on_a_known_graph():
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1, "d": 2}, "d": {}, "e": {"e": 1}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_private_names_imported_across_modules():
    problems = private_imports()
    assert not problems, "private names imported across modules:\n" + "\n".join(problems)


def test_import_graph_has_no_cycle():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "\n".join(describe_cycle(c, graph) for c in found)


@pytest.mark.slow
def test_mypy_reports_no_error():
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (it is in the `test` extra: pip install -e '.[test]')")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-2000:]
