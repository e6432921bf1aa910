"""Every page a user can reach, in Chinese, carries no English: crawl the site from home as every
role (GET only, following the links each page shows) and fail on an English word outside the
allow-list of names that are the same in Chinese (scale acronyms, file formats)."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest

from tests.factories import ALL_PERSONAS

pytestmark = pytest.mark.django_db

# Written the same way in a Chinese page.
ALLOWED = {
    "ASQ", "PHQ", "GAD", "WHO", "PSC", "MHT", "SCARED", "RCADS", "CES", "DSRSC", "MSSMHS",
    "XLSX", "xlsx", "CSV", "csv", "PDF", "JPEG", "PNG", "JSON", "YAML", "Excel", "GBK", "UTF",
    "ICD", "PIPL", "Xinqiao", "English", "Word",
    "zsm",  # the pickers' example of pinyin initials (张三明 → zsm)
}  # fmt: skip
WORD = re.compile(r"[A-Za-z]{3,}")
# Elements whose content is not interface text: code, data being edited, and text marked as
# another language (citations) or as names not to translate.
SKIPPED = ("script", "style", "code", "pre", "textarea", "title")  # a title repeats the h1
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
PAGES_PER_ROLE = 80
NOT_PAGES = ("/accounts/logout", "/i18n/", "/static/", "/media/")


class _Text(HTMLParser):
    """Visible text and same-site links of a page (no scripts, styles or attribute values
    except the ones people read: title, placeholder, aria-label, alt)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self._skip = 0
        self._stack: list[str] = []  # open skipped elements (void elements never enter)

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        values = dict(attrs)
        foreign = (values.get("lang") or "zh").startswith("en") or values.get("translate") == "no"
        if self._skip or tag in SKIPPED or foreign:
            if tag not in VOID:
                self._stack.append(tag)
                self._skip += 1
            return
        for name in ("title", "placeholder", "aria-label", "alt"):
            if values.get(name):
                self.text.append(values[name])
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])

    def handle_startendtag(self, tag, attrs):  # type: ignore[no-untyped-def]
        values = dict(attrs)
        if not self._skip:
            for name in ("title", "placeholder", "aria-label", "alt"):
                if values.get(name):
                    self.text.append(values[name])

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()
            self._skip -= 1

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if not self._skip:
            self.text.append(data)


def _crawl(client, data: set[str], reached: set[str] | None = None) -> dict[str, list[str]]:
    """{path: English words} for every page reached from home; `data`: words that are data
    (user names), not interface text; `reached` collects the pages read."""
    seen, queue, found = {"/"}, deque(["/"]), {}
    while queue and len(seen) <= PAGES_PER_ROLE:
        path = queue.popleft()
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        if reached is not None:
            reached.add(path)
        parser = _Text()
        parser.feed(response.content.decode())
        words = sorted({w for w in WORD.findall(" ".join(parser.text)) if w not in ALLOWED | data})
        if words:
            found[path] = words
        for href in parser.links:
            url = urldefrag(href).url
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or not url.startswith("/"):
                continue
            if url.startswith(NOT_PAGES):
                continue
            if url.endswith((".xlsx", ".csv", ".pdf")) or url in seen:
                continue
            seen.add(url)
            queue.append(url)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("persona", ALL_PERSONAS)
def test_no_english_on_any_page_in_chinese(world, client_for, settings, persona):
    settings.LANGUAGE_CODE = "zh-hans"
    from django.contrib.auth import get_user_model

    usernames = get_user_model().objects.values_list("username", flat=True)
    found = _crawl(client_for(getattr(world, persona)), set(WORD.findall(" ".join(usernames))))
    assert found == {}, "\n".join(f"{path}: {' '.join(words)}" for path, words in found.items())


def test_the_parents_crawl_reaches_their_own_pages(world, client_for, settings):
    """The parent persona's crawl covers the family pages, a child's page with its consent form
    among them (a campaign asking guardian consent is open)."""
    import datetime

    from django.urls import reverse
    from django.utils import timezone

    from xinqiao.screening import services as screening_services

    settings.LANGUAGE_CODE = "zh-hans"
    now = timezone.now()
    campaign = screening_services.create_campaign(
        actor=world.psych,
        name="新学期心理健康筛查",
        term=world.term,
        kind="term_start",
        owner_unit=world.school_a,
        units=[world.class_a1],
        opens_at=now - datetime.timedelta(hours=1),
        closes_at=now + datetime.timedelta(days=10),
        consent_basis="guardian_consent",
    )
    screening_services.open_campaign(actor=world.psych, campaign=campaign)
    reached: set[str] = set()
    found = _crawl(client_for(world.parent), {"parent"}, reached)
    assert found == {}
    family = {
        reverse("family:home"),
        reverse("family:child-detail", args=[world.stu_a1.code]),
        reverse("family:messages"),
        reverse("family:guidance"),
    }
    assert family <= reached
    assert not {p for p in reached if p.startswith("/students/")}
