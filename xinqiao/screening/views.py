"""Staff side of screening: campaigns, progress, consent, sittings, results, export.

Thin views: selectors read (starting from the principal), services write. Outside the user's area
→ 404; in the area but the role may not → 403 (the `requires` decorator and the selectors).
"""

from __future__ import annotations

import io
import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal, PrincipalRequest
from xinqiao.analytics.disclosure import SMALL_CELL
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.exports import xlsx_workbook
from xinqiao.core.forms import apply_service_error
from xinqiao.core.qr import qr_svg
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Student
from xinqiao.people.search import number_hash

from . import hooks, selectors, services
from .forms import BatteryForm, CampaignForm, VoidHandInForm
from .models import Assignment, AssignmentStatus, BatteryEntry, CampaignStatus, Sitting
from .taking.links import sitting_url
from .taking.session import assignment_ref

# --- campaigns -------------------------------------------------------------------------------


@requires(Cap.VIEW_SCREENING_PROGRESS)
def campaign_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    campaigns = selectors.campaigns_for(principal, Cap.VIEW_SCREENING_PROGRESS).order_by(
        "-opens_at", "-id"
    )[:200]
    return render(
        request,
        "screening/campaign_list.html",
        {"campaigns": campaigns, "can_create": principal.can(Cap.MANAGE_CAMPAIGNS)},
    )


