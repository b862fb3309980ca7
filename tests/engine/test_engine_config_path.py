"""One config path: every command, bench experiment and sweep trial builds its run config through
`sandbox.config.build_config`, layered built-in < tuned defaults < config file < the experiment's own
settings < flags, each value's source recorded; and no bench arm's settings moved with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.bench_configs import INVOCATIONS, capture, digests

GOLDEN = Path(__file__).with_name("bench_configs.json")


@pytest.mark.parametrize("name, argv", INVOCATIONS, ids=[name for name, _ in INVOCATIONS])
def test_every_bench_arm_keeps_the_settings_its_kept_runs_were_trained_with(
    name: str, argv: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """bench_configs.json was recorded from the experiments as they built their configs before the one
    config path (each arm's values, and the settings a kept run is matched by): the same seeds must train
    the same runs, and a kept run must still be found."""
    seen, kept = capture(monkeypatch, tmp_path, argv)
    expected = json.loads(GOLDEN.read_text())[name]
    now = digests(seen, kept)
    assert [label for label, _ in now["configs"]] == [label for label, _ in expected["configs"]]
    changed = [label for (label, a), (_, b) in zip(now["configs"], expected["configs"]) if a != b]
    assert not changed, f"{name}: these arms' configs changed: {changed[:5]}"
    assert now["kept"] == expected["kept"], f"{name}: the settings kept runs are matched by changed"
