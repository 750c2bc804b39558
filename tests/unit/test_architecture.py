"""The layer contract, checked on the source: imports point down only (inside functions and under
TYPE_CHECKING too), siblings stay apart, no module takes part in an import circle, and only the governed
write path calls a backend's write methods.

    surfaces -> app -> lifecycle -> governance -> store | connectors -> settings
             -> diagnosis | runbooks | sandbox -> errors | models
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "pipeline_sre"
# Lower number = higher layer. Packages on one level are siblings and must not import each other.
LAYERS: dict[str, int] = {
    "__main__": -1,
    "surfaces": 0,
    "app": 1,
    "lifecycle": 2,
    "governance": 3,
    "store": 4,
    "connectors": 4,
    "settings": 5,
    "diagnosis": 6,
    "runbooks": 6,
    "sandbox": 6,
    "errors": 7,
    "models": 7,
    "__init__": 7,
}
# Backend client methods that change something: only executors of the governed path may call them.
WRITE_METHODS = {
    "clear_task_instances",
    "trigger_dag_run",
    "repair_run",
    "run_now",
    "create_branch",
    "put_file",
    "create_pull",
    "merge_pull",
    "open_for_review",
}
WRITERS = ("governance/",)


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """Each module a file imports, with the line: `from pkg import sub` imports pkg.sub when it is a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    known = _known_modules()
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub if sub in known else target), node.lineno


def _top(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "pipeline_sre":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _known_modules() -> set[str]:
    return {_module(p) for p in _sources()}


def _sources() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module(p) for p in _sources()}
    graph: dict[str, set[str]] = {}
    for path in _sources():
        here = _module(path)
        graph[here] = {m for m, _ in _imports(path) if m in modules and m != here}
    return graph


def test_every_package_has_a_layer() -> None:
    tops = {top for p in _sources() if (top := _top(_module(p))) is not None}
    assert tops <= set(LAYERS), f"packages without a layer: {sorted(t for t in tops if t not in LAYERS)}"


def test_imports_point_down_only() -> None:
    upward: list[str] = []
    for path in _sources():
        mine = _top(_module(path))
        assert mine is not None
        for target, line in _imports(path):
            theirs = _top(target)
            if theirs is None or theirs == mine or theirs not in LAYERS:
                continue
            if LAYERS[theirs] <= LAYERS[mine]:
                upward.append(f"{path.relative_to(SRC)}:{line} ({mine}) imports {target} ({theirs})")
    assert upward == [], "\n".join(upward)


def test_no_import_circles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == [], circles


def test_only_the_governed_path_writes() -> None:
    calls: list[str] = []
    for path in _sources():
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(WRITERS) or rel.startswith("connectors/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITE_METHODS:
                calls.append(f"{rel}:{node.lineno} calls .{node.func.attr}()")
    assert calls == [], "\n".join(calls)


def test_surfaces_keep_no_books() -> None:
    """Surfaces parse, call `app` and render: the write path and the SQL are not theirs."""
    offending: list[str] = []
    for path in _sources():
        rel = path.relative_to(SRC).as_posix()
        if not rel.startswith("surfaces/"):
            continue
        for target, line in _imports(path):
            if target.startswith(("sqlalchemy", "pipeline_sre.store.models", "pipeline_sre.store.repository")):
                offending.append(f"{rel}:{line} imports {target}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                owner = node.func.value
                if (
                    name in ("approve", "deny", "propose", "request_approval", "advance")
                    and isinstance(owner, ast.Attribute)
                    and owner.attr in ("governance", "gov", "incidents")
                ):
                    offending.append(f"{rel}:{node.lineno} calls {owner.attr}.{name}() (use app.operations)")
    assert offending == [], "\n".join(offending)
