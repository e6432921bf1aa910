"""Reads of import jobs, through the access layer."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal
from xinqiao.orgs.models import subtree_q

from ..models import ImportJob


def list_import_jobs(*, principal: Principal) -> QuerySet[ImportJob]:
    """The user's own jobs and those bounded to a unit inside their import scope, newest first."""
    principal.require(Cap.IMPORT_ROSTER)
    areas = [g.area for g in principal.grants_with(Cap.IMPORT_ROSTER)]
    q = Q(created_by=principal.user) | subtree_q(*areas, field="org_unit__path")
    return ImportJob.objects.filter(q, kind="roster").select_related(
        "term", "school", "org_unit", "created_by"
    )


def get_import_job(*, principal: Principal, code: Any) -> ImportJob:
    """404 when the job is outside the user's world; 403 when it is in it but the role may not
    import (a head teacher of the school, say)."""
    if principal.can(Cap.IMPORT_ROSTER):
        job = list_import_jobs(principal=principal).filter(code=code).first()
        if job is not None:
            return job
    job = ImportJob.objects.filter(code=code, kind="roster").select_related("org_unit").first()
    if job is None or job.org_unit is None:
        raise Http404
    unit = job.org_unit
    related = any(g.area.contains(unit) or unit.contains(g.unit) for g in principal.grants)
    if related and not principal.can(Cap.IMPORT_ROSTER):
        raise PermissionDenied
    raise Http404
