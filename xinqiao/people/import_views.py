"""Roster import pages: upload, job list, job page with polled progress, error report download.

Thin: the form stores the upload and calls the importer's services; jobs run in the background
(tasks.start_import_job). Jobs are read through importer.selectors, which start from the access
layer: someone else's job outside the user's scope is a 404, a role without the import capability
that is otherwise related to the job's school is a 403.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from xinqiao.access.decorators import requires
from xinqiao.access.pickers import PickerField, bind_pickers, unit_source
from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal, PrincipalRequest
from xinqiao.core.errors import DomainError
from xinqiao.core.exports import watermark_csv
from xinqiao.core.forms import apply_service_error
from xinqiao.orgs.models import Kind, Term

from .importer import create_job, files, store_upload
from .importer.selectors import get_import_job, list_import_jobs
from .importer.service import report_header
from .tasks import start_import_job

ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx", ".xls", ".ods")


def max_upload_bytes() -> int:
    return int(getattr(settings, "XINQIAO_ROSTER_MAX_UPLOAD_MB", 300)) * 1024 * 1024


IMPORT_SCHOOLS = unit_source("import-school", cap=Cap.IMPORT_ROSTER, kinds=[Kind.SCHOOL])


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Roster file"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GBK/GB18030) or Excel (.xlsx) as exported by the student-status "
            "system, first row = column headers."
        ),
    )
    term = forms.ModelChoiceField(
        label=gettext_lazy("Term"), queryset=Term.objects.none(), empty_label=None
    )
    school = PickerField(
        IMPORT_SCHOOLS,
        label=gettext_lazy("School"),
        required=False,
        help_text=gettext_lazy(
            "Choose a school to limit the import to it; none chosen: the schools named in the "
            "file (all in my scope)."
        ),
    )
    dry_run = forms.BooleanField(
        label=gettext_lazy("Dry run: check the file and count, change nothing"), required=False
    )

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["term"].queryset = Term.objects.all()  # type: ignore[attr-defined]
        current = Term.objects.current()
        if current is not None:
            self.fields["term"].initial = current.pk
        bind_pickers(self, principal)
        only = list(IMPORT_SCHOOLS.rows(principal).order_by("path")[:2])
        if len(only) == 1:
            self.fields["school"].initial = only[0]
        self.fields["file"].widget.attrs.update(
            {"class": "form-control", "accept": ",".join(ALLOWED_SUFFIXES)}
        )
        self.fields["term"].widget.attrs["class"] = "form-select"
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


@requires(Cap.IMPORT_ROSTER)
def job_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, principal=principal)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            relative, size = store_upload(upload.chunks(), upload.name)
            try:
                job = create_job(
                    actor=request.user,
                    file=relative,
                    original_name=upload.name,
                    file_size=size,
                    term=form.cleaned_data["term"],
                    school=form.cleaned_data["school"],
                    dry_run=form.cleaned_data["dry_run"],
                    language=get_language(),
                )
            except DomainError as exc:
                files.delete(relative)
                apply_service_error(form, exc)
            else:
                start_import_job(job)
                messages.success(request, _("The file was uploaded; the import is running."))
                return redirect("imports:job-detail", code=job.code)
    else:
        form = ImportForm(principal=principal)
    jobs = list_import_jobs(principal=principal)[:50]
    return render(request, "imports/job_list.html", {"form": form, "jobs": jobs})


def _job(request: PrincipalRequest, code: Any) -> Any:
    return get_import_job(principal=request.principal, code=code)


@login_required
@require_GET
def job_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    job = _job(request, code)
    return render(request, "imports/job_detail.html", {"job": job})


@login_required
@require_GET
def job_progress(request: PrincipalRequest, code: Any) -> HttpResponse:
    job = _job(request, code)
    return render(request, "imports/_progress.html", {"job": job})


@login_required
@require_GET
def job_errors(request: PrincipalRequest, code: Any) -> HttpResponse:
    """The error report: CSV in UTF-8 with BOM (opens in Excel), decrypted for the download and
    watermarked with who downloads it;
    header only when no row failed; gone (404) once the retention period deleted it."""
    job = _job(request, code)
    filename = f"{Path(job.original_name).stem}-errors.csv"
    if job.files_purged_at is not None:
        raise Http404
    if job.error_report:
        if not files.media_path(job.error_report).is_file():
            raise Http404
        report = watermark_csv(request.user, files.read(job.error_report))
        response = HttpResponse(report, content_type="text/csv")
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response
    from django.utils import translation

    with translation.override(job.language):
        header = ",".join(report_header())
        body = header + "\r\n"
        if job.error_message:
            body += ',,"' + job.error_message.replace('"', '""') + '"\r\n'
    response = HttpResponse(watermark_csv(request.user, body.encode()), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


__all__ = ["job_detail", "job_errors", "job_list", "job_progress"]
