"""QR codes as inline SVG, made on the server with segno (pure Python; nothing from a CDN, no
image files). Only dark modules are drawn, as one <path>; the SVG scales with CSS (viewBox)."""

from __future__ import annotations

from typing import Any

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_code(data: str) -> Any:
    """The QR code of `data` (error correction M: a slip can be creased or smudged a little)."""
    return segno.make_qr(data, error="m")


def qr_svg(data: str, *, title: str = "", css_class: str = "qr") -> SafeString:
    """`data` as an inline <svg> with a 4-module quiet zone and a title for screen readers."""
    svg = qr_code(data).svg_inline(
        scale=1, border=4, omitsize=True, svgclass=css_class, title=title or None
    )
    return mark_safe(svg)  # noqa: S308 - segno's own markup; it escapes the title
