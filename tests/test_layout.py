"""The code's layout, checked by reading the source: no import circle in the library, pages that only render."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "gifviz"
PAGE_FORBIDDEN = ("numpy", "pandas", "scipy", "torch", "sklearn")
PAGE_MAX_LINES = 120


def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``package`` (a package is named by its ``__init__.py``)."""
    files = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The module a ``from ... import`` names, relative imports resolved against ``importer``."""
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(tree: ast.AST, importer: str, is_package: bool, modules: set[str]) -> Iterator[str]:
    """Every library module ``tree`` imports, anywhere in the file (functions and ``TYPE_CHECKING`` blocks too: a
    type hint on an upper layer is still a dependency on it). ``from a import b`` names module ``a.b`` when that is
    a module, else ``a`` itself; ``importlib.import_module("a.b")`` with a constant name counts as an import."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, importer, is_package)
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names = [str(node.args[0].value)]
        else:
            continue
        yield from (name for name in names if name in modules)


def _lazy_exports(tree: ast.Module, modules: set[str]) -> Iterator[str]:
    """Modules a package's ``__getattr__`` (PEP 562) imports on first use: the module names written as strings in a
    file that defines one (its table of exports)."""
    if not any(isinstance(node, ast.FunctionDef) and node.name == "__getattr__" for node in tree.body):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in modules:
            yield node.value


