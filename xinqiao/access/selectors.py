"""Reads for account administration. A system administrator sees accounts and their roles,
never student records."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from .models import RoleAssignment
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
