"""The demo city's second factor: every demo staff account gets an authenticator (a confirmed
django-otp TOTP device) holding ONE shared, documented secret, so a newcomer adds it to an app
once — or runs `manage.py demo_otp` — and reaches every role in a minute (docs/demo.md).

Never outside development: `enrol_demo_accounts` refuses unless DEBUG is on and the instance is
not in production, so a production database cannot get accounts with a published secret."""

from __future__ import annotations

import time
from base64 import b32encode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django_otp.oath import hotp

from xinqiao.access.models import RoleAssignment, SealedTOTPDevice
from xinqiao.access.two_factor import REQUIRED_ROLES, TOTP_DEVICE_NAME
from xinqiao.audit.services import record_event

# 20 bytes (the RFC 6238 key length for SHA-1); base32 LBUW44LJMFXS2RDFNVXS2VCPKRIC2MRW.
DEMO_TOTP_KEY = b"Xinqiao-Demo-TOTP-26"
DEMO_TOTP_SECRET = b32encode(DEMO_TOTP_KEY).decode()
DEMO_PREFIX = "demo_"
STEP = 30


class DemoSecretRefused(RuntimeError):
    pass


def demo_allowed() -> bool:
    return bool(settings.DEBUG) and not getattr(settings, "PRODUCTION", False)


def refuse_unless_allowed() -> None:
    if not demo_allowed():
        raise DemoSecretRefused(
            "The demo second-factor secret is published: it is only given in development "
            "(DEBUG on, XINQIAO_ENV not production)."
        )


def demo_secret_grouped() -> str:
    return " ".join(DEMO_TOTP_SECRET[i : i + 4] for i in range(0, len(DEMO_TOTP_SECRET), 4))


def demo_codes(now: float | None = None) -> tuple[str, str, int]:
    """(this step's code, the next step's code, seconds until the step changes)."""
    now = time.time() if now is None else now
    t = int(now) // STEP
    return (
        str(hotp(DEMO_TOTP_KEY, t)).zfill(6),
        str(hotp(DEMO_TOTP_KEY, t + 1)).zfill(6),
        STEP - int(now) % STEP,
    )


@transaction.atomic
def enrol_demo_accounts() -> int:
    """Give every demo staff account without an authenticator the demo one; returns how many."""
    refuse_unless_allowed()
    user_model = get_user_model()
    staff = (
        RoleAssignment.objects.active()
        .filter(role__in=REQUIRED_ROLES, user__username__startswith=DEMO_PREFIX)
        .values_list("user_id", flat=True)
        .distinct()
    )
    have = SealedTOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True)
    ids = list(
        user_model.objects.filter(pk__in=staff).exclude(pk__in=have).values_list("pk", flat=True)
    )
    devices = []
    for pk in ids:
        device = SealedTOTPDevice(user_id=pk, name=TOTP_DEVICE_NAME, confirmed=True)
        device.set_secret(DEMO_TOTP_KEY)
        devices.append(device)
    SealedTOTPDevice.objects.bulk_create(devices, batch_size=500)
    if ids:
        record_event(
            actor=None, action="demo.second_factor.enrolled", fields={"accounts": len(ids)}
        )
    return len(ids)
