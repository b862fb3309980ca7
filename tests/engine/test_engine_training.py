"""Headless training: metrics, checkpoints, exact resume, eval, config files, CLI errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sandbox.cli import main
from sandbox.engine.config import RunConfig, load_config, parse_config
from sandbox.errors import SandboxError
from sandbox.engine.storage import load_checkpoint
from sandbox.engine.training import CHECKPOINTS, LATEST, Trainer, latest_checkpoint

REPO = Path(__file__).resolve().parents[2]


def frozen_lake_config(steps: int = 240, agent: str = "dqn") -> RunConfig:
    config = RunConfig()
    config.run.env = "TextFrozenLake-v0"
    config.run.agent = agent
    config.run.steps = steps
    config.run.eval_every = 60
    config.run.eval_episodes = 2
    config.run.checkpoint_every = 50
    config.dqn.features = "hash"
    config.dqn.learning_starts = 16
    config.dqn.batch_size = 16
    config.dqn.epsilon_decay_steps = 150
    config.ppo.features = "hash"
    config.ppo.rollout_steps = 32  # several updates, and checkpoints (at episode ends) mid-rollout
    config.prior.cache_path = None
    config.prior.templates_dir = None  # a developer's saved prompt templates must not change the tests
    if agent.endswith("-prior"):
        config.prior.model = "uniform"  # the prior path without an LLM
    return config


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv") as stream:
        return list(csv.DictReader(stream))


def test_training_writes_metrics_tensorboard_and_checkpoints(tmp_path):
    trainer = Trainer(frozen_lake_config(), tmp_path / "run")
    trainer.reset()
    trainer.run()
    trainer.close()
    rows = read_metrics(tmp_path / "run")
    assert [int(row["step"]) for row in rows] == [60, 120, 180, 240]
    assert {"eval_success", "eval_return", "llm_calls", "cache_hits", "episodes"} <= set(rows[0])
    assert list((tmp_path / "run" / "tb").glob("events.out.tfevents.*"))
    assert latest_checkpoint(tmp_path / "run").name == "step_000000240"
    assert load_config(tmp_path / "run" / "config.toml") == trainer.config


ALL_COLUMNS = ("step", "episodes", "eval_success", "eval_return", "eval_steps", "train_success", "loss", "epsilon")


def comparable(run_dir: Path) -> list[dict[str, str]]:
    return [{k: row[k] for k in ALL_COLUMNS} for row in read_metrics(run_dir)]


def comparable_episodes(run_dir: Path) -> list[dict[str, str]]:
    """episodes.csv without the prior's timing."""
    with open(run_dir / "episodes.csv") as stream:
        return [{k: v for k, v in row.items() if k != "ms_per_decision"} for row in csv.DictReader(stream)]


@pytest.mark.parametrize("agent", ["dqn", "dqn-prior", "ppo-prior"])
def test_interrupted_mid_episode_then_resumed_equals_an_uninterrupted_run(tmp_path, agent):
    straight = Trainer(frozen_lake_config(agent=agent), tmp_path / "straight")
    straight.reset()
    straight.run()

    interrupted = Trainer(frozen_lake_config(agent=agent), tmp_path / "split")
    interrupted.reset()

    def ctrl_c_mid_episode(record):
        if interrupted.steps_done >= 97 and not record.done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted.run(on_step=ctrl_c_mid_episode)
    folder = interrupted.save_checkpoint()  # what `train` does on Ctrl-C
    _, state = load_checkpoint(folder)
    assert state["session"]["episode_actions"], "the checkpoint must have been taken mid-episode"

    resumed = Trainer.resume(tmp_path / "split")
    resumed.run()
    assert comparable(tmp_path / "split") == comparable(tmp_path / "straight")
    # The episode the checkpoint cut in two is logged with its steps from both sides of the resume.
    assert comparable_episodes(tmp_path / "split") == comparable_episodes(tmp_path / "straight")


