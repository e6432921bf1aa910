"""The client's address behind the reverse proxy, and what keys on it: lockouts, the students'
sign-in limit, the audit trail."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse

from xinqiao.audit.models import AuditEvent
from xinqiao.core.client import client_ip

from ..conftest import PASSWORD

PROXY = "10.0.0.2"


def _request(remote: str, forwarded: str = ""):
    meta = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        (PROXY, "203.0.113.7", "203.0.113.7"),  # nginx appends the client
        (PROXY, "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # the client forged the left entry
        (PROXY, "203.0.113.7, 10.0.0.3", "203.0.113.7"),  # two trusted hops
        (PROXY, "", PROXY),  # a proxy that sent nothing
        (PROXY, "garbage, 203.0.113.7", "203.0.113.7"),
        (PROXY, "203.0.113.7, garbage", PROXY),  # trust nothing left of a garbled hop
        ("198.51.100.9", "203.0.113.7", "198.51.100.9"),  # not a proxy: its header is ignored
        ("2001:db8::1", "", "2001:db8::1"),
    ],
)
def test_client_ip_behind_trusted_proxies(settings, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]

    assert client_ip(_request(remote, forwarded)) == expected


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []

    assert client_ip(_request(PROXY, "203.0.113.7")) == PROXY


def _login(client: Client, username: str, password: str, client_address: str):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=client_address,
    )


@pytest.mark.django_db
def test_five_bad_guesses_behind_the_proxy_lock_that_client_only(settings):
    """Behind the proxy every REMOTE_ADDR is the proxy: an attacker's five guesses used to lock
    the account for everyone."""
    settings.TRUSTED_PROXIES = [PROXY]
    cache.clear()
    get_user_model().objects.create_user("teacher", password=PASSWORD)
    attacker, owner = Client(), Client()

    for i in range(5):
        _login(attacker, "teacher", f"wrong-{i}", "203.0.113.66")
    locked = _login(attacker, "teacher", PASSWORD, "203.0.113.66")
    allowed = _login(owner, "teacher", PASSWORD, "198.51.100.20")

    assert locked.status_code == 429
    assert allowed.status_code == 302


@pytest.mark.django_db
def test_sign_in_sign_out_failures_and_lockouts_are_audited_with_the_client(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    cache.clear()
    get_user_model().objects.create_user("teacher", password=PASSWORD)
    client = Client()

    _login(client, "teacher", "wrong-0", "203.0.113.5")
    _login(client, "teacher", PASSWORD, "203.0.113.5")
    client.post(reverse("logout"), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.5")
    for i in range(5):
        _login(client, "teacher", f"wrong-{i}", "203.0.113.5")

    events = list(AuditEvent.objects.filter(action__startswith="access.").order_by("seq"))
    assert [e.action for e in events][:3] == [
        "access.session.sign_in_failed",
        "access.session.signed_in",
        "access.session.signed_out",
    ]
    assert "access.account.locked_out" in [e.action for e in events]
    assert {e.ip for e in events} == {"203.0.113.5"}
    failed = events[0]
    assert failed.result == "denied"
    assert failed.fields == {"username": "teacher"}
    assert "wrong" not in str([e.fields for e in events])  # never a password


@pytest.mark.django_db
def test_invitation_codes_are_limited_per_client_behind_the_proxy(settings):
    """Ten wrong one-time codes from one client block that client only, not every parent whose
    requests reach us through the same proxy."""
    settings.TRUSTED_PROXIES = [PROXY]
    cache.clear()
    url = reverse("account:invitation-redeem")

    def redeem(client_address: str) -> str:
        response = Client().post(
            url, {"code": "WRONG-CODE"}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client_address
        )
        return response.content.decode()

    for _ in range(10):
        assert "Too many attempts" not in redeem("203.0.113.66")

    assert "Too many attempts" in redeem("203.0.113.66")
    assert "Too many attempts" not in redeem("198.51.100.20")
