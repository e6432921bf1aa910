"""The zh-hans catalogue is complete: every gettext string of the project has a translation.

The msgids are extracted from a temporary copy of the source (the real catalogue is never touched)
with Django's own `makemessages` when GNU gettext is installed, else with a pure-Python extractor
(Python's `ast` for .py files, Django's `templatize` for templates). Each msgid must have a
non-empty, non-fuzzy msgstr in xinqiao/locale/zh_Hans/LC_MESSAGES/<domain>.po.
To fix a failure: `python scripts/update_catalogue.py`, translate the new entries, then
`python scripts/compile_messages.py`.
"""

from __future__ import annotations

import ast
import io
import os
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALE = "zh_Hans"
CATALOGUE = ROOT / "xinqiao" / "locale" / LOCALE / "LC_MESSAGES"
SOURCES = ("xinqiao", "config")
HAS_GETTEXT = shutil.which("xgettext") is not None and shutil.which("msgmerge") is not None

Key = tuple[str, str]  # (msgctxt, msgid)

# gettext function name → (index of msgctxt or None, index of msgid)
FUNCTIONS = {
    "_": (None, 0),
    "gettext": (None, 0),
    "gettext_lazy": (None, 0),
    "gettext_noop": (None, 0),
    "ngettext": (None, 0),
    "ngettext_lazy": (None, 0),
    "pgettext": (0, 1),
    "pgettext_lazy": (0, 1),
    "npgettext": (0, 1),
    "npgettext_lazy": (0, 1),
}
JS_FUNCTIONS = ("gettext", "ngettext", "pgettext", "npgettext", "interpolate")


def copy_sources(target: Path) -> Path:
    """The project's source without its catalogues, under `target`/src."""
    src = target / "src"
    for name in SOURCES:
        shutil.copytree(
            ROOT / name, src / name, ignore=shutil.ignore_patterns("locale", "__pycache__", "*.pyc")
        )
    (src / "locale").mkdir()
    return src


def extract_with_makemessages(src: Path, domain: str) -> dict[Key, polib.POEntry]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            LOCALE,
            "-d",
            domain,
            "--ignore",
            "vendor",
        ],
        cwd=src,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    po = src / "locale" / LOCALE / "LC_MESSAGES" / f"{domain}.po"
    if not po.exists():
        return {}
    return {(e.msgctxt or "", e.msgid): e for e in polib.pofile(str(po)) if e.msgid}


def _python_keys(code: str) -> set[Key]:
    keys: set[Key] = set()
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in FUNCTIONS:
            continue
        ctx_at, msg_at = FUNCTIONS[name]
        args = node.args
        if len(args) <= msg_at or not _is_str(args[msg_at]):
            continue
        ctx = args[ctx_at].value if ctx_at is not None and _is_str(args[ctx_at]) else ""
        keys.add((ctx, args[msg_at].value))
    return keys


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _template_keys(text: str) -> set[Key]:
    """Keys of a template, read from templatize's gettext-call rendering of it."""
    from django.utils.translation.template import templatize

    # Only the gettext(...) calls matter; drop indentation so tokenize accepts every line.
    rendered = "\n".join(line.lstrip() for line in templatize(text).splitlines())
    keys: set[Key] = set()
    tokens = list(tokenize.generate_tokens(io.StringIO(rendered).readline))
    for i, token in enumerate(tokens):
        if token.type != tokenize.NAME or token.string not in FUNCTIONS:
            continue
        if i + 1 >= len(tokens) or tokens[i + 1].string != "(":
            continue
        strings: list[str] = []
        for following in tokens[i + 2 :]:
            if following.string == ")":
                break
            if following.type == tokenize.STRING:
                strings.append(ast.literal_eval(following.string))
        ctx_at, msg_at = FUNCTIONS[token.string]
        if len(strings) > msg_at:
            keys.add((strings[ctx_at] if ctx_at is not None else "", strings[msg_at]))
    return keys


def extract_in_python(src: Path) -> set[Key]:
    """The `django` domain's keys without GNU gettext."""
    keys: set[Key] = set()
    for path in sorted(src.rglob("*")):
        if path.suffix == ".py":
            keys |= _python_keys(path.read_text(encoding="utf-8"))
        elif path.suffix in (".html", ".txt") and "templates" in path.parts:
            keys |= _template_keys(path.read_text(encoding="utf-8"))
    return keys


