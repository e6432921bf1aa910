"""The permission matrix in docs/permissions.md, walked URL by URL and role by role.

- Every named URL of config.urls has exactly one row, and every row names a URL (a new view
  without a row fails here: add a row to docs/permissions.md).
- For each row the `world` is built once, then the URL is requested (GET) as every role of
  `world.by_role` and as an anonymous visitor; every cell that differs is reported together.

Left out on purpose (technical, no data): `set_language`, `javascript-catalog`, static and media
files. The Django Ninja API (namespaces starting with "api") has its own tests, not this matrix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.views.static import serve

from xinqiao.access.roles import Role

from ..otp import verified_client

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "permissions.md"
ANONYMOUS = "anonymous"
COLUMNS = ["url", "sample", *[r.value for r in Role], ANONYMOUS]
STATUSES = {200, 302, 403, 404, 405}

# Technical endpoints that carry no data and need no row (keep this list short).
EXCLUDED_NAMES = {"set_language", "javascript-catalog"}
EXCLUDED_NAMESPACE_PREFIXES = ("api",)  # Django Ninja: covered by tests/api/


# --- the doc -------------------------------------------------------------------------------------
def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_matrix(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of the markdown table under `## URL matrix`."""
    section = text.split("\n## URL matrix", 1)
    if len(section) != 2:
        return [], []
    lines = section[1].splitlines()[1:]
    table: list[str] = []
    for line in lines:
        if line.startswith("## "):
            break
        if line.strip().startswith("|"):
            table.append(line)
        elif table and line.strip():
            break
    if len(table) < 2:
        return [], []
    header = _cells(table[0])
    rows = [dict(zip(header, _cells(line), strict=False)) for line in table[2:]]
    return header, rows


HEADER, ROWS = parse_matrix(DOC.read_text(encoding="utf-8"))


# --- the project's URLs --------------------------------------------------------------------------
def walk_urls(patterns: list[Any] | None = None, namespace: str = "", prefix: str = ""):
    """Yield (name or None, route) for every URL pattern, descending into includes."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            if ns.startswith(EXCLUDED_NAMESPACE_PREFIXES):
                continue
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from walk_urls(entry.url_patterns, full_ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            if entry.callback is serve or getattr(entry.callback, "__wrapped__", None) is serve:
                continue  # static / media files in development
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name, prefix + str(entry.pattern)


def project_url_names() -> tuple[set[str], list[str]]:
    names, unnamed = set(), []
    for name, route in walk_urls():
        if name is None:
            unnamed.append(route)
        elif name not in EXCLUDED_NAMES:
            names.add(name)
    return names, unnamed


# --- filling URL kwargs from the world -----------------------------------------------------------
def sample_kwargs(world: Any, sample: str) -> dict[str, Any]:
    """`code=stu_a1` → {"code": world.stu_a1.code}; `x=a.b` → world.a.b; `x='lit'` → "lit"."""
    kwargs: dict[str, Any] = {}
    if sample.strip() in ("", "-"):
        return kwargs
    for part in sample.split(";"):
        key, sep, expr = (s.strip() for s in part.partition("="))
        if not sep or not key or not expr:
            raise ValueError(f"bad sample part {part!r}: expected name=attr")
        if len(expr) >= 2 and expr[0] == expr[-1] == "'":
            kwargs[key] = expr[1:-1]
        elif re.fullmatch(r"\d+", expr):
            kwargs[key] = int(expr)
        elif "." in expr:
            value: Any = world
            for attr in expr.split("."):
                value = getattr(value, attr)
            kwargs[key] = value
        else:
            obj = getattr(world, expr)
            if not hasattr(obj, key):
                raise ValueError(f"world.{expr} has no attribute {key!r} (write {key}={expr}.attr)")
            kwargs[key] = getattr(obj, key)
    return kwargs


# --- the tests -----------------------------------------------------------------------------------
def test_matrix_table_is_well_formed():
    assert HEADER == COLUMNS, (
        "docs/permissions.md `## URL matrix` header must be exactly: | "
        + " | ".join(COLUMNS)
        + " |"
    )
    problems = []
    seen: set[str] = set()
    for row in ROWS:
        if len(row) != len(COLUMNS) or any(c not in row for c in COLUMNS):
            problems.append(f"{row.get('url')}: wrong number of cells")
            continue
        if row["url"] in seen:
            problems.append(f"{row['url']}: more than one row")
        seen.add(row["url"])
        for column in COLUMNS[2:]:
            if not row[column].isdigit() or int(row[column]) not in STATUSES:
                problems.append(
                    f"{row['url']} × {column}: {row[column]!r} is not one of {STATUSES}"
                )
    assert problems == []


def test_every_url_has_a_row_and_every_row_a_url():
    names, unnamed = project_url_names()
    rows = {row.get("url") for row in ROWS}
    missing = sorted(names - rows)
    stale = sorted(rows - names)
    assert unnamed == [], f"URL patterns without a name (name them, add rows): {unnamed}"
    assert missing == [], f"URLs without a row: add a row to docs/permissions.md for {missing}"
    assert stale == [], f"rows in docs/permissions.md for URLs that do not exist: {stale}"


def test_every_role_has_a_column_and_a_user(world):
    assert set(world.by_role) == set(Role.values)
    assert COLUMNS[2:-1] == list(Role.values)


def _get(client: Client, url: str):
    # A savepoint per request: a view that fails must not poison the next role's request.
    with transaction.atomic():
        return client.get(url)


@pytest.mark.parametrize("row", ROWS, ids=[row.get("url", "?") for row in ROWS])
def test_url_answers_each_role_as_documented(world, row):
    try:
        url = reverse(row["url"], kwargs=sample_kwargs(world, row["sample"]))
    except Exception as exc:
        pytest.fail(f"{row['url']}: cannot build the URL from sample {row['sample']!r}: {exc!r}")
    login_url = reverse("login")
    mismatches = []
    users = {**world.by_role, ANONYMOUS: None}
    for column in COLUMNS[2:]:
        expected = int(row[column])
        user = users[column]
        client = Client()
        if user is not None:
            user = get_user_model().objects.get(pk=user.pk)  # fresh: no cached principal
            client = verified_client(user)
        try:
            response = _get(client, url)
        except Exception as exc:
            mismatches.append(f"{column}: expected {expected}, the view raised {exc!r}")
            continue
        if response.status_code != expected:
            where = f" → {response.get('Location')}" if response.status_code == 302 else ""
            mismatches.append(f"{column}: expected {expected}, got {response.status_code}{where}")
        elif user is None and expected == 302 and not response["Location"].startswith(login_url):
            mismatches.append(f"{column}: 302 to {response['Location']}, not the sign-in page")
    assert mismatches == [], f"GET {url} ({row['url']}):\n  " + "\n  ".join(mismatches)
