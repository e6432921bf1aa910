"""Placeholder (issue 5): referrals and the psychiatrist's scope."""

from typing import Any

from django.db.models import Q


def psychiatrist_students_q(principal: Any, unit: Any) -> Q:
    return Q(pk__in=[])