def js_uses_gettext() -> bool:
    for path in (ROOT / "xinqiao" / "static").rglob("*.js"):
        if "vendor" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if any(f"{name}(" in text for name in JS_FUNCTIONS):
            return True
    return False


def untranslated(keys: set[Key] | dict[Key, polib.POEntry], domain: str) -> list[str]:
    po_path = CATALOGUE / f"{domain}.po"
    catalogue = (
        {(e.msgctxt or "", e.msgid): e for e in polib.pofile(str(po_path))}
        if po_path.exists()
        else {}
    )
    missing = []
    for ctx, msgid in sorted(keys):
        entry = catalogue.get((ctx, msgid))
        if entry is None or entry.obsolete or "fuzzy" in entry.flags:
            missing.append(msgid if not ctx else f"{ctx}|{msgid}")
            continue
        if entry.msgid_plural:
            translated = entry.msgstr_plural and all(entry.msgstr_plural.values())
        else:
            translated = bool(entry.msgstr)
        if not translated:
            missing.append(msgid if not ctx else f"{ctx}|{msgid}")
    return missing


def _report(missing: list[str], domain: str) -> str:
    shown = "\n  ".join(missing[:40]) + ("\n  …" if len(missing) > 40 else "")
    return (
        f"{len(missing)} string(s) without a zh-hans translation in "
        f"xinqiao/locale/{LOCALE}/LC_MESSAGES/{domain}.po (run scripts/update_catalogue.py, "
        f"translate, run scripts/compile_messages.py):\n  {shown}"
    )


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return copy_sources(tmp_path_factory.mktemp("i18n"))


@pytest.fixture(scope="module")
def extracted(sources):
    """The `django` domain's keys: makemessages when gettext is installed, else our extractor."""
    if HAS_GETTEXT:
        return set(extract_with_makemessages(sources, "django"))
    print("\n!!! GNU gettext not installed: extracting msgids with the pure-Python extractor")
    return extract_in_python(sources)


def test_extraction_finds_the_project_strings(extracted):
    # A sanity floor so that a broken extraction cannot pass as "nothing to translate".
    assert ("", "Audit log") in extracted
    assert ("", "Xinqiao") in extracted
    assert len(extracted) > 100


def test_every_string_has_a_zh_hans_translation(extracted):
    missing = untranslated(extracted, "django")
    assert missing == [], _report(missing, "django")


def test_every_javascript_string_has_a_zh_hans_translation(sources):
    if not js_uses_gettext():
        pytest.skip("no gettext() in our JavaScript: the djangojs domain is empty")
    if not HAS_GETTEXT:
        pytest.skip("!!! GNU gettext not installed: cannot extract the djangojs domain")
    keys = extract_with_makemessages(sources, "djangojs")
    missing = untranslated(keys, "djangojs")
    assert missing == [], _report(missing, "djangojs")


@pytest.mark.skipif(not HAS_GETTEXT, reason="needs GNU gettext to compare against")
def test_python_extractor_agrees_with_makemessages(sources, extracted):
    # Keeps the fallback honest on machines without gettext.
    ours = extract_in_python(sources)
    assert sorted(extracted - ours) == [], "the pure-Python extractor misses these strings"
    assert sorted(ours - extracted) == [], (
        "makemessages (xgettext) cannot see these gettext calls, so they can never be translated: "
        "a call inside an f-string is the usual cause; move it out of the f-string"
    )


def _aliases(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Names a translation function goes by that the extractor does not know: `import gettext
    as t`, `t = gettext_lazy`, `t = _`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            for name in node.names:
                if name.name in FUNCTIONS and name.asname not in (None, "_"):
                    yield node.lineno, f"{name.name} as {name.asname}"
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Name)
            and node.value.id in FUNCTIONS
        ):
            yield node.lineno, f"{ast.unparse(node.targets[0])} = {node.value.id}"


def test_no_translation_function_goes_by_an_alias_the_extractor_misses():
    """A label marked with an alias is never extracted, so it stays English in a Chinese page."""
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in sorted((ROOT / "xinqiao").rglob("*.py"))
        for line, what in _aliases(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == []


def test_the_alias_check_sees_both_shapes():
    source = "from django.utils.translation import gettext_lazy as t\nlabel = gettext\n"
    assert [what for _l, what in _aliases(ast.parse(source))] == [
        "gettext_lazy as t",
        "label = gettext",
    ]
