"""The audit log for auditors: search and export. Read-only: there is no view that changes it."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import Any

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import PrincipalRequest
from xinqiao.core.exports import csv_lines, xlsx_workbook
from xinqiao.orgs.models import OrgUnit

from .forms import RESULT_SUGGESTIONS, EventSearchForm
from .models import AuditEvent
from .selectors import CITY_TZ, EventFilter, iter_events, last_seq, list_events
from .services import record_event

EXPORT_FORMATS = ("csv", "xlsx")
XLSX_MAX_ROWS = 1_048_574  # Excel's sheet limit, less the watermark and header rows
PAGING_KEYS = ("before", "after", "format")


def _local(event: AuditEvent) -> str:
    return timezone.localtime(event.at, CITY_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _filter_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    for key in PAGING_KEYS:
        query.pop(key, None)
    return query.urlencode()


@require_GET
@requires(Cap.VIEW_AUDIT_LOG)
def event_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    form = EventSearchForm(request.GET or None, principal=principal)
    page = None
    if not request.GET or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        page = list_events(
            principal=principal,
            filters=form.event_filter() if form.is_bound else EventFilter(),
            before=data.get("before"),
            after=data.get("after"),
        )
        roles = dict(Role.choices)
        schools = dict(
            OrgUnit.objects.filter(
                pk__in={e.school_id for e in page.events if e.school_id}
            ).values_list("pk", "name")
        )
        for event in page.events:
            event.local_time = _local(event)  # type: ignore[attr-defined]
            event.role_label = roles.get(event.actor_role, event.actor_role)  # type: ignore[attr-defined]
            event.school_name = schools.get(event.school_id or 0, "")  # type: ignore[attr-defined]
            event.fields_json = json.dumps(event.fields, ensure_ascii=False, sort_keys=True)  # type: ignore[attr-defined]
        # The auditor's own searches are audited too (after the page is read, so the event does
        # not appear on the page it records).
        search: dict[str, Any] = {
            "filters": form.event_filter().describe() if form.is_bound else {}
        }
        for key in ("before", "after"):
            if data.get(key) is not None:
                search[key] = data[key]
        record_event(
            actor=request.user,
            action="audit.log.searched",
            object_type="audit.auditevent",
            fields=search,
        )
    return render(
        request,
        "audit/event_list.html",
        {
            "form": form,
            "page": page,
            "filter_query": _filter_query(request),
            "result_suggestions": RESULT_SUGGESTIONS,
            "paged": bool(request.GET.get("before") or request.GET.get("after")),
        },
    )


def _header() -> list[str]:
    return [
        _("Sequence"),
        _("Time (Asia/Shanghai)"),
        _("User"),
        _("Role"),
        _("Action"),
        _("Object type"),
        _("Object ID"),
        _("School ID"),
        _("Result"),
        _("IP address"),
        _("Fields"),
        _("Previous hash"),
        _("Hash"),
    ]


def _row(event: AuditEvent) -> list[Any]:
    return [
        event.seq,
        _local(event),
        event.actor_username,
        event.actor_role,
        event.action,
        event.object_type,
        event.object_id,
        event.school_id if event.school_id is not None else "",
        event.result,
        event.ip or "",
        json.dumps(event.fields, ensure_ascii=False, sort_keys=True),
        event.prev_hash,
        event.hash,
    ]


def _csv_stream(user: Any, events: Iterator[AuditEvent]) -> Iterator[str]:
    return csv_lines(user, _header(), (_row(event) for event in events))


def _xlsx_file(user: Any, events: Iterator[AuditEvent]) -> Any:
    """Write the workbook row by row (constant memory) to a temporary file and return it."""
    out = tempfile.TemporaryFile(suffix=".xlsx")
    workbook, sheet, first = xlsx_workbook(
        out, user, sheet_name=_("Audit log"), header=_header(), constant_memory=True
    )
    for number, event in enumerate(events):
        if number >= XLSX_MAX_ROWS:
            break
        sheet.write_row(first + number, 0, _row(event))  # string cells: never run
    workbook.close()
    out.seek(0)
    return out


@require_GET
@requires(Cap.VIEW_AUDIT_LOG)  # type: ignore[arg-type]  # returns streaming responses
def event_export(request: PrincipalRequest) -> HttpResponseBase:
    """The current search as CSV (UTF-8 + BOM, streamed) or XLSX; the export is itself audited."""
    principal = request.principal
    fmt = request.GET.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        return HttpResponseBadRequest(_("Unknown export format."))
    form = EventSearchForm(request.GET, principal=principal)
    if not form.is_valid():
        return HttpResponseBadRequest(_("The search criteria are not valid."))
    filters = form.event_filter()
    up_to = last_seq()
    record_event(
        actor=request.user,
        action="audit.log.exported",
        object_type="audit.auditevent",
        fields={"format": fmt, "filters": filters.describe(), "up_to_seq": up_to},
    )
    events = iter_events(principal=principal, filters=filters, up_to=up_to)
    stamp = timezone.localtime(timezone.now(), CITY_TZ).strftime("%Y%m%d-%H%M%S")
    filename = f"audit-log-{stamp}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            _csv_stream(request.user, events), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return FileResponse(
        _xlsx_file(request.user, events),
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
