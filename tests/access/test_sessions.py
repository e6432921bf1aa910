"""Sessions (access/sessions.py): idle expiry that background polling does not extend, the
absolute lifetime, the list of one's own sessions and signing them out."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.otp import verify_session
from xinqiao.access.models import UserSession
from xinqiao.access.sessions import describe_user_agent
from xinqiao.audit.models import AuditEvent

from ..factories import two_schools, with_personas

START = datetime.datetime(2026, 10, 12, 8, 0, tzinfo=datetime.UTC)
BACKGROUND = {"X-Background": "1"}
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40"
)


@pytest.fixture(autouse=True)
def _activity_recorded_every_minute(settings):
    settings.SESSION_ACTIVITY_WRITE_INTERVAL = 60  # as in production (tests/conftest.py)


@pytest.fixture
def schools(db):
    return with_personas(two_schools(), "psych", "psych_b")


def _at(minutes: float):
    return time_machine.travel(START + datetime.timedelta(minutes=minutes), tick=False)


def _sign_in(username: str, agent: str = FIREFOX, ip: str = "10.0.0.7") -> Client:
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    verify_session(client, get_user_model().objects.get(username=username))  # the second step
    return client


def _page(client: Client, **headers):
    return client.get(reverse("home"), headers=headers).status_code


def test_background_requests_do_not_keep_the_session_alive(schools):
    with _at(0):
        client = _sign_in("psych_a")
    polls = []
    for minutes in (10, 20, 29):
        with _at(minutes):
            polls.append(_page(client, **BACKGROUND))
    with _at(31):
        after = _page(client)

    assert polls == [200, 200, 200]
    assert after == 302


def test_real_requests_keep_the_session_alive(schools):
    with _at(0):
        client = _sign_in("psych_a")
    statuses = []
    for minutes in (20, 45, 70):
        with _at(minutes):
            statuses.append(_page(client))

    assert statuses == [200, 200, 200]


def test_background_request_after_the_idle_time_is_refused_too(schools):
    with _at(0):
        client = _sign_in("psych_a")
    with _at(31):
        status = _page(client, **BACKGROUND)

    assert status == 302


def test_the_absolute_lifetime_ends_an_active_session(schools):
    with _at(0):
        client = _sign_in("psych_a")
    statuses = []
    for minutes in range(20, 12 * 60 + 21, 20):  # active every 20 minutes for 12 h 20 min
        with _at(minutes):
            statuses.append(_page(client))

    assert set(statuses[:-1]) == {200}
    assert statuses[-1] == 302
    assert AuditEvent.objects.filter(
        action="access.session.expired", fields__reason="absolute"
    ).exists()


def test_the_session_list_shows_both_sessions(schools):
    office = _sign_in("psych_a", FIREFOX, "10.0.0.7")
    phone = _sign_in("psych_a", WECHAT, "10.0.0.8")

    response = office.get(reverse("account:sessions"))

    rows = response.context["sessions"]
    assert [(r["current"], r["device"], r["ip"]) for r in rows] == [
        (True, "Firefox · Windows", "10.0.0.7"),
        (False, "WeChat · iOS", "10.0.0.8"),
    ]
    assert phone.get(reverse("home")).status_code == 200


def test_sign_out_everywhere_else_ends_the_other_clients_session(schools):
    office = _sign_in("psych_a", FIREFOX)
    phone = _sign_in("psych_a", WECHAT)
    other_user = _sign_in("psych_b")

    response = office.post(reverse("account:sessions-revoke-others"))

    assert response.status_code == 302
    assert phone.get(reverse("home")).status_code == 302
    assert office.get(reverse("home")).status_code == 200
    assert other_user.get(reverse("home")).status_code == 200
    assert AuditEvent.objects.filter(
        action="access.session.revoked", object_id=str(schools.psych.pk)
    ).exists()


def test_sign_out_one_session(schools):
    office = _sign_in("psych_a", FIREFOX)
    phone = _sign_in("psych_a", WECHAT)
    row = UserSession.objects.get(session_key=phone.session.session_key)

    office.post(reverse("account:session-revoke", args=[row.public_id]))

    assert phone.get(reverse("home")).status_code == 302
    assert not Session.objects.filter(session_key=row.session_key).exists()


def test_another_users_session_cannot_be_revoked(schools):
    mine = _sign_in("psych_a")
    theirs = _sign_in("psych_b")
    row = UserSession.objects.get(session_key=theirs.session.session_key)

    response = mine.post(reverse("account:session-revoke", args=[row.public_id]))

    assert response.status_code == 404
    assert theirs.get(reverse("home")).status_code == 200


def test_the_current_session_is_not_revoked_from_the_list(schools):
    client = _sign_in("psych_a")
    row = UserSession.objects.get(session_key=client.session.session_key)

    client.post(reverse("account:session-revoke", args=[row.public_id]))

    assert client.get(reverse("home")).status_code == 200


def test_sign_out_deletes_the_index_row(schools):
    client = _sign_in("psych_a")
    key = client.session.session_key

    client.post(reverse("logout"))

    assert not UserSession.objects.filter(session_key=key).exists()


def test_changing_the_password_signs_out_the_other_sessions(schools):
    office = _sign_in("psych_a", FIREFOX)
    phone = _sign_in("psych_a", WECHAT)
    new = "Lake7-Hq-window-Tz"

    office.post(
        reverse("account:password-change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert office.get(reverse("account:sessions")).context["sessions"][0]["current"]
    assert phone.get(reverse("home")).status_code == 302


def test_anonymous_cannot_list_sessions(db):
    response = Client().get(reverse("account:sessions"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_polling_elements_mark_their_requests_as_background():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "xinqiao" / "templates"
    polling = [
        path
        for path in templates.rglob("*.html")
        if 'hx-trigger="every' in path.read_text(encoding="utf-8")
    ]

    assert polling
    for path in polling:
        assert '"X-Background": "1"' in path.read_text(encoding="utf-8"), path


def test_user_agents_are_described():
    assert describe_user_agent(WECHAT) == "WeChat · iOS"
    assert describe_user_agent(FIREFOX) == "Firefox · Windows"
