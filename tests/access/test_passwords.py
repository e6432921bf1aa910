"""Password rules at ASVS L2 (access/passwords.py), one's own password change, and the change a
password set by an administrator needs at the first sign-in."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.otp import verify_session
from xinqiao.access.models import PasswordState
from xinqiao.access.passwords import PatternPasswordValidator, free_characters
from xinqiao.audit.models import AuditEvent
from xinqiao.demo.generator import DEMO_PASSWORD

from ..factories import two_schools, with_personas

NEW = "Lake7-Hq-window-Tz"


@pytest.mark.parametrize(
    "password",
    [
        "P@ssw0rd2024!",  # leet substitution of a common word, and a year
        "Passw0rd-1234!",
        "Zhangwei19900101",  # pinyin name and a date
        "Wangfang@2008-08-08",
        "Woaini1314520!",  # pinyin love phrase and love code
        "Wodemima-0101!",
        "1qaz@WSX3edc",  # keyboard column walk, shifted
        "1qaz2wsx3edc4rfv",
        "Qwertyuiop12",  # keyboard row
        "Asdfghjkl;12",
        "Zxcvbnm,./12",
        "123qweASDzxc",
        "1q2w3e4r5t6y",
        "Aa1!Aa1!Aa1!",  # repeated chunk
        "Abcdefgh1234",  # sequences
        "Zzzzzzzz9876",  # repeats and a descending run
        "Woaini-Mama-1!",
        "Iloveyou-2024",
    ],
)
def test_predictable_passwords_are_refused(password):
    with pytest.raises(ValidationError) as info:
        PatternPasswordValidator().validate(password)

    assert info.value.error_list[0].code == "password_predictable"


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,  # the tests' password
        DEMO_PASSWORD,  # the demo city's
        "Good-Passw0rd!",
        "Tr0ub4dor&3x-K",
        "Hk7#pLm2-vQ9z",
        "correct-Horse-battery-staple-9",
        NEW,
    ],
)
def test_passwords_with_unpredictable_parts_pass(password, db):
    validate_password(password)


def test_eleven_characters_are_too_short(db):
    with pytest.raises(ValidationError) as info:
        validate_password("Hk7#pLm2-vQ")

    assert "password_too_short" in [e.code for e in info.value.error_list]
    validate_password("Hk7#pLm2-vQ9")


def test_the_validator_is_registered(db):
    with pytest.raises(ValidationError) as info:
        validate_password("Zhangwei@19900101")

    assert "password_predictable" in [e.code for e in info.value.error_list]


def test_a_name_plus_a_date_leaves_nothing_free():
    assert free_characters("Liuyang20080808") == 0
    assert free_characters("Liuyang-Kx7q") == 4


# --- changing one's own password --------------------------------------------------------------


@pytest.fixture
def schools(db):
    return with_personas(two_schools(), "sysadmin", "psych", "psych_b")


def _change(client: Client, old: str, new: str):
    return client.post(
        reverse("account:password-change"),
        {"old_password": old, "new_password1": new, "new_password2": new},
    )


def test_user_changes_own_password_and_it_is_audited(schools, client_for):
    client = client_for(schools.psych)

    response = _change(client, PASSWORD, NEW)

    assert response.status_code == 302
    schools.psych.refresh_from_db()
    assert schools.psych.check_password(NEW)
    assert AuditEvent.objects.filter(
        action="access.password.changed", object_id=str(schools.psych.pk)
    ).exists()
    assert client.get(reverse("home")).status_code == 200  # still signed in


def test_change_refuses_a_wrong_old_password_and_a_weak_new_one(schools, client_for):
    client = client_for(schools.psych)

    wrong_old = _change(client, "Not-the-0ld-one!", NEW)
    weak_new = _change(client, PASSWORD, "P@ssw0rd2024!")

    assert wrong_old.status_code == 200
    assert weak_new.status_code == 200
    assert "new_password2" in weak_new.context["form"].errors
    schools.psych.refresh_from_db()
    assert schools.psych.check_password(PASSWORD)


def test_anonymous_is_sent_to_sign_in(db):
    response = Client().get(reverse("account:password-change"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- first sign-in after an administrator set the password --------------------------------------


def _sign_in(username: str, password: str) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302
    verify_session(client, get_user_model().objects.get(username=username))  # the second step
    return client


def test_account_created_by_the_administrator_must_change_at_first_sign_in(schools, client_for):
    client_for(schools.sysadmin).post(
        reverse("access:account-create"),
        {"username": "new_teacher", "name": "新老师", "password": "Given-Kq7-Passw0rd"},
    )
    client = _sign_in("new_teacher", "Given-Kq7-Passw0rd")

    pages = [client.get(reverse(name)) for name in ("home", "account:sessions")]
    htmx = client.get(reverse("home"), headers={"HX-Request": "true"})

    target = reverse("account:password-change")
    assert [(p.status_code, p["Location"]) for p in pages] == [(302, target), (302, target)]
    assert htmx["HX-Redirect"] == target
    assert client.get(target).status_code == 200
    assert client.get(reverse("healthz")).status_code == 200


def test_first_sign_in_in_pages_passes_the_second_step_then_changes_the_password(
    schools, client_for
):
    """Through the pages, as a browser does (no session verified by the test): the second step
    first, then the change page — never a redirect between the two (it looped:
    ERR_TOO_MANY_REDIRECTS for every account an administrator had given a password)."""
    from tests.otp import code_for, give_authenticator

    device = give_authenticator(schools.psych_b)
    client_for(schools.sysadmin).post(
        reverse("access:account-reset-password", args=["psych_b"]),
        {"password": "Reset-Kq7-Passw0rd"},
    )
    client = Client()
    client.post(reverse("login"), {"username": "psych_b", "password": "Reset-Kq7-Passw0rd"})

    step = client.get(reverse("home"), follow=True)  # a redirect cycle raises here

    verify = reverse("two_factor:verify")
    assert step.status_code == 200
    assert step.redirect_chain[-1][0].startswith(verify)
    done = client.post(
        step.redirect_chain[-1][0], {"code": code_for(device), "next": "/"}, follow=True
    )
    assert done.status_code == 200
    assert done.redirect_chain[-1][0] == reverse("account:password-change")


def test_reset_by_the_administrator_must_be_changed_then_the_flag_clears(schools, client_for):
    client_for(schools.sysadmin).post(
        reverse("access:account-reset-password", args=["psych_b"]),
        {"password": "Reset-Kq7-Passw0rd"},
    )
    client = _sign_in("psych_b", "Reset-Kq7-Passw0rd")
    assert client.get(reverse("home")).status_code == 302

    response = _change(client, "Reset-Kq7-Passw0rd", NEW)

    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    assert not PasswordState.objects.get(user=schools.psych_b).must_change
    again = _sign_in("psych_b", NEW)
    assert again.get(reverse("home")).status_code == 200


def test_reset_by_the_administrator_ends_the_users_sessions(schools, client_for):
    victim = client_for(schools.psych_b)
    assert victim.get(reverse("home")).status_code == 200

    client_for(schools.sysadmin).post(
        reverse("access:account-reset-password", args=["psych_b"]),
        {"password": "Reset-Kq7-Passw0rd"},
    )

    assert victim.get(reverse("home")).status_code == 302


def test_an_imported_password_must_be_changed(db):
    """The roster import creates no accounts today; an import that sets a password calls
    require_password_change, as the administrator's services do."""
    from xinqiao.access.passwords import require_password_change

    user = get_user_model().objects.create_user("imported", password="Import-Kq7-Passw0rd")
    require_password_change(user=user)

    client = _sign_in("imported", "Import-Kq7-Passw0rd")

    assert client.get(reverse("home"))["Location"] == reverse("account:password-change")


def test_a_user_whose_own_password_it_is_goes_straight_in(schools):
    client = _sign_in(schools.psych.username, PASSWORD)

    assert client.get(reverse("home")).status_code == 200
