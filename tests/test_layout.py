"""Dependencies point down: each app imports only the floors below it.

    editor/, dashboard/, functions_ide/ (the project: urls, asgi, demo seed)   top
    pipeline/ (the Tracking API, stored events, delivery jobs)                upper middle
    catalog/                                                                  middle
    workspaces/, audit/ (audit.services beside workspaces), runtime/          ground

Every import statement counts, also the ones inside functions and the relative ones. Model
relations by name ("catalog.Function" in a ForeignKey) are not imports and are allowed:
Django resolves them when all apps are loaded.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP = {"editor", "dashboard", "functions_ide"}

# app -> modules it must never import (a name covers its submodules too).
FORBIDDEN: dict[str, set[str]] = {
    "runtime": {"workspaces", "audit", "catalog", "pipeline"} | TOP,
    "workspaces": {"catalog", "pipeline", "audit.selectors"} | TOP,
    "audit": {"catalog", "pipeline"} | TOP,
    "catalog": {"pipeline"} | TOP,
    "pipeline": TOP,
}


def imported_modules(source: str, module: str) -> set[str]:
    """Absolute names of the modules that ``source`` (the module named ``module``) imports;
    for ``from x import y`` both ``x`` and ``x.y`` (y may be a submodule)."""
    package = module.split(".")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names)
    return found


def _violations(app: str, forbidden: set[str]) -> list[str]:
    problems = []
    for path in sorted((ROOT / app).rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        parts = list(relative.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        # Relative imports resolve against the package: a module's own, or __init__'s self.
        module = ".".join([*parts, "__init__"] if is_package else parts)
        bad_names = {
            name
            for name in imported_modules(path.read_text(), module)
            if any(name == bad or name.startswith(f"{bad}.") for bad in forbidden)
        }
        # "from catalog.models import Function" is one finding, not two.
        for name in sorted(bad_names):
            if name.rpartition(".")[0] not in bad_names:
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    return problems


@pytest.mark.parametrize("app", FORBIDDEN)
def test_apps_import_only_the_floors_below(app: str) -> None:
    assert (ROOT / app).is_dir()
    assert _violations(app, FORBIDDEN[app]) == []


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("import catalog.models", "workspaces.views", "catalog.models"),
        ("from catalog.selectors import function_list", "workspaces.views", "catalog.selectors"),
        ("def f():\n    from audit import selectors\n", "workspaces.x", "audit.selectors"),
        ("from ..catalog import models", "workspaces.views", "catalog.models"),
        ("from . import views", "dashboard.urls", "dashboard.views"),
        ("from .views import dashboard", "dashboard.__init__", "dashboard.views"),
    ],
)
def test_the_check_sees_every_kind_of_import(source: str, module: str, expected: str) -> None:
    assert expected in imported_modules(source, module)


def test_the_check_reports_a_forbidden_import(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "workspaces").mkdir()
    (tmp_path / "workspaces" / "bad.py").write_text(
        "def late():\n    from audit.selectors import audit_event_list\n"
    )
    (tmp_path / "workspaces" / "fine.py").write_text("from audit.services import audit_record\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert _violations("workspaces", FORBIDDEN["workspaces"]) == [
        "workspaces/bad.py imports audit.selectors"
    ]
