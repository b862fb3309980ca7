"""benchmarks/gpu_offload.py: one JSON object with the CPU half measured here, and the GPU half on GPU builds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agents.prior.models import gpu_offload_supported
from benchmarks import gpu_offload

REPO = Path(__file__).resolve().parents[2]
FIGURES = ("score_cold_ms", "score_next_state_ms", "sample_ms", "prompt_tokens_per_s")

pytestmark = pytest.mark.slow


def test_the_benchmark_prints_one_json_object_with_the_cpu_half() -> None:
    command = [sys.executable, "benchmarks/gpu_offload.py", "--shape", "tiny", "--threads", "1", "--repeats", "1", "--json"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=True)
    report = json.loads(done.stdout)
    assert report["shape"] == "tiny" and report["prompt_tokens"] == 150 and report["candidates"] == 10 and report["k"] == 5
    assert report["cpu"]["n_gpu_layers"] == 0 and report["cpu"]["gpu_layers"] == 0
    assert all(report["cpu"][name] > 0 for name in FIGURES)
    if gpu_offload_supported():
        assert report["skipped"] is None and report["gpu"]["gpu_layers"] == 3  # 2 layers and the output layer
        assert set(report["gpu_speedup"]) == {"score_cold", "score_next_state", "sample", "prompt_tokens_per_s"}
    else:
        assert report["gpu"] is None and report["gpu_speedup"] is None
        assert "CPU-only build" in report["skipped"]


@pytest.mark.skipif(gpu_offload_supported(), reason="checks the report on a CPU build, where -1 runs on the CPU too")
def test_the_gpu_half_is_reported_against_the_cpu_half(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Told offload is supported, the CPU build runs the "GPU" half on the CPU: same kernels, identical scores.
    monkeypatch.setattr(gpu_offload, "gpu_offload_supported", lambda: True)
    report = gpu_offload.run("tiny", "f32", threads=1, repeats=1, seed=0, folder=tmp_path)
    assert report["skipped"] is None and report["gpu"]["n_gpu_layers"] == -1 and report["gpu"]["gpu_layers"] == 0
    assert report["max_abs_log_prob_diff"] == 0.0
    for name in ("score_cold", "score_next_state", "sample"):
        assert report["gpu_speedup"][name] == round(report["cpu"][f"{name}_ms"] / report["gpu"][f"{name}_ms"], 2)


def test_the_workload_shares_the_prefix_a_next_state_keeps() -> None:
    work = gpu_offload.make_workload(n_vocab=354, seed=0)
    assert len(work.prompt) == len(work.next_prompt) == gpu_offload.PROMPT_TOKENS and work.prompt[0] == 1
    shared = gpu_offload.SHARED_WITH_NEXT_STATE
    assert work.next_prompt[:shared] == work.prompt[:shared] and work.next_prompt != work.prompt
    assert [len(c) for c in work.candidates] == list(gpu_offload.CANDIDATE_LENGTHS)
    assert all(3 <= token < 354 for c in work.candidates for token in c)


@pytest.mark.parametrize(("mib", "fits"), [(1, True), (64, False)])
def test_the_carry_check_refuses_a_folder_a_device_run_cannot_take(tmp_path: Path, mib: int, fits: bool) -> None:
    (tmp_path / "source.tar.gz").write_bytes(b"x" * 1024)
    with open(tmp_path / "wheel.whl", "wb") as wheel:
        wheel.truncate(mib * 2**20)  # sparse: counted at its full size, as the transfer counts it
    done = subprocess.run(
        ["bash", "benchmarks/device/prepare_carry.sh", "--check", str(tmp_path)], cwd=REPO, capture_output=True, text=True
    )
    assert (done.returncode == 0) is fits
    assert ("error: " in done.stderr) is not fits
