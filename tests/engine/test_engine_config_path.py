"""One config path: every command, bench experiment and sweep trial builds its run config through
`sandbox.engine.config.build_config`, layered built-in < tuned defaults < config file < the experiment's own
settings < flags, each value's source recorded; and no bench arm's settings moved with it."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from sandbox.cli import build_parser, main
from sandbox.arguments import config_from_args
from sandbox.engine.config import BUILT_IN, RunConfig, build_config
from tests.engine.bench_configs import INVOCATIONS, capture, digests

GOLDEN = Path(__file__).with_name("bench_configs.json")
LAKE = "sandbox/defaults/frozenlake.toml"
COINS = "sandbox/defaults/tw-coin-collector-v0.toml"


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[tuple[RunConfig, str]]:
    """Every config `build_config` hands out, with its values (and sources) as it handed them out."""
    import sandbox.engine.config as engine

    made: list[tuple[RunConfig, str]] = []
    original = engine.build_config

    def spy(**layers: Any) -> RunConfig:
        config = original(**layers)
        made.append((config, config.to_toml()))
        return config

    for module in [engine, *sys.modules.values()]:  # and wherever a module bound the name on import
        if getattr(module, "__name__", "").startswith(("sandbox", "tests")) and getattr(module, "build_config", None) is original:
            monkeypatch.setattr(module, "build_config", spy)
    return made


def assert_from_build_config(config: RunConfig, built: list[tuple[RunConfig, str]], what: str) -> None:
    """`config` is one `build_config` made, and nothing changed it since (no mutation after the fact)."""
    made = [toml for candidate, toml in built if candidate is config]
    assert made, f"{what}: its config was not built by sandbox.engine.config.build_config"
    assert config.to_toml() == made[0], f"{what}: its config was changed after build_config made it"


@pytest.mark.parametrize("name, argv", INVOCATIONS, ids=[name for name, _ in INVOCATIONS])
def test_every_bench_arm_comes_from_build_config_and_keeps_what_its_kept_runs_were_trained_with(
    name: str, argv: list[str], built: list[tuple[RunConfig, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """bench_configs.json was recorded from the experiments as they built their configs before the one
    config path, at commit 7f5a640 (what each arm's run reads: [run], its agent's section, [prior]; and the
    settings a kept run is matched by): the same seeds must train the same runs, a kept run must still be found."""
    seen, kept = capture(monkeypatch, tmp_path, argv)
    for label, config in seen:
        assert_from_build_config(config, built, f"{name} {label}")
    expected = json.loads(GOLDEN.read_text())[name]
    now = digests(seen, kept)
    assert [label for label, _ in now["configs"]] == [label for label, _ in expected["configs"]]
    changed = [label for (label, a), (_, b) in zip(now["configs"], expected["configs"]) if a != b]
    assert not changed, f"{name}: these arms' configs changed: {changed[:5]}"
    assert now["kept"] == expected["kept"], f"{name}: the settings kept runs are matched by changed"


def test_a_bench_arm_records_the_tuned_defaults_it_took_and_keeps_its_old_values_where_they_moved(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = dict(capture(monkeypatch, tmp_path, ["bench", "sample-efficiency", "--quick"])[0])
    dqn = seen["coin-collector-5-dqn-s0"]
    assert (dqn.dqn.target_every, dqn.source_of("dqn", "target_every")) == (20, f"{COINS} [dqn]")
    assert (dqn.dqn.lr, dqn.source_of("dqn", "lr")) == (5e-4, f"{COINS} [dqn]")
    assert (dqn.dqn.epsilon_decay_steps, dqn.source_of("dqn", "epsilon_decay_steps")) == (400, "bench sample-efficiency")
    assert (dqn.run.steps, dqn.source_of("run", "steps")) == (800, "bench sample-efficiency")  # tuned 3000
    prior = seen["coin-collector-5-dqn-prior-paper-s0"]  # tuned: soft updates, τ = 0.005 every update
    assert (prior.dqn.target_tau, prior.source_of("dqn", "target_tau")) == (1.0, "bench sample-efficiency")
    assert (prior.dqn.target_every, prior.dqn.greedy, prior.dqn.target) == (20, "q", "proposals")
    assert prior.source_of("dqn", "buffer_size") == f"{COINS} [dqn-prior]"


def test_a_bench_run_folder_says_where_each_value_came_from(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["bench", "sample-efficiency", "--envs", "coin-collector-5", "--agents", "dqn", "--seeds", "1", "--steps", "10",
            "--eval-every", "10", "--eval-episodes", "1", "--features", "hash", "--prior-model", "uniform",
            "--prior-cache", "none", "--keep-runs", str(tmp_path / "runs"), "--out-dir", str(tmp_path), "--json"]  # fmt: skip
    assert main(argv) == 0
    sources = tomllib.loads((tmp_path / "runs" / "coin-collector-5-dqn-s0" / "config.toml").read_text())["sources"]
    assert sources["dqn"]["lr"] == sources["dqn"]["target_every"] == f"{COINS} [dqn]"
    assert sources["dqn"]["features"] == sources["run"]["steps"] == "bench sample-efficiency"
    assert sources["dqn"]["gamma"] == BUILT_IN


# ----- the layers, with the values each must give written out by hand ------------------------------------

def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_a_flag_beats_the_tuned_defaults_which_beat_the_built_in_values() -> None:
    config = config_from_args(parse("train", "--agent", "dqn-prior", "--features", "hash", "--seed", "4"))
    assert (config.dqn.gamma, config.source_of("dqn", "gamma")) == (0.9, f"{LAKE} [dqn-prior]")  # built-in 0.99
    assert (config.dqn.features, config.source_of("dqn", "features")) == ("hash", "--features")  # tuned minilm+hash
    assert (config.dqn.eval_k, config.source_of("dqn", "eval_k")) == (15, BUILT_IN)
    assert (config.dqn.seed, config.source_of("dqn", "seed")) == (4, "--seed")


def test_a_flag_beats_a_config_file_which_replaces_the_tuned_defaults(tmp_path: Path) -> None:
    file = tmp_path / "mine.toml"
    file.write_text('[run]\nagent = "dqn-prior"\n[dqn]\ngamma = 0.95\nalpha = 3.0\n')
    config = config_from_args(parse("train", "--config", str(file), "--alpha", "7"))
    where = f"--config {file}"
    assert (config.dqn.gamma, config.source_of("dqn", "gamma")) == (0.95, where)  # tuned 0.9, built-in 0.99
    assert (config.dqn.alpha, config.source_of("dqn", "alpha")) == (7.0, "--alpha")  # the file's 3.0
    assert (config.dqn.features, config.source_of("dqn", "features")) == ("minilm", BUILT_IN)  # no tuned minilm+hash
    assert (config.run.agent, config.source_of("run", "agent")) == ("dqn-prior", where)


def test_the_experiments_settings_lie_between_the_file_and_the_flags() -> None:
    file = ("a file", {"run": {"agent": "dqn"}, "dqn": {"k": 2, "gamma": 0.95}})
    experiment = [("an experiment", {"dqn": {"k": 4, "lr": 0.002}})]
    config = build_config(file=file, experiment=experiment, flags=[("--k", {"dqn": {"k": 6}})])
    assert (config.dqn.k, config.source_of("dqn", "k")) == (6, "--k")
    assert (config.dqn.lr, config.source_of("dqn", "lr")) == (0.002, "an experiment")
    assert (config.dqn.gamma, config.source_of("dqn", "gamma")) == (0.95, "a file")


def test_the_tuned_defaults_are_those_of_the_env_and_agent_an_upper_layer_chooses_over_a_commands_base() -> None:
    chosen = ("bench x", {"run": {"env": "tw-coin-collector-v0", "agent": "dqn-prior"}, "dqn": {"alpha": 3.0}})
    base = ("a base", {"run": {"steps": 11, "keep_episodes": 7}})
    config = build_config(base=[base], experiment=[chosen])
    assert (config.dqn.target_tau, config.source_of("dqn", "target_tau")) == (0.005, f"{COINS} [dqn-prior]")
    assert (config.dqn.alpha, config.source_of("dqn", "alpha")) == (3.0, "bench x")
    assert (config.run.steps, config.source_of("run", "steps")) == (3000, f"{COINS} [dqn-prior]")  # over the base's 11
    assert (config.run.keep_episodes, config.source_of("run", "keep_episodes")) == (7, "a base")
    assert (config.dqn.gamma, config.source_of("dqn", "gamma")) == (0.99, BUILT_IN)


class Stop(Exception):
    """Raised where a command hands its config on, so that nothing trains or opens."""


def test_every_command_builds_its_config_through_build_config(
    built: list[tuple[RunConfig, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from sandbox.engine.config import retargeted
    from sandbox.features.datasets import DatasetInfo
    from sandbox.features.sweep import expand, parse_sweep

    handed: dict[str, RunConfig] = {}

    def receiver(command: str) -> Any:
        def receive(config: RunConfig, *_: Any, **__: Any) -> Any:
            handed[command] = config
            raise Stop

        return receive

    lake = DatasetInfo(env="TextFrozenLake-v0", env_kwargs={}, policy="random", seed=0, prior_model="uniform",
                       prior_mode="score", k=5)  # fmt: skip
    monkeypatch.setattr("sandbox.engine.training.Trainer", receiver("train"))
    monkeypatch.setattr("sandbox.features.datasets.OfflineTrainer", receiver("train-offline"))
    monkeypatch.setattr("sandbox.features.datasets.existing_dataset_path", lambda path: Path(path))
    monkeypatch.setattr("sandbox.features.datasets.read_dataset_info", lambda path: lake)
    monkeypatch.setattr("sandbox.commands.play.run_headless", receiver("play"))
    monkeypatch.setattr("sandbox.commands.demo.print_checks", lambda args, config: receiver("demo")(config))
    for argv in (["train", "--agent", "dqn", "--out", str(tmp_path / "run")], ["play", "--headless"],
                 ["demo", "bayes", "--check"], ["train-offline", "--dataset", str(tmp_path / "lake.parquet")]):  # fmt: skip
        with pytest.raises(Stop):
            main(argv)
    assert set(handed) == {"train", "play", "demo", "train-offline"}
    for command, config in handed.items():
        assert_from_build_config(config, built, command)
    payload = {"grid": {"agent": ["dqn", "ppo-prior"], "seed": [0, 1]}, "dqn": {"lr": 0.001}}
    for trial in expand(parse_sweep(payload, "s.toml", name="s"), tmp_path / "sweep"):
        assert_from_build_config(trial.config, built, f"sweep trial {trial.name}")
    assert_from_build_config(retargeted(handed["play"], agent="ppo-prior"), built, "the UI's agent picker")
