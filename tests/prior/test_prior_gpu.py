"""GPU offload (CUDA/Metal builds only): layers are reported offloaded and scores match the CPU."""

from __future__ import annotations

import numpy as np
import pytest

from agents.prior import LlamaPrior, PriorConfig
from agents.prior.models import gpu_offload_supported
from tests.prior.conftest import make_query

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not gpu_offload_supported(), reason="llama-cpp-python built without GPU offload"),
]


def test_offloaded_scores_match_the_cpu() -> None:
    query = make_query()
    cpu = LlamaPrior(PriorConfig(n_gpu_layers=0, cache_path=None))
    gpu = LlamaPrior(PriorConfig(n_gpu_layers=-1, cache_path=None))
    cpu_result, gpu_result = cpu(query), gpu(query)
    assert cpu.gpu_layers == 0 and gpu.gpu_layers == 30  # SmolLM2-135M has 30 layers, all offloaded
    np.testing.assert_allclose(gpu_result.sequence_log_probs, cpu_result.sequence_log_probs, atol=0.05, rtol=0)
    np.testing.assert_allclose(gpu_result.probs, cpu_result.probs, atol=0.02)
    cpu.close()
    gpu.close()