def test_resume_from_the_final_checkpoint_extends_a_run_exactly(tmp_path):
    straight = Trainer(frozen_lake_config(), tmp_path / "straight")
    straight.reset()
    straight.run()

    config = frozen_lake_config()
    config.run.steps = 120
    first_half = Trainer(config, tmp_path / "split")
    first_half.reset()
    first_half.run()
    saved = load_config(tmp_path / "split" / "config.toml")
    saved.run.steps = 240
    (tmp_path / "split" / "config.toml").write_text(saved.to_toml())
    resumed = Trainer.resume(tmp_path / "split")
    resumed.run()
    assert comparable(tmp_path / "split") == comparable(tmp_path / "straight")


def test_ppo_resumes_exactly_from_a_checkpoint_taken_mid_rollout(tmp_path):
    # A run killed after an earlier checkpoint: `latest` still points at it.
    run_dir = tmp_path / "run"
    straight = Trainer(frozen_lake_config(agent="ppo-prior"), run_dir)
    straight.reset()
    straight.run()
    expected = comparable(run_dir)
    earlier = sorted((run_dir / CHECKPOINTS).glob("step_*"))[-2]
    (run_dir / CHECKPOINTS / LATEST).write_text(earlier.name + "\n")
    _, state = load_checkpoint(earlier)
    assert 0 < len(state["agent"]["rollout"]) < 32  # the partial rollout travels in the checkpoint

    resumed = Trainer.resume(run_dir)
    assert resumed.steps_done == int(earlier.name.removeprefix("step_")) < 240
    resumed.run()
    assert comparable(run_dir) == expected
    for a, b in zip(straight.agent.trainable, resumed.agent.trainable, strict=True):
        assert torch.equal(a, b)


def test_starting_over_an_existing_run_is_refused(tmp_path):
    trainer = Trainer(frozen_lake_config(steps=60), tmp_path / "run")
    trainer.reset()
    trainer.run()
    with pytest.raises(SandboxError, match="--resume"):
        Trainer(frozen_lake_config(steps=60), tmp_path / "run").reset()


def test_config_errors_name_the_key_and_the_valid_ones(tmp_path):
    with pytest.raises(SandboxError, match="unknown key 'alpah'.*valid keys"):
        parse_config({"dqn": {"alpah": 3}}, "x.toml")
    with pytest.raises(SandboxError, match="unknown section"):
        parse_config({"trainer": {}}, "x.toml")
    with pytest.raises(SandboxError, match="must be a whole number"):
        parse_config({"run": {"steps": "many"}}, "x.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nsteps = 3")
    with pytest.raises(SandboxError, match="not valid TOML"):
        load_config(bad)


