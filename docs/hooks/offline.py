"""MkDocs hook: the built site loads nothing from another host.

After the build, every HTML, CSS and SVG file in the site is searched for a script, style sheet,
image or font fetched over http(s) (`<script src=`, `<link href=`, `<img src=`, CSS `url(` and
`@import`); one found fails the build with the file and the address. Plain links (`<a href>`)
are fine: a reader follows them, the page does not fetch them; so are `<link rel="canonical">`
and its kin (they name a page, nothing is loaded) and loopback addresses (`mkdocs serve`'s own).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

FETCHED = re.compile(
    r"""<script[^>]*\ssrc=["']?(https?://[^"'\s>]+)"""
    r"""|<link(?![^>]*\srel=["']?(?:canonical|alternate|prev|next)\b)[^>]*\shref=["']?(https?://[^"'\s>]+)"""
    r"""|<img[^>]*\ssrc=["']?(https?://[^"'\s>]+)"""
    r"""|url\(\s*["']?(https?://[^"')\s]+)"""
    r"""|@import\s+["'](https?://[^"']+)""",
    re.IGNORECASE,
)
SUFFIXES = {".html", ".css", ".svg"}
LOOPBACK = re.compile(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/")


def on_post_build(config: Any) -> None:
    site = Path(config["site_dir"])
    found = []
    for path in sorted(site.rglob("*")):
        if path.suffix in SUFFIXES and path.is_file():
            for match in FETCHED.finditer(path.read_text(encoding="utf-8", errors="replace")):
                address = next(group for group in match.groups() if group)
                if not LOOPBACK.match(address):  # `mkdocs serve` names its own address
                    found.append(f"{path.relative_to(site)}: {address}")
    if found:
        raise PluginError("the site would fetch from the internet: " + "; ".join(found[:5]))
