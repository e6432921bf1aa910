"""Which app may import which: the declared table, checked against every module's imports.

docs/architecture.md ("Apps and their import directions") draws this table. Migrations are left
out (Django writes their dependencies). Function-level and TYPE_CHECKING imports count.

- Base apps form one chain for their records and workflows (models, services, signals, …):
  core ← audit ← orgs ← people ← access, then notifications, instruments and analytics on top of
  access. The audit record needs no role logic, so it sits lowest: every write elsewhere records
  its event in its own transaction.
- A base app's pages and reads (its INTERFACE modules: views, selectors, forms, urls, apps, admin,
  management commands) go through the authorization layer by rule, so they sit above `access`
  and may import any base app.
- Feature apps may import every base app, and another feature app only where FEATURES allows it,
  only through that app's PUBLIC modules (EXCEPTIONS lists today's other uses, with the reason).
- `api` and `demo` sit on top of everything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "xinqiao"

# Base app -> the base apps its records and workflows may import (the chain, lowest first).
BASE: dict[str, set[str]] = {
    "core": set(),
    "audit": {"core"},
    "orgs": {"core", "audit"},
    "people": {"core", "audit", "orgs"},
    "access": {"core", "audit", "orgs", "people"},
    "notifications": {"core", "audit", "orgs", "people", "access"},
    "instruments": {"core", "audit", "orgs", "people", "access"},
    "analytics": {"core", "audit", "orgs", "people", "access"},
}
# Modules (any part of the dotted path inside the app) that serve pages or reads for a user.
INTERFACE = {
    "admin",
    "apps",
    "forms",
    "import_urls",
    "import_views",
    "management",
    "profile",
    "selectors",
    "urls",
    "views",
}

# Feature app -> the feature apps it may import (through their PUBLIC modules only).
FEATURES: dict[str, set[str]] = {
    "screening": set(),
    "alerts": {"screening"},
    "cases": {"screening", "alerts"},
    "counselling": {"screening", "alerts", "cases", "mentoring"},
    "education": {"screening", "alerts", "cases"},
    "family": {"screening", "alerts", "cases"},
    "facilities": set(),
    "emergency": {"screening"},
    "partners": {"screening", "alerts", "cases", "workforce"},
    "indicators": {"screening", "alerts", "cases", "counselling", "education", "family"},
    "workforce": set(),
    "mentoring": {"alerts"},
}
PUBLIC = {"selectors", "services", "hooks", "signals", "models"}

# Apps on top: they may import any module of any app.
OUTER = {"api", "demo"}

# (importing module, imported module or app): why it is allowed although the table says no.
EXCEPTIONS: dict[tuple[str, str], str] = {
    (
        "xinqiao.people.registry",
        "xinqiao.access",
    ): "a registry import (the framework under people/registry/) runs, in a worker too, as its "
    "uploader: it checks the uploader's capability and import areas in the authorization layer",
    (
        "xinqiao.people.committee_registry",
        "xinqiao.access",
    ): "the committee import appoints through the committee page's service "
    "(access.invitations: the child's account and class role come with the appointment)",
    (
        "xinqiao.partners.apps",
        "xinqiao.cases.panels",
    ): "the case page's panel registry is a hook: partners adds the psychiatrist's advice and "
    "the invited experts to it",
    (
        "xinqiao.partners.panels",
        "xinqiao.cases.panels",
    ): "a panel is built as the case page's registry defines it (Panel)",
    (
        "xinqiao.people.importer.service",
        "xinqiao.access",
    ): "the roster import runs (in a worker too) as its uploader: it checks the uploader's "
    "capability and import areas in the authorization layer",
    (
        "xinqiao.cases.selectors.lifecycle",
        "xinqiao.alerts.rules",
    ): "a step-down is checked by re-evaluating the student's answers with the alert rules "
    "in force",
}


def app_of(module: str) -> str:
    return module.split(".")[1]


def is_interface(module: str) -> bool:
    return any(part in INTERFACE for part in module.split(".")[2:])


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        if "migrations" in rel.parts:
            continue
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        if len(parts) >= 2:
            yield ".".join(parts), path


def imports_of(module: str, source: str, *, is_package: bool) -> Iterator[tuple[str, int]]:
    """Every `xinqiao.<app>.<module>` this source imports, relative imports resolved."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if len(target.split(".")) <= 2:
                # `from xinqiao.people import selectors`: the names are the modules
                for alias in node.names:
                    yield f"{target}.{alias.name}", node.lineno
            else:
                yield target, node.lineno


