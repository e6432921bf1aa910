"""The types every app shares: who acts, and the user behind a request.

`User` is the project's user model (Django's own; settings.AUTH_USER_MODEL is not swapped).
`Actor` is whoever a service acts for: a signed-in user, or None for the system itself (a
management command, the demo generator, a scheduled task). Services that need a real person (an
owner, a verifier) take `User`.
"""

from __future__ import annotations

from django.contrib.auth.models import User

Actor = User | None

__all__ = ["Actor", "User"]
