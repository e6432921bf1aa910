"""docs/audit-actions.md lists every audit action the code writes."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACTION = re.compile(r"""action\s*=\s*["']([a-z_]+\.[a-z_]+\.[a-z_]+)["']""")
ROW = re.compile(r"^\| `([a-z_.]+)` \|", re.MULTILINE)


def actions_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "xinqiao").rglob("*.py"):
        if "migrations" not in path.parts:
            found |= set(ACTION.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_action_is_documented():
    documented = set(ROW.findall((ROOT / "docs" / "audit-actions.md").read_text(encoding="utf-8")))
    missing = sorted(actions_in_code() - documented)
    assert missing == [], f"add these actions to docs/audit-actions.md: {missing}"


def test_actions_follow_the_naming_rule():
    assert "audit.log.exported" in actions_in_code()
    for action in actions_in_code():
        app = action.split(".")[0]
        assert (ROOT / "xinqiao" / app).is_dir(), f"{action}: the first part names the app"