def violation(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported`, or None when it may."""
    if not imported.startswith("xinqiao.") or imported.count(".") < 1:
        return None
    src, dst = app_of(importer), app_of(imported)
    if src == dst:
        return None
    for (mod, target), _why in EXCEPTIONS.items():
        if (importer == mod or importer.startswith(mod + ".")) and (
            imported == target or imported.startswith(target + ".")
        ):
            return None
    if src in OUTER:
        return None
    if src in BASE:
        if dst in BASE[src]:
            return None
        if dst in BASE and is_interface(importer):
            return None
        return f"base app {src} may not import {dst} here (allowed: {sorted(BASE[src])})"
    if src in FEATURES:
        if dst in BASE:
            return None
        if dst in FEATURES.get(src, set()):
            public = imported.split(".")[2] if imported.count(".") >= 2 else ""
            if public in PUBLIC:
                return None
            return f"{dst} is reachable only through {sorted(PUBLIC)}"
        return f"feature app {src} may not import {dst}"
    return f"app {src} is not in the table of import directions"


def test_every_import_follows_the_declared_directions():
    problems = []
    for module, path in modules():
        source = path.read_text(encoding="utf-8")
        for imported, line in imports_of(module, source, is_package=path.name == "__init__.py"):
            why = violation(module, imported)
            if why is not None:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {imported}: {why}")
    assert problems == []


def test_every_app_is_in_the_table():
    apps = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    declared = set(BASE) | set(FEATURES) | OUTER
    assert apps - declared == set()


def test_the_declared_directions_have_no_cycle():
    graph = {**BASE, **{app: set(BASE) | deps for app, deps in FEATURES.items()}}
    done: set[str] = set()

    def visit(app: str, path: tuple[str, ...]) -> None:
        assert app not in path, f"cycle: {' -> '.join((*path, app))}"
        if app in done:
            return
        for dep in graph[app]:
            visit(dep, (*path, app))
        done.add(app)

    for app in graph:
        visit(app, ())


def test_every_exception_is_still_used():
    used = set()
    for module, path in modules():
        source = path.read_text(encoding="utf-8")
        for imported, _line in imports_of(module, source, is_package=path.name == "__init__.py"):
            for mod, target in EXCEPTIONS:
                if (module == mod or module.startswith(mod + ".")) and (
                    imported == target or imported.startswith(target + ".")
                ):
                    used.add((mod, target))
    assert set(EXCEPTIONS) - used == set()


@pytest.mark.parametrize(
    ("importer", "imported", "allowed"),
    [
        ("xinqiao.orgs.services", "xinqiao.audit.services", True),
        ("xinqiao.audit.services", "xinqiao.orgs.models", False),  # below orgs
        ("xinqiao.people.services", "xinqiao.access.services", False),  # access is above people
        ("xinqiao.people.views", "xinqiao.access.decorators", True),  # pages go through access
        ("xinqiao.orgs.models", "xinqiao.screening.models", False),  # base never imports features
        ("xinqiao.cases.services.care", "xinqiao.alerts.services", True),
        ("xinqiao.cases.services.care", "xinqiao.alerts.deadlines", False),  # not public
        ("xinqiao.alerts.services", "xinqiao.cases.models", False),  # features: one direction
        ("xinqiao.screening.selectors", "xinqiao.analytics.disclosure", True),
        ("xinqiao.alerts.services", "xinqiao.notifications.services", True),
        ("xinqiao.demo.cases", "xinqiao.alerts.rules", True),
    ],
)
def test_the_checker_tells_allowed_from_forbidden(importer, imported, allowed):
    assert (violation(importer, imported) is None) is allowed


def test_relative_and_function_level_imports_are_resolved():
    source = (
        "from ..models import Case\n"
        "from .. import policy\n"
        "def f():\n"
        "    from xinqiao.people import selectors\n"
    )
    found = [m for m, _line in imports_of("xinqiao.cases.services.care", source, is_package=False)]
    assert found == [
        "xinqiao.cases.models",
        "xinqiao.cases.policy",
        "xinqiao.people.selectors",
    ]
