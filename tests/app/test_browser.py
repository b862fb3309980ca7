"""A lesson served to headless Chromium: two tabs run two independent apps, keys reach the right one,
and a wrong token is refused (benchmarks/browser_lesson.py drives it). Skipped where Chromium is missing
(Debian: apt-get install -y chromium)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.browser_lesson import chromium, drive

pytestmark = [pytest.mark.slow, pytest.mark.skipif(chromium() is None, reason="Chromium is not installed")]


def test_a_served_lesson_in_two_tabs_of_headless_chromium(tmp_path: Path) -> None:
    result = asyncio.run(drive(chromium(), "bayes", tmp_path))
    failed = [name for name, ok in result["checks"].items() if not ok]
    assert not failed, failed
    shots = {path.name for path in tmp_path.glob("*.png")}
    assert {"classroom-bayes-page1.png", "classroom-bayes-page3.png", "classroom-refused.png"} <= shots
