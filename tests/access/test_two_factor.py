"""Two-factor sign-in (issue 13): enrolment, the second step, recovery codes, the rate limit,
enforcement for staff roles, the system administrator's reset, and their audit events.

Signing in goes through the real login URL with the password, then the real second step."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken

from tests.conftest import PASSWORD
from tests.otp import code_at, code_for, give_authenticator
from xinqiao.access import two_factor
from xinqiao.access.models import SealedTOTPDevice
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError

from ..factories import two_schools, with_personas

ENROL = "/accounts/two-factor/"
VERIFY = "/accounts/two-factor/verify/"


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    # The attempt counter lives in the cache, which outlives a test's database; django-otp's own
    # growing delay after a wrong code is left out where a test needs a right code right after.
    cache.clear()
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    yield
    cache.clear()


@pytest.fixture
def people(db):
    return with_personas(
        two_schools(),
        "psych",
        "head_teacher",
        "city_admin",
        "sysadmin",
        "auditor",
        "parent",
        "psych_b",
    )


def password_client(user) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "the password step failed"
    return client


def actions(user) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(user.pk), action__startswith="access.second_factor")
        .order_by("seq")
        .values_list("action", flat=True)
    )


def _secret_hex(page: str) -> str:
    match = re.search(r'data-testid="totp-secret"[^>]*>([A-Z2-7 ]+)<', page)
    assert match, "the enrolment page shows the secret"
    from base64 import b32decode

    text = match.group(1).replace(" ", "")
    return b32decode(text + "=" * (-len(text) % 8)).hex()


# --- enforcement ------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", ["psych", "head_teacher", "city_admin", "sysadmin", "auditor"])
def test_staff_role_reaches_nothing_but_enrolment_until_enrolled(people, persona):
    client = password_client(getattr(people, persona))

    for url in ("/", "/students/", "/screening/", "/alerts/", "/accounts/manage/", "/audit/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(ENROL + "?next="), url
    assert client.get("/api/v1/students/").status_code == 403
    htmx = client.get("/", headers={"HX-Request": "true"})
    assert htmx.status_code == 204
    assert htmx["HX-Redirect"].startswith(ENROL)
    # What stays reachable: the enrolment page, health, the language switch, sign-out.
    assert client.get(ENROL).status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.post("/i18n/setlang/", {"language": "en"}).status_code == 302
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/").status_code == 302  # signed out now
    assert "_auth_user_id" not in client.session


def test_parent_is_not_forced(people):
    client = password_client(people.parent)

    assert client.get("/").status_code == 200


def test_setting_off_lets_staff_in_but_production_always_enforces(people, settings):
    settings.OTP_REQUIRED = False
    client = password_client(people.psych)
    assert client.get("/").status_code == 200

    settings.PRODUCTION = True
    assert client.get("/").status_code == 302


def test_enrolled_user_is_sent_to_the_second_step_with_next(people):
    give_authenticator(people.psych)
    client = password_client(people.psych)

    response = client.get("/students/?q=x")

    assert response.status_code == 302
    assert response["Location"] == VERIFY + "?next=/students/%3Fq%3Dx"
    # The enrolment page does not let an enrolled user start over: it sends them to the step.
    assert client.get(ENROL)["Location"] == VERIFY


# --- enrolment -------------------------------------------------------------------------------
def test_enrolment_shows_a_qr_code_and_confirms_with_a_right_code(people):
    client = password_client(people.psych)

    page = client.get(ENROL).content.decode()
    assert 'data-testid="two-factor-qr"' in page
    assert "<svg" in page
    device = SealedTOTPDevice.objects.get(user=people.psych)
    assert not device.confirmed
    assert device.config_url.startswith("otpauth://totp/")
    assert "issuer=" in device.config_url
    key = _secret_hex(page)
    assert key == device.bin_key.hex()
    assert key not in device.key  # stored sealed, bound to its user
    assert device.key.startswith("v2:")
    # Reloading the page shows the same secret (the app may already hold it).
    assert _secret_hex(client.get(ENROL).content.decode()) == key

    wrong = client.post(ENROL, {"code": "000000" if code_for(device) != "000000" else "111111"})
    assert wrong.status_code == 400
    assert "not right" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    ok = client.post(ENROL, {"code": code_for(device), "next": "/students/"})
    assert ok.status_code == 200
    body = ok.content.decode()
    codes = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", body)
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    # Recovery codes are kept only as keyed hashes.
    stored = set(
        StaticToken.objects.filter(device__user=people.psych).values_list("token", flat=True)
    )
    assert len(stored) == 10
    assert not stored & ({c.replace("-", "") for c in codes} | set(codes))
    # The session is verified now: the system opens.
    assert client.get("/").status_code == 200
    assert actions(people.psych) == [
        "access.second_factor.failed",
        "access.second_factor.enrolled",
    ]


# --- the second step --------------------------------------------------------------------------
def test_second_step_with_the_app_code(people):
    device = give_authenticator(people.psych)
    client = password_client(people.psych)

    wrong = client.post(VERIFY, {"code": "12345"})
    assert wrong.status_code == 400
    code = code_for(device)
    response = client.post(VERIFY, {"code": code, "next": "/students/"})

    assert response.status_code == 302
    assert response["Location"] == "/students/"
    assert client.get("/").status_code == 200
    # The same code does not open a second session (replay).
    other = password_client(people.psych)
    assert other.post(VERIFY, {"code": code}).status_code == 400
    assert other.get("/").status_code == 302
    events = AuditEvent.objects.filter(action="access.second_factor.verified")
    assert [e.fields for e in events] == [{"method": "totp"}]
    assert actions(people.psych).count("access.second_factor.failed") == 2


def test_second_step_refuses_an_unsafe_next(people):
    device = give_authenticator(people.psych)
    client = password_client(people.psych)

    response = client.post(VERIFY, {"code": code_for(device), "next": "https://evil.example/"})

    assert response["Location"] == reverse("home")


def test_recovery_code_signs_in_once(people):
    client = password_client(people.head_teacher)
    device = SealedTOTPDevice.objects.get(
        pk=two_factor.start_enrolment(user=people.head_teacher).pk
    )
    body = client.post(ENROL, {"code": code_for(device)}).content.decode()
    code = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", body)[3]

    first = password_client(people.head_teacher)
    response = first.post(VERIFY, {"code": code.upper().replace("-", " ")})
    assert response.status_code == 302
    assert first.get("/").status_code == 200
    assert two_factor.recovery_codes_left(people.head_teacher) == 9

    second = password_client(people.head_teacher)
    assert second.post(VERIFY, {"code": code}).status_code == 400
    assert second.get("/").status_code == 302
    verified = AuditEvent.objects.filter(action="access.second_factor.verified")
    assert [e.fields["method"] for e in verified] == ["recovery"]


def test_new_recovery_codes_replace_the_old_ones(people, client_for):
    client = client_for(people.psych)
    old = two_factor.renew_recovery_codes(user=people.psych)

    body = client.post("/accounts/two-factor/recovery-codes/").content.decode()

    new = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", body)
    assert len(new) == 10
    assert not set(new) & set(old)
    other = password_client(people.psych)
    assert other.post(VERIFY, {"code": old[0]}).status_code == 400
    assert other.post(VERIFY, {"code": new[0]}).status_code == 302


def test_the_second_step_is_rate_limited_per_account(people, settings):
    settings.OTP_ATTEMPTS_LIMIT = 5
    device = give_authenticator(people.psych)
    give_authenticator(people.psych_b)
    client = password_client(people.psych)
    for _attempt in range(5):
        assert client.post(VERIFY, {"code": "000001"}).status_code == 400

    refused = client.post(VERIFY, {"code": code_for(device)})

    assert refused.status_code == 400
    assert "Too many wrong codes" in refused.content.decode()
    assert client.get("/").status_code == 302
    failed = AuditEvent.objects.filter(
        action="access.second_factor.failed", result="denied"
    ).order_by("seq")
    assert [e.fields["reason"] for e in failed] == ["wrong_code"] * 5 + ["rate_limited"]
    # Another account is not affected.
    other = password_client(people.psych_b)
    code_b = code_for(SealedTOTPDevice.objects.get(user=people.psych_b))
    assert other.post(VERIFY, {"code": code_b}).status_code == 302


def test_django_otp_throttle_also_applies(people, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    device = give_authenticator(people.psych)
    client = password_client(people.psych)
    client.post(VERIFY, {"code": "000001"})

    # Right after a failure the right code is refused too (a growing delay), by django-otp.
    assert client.post(VERIFY, {"code": code_for(device)}).status_code == 400


# --- the administrator's reset ------------------------------------------------------------------
def test_system_admin_resets_a_lost_factor_with_a_reason(people, client_for):
    give_authenticator(people.psych_b)
    two_factor.renew_recovery_codes(user=people.psych_b)
    admin = client_for(people.sysadmin)
    url = reverse("two_factor:reset", args=[people.psych_b.username])

    page = admin.get(reverse("access:account-detail", args=[people.psych_b.username]))
    assert url in page.content.decode()
    refused = admin.post(url, {"reason": "  "})
    assert refused.status_code == 302
    assert two_factor.is_enrolled(people.psych_b)
    too_short = admin.post(url, {"reason": "lost"})
    assert too_short.status_code == 302
    assert two_factor.is_enrolled(people.psych_b)

    admin.post(url, {"reason": "手机丢失，本人到信息中心当面核实"})

    assert not two_factor.is_enrolled(people.psych_b)
    assert two_factor.recovery_codes_left(people.psych_b) == 0
    event = AuditEvent.objects.get(action="access.second_factor.reset", result="ok")
    assert event.actor_id == people.sysadmin.pk
    assert event.fields["reason"] == "手机丢失，本人到信息中心当面核实"
    # Next sign-in: enrolment again.
    assert password_client(people.psych_b).get("/")["Location"].startswith(ENROL)


def test_system_admin_cannot_reset_their_own_factor(people, client_for):
    admin = client_for(people.sysadmin)
    url = reverse("two_factor:reset", args=[people.sysadmin.username])

    page = admin.get(reverse("access:account-detail", args=[people.sysadmin.username]))
    assert url not in page.content.decode()
    admin.post(url, {"reason": "I lost my phone, honestly"})

    assert two_factor.is_enrolled(people.sysadmin)
    with pytest.raises(DomainError):
        two_factor.reset_second_factor(
            actor=people.sysadmin, user=people.sysadmin, reason="I lost my phone, honestly"
        )
    denied = AuditEvent.objects.filter(action="access.second_factor.reset", result="denied")
    assert denied.count() == 2


def test_other_roles_cannot_reset(people, client_for):
    give_authenticator(people.psych_b)
    url = reverse("two_factor:reset", args=[people.psych_b.username])
    for user in (people.psych, people.city_admin, people.auditor, people.head_teacher):
        assert client_for(user).post(url, {"reason": "phone lost, checked"}).status_code == 403
    assert two_factor.is_enrolled(people.psych_b)


def test_code_helper_matches_django_otp(people):
    device = give_authenticator(people.psych)
    assert device.verify_token(code_for(device))
    assert code_at(b"12345678901234567890", 1) == "287082"  # django_otp.oath's own example