def test_damaged_checkpoint_is_a_clear_error(tmp_path):
    trainer = Trainer(frozen_lake_config(steps=60), tmp_path / "run")
    trainer.reset()
    trainer.run()
    (latest_checkpoint(tmp_path / "run") / "weights.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(SandboxError, match="damaged"):
        Trainer.resume(tmp_path / "run")


def test_cli_train_then_eval_json(tmp_path, capsys):
    run_dir = tmp_path / "cli-run"
    code = main(
        ["train", "--env", "TextFrozenLake-v0", "--agent", "dqn", "--features", "hash", "--steps", "60",
         "--eval-every", "30", "--eval-episodes", "1", "--out", str(run_dir), "--prior-cache", "none", "--json"]
    )
    assert code == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert trained["step"] == 60
    assert main(["eval", "--run", str(run_dir), "--episodes", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {
        "success_rate", "mean_return", "mean_steps", "normalised_score", "invalid_action_rate",
        "llm_calls_per_decision", "ms_per_decision", "episodes",
    }
    assert result["episodes"] == 2


def test_cli_train_ppo_prior_reads_alpha_and_features_into_the_ppo_section(tmp_path, capsys):
    run_dir = tmp_path / "ppo-run"
    code = main(
        ["train", "--agent", "ppo-prior", "--prior-model", "uniform", "--alpha", "0.5", "--features", "hash",
         "--steps", "40", "--eval-every", "40", "--eval-episodes", "1", "--seed", "3", "--out", str(run_dir),
         "--prior-cache", "none", "--json"]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 40
    saved = load_config(run_dir / "config.toml")
    assert (saved.ppo.alpha, saved.ppo.features, saved.ppo.seed) == (0.5, "hash", 3)
    assert parse_config({"ppo": {"alpha": 1, "rollout_steps": 64}}, "x.toml").ppo.alpha == 1.0


def test_cli_bad_input_is_one_line_not_a_traceback(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "sandbox", "eval", "--run", str(tmp_path / "nowhere")],
        capture_output=True, text=True, cwd=REPO,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: ")
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


def test_a_run_keeps_the_prompt_templates_it_started_with(tmp_path: Path) -> None:
    templates = tmp_path / "prompts"
    templates.mkdir()
    (templates / "frozenlake.toml").write_text('intro = "Walk to the goal.\\n"\n')
    config = frozen_lake_config(steps=30, agent="dqn-prior")
    config.prior.templates_dir = str(templates)
    trainer = Trainer(config, tmp_path / "run")
    trainer.reset()
    trainer.close()
    (templates / "frozenlake.toml").write_text('intro = "Edited later in the UI.\\n"\n')

    saved = load_config(tmp_path / "run" / "config.toml")
    assert saved.prior.templates_dir == str(tmp_path / "run" / "prompts")
    assert config.prior.templates_dir == str(templates)  # the caller's config is not the run's: the next run pins afresh
    assert (tmp_path / "run" / "prompts" / "frozenlake.toml").read_text() == 'intro = "Walk to the goal.\\n"\n'


@pytest.mark.parametrize("flag", ["mine", "none"])
def test_train_takes_prompt_templates_from_the_command_line(tmp_path: Path, flag: str) -> None:
    templates = tmp_path / "mine"
    templates.mkdir()
    (templates / "frozenlake.toml").write_text('intro = "Walk to the goal.\\n"\n')
    argv = ["train", "--env", "TextFrozenLake-v0", "--agent", "dqn-prior", "--steps", "20", "--prior-model", "uniform",
            "--features", "hash", "--prior-cache", "none", "--out", str(tmp_path / "run"),
            "--templates-dir", str(templates) if flag == "mine" else "none"]  # fmt: skip
    assert main(argv) == 0
    pinned = load_config(tmp_path / "run" / "config.toml").prior.templates_dir
    if flag == "mine":
        assert pinned == str(tmp_path / "run" / "prompts")
        assert (tmp_path / "run" / "prompts" / "frozenlake.toml").read_text() == 'intro = "Walk to the goal.\\n"\n'
    else:
        assert pinned is None and not (tmp_path / "run" / "prompts").exists()


def test_a_run_without_user_templates_stays_on_the_built_in_ones(tmp_path: Path) -> None:
    config = frozen_lake_config(steps=30, agent="dqn-prior")
    config.prior.templates_dir = str(tmp_path / "no-templates-here")
    trainer = Trainer(config, tmp_path / "run")
    trainer.reset()
    trainer.close()
    assert load_config(tmp_path / "run" / "config.toml").prior.templates_dir is None


def test_evaluation_runs_on_the_eval_env_options_and_the_run_keeps_them(tmp_path: Path) -> None:
    config = frozen_lake_config(steps=60)
    config.run.env_kwargs = {"desc": ["SFF", "HFF", "FFG"]}
    config.run.eval_env_kwargs = {"desc": ["SFH", "FFH", "HFG"]}  # e.g. {split = "unseen"} for household games
    trainer = Trainer(config, tmp_path / "run")
    trainer.reset()
    trainer.run()
    assert trainer.session.env.unwrapped.grid == ("SFF", "HFF", "FFG")
    assert trainer.eval_env.unwrapped.grid == ("SFH", "FFH", "HFG")
    trainer.close()
    assert load_config(tmp_path / "run" / "config.toml").run.eval_env_kwargs == {"desc": ["SFH", "FFH", "HFG"]}
