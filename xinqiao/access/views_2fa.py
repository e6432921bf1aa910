"""Two-factor pages: enrolment (QR code, secret, confirm, recovery codes once), the second step of
signing in, new recovery codes, and the system administrator's reset (access/two_factor.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.core.qr import qr_svg

from . import selectors, two_factor
from .decorators import requires
from .forms_2fa import CodeForm, ResetSecondFactorForm, SecondStepForm
from .roles import Cap
from .scope import PrincipalRequest


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _codes_page(request: HttpRequest, codes: list[str], *, fresh_enrolment: bool) -> HttpResponse:
    return render(
        request,
        "access/two_factor_codes.html",
        {"codes": codes, "fresh_enrolment": fresh_enrolment, "next": _next(request)},
    )


@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if two_factor.is_enrolled(user):
        if not user.is_verified():
            return redirect("two_factor:verify")
        return render(
            request,
            "access/two_factor_status.html",
            {
                "device": two_factor.authenticator(user),
                "codes_left": two_factor.recovery_codes_left(user),
                "required": two_factor.required_for(user),
            },
        )
    device = two_factor.start_enrolment(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.confirm_enrolment(
                request=request, user=user, device=device, code=form.cleaned_data["code"]
            )
        except DomainError as error:
            apply_service_error(form, error)
        else:
            return _codes_page(request, codes, fresh_enrolment=True)
    uri = device.config_url
    return render(
        request,
        "access/two_factor_enrol.html",
        {
            "form": form,
            "qr": qr_svg(
                uri,
                title=_("QR code to add Xinqiao to an authenticator app"),
                css_class="qr two-factor-qr",
            ),
            "secret": two_factor.secret_for_manual_entry(device),
            "issuer": two_factor.issuer(),
            "required": two_factor.required_for(user),
            "next": _next(request),
        },
        status=400 if form.errors else 200,
    )


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    target = _next(request)
    if user.is_verified():
        return redirect(target or "home")
    if not two_factor.is_enrolled(user):
        return redirect("two_factor:enrol")
    form = SecondStepForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            method = two_factor.verify_second_factor(
                request=request, user=user, code=form.cleaned_data["code"]
            )
        except DomainError as error:
            apply_service_error(form, error)
        else:
            if method == "recovery":
                left = two_factor.recovery_codes_left(user)
                messages.warning(
                    request,
                    _(
                        "You signed in with a recovery code; %(n)d left. Make new ones on the "
                        "two-factor page if you are running out."
                    )
                    % {"n": left},
                )
            return redirect(target or "home")
    return render(
        request,
        "access/two_factor_verify.html",
        {"form": form, "next": target},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def renew_recovery_codes(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not two_factor.is_enrolled(user) or not user.is_verified():
        return redirect("two_factor:enrol")
    codes = two_factor.renew_recovery_codes(user=user)
    return _codes_page(request, codes, fresh_enrolment=False)


@requires(Cap.MANAGE_ACCOUNTS)
@require_POST
def reset(request: PrincipalRequest, username: str) -> HttpResponse:
    account = selectors.get_account(principal=request.principal, username=username)
    form = ResetSecondFactorForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write why the second factor is reset."))
    else:
        try:
            two_factor.reset_second_factor(
                actor=request.user, user=account, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Second factor reset: %(name)s enrols again at the next sign-in.")
                % {"name": account.get_full_name() or account.username},
            )
    return redirect("access:account-detail", username=account.username)
