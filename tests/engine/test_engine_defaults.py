"""Tuned defaults (sandbox/defaults/): applied without --preset/--config, overridden by a file or a
flag, recorded in config.toml; and dataset names that round-trip between collect and train-offline."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agents.registry import agent_names, offline_agent_names
from sandbox.cli import build_parser, main
from sandbox.commands import train_offline
from sandbox.arguments import config_from_args
from sandbox.engine.config import BUILT_IN, DEFAULTS_DIR, defaults_layer, layered_config, load_config, read_toml
from sandbox.errors import SandboxError
from sandbox.features.sweep import expand, parse_sweep

LAKE = "sandbox/defaults/frozenlake.toml"


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


def test_every_defaults_table_builds_a_valid_config() -> None:
    files = sorted(DEFAULTS_DIR.glob("*.toml"))
    assert files
    for path in files:
        for agent in read_toml(path):
            assert agent in agent_names() + offline_agent_names(), f"{path.name}: unknown agent table [{agent}]"
            config = layered_config([defaults_layer("TextFrozenLake-v0" if path.stem == "frozenlake" else path.stem, agent)])
            config.dqn.validate()
            config.ppo.validate()


def test_train_takes_the_tuned_defaults_and_records_where_each_value_came_from(tmp_path: Path) -> None:
    config = config_from_args(parse("train", "--env", "TextFrozenLake-v0", "--agent", "dqn-prior", "--seed", "2"))
    tuned = read_toml(DEFAULTS_DIR / "frozenlake.toml")["dqn-prior"]
    assert config.dqn.features == tuned["dqn"]["features"] and config.dqn.gamma == tuned["dqn"]["gamma"]
    assert config.run.steps == tuned["run"]["steps"]
    assert config.source_of("dqn", "gamma") == f"{LAKE} [dqn-prior]"
    assert config.source_of("run", "seed") == "--seed" and config.source_of("dqn", "seed") == "--seed"
    assert config.source_of("dqn", "eval_k") == BUILT_IN
    path = tmp_path / "config.toml"
    path.write_text(config.to_toml())
    assert load_config(path).sources == config.sources  # what resume and eval read back
    assert tomllib.loads(path.read_text())["sources"]["dqn"]["gamma"] == f"{LAKE} [dqn-prior]"


def test_a_preset_a_config_file_and_flags_override_the_defaults(tmp_path: Path) -> None:
    preset = config_from_args(parse("train", "--preset", "frozenlake-dqn-prior"))
    assert preset.dqn.gamma == 0.99  # the preset leaves γ out: built-in, not the tuned default
    assert preset.source_of("dqn", "gamma") == BUILT_IN
    assert preset.source_of("dqn", "features") == "--preset frozenlake-dqn-prior"
    file = tmp_path / "mine.toml"
    file.write_text('[run]\nagent = "dqn"\n[dqn]\nlr = 0.01\n')
    from_file = config_from_args(parse("train", "--config", str(file), "--alpha", "3"))
    assert from_file.dqn.lr == 0.01 and from_file.dqn.features == "minilm"  # no tuned defaults under a file
    assert from_file.dqn.alpha == 3.0 and from_file.source_of("dqn", "alpha") == "--alpha"
    flagged = config_from_args(parse("train", "--agent", "dqn", "--features", "hash", "--steps", "10"))
    assert flagged.dqn.features == "hash" and flagged.run.steps == 10
    assert flagged.dqn.gamma == 0.9  # the rest stays tuned
    untuned = config_from_args(parse("train", "--env", "overcooked-tomato-salad-v0", "--agent", "dqn"))
    assert set(untuned.sources["dqn"].values()) == {BUILT_IN}


def test_play_and_demo_take_the_defaults_too() -> None:
    config = config_from_args(parse("play", "--agent", "dqn", "--seed", "1"))
    assert config.dqn.gamma == 0.9 and config.dqn.seed == 1
    assert config.source_of("dqn", "features") == f"{LAKE} [dqn]"
    assert config_from_args(parse("play", "--agent", "dqn", "--features", "hash")).dqn.features == "hash"
    assert config_from_args(parse("play", "--preset", "frozenlake-dqn")).dqn.gamma == 0.99


def test_sweep_trials_layer_the_file_over_the_defaults() -> None:
    payload = {"grid": {"agent": ["dqn", "ppo-prior"], "seed": [0]}, "dqn": {"lr": 0.001}}
    trials = expand(parse_sweep(payload, "s.toml", name="s"), Path("out"))
    dqn, ppo = (trial.config for trial in trials)
    assert dqn.dqn.lr == 0.001 and dqn.source_of("dqn", "lr") == "sweep s.toml"
    assert dqn.dqn.gamma == 0.9 and dqn.source_of("dqn", "gamma") == f"{LAKE} [dqn]"
    assert ppo.ppo.features == "minilm+hash" and ppo.source_of("run", "agent") == "[grid]"


def test_a_defaults_file_may_not_choose_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "frozenlake.toml").write_text('[dqn.run]\nenv = "tw-cooking-v0"\n')
    monkeypatch.setattr("sandbox.engine.config.DEFAULTS_DIR", tmp_path)
    with pytest.raises(SandboxError, match="only the user chooses"):
        defaults_layer("TextFrozenLake-v0", "dqn")
    (tmp_path / "frozenlake.toml").write_text("[dqn.dqn]\nlearning_rate = 1\n")
    with pytest.raises(SandboxError, match="unknown key 'learning_rate'.*frozenlake.toml"):
        config_from_args(parse("train", "--agent", "dqn"))


def test_collect_and_train_offline_take_the_same_name_with_or_without_the_extension(tmp_path, capsys) -> None:
    for name in ("lake", "lake.parquet"):
        out = tmp_path / name
        prior = ["--prior-model", "uniform", "--prior-cache", "none"]
        assert main(["collect", "--env-arg", 'desc=["SFG"]', "--episodes", "2", "--out", str(out), *prior]) == 0
        assert (tmp_path / "lake.parquet").is_file() and not (tmp_path / "lake").exists()
        for given in ("lake", "lake.parquet"):
            args = parse("train-offline", "--dataset", str(tmp_path / given), "--agent", "cql", *prior)
            config = train_offline.build_config(args)
            assert config.run.dataset == str(tmp_path / "lake.parquet")
            assert config.run.env == "TextFrozenLake-v0" and config.run.env_kwargs == {"desc": ["SFG"]}
            assert config.dqn.cql_beta == read_toml(DEFAULTS_DIR / "frozenlake.toml")["cql"]["dqn"]["cql_beta"]
            assert config.source_of("dqn", "cql_beta") == f"{LAKE} [cql]"
        (tmp_path / "lake.parquet").unlink()
    assert main(["train-offline", "--dataset", str(tmp_path / "missing"), "--agent", "cql"]) == 2
    assert "missing.parquet does not exist" in capsys.readouterr().err


def test_the_ui_pickers_retune_for_the_new_agent_and_keep_the_flags() -> None:
    from sandbox.engine.config import retargeted

    config = config_from_args(parse("play", "--agent", "dqn-prior", "--features", "hash", "--threads", "1"))
    switched = retargeted(config, agent="ppo-prior")
    assert switched.run.agent == "ppo-prior" and switched.source_of("run", "agent") == "picked in the UI"
    assert switched.ppo.alpha == read_toml(DEFAULTS_DIR / "frozenlake.toml")["ppo-prior"]["ppo"]["alpha"]
    assert switched.ppo.features == "hash" and switched.prior.n_threads == 1  # the flags still win
    other = retargeted(config, env="overcooked-tomato-salad-v0", env_kwargs={})
    assert other.dqn.gamma == 0.99 and other.dqn.features == "hash"  # nothing tuned there: built-in + flags
    preset = config_from_args(parse("play", "--preset", "frozenlake-dqn"))
    assert retargeted(preset, agent="dqn-prior").dqn == preset.dqn  # a preset's settings stay as they are
