"""Placeholder (issue 5): the boards and the student archive section."""

from typing import Any


def archive_section(principal: Any, student: Any) -> Any:
    return None
