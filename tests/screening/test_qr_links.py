"""The QR codes we draw decode to the addresses students must open (decoded with zxing-cpp)."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp
from django.test import RequestFactory

from xinqiao.core.qr import qr_code, qr_svg
from xinqiao.screening.taking.links import personal_url, sitting_url


def decode(data: str) -> list[str]:
    """Draw the QR code of `data` as a bitmap (4 px a module, quiet zone) and read it back."""
    matrix = np.array([list(row) for row in qr_code(data).matrix], dtype=np.uint8)
    image = np.kron(255 * (1 - np.pad(matrix, 4)), np.ones((4, 4), dtype=np.uint8))
    return [found.text for found in zxingcpp.read_barcodes(image.astype(np.uint8))]


@pytest.fixture
def request_(settings):
    settings.ALLOWED_HOSTS = ["xq.school.example"]
    return RequestFactory().get("/", HTTP_HOST="xq.school.example", secure=True)


def test_sitting_link_fills_in_the_sitting_code(request_):
    url = sitting_url(request_, "K7Q2MX")
    assert url == "https://xq.school.example/take/?code=K7Q2MX"
    assert decode(url) == [url]


def test_personal_link_keeps_the_code_in_the_fragment(request_):
    url = personal_url(request_, "ABCDEFGH")
    assert url == "https://xq.school.example/take/#p=ABCDEFGH"
    assert decode(url) == [url]


def test_svg_is_the_drawn_code(request_):
    url = sitting_url(request_, "K7Q2MX")
    svg = qr_svg(url, title="签到页二维码", css_class="qr sitting-qr")
    assert svg.startswith("<svg ")
    assert 'class="qr sitting-qr"' in svg
    assert "<title>签到页二维码</title>" in svg
    assert "<script" not in svg
    # The same modules as the code decoded above: segno's drawing of exactly this URL.
    assert (
        qr_code(url)
        .svg_inline(scale=1, border=4, omitsize=True)
        .split("<path", 1)[1]
        .split('d="', 1)[1]
        in svg
    )
