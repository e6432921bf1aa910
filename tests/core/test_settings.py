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


@pytest.mark.parametrize("variable", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY"])
@pytest.mark.parametrize("how", ["unset", "empty", "dev-default"])
def test_production_refuses_a_default_secret(tmp_path, variable, how):
    from config import settings as config

    dev_default = {
        "SECRET_KEY": config._DEV_SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": config._DEV_FIELD_ENCRYPTION_KEY,
    }[variable]
    value = {"unset": None, "empty": "", "dev-default": dev_default}[how]
    result = run(["-c", SETUP], tmp_path, **production(tmp_path, **{variable: value}))
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "ImproperlyConfigured" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert variable in last
    assert f"Set the environment variable {variable}" in last


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