def _packages_run_first(target: str, importer: str, is_package: bool) -> list[str]:
    """The packages whose ``__init__.py`` importing ``target`` runs first: its parents, except those of the importer
    (already running when the importer runs). So ``gifviz.pipeline`` importing ``gifviz.jobs.steps`` depends on
    ``gifviz/jobs/__init__.py`` and on whatever that imports."""
    own = importer.split(".") if is_package else importer.split(".")[:-1]
    parts = target.split(".")
    parents = [".".join(parts[:i]) for i in range(1, len(parts))]
    return [parent for parent in parents if parent != ".".join(own[: parent.count(".") + 1])]


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    """Module -> the library modules it imports (itself excluded), and the packages whose ``__init__.py`` those
    imports run first.

    A package's ``__init__.py`` that imports lazily (PEP 562 ``__getattr__`` with a table of module names) gets an
    edge to each module of its table: importing the package and reading the attribute runs that module.
    """
    files = module_files(root, package)
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        edges = set(_imports(tree, name, is_package, modules))
        edges |= {package for target in edges for package in _packages_run_first(target, name, is_package)}
        if is_package:
            edges |= set(_lazy_exports(tree, modules))
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected component that has one (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return [_cycle_within(sorted(component), graph) for component in components]


def _cycle_within(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the component's first module, by breadth-first search inside the component."""
    members = set(component)
    start = component[0]
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if child not in parents:
                    parents[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{component} is not strongly connected")


def test_cycle_finder_reports_the_path() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_graph_resolves_from_imports_relative_imports_and_lazy_tables(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text('_EXPORTS = {"Thing": "pkg.sub.leaf"}\ndef __getattr__(name): ...\n')
    (package / "sub" / "__init__.py").write_text('PROG = "pkg.other"\n')  # a string, not a lazy import
    (package / "sub" / "leaf.py").write_text("def f():\n    from pkg import other\n")
    (package / "other.py").write_text("from .sub import leaf\nfrom pkg.sub.leaf import f\n")
    (package / "user.py").write_text("from pkg import __version__\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.user"] == {"pkg"}  # the package itself, and so everything its lazy table names
    assert graph["pkg"] == {"pkg.sub.leaf"}
    assert graph["pkg.sub.leaf"] == {"pkg.other"}  # a function-level import is an edge
    assert graph["pkg.other"] == {"pkg.sub.leaf", "pkg.sub"}  # pkg/sub/__init__.py runs before pkg.sub.leaf
    assert find_cycles(graph) == [["pkg.other", "pkg.sub.leaf", "pkg.other"]]


def test_the_library_has_no_import_circle() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import circle(s): " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_lower_layers_do_not_reach_the_field_engine() -> None:
    """The hub and the peers need torch helpers, not the engine: those live in a leaf every layer may import."""
    graph = import_graph()
    for leaf in ("gifviz.torch_helpers", "gifviz.script_layers"):
        assert graph[leaf] <= {"gifviz.errors", "gifviz.config"}, leaf
    for low in ("gifviz.hub.loading", "gifviz.methods.peers.evaluation"):
        assert not any(edge == "gifviz.field" or edge.startswith("gifviz.field.") for edge in graph[low]), low


def shadowed_exports(root: Path = ROOT, package: str = PACKAGE) -> list[str]:
    """``package.name`` for each name a lazy table (``_EXPORTS``) exports that is also a submodule of its package.

    Importing the submodule sets the package attribute of that name, so ``from package import name`` then returns the
    module and the package's ``__getattr__`` is never asked for the function (a bug that depends on import order)."""
    files = module_files(root, package)
    shadowed = []
    for name, path in files.items():
        if path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            else:
                continue
            named = any(isinstance(target, ast.Name) and target.id == "_EXPORTS" for target in targets)
            if named and isinstance(node.value, ast.Dict):
                keys = (key.value for key in node.value.keys if isinstance(key, ast.Constant))
                shadowed += [f"{name}.{key}" for key in keys if f"{name}.{key}" in files]
    return sorted(shadowed)


def test_shadowed_exports_are_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text('_EXPORTS = {"run": "pkg.run", "Tool": "pkg.tools"}\n')
    (package / "run.py").write_text("def run(): ...\n")
    (package / "tools.py").write_text("class Tool: ...\n")
    (package / "sub").mkdir()
    (package / "sub" / "__init__.py").write_text('_EXPORTS: dict[str, str] = {"check": "pkg.sub.check"}\n')
    (package / "sub" / "check.py").write_text("def check(): ...\n")
    assert shadowed_exports(tmp_path, "pkg") == ["pkg.run", "pkg.sub.check"]


def test_no_lazy_export_is_shadowed_by_a_submodule() -> None:
    shadowed = shadowed_exports()
    assert not shadowed, f"rename these modules, their names hide the function the package exports: {shadowed}"


def test_the_audit_function_survives_importing_its_module() -> None:
    import importlib

    import gifviz.audit

    module = importlib.import_module(gifviz.audit._EXPORTS["audit"])
    from gifviz.audit import audit

    assert audit is module.audit


def test_no_library_module_imports_the_package_itself() -> None:
    """``gifviz/__init__.py`` imports lazily from most of the library: a module that imports ``gifviz`` (for
    ``__version__``, say) closes a circle through it. ``gifviz._version`` is the place for the version."""
    graph = import_graph()
    importers = sorted(name for name, edges in graph.items() if PACKAGE in edges)
    assert not importers, f"these modules import the package {PACKAGE!r} itself: {', '.join(importers)}"


def _page_files() -> list[Path]:
    return sorted((ROOT / "pages").glob("*.py"))


@pytest.mark.parametrize("page", _page_files(), ids=lambda path: path.name)
def test_pages_only_render(page: Path) -> None:
    """Pages lay out widgets and call gifviz: no array library, no model code, nothing long."""
    tree = ast.parse(page.read_text(), filename=str(page))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            imported.add(node.module.split(".")[0])
    forbidden = sorted(imported & set(PAGE_FORBIDDEN))
    assert not forbidden, f"{page.name} imports {', '.join(forbidden)}; compute in gifviz/ and call it from the page"
    lines = len(page.read_text().splitlines())
    assert lines <= PAGE_MAX_LINES, f"{page.name} has {lines} lines (at most {PAGE_MAX_LINES})"


def test_there_are_pages_to_check() -> None:
    assert len(_page_files()) >= 7


def test_costly_page_results_are_cached_in_the_library(monkeypatch) -> None:
    """A rerun of the Compare page (any widget moved) must not draw the 2,000 bootstrap resamples again."""
    import numpy as np

    from gifviz.app import compare

    calls = []
    real = compare.bootstrap_mean
    monkeypatch.setattr(compare, "bootstrap_mean", lambda values: calls.append(1) or real(values))
    per_input = np.random.default_rng().random(16)  # fresh values: no other test filled this cache entry
    first = compare.bootstrap_interval(per_input)
    assert compare.bootstrap_interval(per_input.copy()) == first
    assert len(calls) == 1


def test_every_file_the_test_run_starts_first_exists() -> None:
    # conftest's LONGEST_FIRST orders xdist's files by name: a renamed file would silently fall back to the end.
    from conftest import LONGEST_FIRST

    tests = Path(__file__).parent
    assert [name for name in LONGEST_FIRST if not (tests / name).is_file()] == []
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
