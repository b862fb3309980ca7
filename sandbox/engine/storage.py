"""Atomic file writes and pickle-free checkpoints (safetensors weights + JSON state).

Every write goes to a temporary file in the same folder and is renamed into place,
so a crash or SIGKILL leaves either the old file or the new one, never half of one.
Temporaries are hidden names ending in ".tmp"; a kill can leave one behind, and
`remove_temporaries` clears them when a run resumes. A write that fails (disk full,
folder not writable) is a one-line SandboxError, and the earlier file stays as it was.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from agents.errors import AgentError
from envs.errors import EnvError
from sandbox.errors import SandboxError

WEIGHTS_FILE = "weights.safetensors"
STATE_FILE = "state.json"
TEMP_SUFFIX = ".tmp"

# mkstemp/mkdtemp create private (0600/0700) entries; files we keep get the usual umask-derived mode.
_UMASK = os.umask(0)
os.umask(_UMASK)

_WRITE_ADVICE = {
    errno.ENOSPC: "the disk is full; free some space and run again",
    errno.EDQUOT: "the disk quota is used up; free some space and run again",
    errno.EACCES: "the folder is not writable; fix its permissions or choose another folder (--out)",
    errno.EPERM: "the folder is not writable; fix its permissions or choose another folder (--out)",
    errno.EROFS: "the file system is read-only; choose another folder (--out)",
}


def write_error(path: Path, error: OSError) -> SandboxError:
    """One line that says what could not be written, why, and what to do; nothing earlier was lost."""
    reason = error.strerror or error.__class__.__name__
    advice = _WRITE_ADVICE.get(error.errno or 0, "check the path and the disk")
    return SandboxError(f"cannot write {path} ({reason}): {advice}; any earlier version of it is unchanged")


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Write via a temp file and a rename: a killed process leaves the old file or the new one.

    `durable` also fsyncs, so the file survives a power cut; files that are cheap to lose
    and written often (replay files, one per episode) skip that cost.
    """
    temp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fchmod(stream.fileno(), 0o666 & ~_UMASK)
            if durable:
                os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException as error:
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise write_error(path, error) from error
        raise


def atomic_write_text(path: Path, text: str, durable: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), durable)


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=1))


def save_checkpoint(folder: Path, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    """Write the checkpoint into a temporary sibling folder, then rename it into place.

    A folder of the same name (a checkpoint at the same step) is renamed aside first and
    removed last, so at every moment one whole checkpoint exists under some name.
    """
    staging: Path | None = None
    aside: Path | None = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=TEMP_SUFFIX))
        staging.chmod(0o777 & ~_UMASK)
        save_file({name: tensor.contiguous() for name, tensor in tensors.items()}, str(staging / WEIGHTS_FILE))
        (staging / STATE_FILE).write_text(json.dumps(state))
        for name in (WEIGHTS_FILE, STATE_FILE):
            with open(staging / name, "rb") as stream:
                os.fchmod(stream.fileno(), 0o666 & ~_UMASK)
                os.fsync(stream.fileno())
        if folder.exists():
            aside = staging.with_name(staging.name.removesuffix(TEMP_SUFFIX) + ".old" + TEMP_SUFFIX)
            os.replace(folder, aside)
            os.replace(staging, folder)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(staging, folder)
    except BaseException as error:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if aside is not None and aside.exists() and not folder.exists():
            os.replace(aside, folder)  # the new one did not make it: the old one keeps its name
        if isinstance(error, OSError):
            raise write_error(folder, error) from error
        raise


def remove_temporaries(folder: Path) -> None:
    """Delete the hidden ".tmp" files and folders a killed write left in `folder` (they are never read)."""
    if not folder.is_dir():
        return
    for item in folder.iterdir():
        if item.name.startswith(".") and item.name.endswith(TEMP_SUFFIX):
            if item.is_dir():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)


def is_complete_checkpoint(folder: Path) -> bool:
    return (folder / WEIGHTS_FILE).is_file() and (folder / STATE_FILE).is_file()


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


@contextmanager
def restoring_checkpoint(folder: Path, agent_name: str, state: Any) -> Iterator[None]:
    """Restore from a checkpoint that loaded; one that does not fit this run is a one-line error.

    A checkpoint of another agent, other layer sizes or missing fields makes torch and the
    restore code raise KeyError, RuntimeError (a many-line state_dict report), ValueError, ...
    """
    try:
        saved_agent = state["agent"]["agent"]
        if saved_agent != agent_name:
            raise SandboxError(
                f"checkpoint {folder} holds a {saved_agent!r} agent but the config asks for {agent_name!r}; "
                "use the config.toml it was trained with"
            )
        yield
    except (AgentError, EnvError, SandboxError):
        raise  # already one line that says what to do
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as error:
        lines = str(error).strip().splitlines()
        detail = f"{error.__class__.__name__}: {lines[0]}" if lines else error.__class__.__name__
        raise SandboxError(
            f"checkpoint {folder} does not fit this run ({detail}); was config.toml changed since it was saved?"
        ) from error


def append_csv_row(path: Path, columns: tuple[str, ...], row: dict[str, Any]) -> None:
    """Append one CSV row with a single write() to an O_APPEND descriptor.

    A kill lands between system calls, so the row is there whole or not at all; a resumed
    run rewrites the file to match its checkpoint anyway.
    """
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=columns).writerow(row)
    data = buffer.getvalue().encode("utf-8")
    try:
        handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            while data:  # a regular file takes it in one write unless the disk fills up
                data = data[os.write(handle, data) :]
        finally:
            os.close(handle)
    except OSError as error:
        raise write_error(path, error) from error
