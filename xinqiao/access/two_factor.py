"""Two-factor sign-in (issue 13; 等保 2.0 身份鉴别, ASVS V2.7/V2.8): who must enrol, enrolment,
the second step at sign-in, recovery codes, the administrator's reset, and the middleware that
keeps an unverified session to the enrolment page, the second step and sign-out.

Built on django-otp: a TOTP device (an authenticator app, RFC 6238, 30-second steps, one step of
tolerance, replay refused; `models.SealedTOTPDevice` keeps its secret sealed, not in hex) and a
`StaticDevice` holding the one-time recovery codes. django-otp
stores static tokens as given; we give it a keyed hash of each code (`_code_digest`), so the codes
themselves are never at rest: they are shown once, when made. The session counts as verified when
`django_otp.login` has put the device in it (`user.is_verified()`, OTPMiddleware).

docs/two-factor.md is the user's and administrator's guide.
"""

from __future__ import annotations

import secrets
from base64 import b32encode
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from xinqiao.audit.services import record_event
from xinqiao.core import crypto
from xinqiao.core.crypto import keyed_hash
from xinqiao.core.errors import DomainError
from xinqiao.core.ratelimit import allow
from xinqiao.core.types import Actor, User

from .models import SealedTOTPDevice
from .roles import Role

# Every staff role. Students have no accounts (the /take/ flow) except committee members, who are
# children; parents may enrol if they wish but are not made to.
REQUIRED_ROLES = frozenset(Role.values) - {Role.PARENT, Role.COMMITTEE_MEMBER}
RECOVERY_CODES = 10
TOTP_DEVICE_NAME = "authenticator"
STATIC_DEVICE_NAME = "recovery"
MIN_REASON_LENGTH = 10

# The pages an enrolled-but-unverified or not-yet-enrolled session may still use.
ALLOWED_URL_NAMES = frozenset(
    {
        "two_factor:enrol",
        "two_factor:verify",
        "login",
        "logout",
        "healthz",
        "set_language",
        "javascript-catalog",
    }
)


# --- policy ---------------------------------------------------------------------------------------
def enforced() -> bool:
    """Whether staff must use a second factor: always in production, whatever the setting."""
    return bool(getattr(settings, "OTP_REQUIRED", True) or getattr(settings, "PRODUCTION", False))


def required_for_roles(roles: list[str] | set[str] | frozenset[str]) -> bool:
    return enforced() and any(role in REQUIRED_ROLES for role in roles)


def required_for(user: Any) -> bool:
    from .models import RoleAssignment

    roles = set(RoleAssignment.objects.active().filter(user=user).values_list("role", flat=True))
    return required_for_roles(roles)


def authenticator(user: Any, *, confirmed: bool | None = True) -> SealedTOTPDevice | None:
    devices = SealedTOTPDevice.objects.filter(user=user)
    if confirmed is not None:
        devices = devices.filter(confirmed=confirmed)
    device: SealedTOTPDevice | None = devices.order_by("-pk").first()
    return device


def is_enrolled(user: Any) -> bool:
    return bool(SealedTOTPDevice.objects.filter(user=user, confirmed=True).exists())


def recovery_codes_left(user: Any) -> int:
    return int(StaticToken.objects.filter(device__user=user, device__confirmed=True).count())


def issuer() -> str:
    return str(getattr(settings, "OTP_TOTP_ISSUER", "") or "Xinqiao")


def reseal_authenticator_secrets(model: Any = None) -> int:
    """Seal every authenticator secret not sealed with today's suite and key (a hex secret from
    before secrets were sealed, or an older key): the migration and `rotate_keys` call it. Works
    on the raw column, so the migration's historical model will do."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    model = model or TOTPDevice
    count = 0
    for pk, user_id, key in model.objects.values_list("pk", "user_id", "key").iterator():
        if crypto.is_current(key):
            continue
        aad = crypto.field_aad("otp_totp_totpdevice", "key", user_id)
        secret = crypto.open_token(key, aad=aad) if key.startswith("v2:") else bytes.fromhex(key)
        model.objects.filter(pk=pk).update(key=crypto.seal_token(secret, aad=aad))
        count += 1
    return count


def secret_for_manual_entry(device: SealedTOTPDevice) -> str:
    """The device's key in base32 (what authenticator apps ask for), in groups of four."""
    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


# --- recovery codes -------------------------------------------------------------------------------
def _normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _code_digest(code: str) -> str:
    """What django-otp stores for a recovery code: a keyed hash (16 hex digits, 64 bits), so a
    copy of the database does not hold usable codes."""
    return keyed_hash(f"otp-recovery:{_normalise(code)}")[:16]


def _new_recovery_codes(user: Any) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=STATIC_DEVICE_NAME, confirmed=True)
    codes = []
    for _i in range(RECOVERY_CODES):
        raw = b32encode(secrets.token_bytes(5)).decode().lower()  # 8 characters, 40 bits
        codes.append(f"{raw[:4]}-{raw[4:]}")
    StaticToken.objects.bulk_create(
        [StaticToken(device=device, token=_code_digest(code)) for code in codes]
    )
    return codes


# --- enrolment ------------------------------------------------------------------------------------
@transaction.atomic
def start_enrolment(*, user: User) -> SealedTOTPDevice:
    """The user's unconfirmed authenticator (a new secret, or the one already shown)."""
    pending = authenticator(user, confirmed=False)
    if pending is not None:
        return pending
    device: SealedTOTPDevice = SealedTOTPDevice.objects.create(
        user=user, name=TOTP_DEVICE_NAME, confirmed=False
    )
    return device


