"""Settings: the embedded default needs nothing, production refuses default secrets, and
`check --deploy` is clean on production settings. Each case runs in a fresh interpreter with a
clean environment, because settings are read once at start-up."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = "import django; django.setup(); print('started')"


def run(args: list[str], tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "XINQIAO_VAR_DIR": str(tmp_path / "var"),
        **variables,
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def production(tmp_path: Path, **overrides: str) -> dict[str, str]:
    values = {
        "XINQIAO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "AUDIT_CHAIN_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ALLOWED_HOSTS": "xinqiao.example.edu.cn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def test_embedded_default_starts_without_any_variable(tmp_path):
    result = run(["-c", SETUP], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


def test_embedded_default_check_is_clean(tmp_path):
    result = run(["manage.py", "check", "--fail-level", "WARNING"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


WEAK = {
    "SECRET_KEY": {"short": "x" * 20, "repeated": "a" * 60},
    "FIELD_ENCRYPTION_KEY": {
        "short": base64.b64encode(b"0123456789abcdef").decode(),  # 16 bytes
        "repeated": base64.b64encode(b"\x00" * 32).decode(),
        "phrase": "a passphrase that is not base64!",
    },
}


@pytest.mark.parametrize(
    ("variable", "how"),
    [
        *[(v, how) for v in WEAK for how in ("unset", "empty")],
        *[(v, how) for v, cases in WEAK.items() for how in cases],
    ],
)
def test_production_refuses_a_missing_or_weak_secret(tmp_path, variable, how):
    value = {"unset": None, "empty": ""}.get(how, WEAK[variable].get(how))
    result = run(["-c", SETUP], tmp_path, **production(tmp_path, **{variable: value}))
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "ImproperlyConfigured" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert variable in last
    assert f"Set the environment variable {variable}" in last


def test_an_instance_makes_its_own_keys_on_first_start(tmp_path):
    """Issue 13: the embedded default used a key from the repository, so its database could be
    decrypted by anyone with the code. Each instance now generates its own, once."""
    script = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.SECRET_KEY); print(s.FIELD_ENCRYPTION_KEY)"
    )
    first = run(["-c", script], tmp_path / "a")
    again = run(["-c", script], tmp_path / "a")
    other = run(["-c", script], tmp_path / "b")

    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout  # kept in the instance folder
    assert first.stdout != other.stdout  # never shared between instances
    secret_key, field_key = first.stdout.split()
    assert len(base64.b64decode(field_key)) == 32
    assert len(secret_key) >= 50
    stored = tmp_path / "a" / "var" / "instance-secrets.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    tracked = subprocess.run(
        ["git", "grep", "-l", field_key], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert tracked.stdout == ""  # no key of an instance is in the repository


def test_production_refuses_to_turn_two_factor_off(tmp_path):
    result = run(["-c", SETUP], tmp_path, **production(tmp_path, OTP_REQUIRED="false"))
    assert result.returncode != 0
    assert "OTP_REQUIRED" in result.stderr.strip().splitlines()[-1]


def test_production_starts_with_real_secrets(tmp_path):
    result = run(["-c", SETUP], tmp_path, **production(tmp_path))
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_on_production_settings(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        **production(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_production_is_secure_by_default(tmp_path):
    script = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS >= 31536000, s.ALLOWED_HOSTS)"
    )
    result = run(["-c", script], tmp_path, **production(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False True True True True ['xinqiao.example.edu.cn']"


def test_production_refuses_to_start_without_an_audit_chain_key(tmp_path):
    result = run(["-c", SETUP], tmp_path, **production(tmp_path, AUDIT_CHAIN_KEY=None))
    assert result.returncode != 0
    assert "AUDIT_CHAIN_KEY is not set" in result.stderr


def test_embedded_default_generates_its_own_audit_chain_key(tmp_path):
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.AUDIT_CHAIN_KEY)"
    )
    first = run(["-c", script], tmp_path)
    again = run(["-c", script], tmp_path)
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert key == again.stdout.strip()  # kept in the instance folder, not made anew each start
    assert len(base64.b64decode(key)) == 32
    assert key not in (ROOT / "config" / "settings.py").read_text()
