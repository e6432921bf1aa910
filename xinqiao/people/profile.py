"""Sections that other apps add to the student profile (the mental-health archive).

People sits below screening, alerts and cases, so it does not import them; each registers a
section builder in its AppConfig.ready(). A builder returns None when the user may not see it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xinqiao.access.scope import Principal

from .models import Student


@dataclass(frozen=True)
class ProfileSection:
    template: str
    context: dict[str, Any]
    fields_read: tuple[str, ...]  # for the audit event of the profile view


SectionBuilder = Callable[[Any, Student], ProfileSection | None]
_builders: list[SectionBuilder] = []


def register_section(builder: SectionBuilder) -> None:
    if builder not in _builders:
        _builders.append(builder)


def sections_for(*, principal: Principal, student: Student) -> list[ProfileSection]:
    return [s for s in (build(principal, student) for build in _builders) if s is not None]