def _attempt_allowed(user: Any) -> bool:
    return allow(
        f"otp:attempt:{user.pk}",
        limit=getattr(settings, "OTP_ATTEMPTS_LIMIT", 5),
        window=getattr(settings, "OTP_ATTEMPTS_WINDOW", 900),
    )


def _failed(user: Any, *, stage: str, reason: str) -> None:
    record_event(
        actor=user,
        action="access.second_factor.failed",
        obj=user,
        fields={"stage": stage, "reason": reason},
        result="denied",
    )


class TooManyAttempts(DomainError):
    def __init__(self) -> None:
        super().__init__(
            _("Too many wrong codes. Wait 15 minutes and try again, or ask the administrator."),
            field="code",
        )


def confirm_enrolment(
    *, request: HttpRequest, user: User, device: SealedTOTPDevice, code: str
) -> list[str]:
    """Confirm the authenticator with one code from it; the session counts as verified and the
    new recovery codes are returned (to be shown once). DomainError on a wrong code."""
    if not _attempt_allowed(user):
        _failed(user, stage="enrol", reason="rate_limited")
        raise TooManyAttempts
    with transaction.atomic():
        device = SealedTOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
        ok = device.confirmed is False and device.verify_token(_normalise(code))
        if ok:
            SealedTOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _new_recovery_codes(user)
            record_event(actor=user, action="access.second_factor.enrolled", obj=user)
    if not ok:
        _failed(user, stage="enrol", reason="wrong_code")
        raise DomainError(
            _("That code is not right. Enter the 6 digits the app shows now."), field="code"
        )
    otp_login(request, device)
    return codes


@transaction.atomic
def renew_recovery_codes(*, user: User) -> list[str]:
    codes = _new_recovery_codes(user)
    record_event(actor=user, action="access.second_factor.recovery_codes_renewed", obj=user)
    return codes


# --- the second step ------------------------------------------------------------------------------
def verify_second_factor(*, request: HttpRequest, user: User, code: str) -> str:
    """Check a 6-digit code from the authenticator, or a recovery code (used up), and mark the
    session verified. Returns "totp" or "recovery"; DomainError when refused."""
    if not _attempt_allowed(user):
        _failed(user, stage="sign_in", reason="rate_limited")
        raise TooManyAttempts
    value = _normalise(code)
    device: SealedTOTPDevice | StaticDevice | None = None
    kind = ""
    with transaction.atomic():
        if value.isdigit() and len(value) == 6:
            totp = (
                SealedTOTPDevice.objects.select_for_update()
                .filter(user=user, confirmed=True)
                .first()
            )
            if totp is not None and totp.verify_token(value):
                device, kind = totp, "totp"
        elif value:
            static = (
                StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
            )
            if static is not None and static.verify_token(_code_digest(value)):
                device, kind = static, "recovery"
        if device is not None:
            record_event(
                actor=user,
                action="access.second_factor.verified",
                obj=user,
                fields={"method": kind},
            )
    if device is None:
        _failed(user, stage="sign_in", reason="wrong_code")
        raise DomainError(_("That code is not right."), field="code")
    otp_login(request, device)
    return kind


# --- the administrator's reset --------------------------------------------------------------------
def reset_second_factor(*, actor: Actor, user: Any, reason: str) -> None:
    """Remove a user's authenticator and recovery codes (lost phone): they enrol again at their
    next sign-in. Only with a written reason, and never one's own."""
    if actor is None or user.pk == actor.pk:
        record_event(
            actor=actor,
            action="access.second_factor.reset",
            obj=user,
            fields={"reason": reason.strip()[:500], "refused": "own_account"},
            result="denied",
        )
        raise DomainError(
            _("You cannot reset your own second factor. Ask another system administrator.")
        )
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise DomainError(
            _("Write why the second factor is reset (at least %(n)d characters).")
            % {"n": MIN_REASON_LENGTH},
            field="reason",
        )
    with transaction.atomic():
        SealedTOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        record_event(
            actor=actor,
            action="access.second_factor.reset",
            obj=user,
            fields={"username": user.username, "reason": reason[:500]},
        )


# --- enforcement ----------------------------------------------------------------------------------
def _url_name(request: HttpRequest) -> str | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    return match.view_name


class SecondFactorMiddleware:
    """A signed-in session that has not passed the second step may only reach the enrolment page,
    the second step, sign-out and technical endpoints: with an authenticator it is sent to the
    second step; without one, a staff account is sent to enrolment. After PrincipalMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return self.get_response(request)
        if request.path_info.startswith(settings.STATIC_URL):
            return self.get_response(request)
        if _url_name(request) in ALLOWED_URL_NAMES:
            return self.get_response(request)
        if is_enrolled(user):
            target = "two_factor:verify"
        else:
            principal = getattr(request, "principal", None)
            roles = principal.roles if principal is not None else []
            if not required_for_roles(roles):
                return self.get_response(request)
            target = "two_factor:enrol"
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": "Second factor required."}, status=403)
        url = f"{reverse(target)}?next={quote(request.get_full_path())}"
        if getattr(request, "htmx", False):
            return HttpResponse(status=204, headers={"HX-Redirect": url})
        return redirect(url)
