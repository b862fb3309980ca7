"""Bad input through the CLI: exit code 2, one line on stderr that starts with "error:" and names
the problem, no traceback, and nothing already saved is lost.

Cases covered elsewhere are not repeated here: a missing model file (tests/prior/test_prior_cli.py),
an unknown env id or option for play-text and play (tests/envs/test_env_cli.py,
tests/app/test_ui_commands.py), a run folder that does not exist (tests/engine/test_engine_training.py),
LLM completions that map to no action, which are dropped and counted, never an error
(tests/prior/test_prior_mapping.py, tests/prior/test_prior_modes.py), a prompt that fits n_ctx
once trimmed (tests/prior/test_prior_modes.py), and a command typed in the UI that the game does
not understand, which the game answers in words (tests/app/test_ui_app.py).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import sandbox.engine.storage
from sandbox.cli import main
from sandbox.engine.storage import TEMP_SUFFIX, WEIGHTS_FILE, load_checkpoint
from sandbox.engine.training import CHECKPOINTS, latest_checkpoint
from tests.prior.conftest import write_tiny_gguf

REPO = Path(__file__).resolve().parents[1]

FAST = ["--features", "hash", "--prior-cache", "none", "--quiet"]
TRAIN = ["train", "--env", "TextFrozenLake-v0", "--agent", "dqn", "--steps", "60", "--eval-every", "30",
         "--eval-episodes", "1", "--checkpoint-every", "20", *FAST]  # fmt: skip


def fails(capsys: pytest.CaptureFixture[str], argv: list[str], *expected: str) -> str:
    """Run the CLI; it must fail with one `error:` line that contains every expected fragment."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in expected:
        assert fragment in err, err
    return err


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("models") / "tiny.gguf")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "lake"
    assert main([*TRAIN, "--out", str(run_dir)]) == 0
    return run_dir


@pytest.fixture
def run_copy(trained_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained_run, tmp_path / "run"))


# ----- the model file ------------------------------------------------------------------


@pytest.mark.parametrize("keep", [0.02, 0.6])
def test_truncated_gguf(capsys, tmp_path: Path, tiny_model: Path, keep: float) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_model.read_bytes()[: int(tiny_model.stat().st_size * keep)])
    fails(capsys, ["prior", "--prior-model", str(cut), "--threads", "1", "--prior-cache", "none"], "truncated or corrupt")


@pytest.mark.parametrize("kind", ["parquet", "folder"])
def test_something_else_given_as_the_model(capsys, tmp_path: Path, kind: str) -> None:
    model = tmp_path / "model.gguf"
    if kind == "parquet":
        pq.write_table(pa.table({"x": [1]}), model)
    else:
        model.mkdir()
    fails(capsys, ["prior", "--prior-model", str(model), "--prior-cache", "none"], str(model))


def test_a_prompt_that_cannot_fit_the_context(capsys, tiny_model: Path) -> None:
    # A longer prompt is trimmed (oldest history, then the observation's start; tests/prior); one
    # whose instructions alone overflow is an error. The tiny model spells one character per token,
    # and 20 samples of 10 tokens leave 56 of the 256-token context for the prompt.
    argv = ["prior", "--prior-model", str(tiny_model), "--n-ctx", "256", "--mode", "sample", "--prior-k", "20",
            "--threads", "1", "--prior-cache", "none"]  # fmt: skip
    fails(capsys, argv, "does not fit in n_ctx", "--n-ctx")


def test_a_trimmed_prompt_is_a_one_line_warning(tiny_model: Path) -> None:
    # 512 one-character tokens hold all of Frozen Lake's prompt but the observation's first line.
    # A subprocess, because pytest records warnings instead of printing them.
    argv = ["prior", "--prior-model", str(tiny_model), "--n-ctx", "512", "--threads", "1", "--prior-cache", "none"]
    done = subprocess.run([sys.executable, "-m", "sandbox", *argv], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith("warning: prompt longer than n_ctx=512: left out the first") and "--n-ctx" in line


# ----- envs, games and configs ---------------------------------------------------------


def test_unknown_env_id_and_option_for_train(capsys, tmp_path: Path) -> None:
    fails(capsys, [*TRAIN, "--env", "lake-v9", "--out", str(tmp_path / "a")], "unknown env id 'lake-v9'")
    fails(capsys, [*TRAIN, "--env-arg", "colour=blue", "--out", str(tmp_path / "b")], "colour", "valid options")
    assert not any(tmp_path.iterdir())


def test_corrupt_game_file(capsys, tmp_path: Path) -> None:
    game = tmp_path / "game.z8"
    game.write_bytes(b"\x00not a story file" * 64)
    game.with_suffix(".json").write_text("{}")
    argv = [*TRAIN, "--env", "tw-game-file-v0", "--env-arg", f"path={game}", "--out", str(tmp_path / "run")]
    fails(capsys, argv, str(game), "corrupt")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[run\nsteps = 3", "not valid TOML"),
        ("[dqn]\nalpah = 3\n", "unknown key 'alpah'"),
        ("[trainer]\nsteps = 3\n", "unknown section [trainer]"),
        ('[run]\nsteps = "many"\n', "must be a whole number"),
        ("\xff\xfe not text", "not valid TOML"),
    ],
)
def test_malformed_config(capsys, tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / "run.toml"
    config.write_bytes(text.encode("latin-1"))
    fails(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "run")], expected)
    assert not (tmp_path / "run").exists()


