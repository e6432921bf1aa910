"""docs/permissions.md's generated role × capability section matches xinqiao/access/roles.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from xinqiao.access.roles import ROLE_CAPABILITIES, ROLE_TIER, ROLE_UNIT_KINDS, Cap, Role

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "permissions.md"


def _script():
    spec = importlib.util.spec_from_file_location(
        "permissions_doc", ROOT / "scripts" / "permissions_doc.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_roles_section_is_up_to_date():
    script = _script()
    text = DOC.read_text(encoding="utf-8")
    assert script.START in text, "docs/permissions.md lost its roles markers"
    assert script.END in text, "docs/permissions.md lost its roles markers"
    assert script.updated(text) == text, (
        "docs/permissions.md's roles section is out of date with xinqiao/access/roles.py: "
        "run `.venv/bin/python scripts/permissions_doc.py`"
    )


def test_generated_section_covers_every_role_and_capability():
    section = _script().render_section()
    for role in Role:
        assert f"`{role.value}`" in section
    for cap in Cap:
        assert f"`{cap.value}`" in section


def test_role_tables_are_complete():
    # Every role has an entry in each table, so the generated doc cannot silently skip one.
    assert set(ROLE_CAPABILITIES) == set(Role.values)
    assert set(ROLE_TIER) == set(Role.values)
    assert set(ROLE_UNIT_KINDS) == set(Role.values)
    assert all(set(caps) <= set(Cap.values) for caps in ROLE_CAPABILITIES.values())


def test_updated_replaces_only_the_marked_section():
    script = _script()
    text = f"intro\n{script.START}\nstale\n{script.END}\noutro\n"
    new = script.updated(text)
    assert new.startswith("intro\n" + script.START)
    assert new.endswith(script.END + "\noutro\n")
    assert "stale" not in new
