"""The dependency rules: core imports only the standard library and headroom; no import
cycles among the adapters; targets depend on adapters, never the other way."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "core"
ALLOWED_THIRD_PARTY = {"headroom"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_imports_no_framework_or_client_library() -> None:
    offenders = {}
    for path in sorted(CORE.rglob("*.py")):
        foreign = {
            root for root in _imported_roots(path)
            if root not in sys.stdlib_module_names and root not in ALLOWED_THIRD_PARTY | {"core"}
        }  # fmt: skip
        if foreign:
            offenders[path.name] = sorted(foreign)
    assert offenders == {}


def test_importing_the_app_modules_builds_nothing() -> None:
    """Modules only define things: importing them must not open sockets, threads or files."""
    import threading

    before = set(threading.enumerate())
    import adapters.bootstrap
    import adapters.http.app  # noqa: F401
    import sidecar.cli  # noqa: F401

    assert set(threading.enumerate()) - before == set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path, known: set[str]) -> set[str]:
    """Modules of `known` that `path` imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found |= {name for name in names if name in known}
    return found


def test_no_adapter_module_imports_one_that_imports_it_back() -> None:
    paths = {_module_name(p): p for p in (REPO / "adapters").rglob("*.py")}
    graph = {name: _imported_modules(path, set(paths)) - {name} for name, path in paths.items()}
    cycles = []

    def visit(name: str, trail: list[str]) -> None:
        for target in sorted(graph[name]):
            if target in trail:
                cycles.append(trail[trail.index(target) :] + [target])
            elif len(trail) < 12:
                visit(target, [*trail, target])

    for name in sorted(graph):
        visit(name, [name])
    assert cycles == []


def test_adapters_never_import_the_targets() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(roots & {"sidecar", "tests"})
        for path in (REPO / "adapters").rglob("*.py")
        if (roots := _imported_roots(path)) & {"sidecar", "tests"}
    }
    assert offenders == {}
