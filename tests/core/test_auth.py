"""Sign-in hardening: lockout after 5 failures for 30 minutes, idle logout after 30 minutes,
strong password rules. Driven through the real login URL, with the clock moved by time-machine."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from ..conftest import PASSWORD

START = datetime.datetime(2026, 10, 12, 8, 0, tzinfo=datetime.UTC)


def _login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture(autouse=True)
def _activity_recorded_every_minute(settings):
    settings.SESSION_ACTIVITY_WRITE_INTERVAL = 60  # as in production (tests/conftest.py)


@pytest.fixture
def teacher(db):
    return get_user_model().objects.create_user("teacher", password=PASSWORD)


def test_right_password_signs_in(teacher):
    client = Client()

    response = _login(client, "teacher", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert _signed_in(client)


def test_wrong_password_shows_the_form_again(teacher):
    client = Client()

    response = _login(client, "teacher", "wrong-Passw0rd!")

    assert response.status_code == 200
    assert not _signed_in(client)


def test_sixth_attempt_with_right_password_is_refused_after_five_failures(teacher):
    client = Client()
    with time_machine.travel(START, tick=False):
        statuses = [_login(client, "teacher", f"wrong-{i}").status_code for i in range(5)]

        response = _login(client, "teacher", PASSWORD)

    assert statuses[:4] == [200, 200, 200, 200]
    assert response.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    assert not _signed_in(client)


def test_four_failures_do_not_lock(teacher):
    client = Client()
    with time_machine.travel(START, tick=False):
        for i in range(4):
            _login(client, "teacher", f"wrong-{i}")

        response = _login(client, "teacher", PASSWORD)
        signed_in = _signed_in(client)

    assert response.status_code == 302
    assert signed_in


def test_lockout_lasts_thirty_minutes(teacher):
    client = Client()
    with time_machine.travel(START, tick=False):
        for i in range(5):
            _login(client, "teacher", f"wrong-{i}")
    with time_machine.travel(START + datetime.timedelta(minutes=29), tick=False):
        still_locked = _login(client, "teacher", PASSWORD)
    with time_machine.travel(START + datetime.timedelta(minutes=31), tick=False):
        response = _login(Client(), "teacher", PASSWORD)

    assert still_locked.status_code == 429  # and trying while locked does not extend the lock
    assert response.status_code == 302


def test_lockout_of_one_account_leaves_others_alone(teacher):
    get_user_model().objects.create_user("colleague", password=PASSWORD)
    client = Client()
    with time_machine.travel(START, tick=False):
        for i in range(5):
            _login(client, "teacher", f"wrong-{i}")

        response = _login(client, "colleague", PASSWORD)

    assert response.status_code == 302


def test_idle_session_ends_after_thirty_minutes(teacher):
    client = Client()
    with time_machine.travel(START, tick=False):
        _login(client, "teacher", PASSWORD)
    with time_machine.travel(START + datetime.timedelta(minutes=31), tick=False):
        response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_activity_keeps_the_session_alive(teacher):
    client = Client()
    with time_machine.travel(START, tick=False):
        _login(client, "teacher", PASSWORD)
    statuses = []
    for minutes in (25, 50, 75):  # each request slides the 30-minute window
        with time_machine.travel(START + datetime.timedelta(minutes=minutes), tick=False):
            statuses.append(client.get(reverse("home")).status_code)

    assert statuses == [200, 200, 200]


@pytest.mark.parametrize(
    "password",
    [
        "Sh0rt!pw",  # too short
        "alllowercase-1",  # no upper case
        "ALLUPPERCASE-1",  # no lower case
        "NoDigitsHere!!",  # no digit
        "NoSymbols12345",  # no symbol
        "1234567890123",  # numeric
    ],
)
def test_weak_passwords_are_refused(password, db):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_strong_password_is_accepted(db):
    validate_password("Xq-test-Passw0rd!")


def test_character_class_rule_has_its_own_message(db):
    with pytest.raises(ValidationError) as info:
        validate_password("longenoughbutlower1!")

    assert "password_character_classes" in [e.code for e in info.value.error_list]


def test_password_similar_to_username_is_refused(db):
    user = get_user_model()(username="wangxiaoming")

    with pytest.raises(ValidationError):
        validate_password("Wangxiaoming-1", user=user)
