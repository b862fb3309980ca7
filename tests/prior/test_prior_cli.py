"""`python -m sandbox prior`: a table for people, one JSON object for scripts, one error line for mistakes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.commands import prior as prior_command
from tests.conftest import REPO

JSON_KEYS = {"model", "mode", "actions", "probs", "ms", "cached", "gpu_layers", "variant"}


def run_prior(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    parser = argparse.ArgumentParser()
    prior_command.add_arguments(parser)
    assert prior_command.run(parser.parse_args(["--env", "TextFrozenLake-v0", *argv])) == 0
    return capsys.readouterr().out


def test_json_is_one_object_with_the_documented_keys(
    capsys: pytest.CaptureFixture[str], tiny_gguf: Path, tmp_path: Path
) -> None:
    tiny = ("--prior-model", str(tiny_gguf), "--threads", "1", "--prior-cache", str(tmp_path / "c.sqlite"))
    out = run_prior(capsys, "--json", *tiny)
    payload = json.loads(out)
    assert out.count("\n") == 1 and set(payload) == JSON_KEYS
    assert payload["mode"] == "score" and payload["cached"] is False and payload["gpu_layers"] == 0
    assert sum(payload["probs"]) == pytest.approx(1.0) and len(payload["probs"]) == len(payload["actions"])
    again = json.loads(run_prior(capsys, "--json", *tiny))
    assert again["cached"] is True and again["probs"] == payload["probs"]


def test_json_names_the_variant_and_the_scoring_options_in_force(
    capsys: pytest.CaptureFixture[str], tiny_gguf: Path
) -> None:
    tiny = ("--prior-model", str(tiny_gguf), "--threads", "1", "--prior-cache", "none")
    judged = json.loads(run_prior(capsys, "--json", "--prior-variant", "judge", *tiny))["variant"]
    assert judged["name"] == "judge" and judged["judge"] is True and judged["order"] == "given"
    levers = {"length_norm", "calibrate", "order", "terminator", "chat", "few_shot", "judge", "wording"}
    assert set(judged) == {"name", "temperature", *levers}
    plain = json.loads(run_prior(capsys, "--json", "--prior-variant", "plain", *tiny))["variant"]
    assert plain["name"] == "plain" and not plain["judge"]
    uniform = json.loads(run_prior(capsys, "--json", "--prior-model", "uniform"))["variant"]
    assert uniform == {"name": "default"}  # reads no prompt: no scoring options


def test_mode_flag_selects_sampling_and_reports_proposals(
    capsys: pytest.CaptureFixture[str], tiny_gguf: Path
) -> None:
    payload = json.loads(
        run_prior(capsys, "--json", "--mode", "sample", "--prior-k", "3", "--prior-model", str(tiny_gguf), "--threads", "1", "--prior-cache", "none")
    )
    assert set(payload) == JSON_KEYS | {"proposals", "dropped", "fallback_uniform"}
    assert payload["mode"] == "sample" and len(payload["proposals"]) == 3
    assert set(payload["proposals"][0]) == {"text", "action", "how"}


def test_table_lists_every_action_with_a_bar(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_prior(capsys, "--prior-model", "uniform")
    assert "go south" in out and "go east" in out and "0.500" in out and "█" in out


def test_a_bad_model_is_one_error_line_not_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "prior", "--prior-model", str(tmp_path / "missing.gguf")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: model file") and done.stderr.count("\n") == 1
