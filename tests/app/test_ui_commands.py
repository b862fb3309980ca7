"""`python -m sandbox play`: the headless printout and the screenshot export."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.cli import main

FAST = ["--prior-model", "uniform", "--features", "hash", "--prior-cache", "none"]


def test_play_headless_prints_an_episode(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["play", "--headless", "--saves", str(tmp_path), *FAST]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Task: Cross the frozen lake") and "Episode over after" in out


def test_play_screenshot_writes_an_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "docs" / "screenshot.svg"
    assert main(["play", "--screenshot", str(path), "--screenshot-steps", "1", "--saves", str(tmp_path), *FAST]) == 0
    svg = path.read_text()
    assert svg.startswith("<svg") and "decision" in svg and "TextFrozenLake-v0" in svg
    assert not (tmp_path / "episodes").exists()  # a screenshot records nothing


def test_play_rejects_a_bad_env_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["play", "--headless", "--env-arg", "level", *FAST]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
