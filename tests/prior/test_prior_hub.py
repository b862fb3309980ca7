"""`--prior-model hf:OWNER/REPO:FILE.gguf`: found in a pre-filled Hugging Face cache and run offline."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.errors import PriorError
from agents.prior.hub import parse_hf_name
from tests.conftest import REPO

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fill_hf_cache(cache: Path, repo: str, filename: str, source: Path) -> Path:
    """The layout huggingface_hub writes: the file as a blob named by its hash, linked from the snapshot of
    the commit refs/main points at."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    data = source.read_bytes()
    blob = folder / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True)
    blob.write_bytes(data)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(COMMIT)
    snapshot = folder / "snapshots" / COMMIT / filename
    snapshot.parent.mkdir(parents=True)
    snapshot.symlink_to(os.path.relpath(blob, snapshot.parent))
    return snapshot


def run_offline(cache: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "sandbox", "prior", "--env", "TextFrozenLake-v0", "--threads", "1", "--prior-cache", "none", *argv],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )


def test_a_cached_hub_model_runs_offline_and_equals_the_same_file_by_path(tiny_gguf: Path, tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    fill_hf_cache(cache, "someone/tiny-llama-GGUF", "tiny-llama.Q8.gguf", tiny_gguf)
    by_name = run_offline(cache, "--prior-model", "hf:someone/tiny-llama-GGUF:tiny-llama.Q8.gguf", "--json")
    assert by_name.returncode == 0, by_name.stderr
    by_path = run_offline(cache, "--prior-model", str(tiny_gguf), "--json")
    named, pathed = json.loads(by_name.stdout), json.loads(by_path.stdout)
    assert named["model"] == "hf:someone/tiny-llama-GGUF:tiny-llama.Q8.gguf"
    assert named["probs"] == pathed["probs"] and named["actions"] == pathed["actions"]


def test_a_file_missing_from_the_cache_offline_is_one_error_naming_repo_and_file(tiny_gguf: Path, tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    fill_hf_cache(cache, "someone/tiny-llama-GGUF", "tiny-llama.Q8.gguf", tiny_gguf)
    done = run_offline(cache, "--prior-model", "hf:someone/tiny-llama-GGUF:tiny-llama.Q4.gguf")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "tiny-llama.Q4.gguf of the Hugging Face repo someone/tiny-llama-GGUF is not in the cache" in done.stderr
    assert "HF_HUB_OFFLINE" in done.stderr


@pytest.mark.parametrize(
    "name", ["hf:no-file", "hf:owner/repo", "hf:owner/repo:model.bin", "hf:/repo:a.gguf", "hf:a/b/c:x.gguf"]
)
def test_a_malformed_hub_name_shows_the_form(name: str) -> None:
    with pytest.raises(PriorError, match="is not a Hub name like hf:"):
        parse_hf_name(name)


def test_a_hub_name_splits_into_repo_and_file() -> None:
    assert parse_hf_name("hf:bartowski/Llama-3.2-1B-GGUF:Llama-3.2-1B-Q4_K_M.gguf") == (
        "bartowski/Llama-3.2-1B-GGUF",
        "Llama-3.2-1B-Q4_K_M.gguf",
    )
