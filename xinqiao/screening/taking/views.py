"""Student pages: enter a sitting, answer, hand in, thank you. Students are not Django users."""

from __future__ import annotations

import uuid
from typing import cast

from django.db.models import Max
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape, json_script
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.core.helplines import helplines_for

from ..models import AnswerDraft
from . import services
from .forms import EnterForm
from .selectors import READ_ALOUD_BANDS
from .selectors import questionnaire as build_questionnaire
from .services import Answer, TakingError
from .session import (
    assignment_ref,
    bind,
    binding,
    is_rate_limited,
    note_failure,
    unbind,
)

_COUNTED_FAILURES = {"unknown_code", "not_found", "bad_link"}


def _render_enter(
    request: HttpRequest, form: EnterForm, *, mode: str, error: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "screening/take/enter.html",
        {"form": form, "mode": mode, "error": error},
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def enter(request: HttpRequest) -> HttpResponse:
    """The sitting code and the student's personal code, in one POST (`/take/?code=…` fills in
    the sitting code; the personal QR's `#p=…` fills in the personal code in the browser, so it
    never reaches the server's logs). Fallback ("no personal code?"): the sitting code alone,
    then the campaign's route (the number, or last digits + birth date).

    Both can come in one POST. Wrong codes and unknown students count against the client address
    (code guessing); past the limit nothing is looked up."""
    if request.method == "GET":
        form = EnterForm(initial={"code": services.normalise_code(request.GET.get("code", ""))})
        return _render_enter(request, form, mode="code")
    form = EnterForm(request.POST)
    if not form.is_valid():
        return _render_enter(request, form, mode="code", status=400)
    if is_rate_limited(request, services.normalise_code(form.cleaned_data["code"])):
        return _render_enter(
            request,
            form,
            mode="code",
            error=_("Too many attempts from this device. Wait ten minutes and try again."),
            status=429,
        )
    data = form.cleaned_data
    try:
        entry = services.sign_in(
            sitting_code=data["code"],
            student_number=data["student_number"],
            last_digits=data["last_digits"],
            birth_date=data["birth_date"],
            # "No personal code?": the fallback button asks for the campaign's route.
            personal_code="" if request.POST.get("fallback") else data["personal_code"],
            current=binding(request),
        )
    except TakingError as exc:
        if exc.code == "not_found":
            note_failure(request, services.normalise_code(data["code"]))
        elif exc.code in _COUNTED_FAILURES:
            note_failure(request)
        mode = (
            "code"
            if exc.code in ("unknown_code", "closed")
            or (data["personal_code"].strip() and not request.POST.get("fallback"))
            else ("digits" if request.POST.get("mode") == "digits" else "number")
        )
        return _render_enter(request, form, mode=mode, error=exc.message, status=400)
    if entry.assignment_id is None:  # the code is right, no personal code: the fallback route
        form = EnterForm(initial={"code": entry.code})
        return _render_enter(request, form, mode=entry.mode)
    response = redirect("take:questionnaire")
    bind(response, entry.assignment_id, entry.nonce)
    return response


@never_cache
def link(request: HttpRequest, token: str) -> HttpResponse:
    """A personal make-up link (Assignment.link_token)."""
    if is_rate_limited(request):
        return render(
            request,
            "screening/take/message.html",
            {"message": _("Too many attempts from this device. Wait ten minutes and try again.")},
            status=429,
        )
    try:
        assignment, nonce = services.enter_by_link(token=token, current=binding(request))
    except TakingError as exc:
        if exc.code in _COUNTED_FAILURES:
            note_failure(request)
        status = 404 if exc.code == "bad_link" else 403  # unknown token / link not usable now
        context = {"message": exc.message}
        return render(request, "screening/take/message.html", context, status=status)
    response = redirect("take:questionnaire")
    bind(response, assignment.pk, nonce)
    return response


def _form_answers(request: HttpRequest, bound: services.Bound) -> list[dict]:
    """Answers posted by the plain HTML form (no JavaScript), as autosave entries."""
    top = (
        AnswerDraft.objects.filter(assignment_id=bound.id).aggregate(m=Max("client_seq"))["m"] or 0
    )
    out = []
    for name, value in request.POST.items():
        if not name.startswith("a:"):
            continue
        _prefix, code, item_id = ([*name.split(":", 2), "", ""])[:3]
        value = cast(str, value)  # QueryDict.items() gives each key's last value, a str
        number: int | str
        try:
            number = int(value)
        except ValueError:
            number = value  # rejected by parse_answers with a clear message
        out.append({"i": code, "q": item_id, "v": number, "s": 0, "n": top + 1})
    return out


@never_cache
@require_http_methods(["GET", "POST"])
def questionnaire(request: HttpRequest) -> HttpResponse:
    bound_to = binding(request)
    try:
        bound = services.load_bound(bound_to)
        if bound.is_done:
            return redirect("take:done")
        bound.require_open()
    except TakingError as exc:
        if exc.code == "submitted":
            return redirect("take:done")
        return render(
            request, "screening/take/message.html", {"message": exc.message}, status=exc.status
        )

    error = ""
    if request.method == "POST":  # the form without JavaScript: save what was ticked, hand in
        try:
            answers: list[Answer] = services.parse_answers(
                _form_answers(request, bound), bound.battery()
            )
            services.upsert_drafts(bound.id, answers)
            services.submit_answers(
                binding=bound_to,
                client_key=request.POST.get("client_key", ""),
                client_seq=0,
            )
            return HttpResponseRedirect(reverse("take:done"))
        except TakingError as exc:
            error = exc.message

    drafts = services.drafts_of(bound.id)
    items_html, total = _items_html(bound, drafts)
    context = {
        "items_html": items_html,
        "drafts": drafts,
        "server_seq": max((d["n"] for d in drafts), default=0),
        "total": total,
        "ref": assignment_ref(bound.id),
        "read_aloud": bound.stage_band in READ_ALOUD_BANDS,
        "client_key": uuid.uuid4().hex,
        "error": error,
    }
    if error or request.GET or request.user.is_authenticated:
        return render(
            request, "screening/take/questionnaire.html", context, status=400 if error else 200
        )
    return HttpResponse(_page(request, _battery_key(bound), context))


# Placeholders for what differs between students in the cached page (autoescaping keeps them).
_SLOTS = {name: f"xq{name}slot7d1e" for name in ("csrf", "ref", "seq", "key", "items", "drafts")}
_pages: dict[tuple, str] = {}


def _page(request: HttpRequest, battery_key: tuple, context: dict) -> str:
    """The questionnaire page of a signed-in student: rendered once per process per battery and
    language with placeholders, which each request fills in (the usual page is the same for every
    student of a battery but for the values below; the whole render cost more than the request's
    SQL). Nothing of the first student's request is kept: no messages, no user, no token."""
    key = (*battery_key, context["read_aloud"])
    shell = _pages.get(key)
    if shell is None:
        shell = render_to_string(
            "screening/take/questionnaire.html",
            {
                **context,
                "items_html": mark_safe(_SLOTS["items"]),  # noqa: S308 - a fixed placeholder
                "drafts": _SLOTS["drafts"],
                "server_seq": _SLOTS["seq"],
                "ref": _SLOTS["ref"],
                "client_key": _SLOTS["key"],
                "csrf_token": _SLOTS["csrf"],
                "messages": [],
            },
            request=request,
        )
        if len(_pages) > 500:
            _pages.clear()
        _pages[key] = shell
    values = {
        "csrf": get_token(request),
        "ref": context["ref"],
        "seq": str(context["server_seq"]),
        "key": context["client_key"],
        "items": context["items_html"],
    }
    html = shell.replace(
        json_script(_SLOTS["drafts"], "take-drafts"), json_script(context["drafts"], "take-drafts")
    )
    for name, value in values.items():
        html = html.replace(_SLOTS[name], value)
    return html


def _battery_key(bound: services.Bound) -> tuple:
    return (
        str(bound.campaign_code),
        bound.stage_band,
        tuple(bound.instruments or ()),
        get_language(),
    )


_fragments: dict[tuple, tuple[str, int]] = {}


def _items_html(bound: services.Bound, drafts: list[dict]) -> tuple[str, int]:
    """The questions as HTML, rendered once per process per battery and language (the battery of
    an open campaign is frozen); saved answers are then ticked in the markup, so a browser without
    JavaScript shows them too."""
    key = _battery_key(bound)
    found = _fragments.get(key)
    if found is None:
        instruments = build_questionnaire(bound, [])
        html: str = render_to_string("screening/take/_items.html", {"instruments": instruments})
        found = (html, sum(len(i.questions) for i in instruments))
        if len(_fragments) > 500:
            _fragments.clear()
        _fragments[key] = found
    html, total = found
    for d in drafts:
        if d["v"] is None:
            continue
        code, item, value = escape(d["i"]), escape(d["q"]), int(d["v"])
        radio = f'id="a-{code}-{item}-{value}" value="{value}" autocomplete="off"'
        html = html.replace(radio + ">", radio + " checked>", 1)
    return mark_safe(html), total  # noqa: S308 - our own template's output


@never_cache
def done(request: HttpRequest) -> HttpResponse:
    """Neutral thank-you with the 24-hour helplines. Never scores."""
    return render(request, "screening/take/done.html", {"helplines": helplines_for()})


@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    """Sign this browser out of the questionnaire (shared school PCs)."""
    response = redirect("take:enter")
    unbind(response)
    return response
