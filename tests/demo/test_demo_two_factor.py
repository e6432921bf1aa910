"""The demo city's shared authenticator secret: given to demo staff accounts in development only,
printed by `manage.py demo_otp`, refused without DEBUG or in production (docs/demo.md)."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.oath import hotp

from tests.conftest import PASSWORD
from xinqiao.access.models import SealedTOTPDevice
from xinqiao.access.roles import Role
from xinqiao.access.services import create_staff
from xinqiao.demo.two_factor import (
    DEMO_TOTP_KEY,
    DEMO_TOTP_SECRET,
    DemoSecretRefused,
    demo_codes,
    enrol_demo_accounts,
)

from ..factories import two_schools


@pytest.fixture
def demo_people(db):
    w = two_schools()

    def make(username, role, unit):
        staff = create_staff(
            actor=None,
            username=username,
            name=username,
            org_unit=unit,
            password=PASSWORD,
            roles=[(role, unit)],
        )
        return staff.user

    w.psych = make("demo_psych_x_1", Role.PSYCHOLOGY_TEACHER, w.school_a)
    w.sysadmin = make("demo_sysadmin", Role.SYSTEM_ADMIN, w.city)
    w.parent = make("demo_parent_x", Role.PARENT, w.school_a)
    w.real = make("real_psych", Role.PSYCHOLOGY_TEACHER, w.school_a)
    return w


def test_demo_staff_get_the_shared_secret_in_development(demo_people, settings):
    settings.DEBUG = True

    assert enrol_demo_accounts() == 2
    assert enrol_demo_accounts() == 0  # once

    keys = {d.user.username: d.bin_key for d in SealedTOTPDevice.objects.select_related("user")}
    assert keys == {"demo_psych_x_1": DEMO_TOTP_KEY, "demo_sysadmin": DEMO_TOTP_KEY}
    assert DEMO_TOTP_SECRET == "LBUW44LJMFXS2RDFNVXS2VCPKRIC2MRW"  # as docs/demo.md prints it


def test_the_printed_code_signs_a_demo_account_in(demo_people, settings):
    settings.DEBUG = True
    enrol_demo_accounts()
    out = io.StringIO()
    call_command("demo_otp", stdout=out)
    printed = out.getvalue().split("code: ")[1].split()[0]
    # The code of this 30-second step (or the previous one, had the step just changed).
    steps = (int(time.time()) // 30, int(time.time()) // 30 - 1)
    assert printed in [str(hotp(DEMO_TOTP_KEY, t)).zfill(6) for t in steps]
    assert "LBUW 44LJ MFXS" in out.getvalue()

    client = Client()
    client.post(reverse("login"), {"username": "demo_psych_x_1", "password": PASSWORD})
    response = client.post(reverse("two_factor:verify"), {"code": demo_codes()[1]})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(("debug", "production"), [(False, False), (True, True)])
def test_never_outside_development(demo_people, settings, debug, production):
    settings.DEBUG = debug
    settings.PRODUCTION = production

    with pytest.raises(DemoSecretRefused):
        enrol_demo_accounts()
    with pytest.raises(CommandError):
        call_command("demo_otp", stdout=io.StringIO())
    assert not SealedTOTPDevice.objects.exists()