@requires(Cap.MANAGE_CAMPAIGNS)
@require_http_methods(["GET", "POST"])
def campaign_create(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    owners = selectors.campaign_owner_units(principal)
    if not owners.exists():
        raise PermissionDenied
    form = CampaignForm(
        request.POST or None,
        owners=owners,
        principal=principal,
        initial={"owner_unit": owners.first()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        owner = data["owner_unit"]
        numbers = form.student_number_list()
        students = list(
            principal.students(cap=Cap.VIEW_STUDENTS).filter(
                student_number_hash__in=[number_hash(n) for n in numbers]
            )
        )
        if len(students) != len(set(numbers)):
            form.add_error(
                "student_numbers", _("Some student numbers were not found in your area.")
            )
        else:
            units = list(data["units"]) or ([] if students else [owner])
            try:
                campaign = services.create_campaign(
                    actor=request.user,
                    name=data["name"],
                    term=data["term"],
                    kind=data["kind"],
                    owner_unit=owner,
                    opens_at=data["opens_at"],
                    closes_at=data["closes_at"],
                    units=units,
                    grade_levels=data["grade_levels"],
                    students=students,
                    battery=form.battery(),
                    consent_basis=data["consent_basis"],
                    legal_basis_note=data["legal_basis_note"],
                    results_visibility=data["results_visibility"],
                    student_login=data["student_login"],
                )
            except DomainError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Campaign created as a draft."))
                return redirect("screening:campaign-detail", code=campaign.code)
    return render(request, "screening/campaign_form.html", {"form": form})


def _battery_by_band(campaign: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for entry in BatteryEntry.objects.filter(campaign=campaign).order_by("position", "id"):
        out.setdefault(entry.stage_band, []).append(entry.instrument_code)
    return out


@requires(Cap.VIEW_SCREENING_PROGRESS)
def campaign_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    campaign = selectors.get_campaign(principal, code, Cap.VIEW_SCREENING_PROGRESS)
    by = request.GET.get("by") or _default_group(campaign, principal)
    rows = selectors.progress(
        principal, campaign, by=by if by in selectors.PROGRESS_GROUPS else "school"
    )
    return render(
        request,
        "screening/campaign_detail.html",
        {
            "campaign": campaign,
            "battery": BatteryEntry.objects.filter(campaign=campaign).order_by(
                "stage_band", "position"
            ),
            "units": campaign.units.select_related("unit"),
            "can_manage": services.can_manage(request.user, campaign.owner_unit),
            "rows": rows,
            "total": selectors.progress_total(rows),
            "by": by,
            "groups": selectors.PROGRESS_GROUPS,
            "result_schools": selectors.result_schools(principal, campaign)
            if principal.can(Cap.VIEW_SCREENING_RESULTS)
            else [],
            "classes": selectors.classes_in_scope(principal, campaign, Cap.VIEW_CLASS_PROGRESS)
            if principal.can(Cap.VIEW_CLASS_PROGRESS)
            else [],
            "notes": hooks.campaign_notes(campaign=campaign, principal=principal),
        },
    )


def _default_group(campaign: Any, principal: Principal) -> str:
    areas = selectors._areas(principal, Cap.VIEW_SCREENING_PROGRESS)
    kinds = {a.kind for a in areas}
    if Kind.CITY in kinds:
        return "district"
    if Kind.DISTRICT in kinds:
        return "school"
    return "class"


@requires(Cap.VIEW_SCREENING_PROGRESS)
def campaign_progress(request: PrincipalRequest, code: Any) -> HttpResponse:
    """The live progress table (htmx polls it)."""
    principal = request.principal
    campaign = selectors.get_campaign(principal, code, Cap.VIEW_SCREENING_PROGRESS)
    by = request.GET.get("by", "school")
    if by not in selectors.PROGRESS_GROUPS:
        by = "school"
    rows = selectors.progress(principal, campaign, by=by)
    return render(
        request,
        "screening/_progress.html",
        {"campaign": campaign, "rows": rows, "total": selectors.progress_total(rows), "by": by},
    )


@requires(Cap.MANAGE_CAMPAIGNS)
@require_POST
def campaign_transition(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    campaign = selectors.get_campaign(principal, code, Cap.MANAGE_CAMPAIGNS)
    action = {
        "open": services.open_campaign,
        "close": services.close_campaign,
        "archive": services.archive_campaign,
    }.get(request.POST.get("to", ""))
    if action is None:
        messages.error(request, _("Unknown step."))
    else:
        try:
            action(actor=request.user, campaign=campaign)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Campaign status changed."))
    return redirect("screening:campaign-detail", code=campaign.code)


@requires(Cap.MANAGE_CAMPAIGNS)
@require_http_methods(["GET", "POST"])
def campaign_battery(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    campaign = selectors.get_campaign(principal, code, Cap.MANAGE_CAMPAIGNS)
    form = BatteryForm(request.POST or None, current=_battery_by_band(campaign))
    if request.method == "POST" and form.is_valid():
        try:
            services.set_battery(actor=request.user, campaign=campaign, battery=form.battery())
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Battery saved."))
            return redirect("screening:campaign-detail", code=campaign.code)
    return render(
        request,
        "screening/battery_form.html",
        {"campaign": campaign, "form": form, "locked": campaign.status != CampaignStatus.DRAFT},
    )


# --- classes: who is missing, consent, absences, sittings ------------------------------------


@requires(Cap.VIEW_CLASS_PROGRESS)
def my_classes(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    return render(
        request,
        "screening/my_classes.html",
        {
            "campaigns": selectors.my_classes(principal),
            "can_print_slips": principal.can(Cap.PRINT_SIGN_IN_SLIPS),
            "notifications": selectors.unread_notifications(request.user),
        },
    )


@requires(Cap.VIEW_CLASS_PROGRESS)
def class_progress(request: PrincipalRequest, code: Any, class_code: Any) -> HttpResponse:
    principal = request.principal
    campaign = selectors.get_campaign(principal, code, Cap.VIEW_CLASS_PROGRESS)
    school_class = selectors.get_class(principal, campaign, class_code, Cap.VIEW_CLASS_PROGRESS)
    entries = selectors.class_list(principal, campaign, school_class)
    sitting = selectors.open_sittings(campaign, [school_class]).get(school_class.pk)
    return render(
        request,
        "screening/class_progress.html",
        {
            "campaign": campaign,
            "school_class": school_class,
            "entries": entries,
            "states": selectors.class_states(principal, campaign, school_class),
            "sitting": sitting,
            "can_print_slips": principal.sees_unit(school_class, Cap.PRINT_SIGN_IN_SLIPS),
            "can_run_sitting": principal.sees_unit(school_class, Cap.RUN_SITTINGS)
            and campaign.status == CampaignStatus.OPEN,
            "can_consent": principal.sees_unit(school_class, Cap.RECORD_CONSENT)
            and campaign.status in (CampaignStatus.DRAFT, CampaignStatus.OPEN),
            "can_manage_assignments": principal.sees_unit(school_class, Cap.MANAGE_ASSIGNMENTS)
            and campaign.status == CampaignStatus.OPEN,
            "consent_students": principal.students(cap=Cap.RECORD_CONSENT)
            .filter(school_class=school_class)
            .order_by("name")
            if campaign.status == CampaignStatus.DRAFT
            else [],
        },
    )


@requires(Cap.RECORD_CONSENT)
@require_POST
def class_consent(request: PrincipalRequest, code: Any, class_code: Any) -> HttpResponse:
    principal = request.principal
    campaign = selectors.get_campaign(principal, code, Cap.RECORD_CONSENT)
    school_class = selectors.get_class(principal, campaign, class_code, Cap.RECORD_CONSENT)
    codes = request.POST.getlist("student")
    students = list(
        principal.students(cap=Cap.RECORD_CONSENT).filter(school_class=school_class, code__in=codes)
    )
    if not students:
        messages.error(request, _("Tick the students first."))
    else:
        try:
            n = services.record_consents(
                actor=request.user,
                campaign=campaign,
                students=students,
                granted=request.POST.get("granted") == "1",
                note=request.POST.get("note", "")[:300],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Consent recorded for %(n)d students.") % {"n": n})
    return redirect("screening:class-progress", code=campaign.code, class_code=school_class.code)


@requires(Cap.MANAGE_ASSIGNMENTS)
@require_POST
def assignment_action(
    request: PrincipalRequest, code: Any, student: Any, action: str
) -> HttpResponse:
    if action not in ("absent", "resit"):
        raise Http404
    principal = request.principal
    campaign = selectors.get_campaign(principal, code, Cap.MANAGE_ASSIGNMENTS)
    assignment = selectors.get_assignment(principal, campaign, student)
    try:
        if action == "absent":
            services.mark_absent(actor=request.user, assignment=assignment)
            messages.success(request, _("Marked absent."))
        else:
            instruments = [c for c in request.POST.getlist("instrument") if c]
            resit = services.assign_resit(
                actor=request.user, assignment=assignment, instruments=instruments
            )
            messages.success(request, _("Re-sit assigned."))
            link = request.build_absolute_uri(_take_url("take:link", token=resit.link_token))
            messages.info(request, _("Personal make-up link: %(link)s") % {"link": link})
    except DomainError as exc:
        messages.error(request, exc.message)
    if assignment.school_class is None:
        return redirect("screening:campaign-detail", code=campaign.code)
    return redirect(
        "screening:class-progress", code=campaign.code, class_code=assignment.school_class.code
    )


def _back_to_class(campaign: Any, assignment: Assignment) -> HttpResponse:
    if assignment.school_class is None:
        return redirect("screening:campaign-detail", code=campaign.code)
    return redirect(
        "screening:class-progress", code=campaign.code, class_code=assignment.school_class.code
    )


@requires(Cap.MANAGE_ASSIGNMENTS)
@require_http_methods(["GET", "POST"])
def void_hand_in(request: PrincipalRequest, code: Any, student: Any) -> HttpResponse:
    """Void a suspicious hand-in (作废) and give the student a re-sit: a confirmation page with a
    required reason, then one POST. The form names the hand-in shown (an opaque reference), so a
    double submit finds it voided already and changes nothing."""
    principal = request.principal
    campaign = selectors.get_campaign(principal, code, Cap.MANAGE_ASSIGNMENTS)
    original, assignments = selectors.void_candidates(principal, campaign, student)
    done = (AssignmentStatus.COMPLETED, AssignmentStatus.INVALID)
    handed_in = next((a for a in assignments if a.status in done), None)  # the newest
    form = VoidHandInForm(
        request.POST or None, initial={"hand_in": assignment_ref(handed_in.pk) if handed_in else ""}
    )
    if request.method == "POST" and form.is_valid():
        ref = form.cleaned_data["hand_in"]
        target = next((a for a in assignments if assignment_ref(a.pk) == ref), None)
        if target is None:
            messages.error(request, _("This hand-in has changed since the page was opened."))
            return _back_to_class(campaign, original)
        try:
            voided = services.void_hand_in(
                actor=request.user, assignment=target, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return _back_to_class(campaign, original)
        if voided.first_time:
            messages.success(request, _("Hand-in voided. The student has a re-sit."))
        else:
            messages.info(request, _("This hand-in was already voided; nothing changed."))
        resit = voided.voiding.resit
        if resit is not None and resit.link_token:
            link = request.build_absolute_uri(_take_url("take:link", token=resit.link_token))
            messages.info(request, _("Personal make-up link: %(link)s") % {"link": link})
        return _back_to_class(campaign, original)
    return render(
        request,
        "screening/void_hand_in.html",
        {
            "campaign": campaign,
            "student": original.student,
            "original": original,
            "hand_in": handed_in,
            "form": form,
            "can_void": handed_in is not None and campaign.status == CampaignStatus.OPEN,
        },
        status=400 if request.method == "POST" else 200,
    )


@requires(Cap.RUN_SITTINGS)
@require_POST
def sitting_open(request: PrincipalRequest, code: Any, class_code: Any) -> HttpResponse:
    principal = request.principal
    campaign = selectors.get_campaign(principal, code, Cap.RUN_SITTINGS)
    school_class = selectors.get_class(principal, campaign, class_code, Cap.RUN_SITTINGS)
    existing = selectors.open_sittings(campaign, [school_class]).get(school_class.pk)
    if existing is not None:
        return redirect("screening:sitting-screen", key=existing.key)
    try:
        minutes = int(request.POST.get("minutes") or 60)
        sitting = services.open_sitting(
            actor=request.user, campaign=campaign, school_class=school_class, minutes=minutes
        )
    except (DomainError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect(
            "screening:class-progress", code=campaign.code, class_code=school_class.code
        )
    return redirect("screening:sitting-screen", key=sitting.key)


def _take_url(name: str, **kwargs: Any) -> str:
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:  # the student side is not mounted
        return "/take/"


def _sitting_context(sitting: Sitting) -> dict[str, Any]:
    counts = {
        row["status"]: row["n"]
        for row in Assignment.objects.filter(
            campaign=sitting.campaign, school_class=sitting.school_class
        )
        .values("status")
        .annotate(n=Count("id"))
    }
    now = timezone.now()
    return {
        "sitting": sitting,
        "is_open": sitting.closed_at is None and sitting.closes_at > now,
        "counts": counts,
        "started": counts.get("started", 0),
        "finished": counts.get("completed", 0) + counts.get("invalid", 0),
        "take_url": _take_url("take:enter"),
    }


@requires(Cap.RUN_SITTINGS)
def sitting_screen(request: PrincipalRequest, key: Any) -> HttpResponse:
    """The classroom screen: the code, large, with a QR code of the sign-in page that has the
    code filled in, and how many have finished."""
    sitting = selectors.get_sitting(request.principal, key)
    context = _sitting_context(sitting)
    try:
        link = sitting_url(request, sitting.code)
    except NoReverseMatch:  # the student side is not mounted
        link = ""
    context["sitting_link"] = link
    context["sitting_qr"] = (
        qr_svg(link, title=_("QR code of the sign-in page"), css_class="qr sitting-qr")
        if link
        else ""
    )
    return render(request, "screening/sitting_screen.html", context)


@requires(Cap.RUN_SITTINGS)
def sitting_status(request: PrincipalRequest, key: Any) -> HttpResponse:
    sitting = selectors.get_sitting(request.principal, key)
    return render(request, "screening/_sitting_status.html", _sitting_context(sitting))


@requires(Cap.RUN_SITTINGS)
@require_POST
def sitting_close(request: PrincipalRequest, key: Any) -> HttpResponse:
    sitting = selectors.get_sitting(request.principal, key)
    try:
        services.close_sitting(actor=request.user, sitting=sitting)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Sitting closed."))
    return redirect(
        "screening:class-progress", code=sitting.campaign.code, class_code=sitting.school_class.code
    )


# --- results ---------------------------------------------------------------------------------


@requires(Cap.VIEW_SCREENING_RESULTS)
def results(request: PrincipalRequest, code: Any, school: Any) -> HttpResponse:
    principal = request.principal
    campaign = selectors.get_campaign(principal, code, Cap.VIEW_SCREENING_RESULTS)
    school_unit = selectors.get_result_school(principal, campaign, school)
    rows = selectors.school_results(principal, campaign, school_unit)
    columns = selectors.results_columns(campaign)
    assignments = Assignment.objects.filter(campaign=campaign, school=school_unit)
    record_event(
        actor=request.user,
        action="screening.results.viewed",
        obj=campaign,
        school_id=school_unit.pk,
        fields={"school": str(school_unit.code), "students": len(rows)},
    )
    return render(
        request,
        "screening/results.html",
        {
            "campaign": campaign,
            "school": school_unit,
            "columns": columns,
            "rows": [(row, row.cells(columns)) for row in rows],
            "by_class": selectors.band_counts(
                campaign, group="school_class", assignments=assignments
            ),
            "by_grade": selectors.band_counts(campaign, group="grade", assignments=assignments),
            "invalid": [row for row in rows if row.invalid],
            "can_manage_assignments": principal.sees_unit(school_unit, Cap.MANAGE_ASSIGNMENTS)
            and campaign.status == CampaignStatus.OPEN,
        },
    )


@requires(Cap.VIEW_SCREENING_RESULTS)
def results_export(request: PrincipalRequest, code: Any, school: Any) -> HttpResponse:
    principal = request.principal
    campaign = selectors.get_campaign(principal, code, Cap.VIEW_SCREENING_RESULTS)
    school_unit = selectors.get_result_school(principal, campaign, school)
    rows = selectors.school_results(principal, campaign, school_unit)
    columns = selectors.results_columns(campaign)
    buffer = io.BytesIO()
    header = [_("Student number"), _("Name"), _("Class"), _("Status"), _("Critical items")]
    band_label, flags_label = _("Band"), _("validity checks")
    for column in columns:
        header += [
            f"{column.name} {column.score_label}",
            f"{column.name} {band_label}",
            f"{column.name} {flags_label}",
        ]
    # Watermarked; never turns a cell into a formula or link ("=HYPERLINK(…)" typed as a name).
    book, sheet, first = xlsx_workbook(buffer, request.user, sheet_name=_("Results"), header=header)
    for i, row in enumerate(rows, start=first):
        values: list[Any] = [
            row.student.student_number,
            row.student.name,
            row.assignment.school_class.name if row.assignment.school_class else "",
            row.assignment.get_status_display(),
            "; ".join(f"{name}: {','.join(items)}" for name, items in row.critical_labelled),
        ]
        for cell in row.cells(columns):
            values += [cell["score"], cell["band_label"], "、".join(cell["flags"])]
        sheet.write_row(i, 0, values)
    sheet.freeze_panes(first, 0)
    book.close()
    record_event(
        actor=request.user,
        action="screening.results.exported",
        obj=campaign,
        school_id=school_unit.pk,
        fields={"school": str(school_unit.code), "rows": len(rows), "format": "xlsx"},
    )
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="screening-{campaign.code}.xlsx"'
    return response


@requires(Cap.VIEW_SCREENING_PROGRESS)
def aggregates(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    campaign = selectors.get_campaign(principal, code, Cap.VIEW_SCREENING_PROGRESS)
    by = request.GET.get("by")
    if by not in ("district", "school"):
        by = "district" if _default_group(campaign, principal) == "district" else "school"
    return render(
        request,
        "screening/aggregates.html",
        {
            "campaign": campaign,
            "tables": selectors.aggregates(principal, campaign, by=by),
            "by": by,
            "threshold": SMALL_CELL,
        },
    )


def archive_context(*, principal: Principal, student: Student) -> dict[str, Any]:
    """Context for the `screening/_student_archive.html` partial (student profile page)."""
    entries = selectors.list_responses_for_student(principal=principal, student=student)
    return {
        "archive_entries": entries,
        "archive_trends": json.dumps(selectors.archive_trends(entries), ensure_ascii=False),
    }


def reverse_class(campaign: Any, unit: OrgUnit) -> str:
    return reverse(
        "screening:class-progress", kwargs={"code": campaign.code, "class_code": unit.code}
    )
