"""Give docs/permissions.md's URL matrix a column for every role of xinqiao/access/roles.py.

    python scripts/matrix_columns.py          # rewrite the table in place
    python scripts/matrix_columns.py --check  # exit 1 when a column or a cell is missing

A role added after the table was written (issue 14: `department_officer`, `expert`) needs a cell
in every row, including rows other branches add in the old layout (one cell per old role). The
script keeps every existing cell and fills each missing one:

- the BASE role (below) gets 200, the view is behind `@requires(cap)` (its
  `required_capability`) and the new role lacks `cap`: 403;
- otherwise the cell of the role's BASE column (a role that holds as little: the auditor) —
  right for public pages (200), the sign-in page (302), POST-only views (405) and pages every
  signed-in user reaches. The permission-matrix test (tests/access/test_permission_matrix.py)
  then names any cell to correct by hand.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "permissions.md"
ANONYMOUS = "anonymous"
# A new role's cells start as a copy of this role's (the role with the fewest capabilities).
BASE = {"department_officer": "auditor", "expert": "auditor"}


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _required_capability(url_name: str) -> str | None:
    """The capability `@requires` declares on the view named `url_name` (None: none declared)."""
    from django.urls import get_resolver

    resolver = get_resolver()
    *namespaces, name = url_name.split(":")
    for ns in namespaces:
        resolver = resolver.namespace_dict[ns][1]
    for pattern in _patterns(resolver):
        if getattr(pattern, "name", None) == name:
            return getattr(pattern.callback, "required_capability", None)
    return None


def _patterns(resolver):
    from django.urls import URLPattern, URLResolver

    for entry in resolver.url_patterns:
        if isinstance(entry, URLPattern):
            yield entry
        elif isinstance(entry, URLResolver) and not entry.namespace:
            yield from _patterns(entry)


def updated(text: str) -> str:
    from xinqiao.access.roles import Role, role_has

    columns = ["url", "sample", *Role.values, ANONYMOUS]
    head, sep, rest = text.partition("\n## URL matrix\n")
    if not sep:
        raise SystemExit("docs/permissions.md has no `## URL matrix` section")
    lines = rest.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("|"))
    end = start
    while end < len(lines) and lines[end].strip().startswith("|"):
        end += 1
    header = _cells(lines[start])
    old_layouts = {len(header): header}
    without_new = [c for c in header if c not in BASE]
    old_layouts.setdefault(len(without_new), without_new)
    out = [_line(columns), "|" + "---|" * len(columns)]
    for line in lines[start + 2 : end]:
        cells = _cells(line)
        layout = old_layouts.get(len(cells))
        if layout is None:
            raise SystemExit(f"a row with {len(cells)} cells fits no layout: {line}")
        row = dict(zip(layout, cells, strict=True))
        cap = None
        for column in columns:
            if column in row:
                continue
            base = row[BASE.get(column, "auditor")]
            if base == "200":  # the base role passes: does the new one hold the capability?
                cap = cap or _required_capability(row["url"]) or ""
                row[column] = "403" if cap and not role_has(column, cap) else base
            else:  # 302 / 403 / 404 / 405 before or without a capability check
                row[column] = base
        out.append(_line([row[c] for c in columns]))
    return head + sep + "\n".join([*lines[:start], *out, *lines[end:]])


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    text = DOC.read_text(encoding="utf-8")
    new = updated(text)
    if "--check" in sys.argv:
        if new != text:
            print("docs/permissions.md's URL matrix lacks columns: run scripts/matrix_columns.py")
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
