from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from xinqiao.audit.context import AuditContext, current
from xinqiao.core.client import client_ip

from .scope import principal_for


class PrincipalMiddleware:
    """Attach `request.principal` and put the acting role into the audit context."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        principal = principal_for(request.user)
        request.principal = principal  # type: ignore[attr-defined]  # typed by PrincipalRequest
        token = current.set(
            AuditContext(ip=client_ip(request) or None, role=principal.primary_role)
        )
        try:
            return self.get_response(request)
        finally:
            current.reset(token)
