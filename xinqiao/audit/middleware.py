"""403 and 404 raised by views (the access layer's PermissionDenied and Http404) are audited."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

log = logging.getLogger(__name__)


class DeniedRequestMiddleware:
    """Records `access.request.denied` (rate-bound: xinqiao/audit/denied.py) and lets Django
    answer as before. Unknown URLs (the resolver's 404) and static files are not audited: only
    what a view refused."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, PermissionDenied):
            status = 403
        elif isinstance(exception, Http404):
            status = 404
        else:
            return None
        from .denied import record_denied

        try:
            record_denied(request=request, status=status)
        except Exception:
            # The refusal stands even when its event cannot be written.
            log.exception("audit: a denied request could not be recorded")
        return None
