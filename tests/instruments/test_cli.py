"""`manage.py score_instrument`: JSON on stdout, clear errors on stderr with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from xinqiao.instruments.services import approve_instrument, import_instrument

from .test_engine_helpers import base_doc

ROOT = Path(__file__).resolve().parents[2]


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
        env=env,
    )


@pytest.fixture
def custom(db, tmp_path):
    path = tmp_path / "test-1.0.yaml"
    path.write_text(yaml.safe_dump(base_doc()))
    row = import_instrument(actor=None, file=path)
    approve_instrument(actor=None, code=row.code, version=row.version)
    return row


def score(*args: str) -> dict:
    out = StringIO()
    call_command("score_instrument", *args, stdout=out)
    return json.loads(out.getvalue())


def test_prints_the_result_object(custom):
    assert score("TEST", "--answers", "2,,2,1,1", "--json") == {
        "instrument": "TEST",
        "version": "1.0",
        "scores": {"total": 8.75},
        "bands": {"total": "mid"},
        "critical": ["5"],
        "missing": ["2"],
        "flags": [],
        "valid": True,
    }


def test_times_produce_flags(custom):
    result = score("TEST", "--answers", "1,2,0,3,0", "--times", "0.5,0.4,0.3,2,0.2", "--json")
    assert (result["flags"], result["valid"]) == (["too_fast"], False)


def test_version_option(custom):
    assert score("test", "--answers", "0,0,0,0,0", "--version", "1.0")["version"] == "1.0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["NOPE", "--answers", "1"], "unknown instrument NOPE"),
        (["TEST", "--answers", "1,2,3"], "TEST has 5 items, but 3 answers were given"),
        (
            ["TEST", "--answers", "1,2,3,4,0"],
            "item 4: 4 is not one of the option codes (0, 1, 2, 3)",
        ),
        (["TEST", "--answers", "1,2,x,0,0"], "answer 3: 'x' is not a number"),
        (["TEST", "--answers", "1,2,3,0,0", "--times", "1,2"], "TEST has 5 items, but 2 times"),
        (["TEST", "--answers", "1,2,3,0,0", "--version", "9"], "unknown instrument TEST version 9"),
    ],
)
def test_bad_input_exits_2_with_message(custom, args, message):
    with pytest.raises(CommandError) as info:
        call_command("score_instrument", *args)
    assert info.value.returncode == 2
    assert message in str(info.value)


@pytest.mark.slow
def test_real_process_library_instrument_and_exit_codes(migrated_sqlite):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{migrated_sqlite}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    ok = run(env, "score_instrument", "GAD-7", "--answers", "0,1,2,3,0,1,2", "--json")
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert (result["scores"], result["bands"]) == (
        {"total": 9, "gad2": 1},
        {"total": "mild", "gad2": "negative"},
    )
    bad = run(env, "score_instrument", "GAD-7", "--answers", "0,1,2,3,0,1,5")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert "item 7: 5 is not one of the option codes (0, 1, 2, 3)" in bad.stderr
    unknown = run(env, "score_instrument", "NOPE", "--answers", "0")
    assert (unknown.returncode, "unknown instrument NOPE" in unknown.stderr) == (2, True)
