"""MkDocs hook: results pages include the tables `python -m sandbox bench ...` wrote.

A line `<!-- bench-table: NAME.md -->` in a page is replaced by that file (a path relative to
the page, e.g. one `bench` wrote into docs/results/), its headings moved one level down so
its `# Title` nests one level under the section it is placed in, and indented as the marker is (so a table can
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


HEADING = re.compile(r"^(#{1,6}) ")


def headings(text: str) -> list[tuple[int, int]]:
    """(offset, level) of each Markdown heading outside fenced code."""
    found, in_fence, offset = [], False, 0
    for line in text.splitlines(keepends=True):
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (match := HEADING.match(line)):
            found.append((offset, len(match[1])))
        offset += len(line)
    return found


def demote_headings(text: str, by: int) -> str:
    """Every heading `by` levels down (at most to level 6), outside fenced code."""
    lines, in_fence = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (match := HEADING.match(line)):
            line = "#" * min(6, len(match[1]) + by) + line[len(match[1]) :]
        lines.append(line)
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    page_dir = posixpath.dirname(page.file.src_uri)
    page_headings = headings(markdown)

    def include(match: re.Match[str]) -> str:
        relative = posixpath.normpath(posixpath.join(page_dir, match["path"]))
        path = Path(config["docs_dir"]) / relative
        if not path.is_file():
            raise PluginError(f"{page.file.src_uri}: bench table {match['path']!r} not found (looked for docs/{relative})")
        section = max((level for offset, level in page_headings if offset < match.start()), default=1)
        text = demote_headings(path.read_text(encoding="utf-8"), by=section)
        return "\n".join(match["indent"] + line if line else line for line in text.splitlines())

    return MARKER.sub(include, markdown)
