"""The generic pages of every registry import: upload + job list, job page, polled progress and
the error report download. URLs take the registry's kind (`/import/registry/staff/`); a registry
needs no view of its own (its optional `guide_template` is included on the upload page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import content_disposition_header
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from xinqiao.access.scope import Principal, principal_for
from xinqiao.core.errors import DomainError
from xinqiao.core.exports import watermark_csv
from xinqiao.core.forms import apply_service_error
from xinqiao.orgs.models import subtree_q

from ..import_views import ALLOWED_SUFFIXES, max_upload_bytes
from ..importer import files, store_upload
from ..importer.service import report_header
from ..models import ImportJob
from ..tasks import start_import_job
from .base import Registry, get_registry
from .runner import create_job


class RegistryImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GBK/GB18030) or Excel (.xlsx), first row = column headers."
        ),
    )
    dry_run = forms.BooleanField(
        label=gettext_lazy("Dry run: check the file and count, change nothing"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs.update(
            {"class": "form-control", "accept": ",".join(ALLOWED_SUFFIXES)}
        )
        self.fields["dry_run"].widget.attrs["class"] = "form-check-input"

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ALLOWED_SUFFIXES):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(
                _("The file is larger than %(size)d MB.")
                % {"size": max_upload_bytes() // (1024 * 1024)}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload


def _registry(kind: str) -> Registry:
    registry = get_registry(kind)
    if registry is None:
        raise Http404
    return registry


def registry_jobs(*, principal: Principal, registry: Registry) -> QuerySet[ImportJob]:
    """The user's own jobs of this registry and those bounded to a unit in their import scope."""
    principal.require(registry.cap)
    areas = [g.area for g in principal.grants_with(registry.cap)]
    q = Q(created_by=principal.user) | subtree_q(*areas, field="org_unit__path")
    return ImportJob.objects.filter(q, kind=registry.kind).select_related("org_unit", "created_by")


def get_registry_job(*, principal: Principal, registry: Registry, code: Any) -> ImportJob:
    """404 outside the user's world; 403 inside it for a role that may not import."""
    if principal.can(registry.cap):
        job = registry_jobs(principal=principal, registry=registry).filter(code=code).first()
        if job is not None:
            return job
    job = ImportJob.objects.filter(code=code, kind=registry.kind).select_related("org_unit").first()
    if job is None or job.org_unit is None:
        raise Http404
    unit = job.org_unit
    related = any(g.area.contains(unit) or unit.contains(g.unit) for g in principal.grants)
    if related and not principal.can(registry.cap):
        raise PermissionDenied
    raise Http404


@login_required
def upload(request: HttpRequest, kind: str) -> HttpResponse:
    registry = _registry(kind)
    principal = principal_for(request.user)
    principal.require(registry.cap)
    if request.method == "POST":
        form = RegistryImportForm(request.POST, request.FILES)
        if form.is_valid():
            file = form.cleaned_data["file"]
            relative, size = store_upload(file.chunks(), file.name, prefix=f"{kind}-")
            try:
                job = create_job(
                    actor=principal.user,
                    kind=kind,
                    file=relative,
                    original_name=file.name,
                    file_size=size,
                    dry_run=form.cleaned_data["dry_run"],
                    language=get_language(),
                )
            except DomainError as exc:
                files.delete(relative)
                apply_service_error(form, exc)
            else:
                start_import_job(job)
                messages.success(request, _("The file was uploaded; the import is running."))
                return redirect("registries:job-detail", kind=kind, code=job.code)
    else:
        form = RegistryImportForm()
    jobs = registry_jobs(principal=principal, registry=registry)[:50]
    context = {"form": form, "jobs": jobs, "registry": registry}
    return render(request, "registries/upload.html", context)


@login_required
@require_GET
def job_detail(request: HttpRequest, kind: str, code: Any) -> HttpResponse:
    registry = _registry(kind)
    job = get_registry_job(principal=principal_for(request.user), registry=registry, code=code)
    return render(request, "registries/job.html", {"job": job, "registry": registry})


@login_required
@require_GET
def job_progress(request: HttpRequest, kind: str, code: Any) -> HttpResponse:
    registry = _registry(kind)
    job = get_registry_job(principal=principal_for(request.user), registry=registry, code=code)
    return render(request, "registries/_progress.html", {"job": job, "registry": registry})


@login_required
@require_GET
def job_errors(request: HttpRequest, kind: str, code: Any) -> HttpResponse:
    """The error report (CSV, UTF-8 with BOM, watermarked); header only when no row failed."""
    registry = _registry(kind)
    job = get_registry_job(principal=principal_for(request.user), registry=registry, code=code)
    filename = f"{Path(job.original_name).stem}-errors.csv"
    if job.files_purged_at is not None:
        raise Http404
    if job.error_report:
        if not files.media_path(job.error_report).is_file():
            raise Http404
        body = files.read(job.error_report)
    else:
        with translation.override(job.language):
            text = ",".join(report_header()) + "\r\n"
            if job.error_message:
                text += ',,"' + job.error_message.replace('"', '""') + '"\r\n'
        body = text.encode("utf-8-sig")
    response = HttpResponse(watermark_csv(request.user, body), content_type="text/csv")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
