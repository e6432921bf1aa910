"""The product speaks Simplified Chinese by default; English is one switch away."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from xinqiao.access.roles import Role

from ..factories import StaffFactory


@pytest.fixture
def chinese_default(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        yield


def test_login_page_is_chinese_by_default(db, chinese_default):
    body = Client().get(reverse("login")).content.decode()
    assert 'lang="zh-CN"' in body
    assert "登录" in body


def test_english_is_chosen_by_the_browser(db, chinese_default):
    body = Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("login")).content.decode()
    assert 'lang="en"' in body
    assert "Sign in" in body


def test_home_tiles_are_chinese_for_a_teacher(db, client_for, chinese_default):
    psych = StaffFactory(role=Role.PSYCHOLOGY_TEACHER).user
    body = client_for(psych).get(reverse("home")).content.decode()
    assert "学生" in body
