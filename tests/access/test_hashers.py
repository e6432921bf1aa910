"""Staff passwords: Argon2id at no less than OWASP's parameters; older hashes upgrade at sign-in."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import identify_hasher, make_password
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PRODUCTION_HASHERS = [
    "xinqiao.access.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


def argon2_parameters(encoded: str) -> dict[str, int]:
    # argon2$argon2id$v=19$m=19456,t=2,p=1$salt$hash
    algorithm, variant, _version, params, *_rest = encoded.split("$")
    assert (algorithm, variant) == ("argon2", "argon2id")
    return {k: int(v) for k, v in (p.split("=") for p in params.split(","))}


def test_the_product_hashes_with_argon2id_at_owasps_parameters_or_stronger(settings):
    # tests/conftest.py swaps in a fast hasher for speed; the product's list is in settings.py
    from config import settings as product

    assert product.PASSWORD_HASHERS == PRODUCTION_HASHERS
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    params = argon2_parameters(make_password("Another-Passw0rd!"))
    assert params["m"] >= 19 * 1024  # KiB
    assert params["t"] >= 2
    assert params["p"] >= 1
    assert django_settings.PASSWORD_HASHERS == PRODUCTION_HASHERS


def test_a_pbkdf2_password_is_upgraded_at_the_next_sign_in(world, settings):
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    user = world.psych
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    response = Client().post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"
    assert argon2_parameters(user.password)["m"] == 19 * 1024
