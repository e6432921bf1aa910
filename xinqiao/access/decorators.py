from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from .scope import principal_for


def requires(cap: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Signed in (else redirect to login) and holding `cap` through some role (else 403)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            principal_for(request.user).require(cap)
            return view(request, *args, **kwargs)

        wrapped.required_capability = cap  # type: ignore[attr-defined]
        return wrapped

    return decorator
