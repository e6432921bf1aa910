"""Referral green channel (R9/R25): the psychology teacher refers, may cancel, and records the
feedback of a hospital that answers on paper; the psychiatrist receives, records the visit and gives
feedback; the case page shows the referrals (panel).

Thin views: request.principal → selectors (scope: 404 out of scope, 403 wrong role) → services.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.navigation import NavItem

from ..models import CancelReason, Case, ConsentBasis, DiagnosisCategory, Referral, ReferralStatus
from ..panels import Panel
from ..selectors import referrals as selectors
from ..selectors.common import can_handle, get_case, require_handle
from ..services import referrals as services
from ..services.common import case_url

NAV_ITEMS: list[NavItem] = [
    NavItem(
        "cases:referral-inbox",
        gettext_lazy("Referrals"),
        Cap.GIVE_REFERRAL_FEEDBACK,
        "hospital",
        gettext_lazy(
            "Students referred to you: confirm receipt, record the visit and give the school "
            "your advice."
        ),
    )
]


# --- forms ---------------------------------------------------------------------------------------
class ReferralForm(forms.Form):
    destination = forms.ChoiceField(
        label=gettext_lazy("Hospital and psychiatrist"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for referral"),
        help_text=gettext_lazy(
            "What the hospital needs to know: the concern, how long, what has been tried. "
            "The psychiatrist sees this text."
        ),
        widget=forms.Textarea(attrs={"rows": 5, "class": "form-control"}),
        max_length=services.REASON_MAX,
    )
    consent_basis = forms.ChoiceField(
        label=gettext_lazy("Legal basis"), choices=ConsentBasis.choices, widget=forms.RadioSelect
    )
    consent_document = forms.FileField(
        label=gettext_lazy("Signed consent of the guardian (PDF, JPEG or PNG)"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": ".pdf,.jpg,.jpeg,.png"}
        ),
    )
    consent_contact: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        label=gettext_lazy("or the guardian contact in which consent to this referral was given"),
        required=False,
        empty_label="—",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    emergency_reason = forms.CharField(
        label=gettext_lazy("Emergency: why the guardian's consent could not wait"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        required=False,
        max_length=2000,
    )
    client_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, case: Case, directory: list[Any], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("client_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        self.targets: dict[str, tuple[Any, Any]] = {}
        choices: list[Any] = [("", "—")]
        for entry in directory:
            options = [(str(entry.hospital.code), _("Any psychiatrist on duty"))]
            self.targets[str(entry.hospital.code)] = (entry.hospital, None)
            for user in entry.psychiatrists:
                value = f"{entry.hospital.code}:{user.pk}"
                options.append((value, selectors.person_name(user)))
                self.targets[value] = (entry.hospital, user)
            choices.append((f"{entry.hospital.name} ({entry.area})", options))
        self.fields["destination"].choices = choices  # type: ignore[attr-defined]
        contacts = self.fields["consent_contact"]
        contacts.queryset = selectors.consent_contacts(case)  # type: ignore[attr-defined]
        contacts.label_from_instance = _contact_label  # type: ignore[attr-defined]

    def clean_destination(self) -> tuple[Any, Any]:
        value = self.cleaned_data["destination"]
        if value not in self.targets:
            raise forms.ValidationError(_("Choose a partner hospital from the directory."))
        return self.targets[value]


def _contact_label(contact: Any) -> str:
    when = timezone.localtime(contact.contacted_at).strftime("%Y-%m-%d")
    who = str(contact.guardian) if contact.guardian_id else _("guardian")
    return f"{when} · {contact.get_method_display()} · {who}"


class CancelForm(forms.Form):
    reason = forms.ChoiceField(
        label=gettext_lazy("Why is the referral cancelled?"),
        choices=CancelReason.choices,
        widget=forms.RadioSelect,
    )


class SeenForm(forms.Form):
    seen_on = forms.DateField(
        label=gettext_lazy("Date of the visit"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
        initial=timezone.localdate,
    )


class FeedbackForm(forms.Form):
    diagnosis_category = forms.ChoiceField(
        label=gettext_lazy("Diagnosis category (optional)"),
        choices=DiagnosisCategory.choices,
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text=gettext_lazy("Coarse and optional: the school needs advice, not a diagnosis."),
    )
    advice_for_school = forms.CharField(
        label=gettext_lazy("Advice for the school"),
        help_text=gettext_lazy(
            "What the school should do and watch for. The school's psychology teacher reads this."
        ),
        widget=forms.Textarea(attrs={"rows": 6, "class": "form-control"}),
        max_length=services.ADVICE_MAX,
    )
    next_review_on = forms.DateField(
        label=gettext_lazy("Next review"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
        required=False,
    )


class PaperFeedbackForm(FeedbackForm):
    """The hospital's letter, copied by the case's psychology teacher, with the scan attached."""

    seen_on = forms.DateField(
        label=gettext_lazy("Date of the visit"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("As written on the hospital's letter."),
    )
    letter = forms.FileField(
        label=gettext_lazy("Scan or photo of the hospital's letter (PDF, JPEG or PNG)"),
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": ".pdf,.jpg,.jpeg,.png"}
        ),
    )
    client_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    field_order = [
        "seen_on",
        "diagnosis_category",
        "advice_for_school",
        "next_review_on",
        "letter",
    ]

    def __init__(self, *args: Any, referral: Referral, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("client_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        self.fields["advice_for_school"].help_text = gettext_lazy(
            "Copy the hospital's advice from the letter: what the school should do and watch for."
        )
        if referral.seen_at is not None:
            # The psychiatrist recorded the visit already: it is kept, not asked again.
            del self.fields["seen_on"]


def _add_error(form: forms.Form, exc: DomainError, aliases: dict[str, str] | None = None) -> None:
    field = (aliases or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


# --- the psychology teacher --------------------------------------------------------------------
@login_required
def referral_create(request: HttpRequest, code: Any) -> HttpResponse:
    principal = request.principal  # type: ignore[attr-defined]
    case = get_case(principal=principal, code=code, cap=Cap.HANDLE_CASES)
    require_handle(principal, case)
    directory = selectors.hospital_directory(case)
    form = ReferralForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        case=case,
        directory=directory,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        hospital, psychiatrist = data["destination"]
        try:
            services.refer(
                case,
                actor=request.user,
                hospital=hospital,
                psychiatrist=psychiatrist,
                reason=data["reason"],
                consent_basis=data["consent_basis"],
                consent_document=data["consent_document"],
                consent_contact=data["consent_contact"],
                emergency_reason=data["emergency_reason"],
                client_key=data["client_key"],
            )
        except DomainError as exc:
            _add_error(form, exc, {"file": "consent_document", "hospital": "destination"})
        else:
            messages.success(request, _("The referral has been sent to the hospital."))
            return redirect(case_url(case))
    return render(
        request,
        "cases/referrals/referral_form.html",
        {
            "case": case,
            "form": form,
            "directory": directory,
            "open_referral": selectors.open_referral(case),
            "has_consent_contacts": selectors.consent_contacts(case).exists(),
        },
    )


@login_required
def referral_cancel(request: HttpRequest, code: Any) -> HttpResponse:
    principal = request.principal  # type: ignore[attr-defined]
    referral = selectors.get_referral_for_handler(principal=principal, code=code)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_referral(referral, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("The referral has been cancelled."))
            return redirect(case_url(referral.case))
    return render(
        request,
        "cases/referrals/cancel_form.html",
        {
            "referral": referral,
            "form": form,
            "can_cancel": referral.status in selectors.OPEN_STATUSES,
        },
    )


@login_required
def referral_paper_feedback(request: HttpRequest, code: Any) -> HttpResponse:
    principal = request.principal  # type: ignore[attr-defined]
    referral = selectors.get_referral_for_handler(principal=principal, code=code)
    form = PaperFeedbackForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        referral=referral,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_paper_feedback(
                referral,
                actor=request.user,
                seen_on=data.get("seen_on"),
                diagnosis_category=data["diagnosis_category"],
                advice_for_school=data["advice_for_school"],
                next_review_on=data["next_review_on"],
                letter=data["letter"],
                client_key=data["client_key"],
            )
        except DomainError as exc:
            _add_error(form, exc, {"file": "letter"})
        else:
            messages.success(request, _("The hospital's feedback has been recorded."))
            return redirect(case_url(referral.case))
    return render(
        request,
        "cases/referrals/paper_feedback_form.html",
        {
            "referral": referral,
            "form": form,
            "can_record": referral.status in selectors.OPEN_STATUSES,
        },
    )


# --- the psychiatrist ----------------------------------------------------------------------------
@requires(Cap.GIVE_REFERRAL_FEEDBACK)
def referral_inbox(request: HttpRequest) -> HttpResponse:
    principal = request.principal  # type: ignore[attr-defined]
    referrals = list(selectors.psychiatrist_referrals(principal=principal)[:200])
    return render(
        request,
        "cases/referrals/inbox.html",
        {"referrals": referrals, "open_statuses": selectors.OPEN_STATUSES},
    )


def _render_detail(
    request: HttpRequest, referral: Referral, seen_form: SeenForm | None = None
) -> HttpResponse:
    principal = request.principal  # type: ignore[attr-defined]
    summary = selectors.referral_summary(principal=principal, referral=referral)
    record_event(
        actor=request.user,
        action="cases.referral.viewed",
        obj=referral,
        school_id=referral.case.school_id,
        fields={"read": selectors.SUMMARY_FIELDS},
    )
    return render(
        request,
        "cases/referrals/detail.html",
        {
            "summary": summary,
            "referral": referral,
            "seen_form": seen_form or SeenForm(),
            "statuses": ReferralStatus,
        },
    )


@requires(Cap.GIVE_REFERRAL_FEEDBACK)
def referral_detail(request: HttpRequest, code: Any) -> HttpResponse:
    referral = selectors.get_referral_for_psychiatrist(
        principal=request.principal,  # type: ignore[attr-defined]
        code=code,
    )
    return _render_detail(request, referral)


@require_POST
@requires(Cap.GIVE_REFERRAL_FEEDBACK)
def referral_receive(request: HttpRequest, code: Any) -> HttpResponse:
    referral = selectors.get_referral_for_psychiatrist(
        principal=request.principal,  # type: ignore[attr-defined]
        code=code,
    )
    try:
        services.mark_received(referral, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Marked as received."))
    return redirect("cases:referral-detail", code=referral.code)


@require_POST
@requires(Cap.GIVE_REFERRAL_FEEDBACK)
def referral_seen(request: HttpRequest, code: Any) -> HttpResponse:
    referral = selectors.get_referral_for_psychiatrist(
        principal=request.principal,  # type: ignore[attr-defined]
        code=code,
    )
    form = SeenForm(request.POST)
    if form.is_valid():
        try:
            services.mark_seen(referral, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("The visit has been recorded."))
            return redirect("cases:referral-detail", code=referral.code)
    return _render_detail(request, referral, seen_form=form)


@requires(Cap.GIVE_REFERRAL_FEEDBACK)
def referral_feedback(request: HttpRequest, code: Any) -> HttpResponse:
    principal = request.principal  # type: ignore[attr-defined]
    referral = selectors.get_referral_for_psychiatrist(principal=principal, code=code)
    form = FeedbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.give_feedback(referral, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("Thank you. The school has your feedback."))
            return redirect("cases:referral-detail", code=referral.code)
    return render(
        request,
        "cases/referrals/feedback_form.html",
        {
            "referral": referral,
            "form": form,
            "ready": referral.status == ReferralStatus.SEEN
            and selectors.is_psychiatrist_for(principal, referral),
        },
    )


# --- the case page panel -------------------------------------------------------------------------
def panel(principal: Any, case: Any) -> Panel | None:
    """Referrals of the case with their timeline. Reason and feedback only for T3 readers (the
    read is audited); the refer and cancel links for the psychology teacher who runs the case."""
    if principal is None or not principal.can(Cap.VIEW_CASES):
        return None
    rows = selectors.case_referrals(principal=principal, case=case)
    handle = can_handle(principal, case)
    for row in rows:
        if row.show_details:
            record_event(
                actor=principal.user,
                action="cases.referral.viewed",
                obj=row.referral,
                school_id=case.school_id,
                fields={"read": ["reason", "feedback"]},
            )
    has_open = any(r.referral.status in selectors.OPEN_STATUSES for r in rows)
    return Panel(
        "cases/referrals/_panel.html",
        {
            "referral_panel": {
                "case": case,
                "rows": rows,
                "can_handle": handle,
                "can_refer": handle and case.is_open and not has_open,
                "has_open": has_open,
                "open_statuses": selectors.OPEN_STATUSES,
            }
        },
        order=30,
    )


urlpatterns: list[Any] = [
    path("referrals/", referral_inbox, name="referral-inbox"),
    path("referrals/new/<uuid:code>/", referral_create, name="referral-create"),
    path("referrals/<uuid:code>/", referral_detail, name="referral-detail"),
    path("referrals/<uuid:code>/received/", referral_receive, name="referral-receive"),
    path("referrals/<uuid:code>/seen/", referral_seen, name="referral-seen"),
    path("referrals/<uuid:code>/feedback/", referral_feedback, name="referral-feedback"),
    path("referrals/<uuid:code>/cancel/", referral_cancel, name="referral-cancel"),
    path(
        "referrals/<uuid:code>/paper-feedback/",
        referral_paper_feedback,
        name="referral-paper-feedback",
    ),
]
