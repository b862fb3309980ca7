"""Random-weight llama-architecture GGUF files of a chosen shape, written with the `gguf` package.

Random weights cost llama.cpp the same compute as trained ones, so a model of a real model's
shape measures speed without downloading it; the tiny shape tests the backend's mechanics
in milliseconds. The vocabulary is SentencePiece-style: control tokens, 256 byte tokens, the
space marker and printable ASCII (one token per character), then filler tokens up to the
shape's vocabulary size, so prompts tokenise without a trained tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>"]
CHARACTER_VOCAB = SPECIAL_TOKENS + [f"<0x{byte:02X}>" for byte in range(256)] + ["\u2581"] + [chr(c) for c in range(33, 127)]


@dataclass(frozen=True)
class Shape:
    n_vocab: int
    n_embd: int
    n_layers: int
    n_head: int
    n_head_kv: int
    n_ff: int

    @property
    def n_params(self) -> int:
        head_dim = self.n_embd // self.n_head
        attention = 2 * self.n_embd * self.n_embd + 2 * self.n_embd * self.n_head_kv * head_dim
        per_layer = attention + 3 * self.n_embd * self.n_ff + 2 * self.n_embd
        return 2 * self.n_vocab * self.n_embd + self.n_layers * per_layer + self.n_embd


SHAPES = {
    # 2 layers, 64 dims, the character vocabulary alone: about 0.5 MB of float32, loads in milliseconds.
    "tiny": Shape(n_vocab=len(CHARACTER_VOCAB), n_embd=64, n_layers=2, n_head=4, n_head_kv=2, n_ff=128),
    # The embedded default prior's shape (SmolLM2-135M, untied output).
    "smollm2-135m": Shape(n_vocab=49152, n_embd=576, n_layers=30, n_head=9, n_head_kv=3, n_ff=1536),
    # TinyLlama-1.1B's shape: the smallest model where a GPU is expected to pay off.
    "tinyllama-1.1b": Shape(n_vocab=32000, n_embd=2048, n_layers=22, n_head=32, n_head_kv=4, n_ff=5632),
}

# Weight matrices' storage; norms stay float32, as in converted models.
DTYPES = {
    "f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
    "f16": (gguf.GGMLQuantizationType.F16, gguf.LlamaFileType.MOSTLY_F16),
    "q8_0": (gguf.GGMLQuantizationType.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
}


def vocabulary(n_vocab: int) -> list[str]:
    if n_vocab < len(CHARACTER_VOCAB):
        raise ValueError(f"a vocabulary needs at least {len(CHARACTER_VOCAB)} tokens, got {n_vocab}")
    return CHARACTER_VOCAB + [f"<filler_{i}>" for i in range(n_vocab - len(CHARACTER_VOCAB))]


def write_llama_gguf(
    path: Path,
    shape: Shape = SHAPES["tiny"],
    *,
    dtype: str = "f32",
    architecture: str = "llama",
    with_vocab: bool = True,
    with_tensors: bool = True,
    seed: int = 0,
    add_space_prefix: bool = False,
    extra_tokens: tuple[str, ...] = (),
) -> Path:
    """A causal LM of `shape` with random weights (N(0, 1/fan_in)); `architecture`, `with_vocab` and
    `with_tensors` make the broken files the bad-model tests need. `add_space_prefix`: the tokenizer
    puts "▁" before the text, as Llama-2, Mistral and TinyLlama do; `extra_tokens`: multi-character
    tokens appended to the vocabulary, which the tokenizer merges wherever they occur."""
    tensor_type, file_type = DTYPES[dtype]
    tokens = vocabulary(shape.n_vocab) + list(extra_tokens)
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_context_length(4096)
    writer.add_embedding_length(shape.n_embd)
    writer.add_block_count(shape.n_layers)
    writer.add_feed_forward_length(shape.n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(shape.n_embd // shape.n_head)
    writer.add_file_type(file_type)
    if with_vocab:
        types = (
            [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
            + [gguf.TokenType.BYTE] * 256
            + [gguf.TokenType.NORMAL] * (len(tokens) - 259)
        )
        writer.add_tokenizer_model("llama")
        writer.add_token_list(tokens)
        writer.add_token_scores([0.0] * len(tokens))
        writer.add_token_types(types)
        writer.add_unk_token_id(0)
        writer.add_bos_token_id(1)
        writer.add_eos_token_id(2)
        writer.add_add_bos_token(True)
        writer.add_add_space_prefix(add_space_prefix)
    if with_tensors:
        rng = np.random.default_rng(seed)

        def add_matrix(name: str, rows: int, columns: int, scale: float = 1.0) -> None:
            values = (rng.standard_normal((rows, columns)) / np.sqrt(columns) * scale).astype(np.float32)
            if tensor_type == gguf.GGMLQuantizationType.F32:
                writer.add_tensor(name, values)
            elif tensor_type == gguf.GGMLQuantizationType.F16:
                writer.add_tensor(name, values.astype(np.float16))
            else:
                writer.add_tensor(name, gguf.quants.quantize(values, tensor_type), raw_dtype=tensor_type)

        def add_norm(name: str) -> None:
            writer.add_tensor(name, np.ones(shape.n_embd, dtype=np.float32))

        head_dim = shape.n_embd // shape.n_head
        add_matrix("token_embd.weight", len(tokens), shape.n_embd, scale=4)
        add_norm("output_norm.weight")
        add_matrix("output.weight", len(tokens), shape.n_embd, scale=2)
        for layer in range(shape.n_layers):
            block = f"blk.{layer}"
            add_norm(f"{block}.attn_norm.weight")
            add_matrix(f"{block}.attn_q.weight", shape.n_embd, shape.n_embd)
            add_matrix(f"{block}.attn_k.weight", shape.n_head_kv * head_dim, shape.n_embd)
            add_matrix(f"{block}.attn_v.weight", shape.n_head_kv * head_dim, shape.n_embd)
            add_matrix(f"{block}.attn_output.weight", shape.n_embd, shape.n_embd)
            add_norm(f"{block}.ffn_norm.weight")
            add_matrix(f"{block}.ffn_gate.weight", shape.n_ff, shape.n_embd)
            add_matrix(f"{block}.ffn_up.weight", shape.n_ff, shape.n_embd)
            add_matrix(f"{block}.ffn_down.weight", shape.n_embd, shape.n_ff)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
