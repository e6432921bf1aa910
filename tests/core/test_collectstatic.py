"""Production serves hashed static files: collectstatic must succeed with the manifest storage."""

from pathlib import Path

from tests.core.test_settings import production, run

ROOT = Path(__file__).resolve().parents[2]


def test_production_collectstatic_builds_the_manifest(tmp_path):
    assert (ROOT / "build" / "static" / "vendor").is_dir(), "run `make assets` first"
    static_root = tmp_path / "static"
    result = run(
        ["manage.py", "collectstatic", "--noinput"],
        tmp_path,
        **production(tmp_path, STATIC_ROOT=str(static_root)),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (static_root / "staticfiles.json").is_file()
    assert list(static_root.glob("vendor/bootstrap/bootstrap.min.*.css"))
