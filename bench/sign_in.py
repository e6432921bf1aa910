"""Staff sign-in: where the time goes, and how it compares with the password hash alone.

On a scratch PostgreSQL database with the product's hashers (Argon2id at OWASP's parameters,
xinqiao/access/hashers.py), times the real sign-in — POST /accounts/login/ through Django's test
client with the whole middleware (axes, sessions, CSRF off as in the client) — and, in the same
run, the floor: verifying the same password against its stored hash alone. Also prints what the
old hasher (PBKDF2, Django 5.2's 1,000,000 iterations) costs per verification, and the
statements a sign-in issues. Prints the RESULT line last: value = sign-ins/s, floor = bare
hash verifications/s.

    python bench/sign_in.py [--quick]
"""

from __future__ import annotations

import argparse
import time

from _common import result_line, use_scratch_database

PASSWORD = "Bench-Sign-In-2026!"  # noqa: S105 - a scratch database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    rounds = 10 if parser.parse_args().quick else 100
    use_scratch_database("bench_sign_in")

    from django.conf import settings
    from django.contrib.auth.hashers import check_password, make_password
    from django.db import connection
    from django.test import Client

    from xinqiao.access.services import create_staff
    from xinqiao.orgs.services import create_unit

    settings.ALLOWED_HOSTS = ["*"]
    city = create_unit(actor=None, parent=None, kind="city", name="示例市")
    district = create_unit(actor=None, parent=city, kind="district", name="甲区")
    school = create_unit(
        actor=None, parent=district, kind="school", name="一中", stage="junior", school_code="1"
    )
    users = [
        create_staff(
            actor=None,
            username=f"psych{i}",
            name=f"心理老师{i}",
            org_unit=school,
            password=PASSWORD,
            roles=[("psychology_teacher", school)],
        ).user
        for i in range(rounds)
    ]
    assert users[0] is not None
    stored = users[0].password
    assert stored.startswith("argon2$argon2id$"), stored

    def sign_in(i: int) -> None:
        client = Client()
        response = client.post("/accounts/login/", {"username": f"psych{i}", "password": PASSWORD})
        assert response.status_code == 302, response.status_code

    statements: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        sign_in(0)
    started = time.perf_counter()
    for i in range(1, rounds):
        sign_in(i)
    per_sign_in = (time.perf_counter() - started) / (rounds - 1)

    started = time.perf_counter()
    for _ in range(rounds):
        assert check_password(PASSWORD, stored)
    per_hash = (time.perf_counter() - started) / rounds

    old = make_password(PASSWORD, hasher="pbkdf2_sha256")
    started = time.perf_counter()
    for _ in range(3):
        check_password(PASSWORD, old, setter=None)
    per_old = (time.perf_counter() - started) / 3

    print(f"sign-in: {per_sign_in * 1000:.0f} ms, {len(statements)} statements")
    print(f"Argon2id verification alone: {per_hash * 1000:.0f} ms")
    print(f"PBKDF2 (1,000,000 iterations) verification, the hasher before: {per_old * 1000:.0f} ms")
    print(result_line("sign_in", 1 / per_sign_in, "sign-ins/s", 1 / per_hash))


if __name__ == "__main__":
    main()
