"""Update the zh-hans catalogues from the source, keeping the translations already there.

    python scripts/update_catalogue.py

Runs `manage.py makemessages -l zh_Hans` for the `django` domain (Python and templates) and the
`djangojs` domain (our own static JavaScript), writing xinqiao/locale/zh_Hans/LC_MESSAGES/*.po.
makemessages merges with msgmerge, so existing translations stay; new strings arrive with an empty
msgstr (and near matches as `fuzzy`), which tests/core/test_i18n.py reports until translated.
Needs GNU gettext (`apt-get install gettext`). Compile with scripts/compile_messages.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = "zh_Hans"
# Everything that is not our shipped source: third-party code, build output, tests, tooling.
IGNORE = [
    "node_modules",
    "build",
    "staticfiles",
    "var",
    "tests",
    "bench",
    "scripts",
    "docs",
    "vendor",
]


def makemessages(domain: str, root: Path = ROOT) -> None:
    command = [
        sys.executable,
        "manage.py",
        "makemessages",
        "-l",
        LOCALE,
        "-d",
        domain,
        "--no-obsolete",
    ]
    for pattern in IGNORE:
        command += ["--ignore", pattern]
    subprocess.run(command, cwd=root, check=True)  # noqa: S603 - fixed argv, our own manage.py


def main() -> int:
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        print("GNU gettext is missing: apt-get install gettext", file=sys.stderr)
        return 1
    (ROOT / "xinqiao" / "locale" / LOCALE / "LC_MESSAGES").mkdir(parents=True, exist_ok=True)
    makemessages("django")
    makemessages("djangojs")
    print(f"catalogues updated under xinqiao/locale/{LOCALE}/LC_MESSAGES/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
