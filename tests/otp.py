"""Two-factor helpers for tests (test code only; production has no bypass).

- `give_authenticator(user)`: a confirmed TOTP device for the user (the one they have, else new).
- `verify_session(client, user)`: what `django_otp.login` does at the real second step — the
  device's id in the session — for a test client that signed in with `force_login`.
- `code_for(device)`: the 6-digit code an authenticator app would show now, or the next step's
  when this step's was already used (django-otp refuses a code twice; one step of tolerance).
"""

from __future__ import annotations

import time
from typing import Any

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import hotp

from xinqiao.access.models import SealedTOTPDevice


def give_authenticator(user: Any) -> SealedTOTPDevice:
    device = SealedTOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = SealedTOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return device


def verify_session(client: Client, user: Any) -> SealedTOTPDevice:
    device = give_authenticator(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def verified_client(user: Any) -> Client:
    """A test client signed in as `user` who has passed the second step."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    verify_session(client, user)
    return client


def code_at(key: bytes, t: int, digits: int = 6) -> str:
    return str(hotp(key, t, digits=digits)).zfill(digits)


def code_for(device: SealedTOTPDevice) -> str:
    device.refresh_from_db()
    now_t = (int(time.time()) - device.t0) // device.step + device.drift
    return code_at(device.bin_key, max(now_t, device.last_t + 1), device.digits)


def code_for_key_hex(key_hex: str) -> str:
    """The code for a secret read off the enrolment page (base32 there; hex here)."""
    return code_at(bytes.fromhex(key_hex), int(time.time()) // 30)
