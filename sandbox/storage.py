"""Atomic file writes and pickle-free checkpoints (safetensors weights + JSON state).

Every write goes to a temporary file in the same folder and is renamed into place,
so a crash or SIGKILL leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from sandbox.errors import SandboxError

WEIGHTS_FILE = "weights.safetensors"
STATE_FILE = "state.json"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=1))


def save_checkpoint(folder: Path, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    """Write the checkpoint into a temporary sibling folder, then rename it into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        save_file({name: tensor.contiguous() for name, tensor in tensors.items()}, str(staging / WEIGHTS_FILE))
        (staging / STATE_FILE).write_text(json.dumps(state))
        for name in (WEIGHTS_FILE, STATE_FILE):
            with open(staging / name, "rb") as stream:
                os.fsync(stream.fileno())
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def load_checkpoint(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load without pickle; a missing or damaged checkpoint is a one-line SandboxError."""
    weights, state_path = folder / WEIGHTS_FILE, folder / STATE_FILE
    if not weights.is_file() or not state_path.is_file():
        raise SandboxError(f"no checkpoint in {folder} (expected {WEIGHTS_FILE} and {STATE_FILE})")
    try:
        tensors = load_file(str(weights))
        state = json.loads(state_path.read_text())
    except Exception as error:  # safetensors and json raise several types for damaged files
        raise SandboxError(f"checkpoint {folder} is damaged ({error.__class__.__name__}); resume from another one") from error
    return tensors, state
