"""Reads for account administration. A system administrator sees accounts and their roles,
never student records."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from .models import RoleAssignment, RoleRequest
from .roles import Cap
from .scope import Principal


def list_accounts(*, principal: Principal, search: str = "") -> QuerySet[Any]:
    principal.require(Cap.MANAGE_ACCOUNTS)
    users = (
        get_user_model()
        .objects.order_by("username")
        .prefetch_related(
            Prefetch(
                "role_assignments",
                queryset=RoleAssignment.objects.filter(is_active=True).select_related("org_unit"),
                to_attr="active_roles",
            )
        )
    )
    if search.strip():
        text = search.strip()
        users = users.filter(Q(username__icontains=text) | Q(first_name__icontains=text))
    return users


def get_account(*, principal: Principal, username: str) -> Any:
    principal.require(Cap.MANAGE_ACCOUNTS)
    user = list_accounts(principal=principal).filter(username=username).first()
    if user is None:
        raise Http404
    return user


def pending_role_requests(*, principal: Principal, user: Any = None) -> QuerySet[RoleRequest]:
    """Role requests awaiting a second system administrator (access/grants.py), oldest first."""
    principal.require(Cap.MANAGE_ACCOUNTS)
    requests = RoleRequest.objects.filter(decided_at__isnull=True)
    if user is not None:
        requests = requests.filter(user=user)
    return requests.select_related("user", "org_unit", "requested_by").order_by("requested_at")


def get_pending_role_request(*, principal: Principal, code: Any) -> RoleRequest:
    request = pending_role_requests(principal=principal).filter(code=code).first()
    if request is None:
        raise Http404
    return request
