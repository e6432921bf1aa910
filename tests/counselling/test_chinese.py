"""Every counselling and mentor-system page, opened in Chinese with data on it by the role that
works it, carries no English word (tests/core/test_chinese_pages.py's parser and allow-list):
an unmarked string or a msgid without a translation fails here."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.core.test_chinese_pages import ALLOWED, WORD, _Text

from . import tour

pytestmark = pytest.mark.django_db

# The example of a personal code on the student's sign-in ("e.g. ABCD-EFGH").
EXAMPLES = {"ABCD", "EFGH"}


def _english(html: str, data: set[str]) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return sorted(
        {w for w in WORD.findall(" ".join(parser.text)) if w not in ALLOWED | EXAMPLES | data}
    )


def test_no_english_on_the_counselling_and_mentoring_pages(world, client_for, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    pages = tour.build(world)
    usernames = get_user_model().objects.values_list("username", flat=True)
    data = set(WORD.findall(" ".join(usernames)))
    found: dict[str, list[str]] = {}
    for persona, paths in pages.items():
        client = client_for(getattr(world, persona))
        for path in paths:
            response = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
            if response.status_code != 200:
                found[f"{persona} {path}"] = [str(response.status_code)]
                continue
            words = _english(response.content.decode(), data)
            if words:
                found[f"{persona} {path}"] = words
    student = Client()
    entry = reverse("counselling:school-entry", kwargs={"code": world.school_a.code})
    for path in (entry, reverse("counselling:student-enter")):
        words = _english(student.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode(), data)
        if words:
            found[f"student {path}"] = words
    assert student.post(entry, {"personal_code": world.personal_code}).status_code == 302
    home = student.get(reverse("counselling:student-home"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert 'data-testid="student-page"' in home.content.decode()
    words = _english(home.content.decode(), data)
    if words:
        found["student home"] = words
    assert found == {}, "\n".join(f"{page}: {' '.join(words)}" for page, words in found.items())
