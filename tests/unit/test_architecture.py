"""The dependency rule: core imports only the standard library and headroom."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
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

    before = threading.active_count()
    import adapters.bootstrap  # noqa: F401
    import adapters.http.app  # noqa: F401
    import sidecar.cli  # noqa: F401

    assert threading.active_count() == before
