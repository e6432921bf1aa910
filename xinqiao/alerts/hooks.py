"""Seams for apps above alerts to answer questions the alerts app cannot answer alone.

`alert_owner_for(student)`: who should own a *new* alert for this student. The cases app registers
a resolver that answers "the owner of the student's open case", so every new trigger for a
high-care student lands with the psychology teacher who already knows them. A resolver returns a
user or None (no opinion); the first answer wins, and without one the alert goes to the school's
psychology teacher on duty (`services.owner_for_school`).
"""

from collections.abc import Callable
from typing import Any

OwnerResolver = Callable[[Any], Any]
_owner_resolvers: list[OwnerResolver] = []


def register_owner_resolver(resolver: OwnerResolver) -> None:
    if resolver not in _owner_resolvers:
        _owner_resolvers.append(resolver)


def alert_owner_for(student: Any) -> Any | None:
    for resolver in _owner_resolvers:
        owner = resolver(student)
        if owner is not None:
            return owner
    return None
