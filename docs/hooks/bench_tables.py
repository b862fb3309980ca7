"""MkDocs hook: results pages include the tables `python -m sandbox bench ...` wrote.

A line `<!-- bench-table: NAME.md -->` in a page is replaced by that file (a path relative to
the page, e.g. one `bench` wrote into docs/results/), its headings moved one level down so
its `# Title` nests under the page's sections, and indented as the marker is (so a table can
sit inside a collapsible block). The numbers are never copied by hand: a rerun
of the command rewrites the file, and the next build shows it. A missing file fails the build.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

MARKER = re.compile(r"^(?P<indent>[ ]*)<!-- bench-table: (?P<path>\S+) -->$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~)")


def demote_headings(text: str) -> str:
    """`# X` becomes `## X` (and so on), outside fenced code."""
    lines, in_fence = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and re.match(r"^#{1,5} ", line):
            line = "#" + line
        lines.append(line)
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    page_dir = posixpath.dirname(page.file.src_uri)

    def include(match: re.Match[str]) -> str:
        relative = posixpath.normpath(posixpath.join(page_dir, match["path"]))
        path = Path(config["docs_dir"]) / relative
        if not path.is_file():
            raise PluginError(f"{page.file.src_uri}: bench table {match['path']!r} not found (looked for docs/{relative})")
        text = demote_headings(path.read_text(encoding="utf-8"))
        return "\n".join(match["indent"] + line if line else line for line in text.splitlines())

    return MARKER.sub(include, markdown)
