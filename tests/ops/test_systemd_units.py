"""The supervision docs/operations.md installs: every long-running process under systemd, back
1 s after any exit however often, running the commands the guide documents."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
LONG_RUNNING = {
    "xinqiao-web.service": "gunicorn config.wsgi",
    "xinqiao-worker.service": "celery -A config worker",
    "xinqiao-beat.service": "celery -A config beat",
}


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path)
    return parser


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_each_process_is_restarted_at_once_however_often(name):
    service = unit(UNITS / name)
    assert service["Service"]["Restart"] == "always"
    assert int(service["Service"]["RestartSec"]) <= 1
    assert service["Unit"]["StartLimitIntervalSec"] == "0"  # systemd never gives up
    assert LONG_RUNNING[name] in service["Service"]["ExecStart"]
    assert name in unit(UNITS / "xinqiao.target")["Unit"]["Wants"]


def test_the_operations_guide_installs_what_is_shipped():
    guide = (ROOT / "docs" / "operations.md").read_text()
    for path in UNITS.rglob("*"):
        if path.is_file():
            assert path.name in guide, f"docs/operations.md does not install {path.name}"


def test_the_watchdog_restarts_a_worker_that_stopped_reporting():
    service = unit(UNITS / "xinqiao-watchdog.service")["Service"]["ExecStart"]
    assert "manage.py health --only worker || systemctl restart xinqiao-worker.service" in service
    assert unit(UNITS / "xinqiao-watchdog.timer")["Timer"]["OnUnitActiveSec"] == "1min"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_units(tmp_path):
    """`systemd-analyze verify` on copies whose programs point at this checkout's virtualenv."""
    venv_bin = str(Path(sys.executable).parent) + "/"
    for path in UNITS.glob("xinqiao*"):
        text = path.read_text().replace("/opt/xinqiao/.venv/bin/", venv_bin)
        (tmp_path / path.name).write_text(text.replace("=xinqiao\n", "=root\n"))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "xinqiao" not in result.stderr, result.stderr  # no warning about our units
