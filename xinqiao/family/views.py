"""Thin views of the parents' own pages: each reads through selectors (the access layer's
Cap.VIEW_OWN_CHILDREN scope) and writes through the screening consent service. Staff roles do
not hold the capability (403); another family's child is 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.audit.services import record_read
from xinqiao.core.errors import DomainError
from xinqiao.notifications import services as notifications_services
from xinqiao.screening import services as screening_services
from xinqiao.screening.models import Campaign

from . import guidance as guidance_mod
from . import selectors
from .forms import ConsentAnswerForm

CHILD_FIELDS = ["name", "school", "class", "screening_consent"]


@requires(Cap.VIEW_OWN_CHILDREN)
def home(request: PrincipalRequest) -> HttpResponse:
    overview = selectors.family_overview(principal=request.principal)
    return render(
        request,
        "family/home.html",
        {"overview": overview, "hotlines": selectors.hotlines(request.principal)},
    )


def _form_prefix(campaign: Campaign) -> str:
    return f"c-{campaign.code.hex[:12]}"


def _child_page(
    request: PrincipalRequest, code: Any, bound: tuple[Campaign, ConsentAnswerForm] | None = None
) -> HttpResponse:
    principal = request.principal
    child = selectors.get_child(principal=principal, code=code)
    requests = selectors.consent_requests(principal=principal, children=[child])
    entries = []
    for req in requests:
        if bound is not None and bound[0].pk == req.campaign.pk:
            form = bound[1]
        else:
            initial = {} if req.granted is None else {"answer": "give" if req.granted else "refuse"}
            form = ConsentAnswerForm(
                prefix=_form_prefix(req.campaign), initial={**initial, "note": req.note}
            )
        entries.append({"request": req, "form": form})
    record_read(actor=request.user, obj=child, fields=CHILD_FIELDS, action="family.child.viewed")
    return render(
        request,
        "family/child_detail.html",
        {
            "child": child,
            "school_and_class": selectors.school_and_class(child),
            "entries": entries,
            "can_report": principal.can(Cap.FILE_CONCERN),
            "hotlines": selectors.hotlines(request.principal),
        },
        status=400 if bound is not None else 200,
    )


@requires(Cap.VIEW_OWN_CHILDREN)
def child_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    return _child_page(request, code)


@require_POST
@requires(Cap.GIVE_CONSENT)
def consent_answer(request: PrincipalRequest, code: Any, campaign: Any) -> HttpResponse:
    principal = request.principal
    child = selectors.get_child(principal=principal, code=code)
    requests = selectors.consent_requests(principal=principal, children=[child])
    found = next((r.campaign for r in requests if str(r.campaign.code) == str(campaign)), None)
    if found is None:
        raise Http404  # not a request this parent has
    form = ConsentAnswerForm(request.POST, prefix=_form_prefix(found))
    if not form.is_valid():
        return _child_page(request, code, bound=(found, form))
    try:
        screening_services.answer_consent_as_guardian(
            actor=request.user,
            campaign=found,
            student=child,
            granted=form.granted,
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        if form.granted:
            messages.success(request, _("Thank you. Your consent has been recorded."))
        else:
            messages.success(
                request, _("Your answer has been recorded: your child will not take part.")
            )
    return redirect("family:child-detail", code=child.code)


@requires(Cap.VIEW_OWN_CHILDREN)
def school_messages(request: PrincipalRequest) -> HttpResponse:
    items = selectors.school_messages(principal=request.principal)
    unread = {m.pk for m in items if m.read_at is None}
    response = render(request, "family/messages.html", {"items": items, "unread": unread})
    for message in items:  # shown once: opening the page marks them read, as the inbox does
        if message.pk in unread:
            notifications_services.mark_read(message, actor=request.user)
    return response


@requires(Cap.VIEW_OWN_CHILDREN)
def guidance(request: PrincipalRequest) -> HttpResponse:
    return render(
        request,
        "family/guidance.html",
        {"sections": guidance_mod.SECTIONS, "hotlines": selectors.hotlines(request.principal)},
    )