# ----- checkpoints ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["train", "eval"])
def test_corrupt_checkpoint(capsys, run_copy: Path, command: str) -> None:
    weights = latest_checkpoint(run_copy) / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:100])
    before = snapshot(run_copy)
    argv = ["train", "--resume", str(run_copy), "--quiet"] if command == "train" else ["eval", "--run", str(run_copy)]
    fails(capsys, argv, "is damaged")
    assert snapshot(run_copy) == before


class WouldRunCode:
    """A pickle that creates a file when unpickled: loading a checkpoint must never get that far."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
        return (Path.touch, (self.marker,))


def test_a_pickle_in_place_of_the_weights_is_never_unpickled(capsys, run_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    torch.save({"q_net.mlp.0.weight": WouldRunCode(marker)}, latest_checkpoint(run_copy) / WEIGHTS_FILE)
    fails(capsys, ["eval", "--run", str(run_copy)], "is damaged")
    fails(capsys, ["train", "--resume", str(run_copy), "--quiet"], "is damaged")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda text: text.replace("hidden = [\n    64,\n    64,\n]", "hidden = [\n    32,\n]"), "does not fit this run"),
        (lambda text: text.replace('agent = "dqn"', 'agent = "random"'), "holds a 'dqn' agent"),
    ],
    ids=["layer-sizes", "agent"],
)
def test_checkpoint_that_does_not_match_the_config(capsys, run_copy: Path, edit, expected: str) -> None:
    config = run_copy / "config.toml"
    edited = edit(config.read_text())
    assert edited != config.read_text()
    config.write_text(edited)
    before = snapshot(run_copy)
    fails(capsys, ["train", "--resume", str(run_copy), "--quiet"], expected, "config")
    fails(capsys, ["eval", "--run", str(run_copy)], expected)
    assert snapshot(run_copy) == before


def test_checkpoint_state_with_fields_missing(capsys, run_copy: Path) -> None:
    (latest_checkpoint(run_copy) / "state.json").write_text('{"agent": {"agent": "dqn"}}')
    fails(capsys, ["train", "--resume", str(run_copy), "--quiet"], "does not fit this run", "KeyError")


# ----- datasets ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["truncated", "bad-metadata", "other-version"])
def test_corrupt_or_foreign_dataset(capsys, tmp_path: Path, kind: str) -> None:
    dataset = tmp_path / "data.parquet"
    if kind == "truncated":
        pq.write_table(pa.table({"x": list(range(1000))}), dataset)
        dataset.write_bytes(dataset.read_bytes()[:-40])
        expected = "not a readable Parquet"
    else:
        metadata = b"{not json" if kind == "bad-metadata" else b'{"env": "TextFrozenLake-v0", "flavour": 1}'
        pq.write_table(pa.table({"x": [1]}).replace_schema_metadata({b"sandbox": metadata}), dataset)
        expected = "unreadable 'sandbox' metadata"
    fails(capsys, ["train-offline", "--dataset", str(dataset), *FAST, "--out", str(tmp_path / "run")], expected)
    assert not (tmp_path / "run").exists()


# ----- the disk ------------------------------------------------------------------------


def test_saves_folder_not_writable(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: refuse the writes themselves instead

        def refuse(*args: object, dir: str = "", **kwargs: object) -> object:
            raise PermissionError(errno.EACCES, "Permission denied", dir)

        monkeypatch.setattr(sandbox.engine.storage, "tempfile", types.SimpleNamespace(mkstemp=refuse, mkdtemp=refuse))
    else:
        locked.chmod(0o500)
    try:
        fails(capsys, [*TRAIN, "--out", str(locked / "run")], str(locked / "run"), "not writable", "--out")
    finally:
        locked.chmod(0o700)
    assert not [path for path in locked.rglob("*") if path.is_file()]


def test_disk_full_while_saving_a_checkpoint(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_save_file, calls = sandbox.engine.storage.save_file, []

    def fill_the_disk(tensors: dict[str, torch.Tensor], filename: str) -> None:
        calls.append(filename)
        if len(calls) == 1:
            return real_save_file(tensors, filename)
        Path(filename).write_bytes(b"\x00" * 1000)  # some bytes land before the device is full
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    monkeypatch.setattr(sandbox.engine.storage, "save_file", fill_the_disk)
    run_dir = tmp_path / "run"
    fails(capsys, [*TRAIN, "--out", str(run_dir)], "No space left on device", "the disk is full", "unchanged")
    first = latest_checkpoint(run_dir)
    load_checkpoint(first)  # the checkpoint before the full disk is whole
    assert [item.name for item in (run_dir / CHECKPOINTS).iterdir()] == sorted(["latest", first.name])
    assert not [item for item in run_dir.rglob("*") if item.name.endswith(TEMP_SUFFIX)]

    monkeypatch.setattr(sandbox.engine.storage, "save_file", real_save_file)  # space freed: the run continues
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
    assert latest_checkpoint(run_dir).name == "step_000000060"
