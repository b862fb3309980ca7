"""llama.cpp backend of the prior: exact action scoring and free-form sampling, reusing the prompt's KV cache.

Sequence 0 of the KV cache holds the last prompt and survives across queries: a new
prompt keeps the longest common prefix and evaluates only the rest.

Scoring: the prompt is evaluated once; each multi-token candidate is then decoded right
after it in sequence 0 and removed again with `seq_rm`, so it sits in exactly the KV
cells a fresh evaluation would use. (Decoding all candidates as parallel sequences that
share the prompt through `seq_cp` saves decode calls, but the other candidates' cells
reorder the f16 attention sums, which 8-bit re-quantisation before the next matmul turns
into log-prob changes of ~1e-2.)

llama.cpp's CPU kernels are not batch-invariant: a batch of one row (and, for K-quants,
of fewer than 8 rows) goes through other kernels whose log-probs differ by up to ~0.5
nats, and repacked weights (`use_extra_bufts`) make results depend on a row's place in
its batch. So weights are loaded without repacking, and every scoring decode holds at
least `min_rows` rows (padded with re-decoded prompt tokens, which recompute the same
values): scores then equal a fresh one-batch evaluation, whatever was cached before.

Sampling: the k completions are decoded together, one scratch sequence each (sharing
the prompt's cells through `seq_cp`), and dropped afterwards.

The backend drives llama-cpp-python's own model/context/batch wrappers (the classes
`Llama` is built on): `Llama` fixes its context at one sequence and cannot turn weight
repacking off.
"""

from __future__ import annotations

import ctypes
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import llama_cpp
import llama_cpp._internals as llama_internals
import numpy as np
from llama_cpp._logger import llama_log_callback as LLAMA_CPP_PYTHON_LOG_CALLBACK
from llama_cpp.llama_chat_format import ChatFormatterResponse, Jinja2ChatFormatter, format_gemma

from agents.bayes import log_softmax
from agents.errors import PriorError
from agents.prior.models import expected_gpu_layers, gpu_offload_supported

# Chat formats for models whose GGUF has no chat template (others use the template they ship).
CHAT_FORMATTERS = {"gemma": format_gemma}

# Rows per decode from which the CPU kernels give the same numbers as in any larger batch, by GGUF
# file type (general.file_type): measured for F32 (to 1e-5) and Q4_1 (exactly; the default model),
# and 8 for K-quants (Gemma-3 Q4_K_M), assumed for everything else.
MIN_ROWS_BY_FILE_TYPE = {llama_cpp.LLAMA_FTYPE_ALL_F32: 2, llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_1: 2}
DEFAULT_MIN_ROWS = 8
MAX_BATCH = 512

LLAMA_LOGGER = logging.getLogger("llama-cpp-python")  # where llama-cpp-python routes llama.cpp's log
# What llama.cpp's loader logs about where it put each layer (the output layer is number n_layers) and its weights.
LAYER_DEVICE_LINE = re.compile(r"load_tensors: layer +(\d+) assigned to device (\S+),")
WEIGHTS_BUFFER_LINE = re.compile(r"load_tensors: +(\S+) model buffer size = +([\d.]+) MiB")

T = TypeVar("T")


@dataclass(frozen=True)
class ScoredActions:
    log_probs: np.ndarray  # Σ over each action's tokens of log p(token | prompt, earlier tokens)
    token_counts: tuple[int, ...]
    tokens_evaluated: int  # tokens decoded for this query (the prompt prefix reused from the KV is not counted)


@dataclass(frozen=True)
class ChatPrompt:
    text: str  # the formatted prompt, special tokens included
    tokens: list[int]
    add_bos: bool = True  # whether `tokens` got a BOS the text does not spell out (tokenise continuations alike)
    end_of_turn: str = ""  # what the format writes after a turn's text (e.g. "<|im_end|>"): an answer's terminator


@dataclass(frozen=True)
class Samples:
    texts: tuple[str, ...]
    tokens_evaluated: int


class _DecodeFailed(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"llama_decode returned {code}")
        self.code = code


@contextmanager
def captured_llama_log() -> Iterator[list[str]]:
    """llama.cpp's log lines, collected instead of printed, while the block runs (then llama-cpp-python's own
    logger again): the loader's lines say where each layer really went, which n_gpu_layers only requests."""
    lines: list[str] = []

    @llama_cpp.llama_log_callback
    def collect(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        lines.append(text.decode("utf-8", errors="replace"))

    llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))
    try:
        yield lines
    finally:
        llama_cpp.llama_log_set(LLAMA_CPP_PYTHON_LOG_CALLBACK, ctypes.c_void_p(0))


@dataclass(frozen=True)
class Placement:
    """Where llama.cpp put the model: each layer's device (repeating layers, then the output layer) and
    the weights' MiB per buffer (e.g. {"CUDA0": 2000.5, "CPU_Mapped": 250.0})."""

    layer_devices: tuple[str, ...]
    weights_mib: dict[str, float]

    @property
    def gpu_layers(self) -> int:
        """Layers on a device other than the CPU, counted as llama.cpp counts n_gpu_layers (output layer included)."""
        return sum(device != "CPU" for device in self.layer_devices)

    @property
    def gpu_weights_mib(self) -> float:
        """Weights in a GPU's own memory (buffers named after a GPU device; "CUDA_Host" is pinned CPU memory)."""
        gpus = {device for device in self.layer_devices if device != "CPU"}
        return sum(mib for buffer, mib in self.weights_mib.items() if buffer.split("_")[0] in gpus)


def parse_placement(log: Sequence[str]) -> Placement:
    text = "".join(log)
    devices = {int(layer): device for layer, device in LAYER_DEVICE_LINE.findall(text)}
    weights = {buffer: float(mib) for buffer, mib in WEIGHTS_BUFFER_LINE.findall(text)}
    return Placement(tuple(devices[layer] for layer in sorted(devices)), weights)


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    length = 0
    for x, y in zip(a, b):
        if x != y:
            break
        length += 1
    return length


def draw_token(logits: np.ndarray, rng: np.random.Generator, temperature: float, top_p: float) -> int:
    """One token from temperature/top-p sampling; temperature 0 is greedy."""
    if temperature <= 0:
        return int(np.argmax(logits))
    probs = np.exp(log_softmax(logits / temperature))
    if top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        kept = order[: int(np.searchsorted(np.cumsum(probs[order]), top_p)) + 1]
        return int(kept[rng.choice(kept.size, p=probs[kept] / probs[kept].sum())])
    return int(rng.choice(probs.size, p=probs / probs.sum()))


class LlamaBackend:
    """One GGUF model on llama.cpp with a multi-sequence context; not thread-safe (the prior locks)."""

    _backend_initialised = False

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int,
        n_threads: int,
        n_gpu_layers: int,
        chat_format: str | None = None,
        max_sequences: int = 1,
    ) -> None:
        if not LlamaBackend._backend_initialised:
            llama_cpp.llama_backend_init()
            LlamaBackend._backend_initialised = True
        LLAMA_LOGGER.setLevel(logging.ERROR)  # what Llama(verbose=False) sets: errors only
        model_params = llama_cpp.llama_model_default_params()
        model_params.n_gpu_layers = 0x7FFFFFFF if n_gpu_layers < 0 else n_gpu_layers  # llama.cpp caps it at "all"
        # Weights read into RAM rather than mmap'd: resident pages cannot be paged out between queries.
        model_params.load_mode = llama_cpp.LLAMA_LOAD_MODE_NONE
        model_params.use_extra_bufts = False  # no weight repacking: it makes log-probs depend on batch layout
        try:
            with captured_llama_log() as load_log:
                self._model = llama_internals.LlamaModel(path_model=str(path), params=model_params, verbose=False)
        except ValueError:
            raise PriorError(
                f"llama.cpp could not load {path}: the file is truncated or corrupt, or its architecture is unsupported"
            ) from None
        if llama_cpp.llama_model_has_encoder(self._model.model):
            self._model.close()
            raise PriorError(f"{path} is an encoder-decoder model; the prior needs a decoder-only causal LM")
        self.path = path
        self.chat_format = chat_format
        self.max_sequences = min(max_sequences, llama_cpp.llama_max_parallel_sequences())
        self.n_batch = min(n_ctx, MAX_BATCH)
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = params.n_ubatch = self.n_batch  # one physical batch per decode: llama.cpp never splits ours
        params.n_seq_max = self.max_sequences
        params.n_threads = params.n_threads_batch = n_threads
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED  # the non-flash path is repeatable
        # n_gpu_layers=0 means the CPU: a GPU build would otherwise ship large batches' matmuls to the GPU,
        # and log-probs would then depend on the batch size (see the module docstring).
        params.op_offload = n_gpu_layers != 0
        params.kv_unified = True  # one cell buffer: sample sequences share the prompt's cells
        params.n_outputs_max_per_seq = 0  # a candidate needs logits at each of its tokens (0 = no per-sequence cap)
        try:
            with captured_llama_log():  # silent: some of its notes pass the level verbose=False sets
                self._ctx = llama_internals.LlamaContext(model=self._model, params=params, verbose=False)
        except ValueError:
            self._model.close()
            raise PriorError(f"llama.cpp could not create a context of n_ctx={n_ctx} for {path}") from None
        self._memory = llama_cpp.llama_get_memory(self._ctx.ctx)
        self._batch = llama_internals.LlamaBatch(n_tokens=self.n_batch, embd=0, n_seq_max=1, verbose=False)
        self.metadata = self._model.metadata()
        self.min_rows = MIN_ROWS_BY_FILE_TYPE.get(int(self.metadata.get("general.file_type", -1)), DEFAULT_MIN_ROWS)
        self.n_ctx = self._ctx.n_ctx()  # llama.cpp rounds n_ctx up (to a multiple of 256)
        self.n_vocab = self._model.n_vocab()
        self.n_layers = llama_cpp.llama_model_n_layer(self._model.model)
        self.placement = parse_placement(load_log)
        if len(self.placement.layer_devices) == self.n_layers + 1:
            self.gpu_layers = self.placement.gpu_layers  # what llama.cpp did
        else:  # a llama.cpp that logs placement differently: what it was asked to do
            self.gpu_layers = expected_gpu_layers(n_gpu_layers, self.n_layers, gpu_offload_supported())
        self._prompt_tokens: list[int] = []  # what sequence 0 holds

    # -- tokens and prompts --------------------------------------------------

    def tokenize_prompt(self, text: str, *, add_bos: bool = True, special: bool = False) -> list[int]:
        """The prompt's tokens, with BOS where the model uses one."""
        return self._model.tokenize(text.encode("utf-8"), add_bos, special)

    def tokenize_action(self, action: str) -> list[int]:
        """An action's tokens on their own, as they follow a word boundary: " action", no BOS. A tokenizer
        that adds a space prefix (SentencePiece: Llama-2, Mistral, TinyLlama) gets the bare action, or
        " action" would become "▁▁action"."""
        text = action if self.metadata.get("tokenizer.ggml.add_space_prefix") == "true" else f" {action}"
        return self._model.tokenize(text.encode("utf-8"), False, False)

    def tokenize_actions(self, prompt: str, prompt_tokens: Sequence[int], actions: Sequence[str]) -> list[list[int]]:
        """Each action's tokens as the continuation of `prompt`: prompt + " " + action tokenised as one text,
        less the prompt's tokens, so the action reads exactly as in the whole text (one space, merges as there).

        Where a token would straddle the prompt's end (the whole text does not start with `prompt_tokens`),
        the action's own tokens (`tokenize_action`) are used instead: every candidate is then scored after
        the same prompt tokens, which is what normalising over the actions needs.
        """
        prefix, n = list(prompt_tokens), len(prompt_tokens)
        continuations = []
        for action in actions:
            whole = self.tokenize_prompt(f"{prompt} {action}")
            continuations.append(whole[n:] if whole[:n] == prefix and len(whole) > n else self.tokenize_action(action))
        return continuations

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self._model.detokenize(list(tokens)).decode("utf-8", errors="replace")

    def chat_prompt(self, user_text: str) -> ChatPrompt:
        """`user_text` as one user turn in the model's chat format, and its tokens (special tokens parsed)."""
        messages = [{"role": "user", "content": user_text}]
        template = self.metadata.get("tokenizer.chat_template")
        if self.chat_format in CHAT_FORMATTERS:
            response: ChatFormatterResponse = CHAT_FORMATTERS[self.chat_format](messages=messages)
        elif template:
            formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=self._model.token_get_text(self._model.token_eos()),
                bos_token=self._model.token_get_text(self._model.token_bos()),
            )
            response = formatter(messages=messages)
        else:
            raise PriorError(f"{self.path.name} has no chat template; sample without --chat")
        add_bos = not response.added_special
        tokens = self.tokenize_prompt(response.prompt, add_bos=add_bos, special=True)
        stop = response.stop[0] if isinstance(response.stop, list) and response.stop else response.stop
        return ChatPrompt(response.prompt, tokens, add_bos, (stop or "").strip())

    # -- scoring ---------------------------------------------------------------

    def score(self, prompt: Sequence[int], candidates: Sequence[Sequence[int]]) -> ScoredActions:
        """log p(candidate | prompt) for every candidate, the prompt evaluated once (and its prefix reused)."""
        return self._retrying(lambda: self._score(list(prompt), [list(c) for c in candidates]))

    def _score(self, prompt: list[int], candidates: list[list[int]]) -> ScoredActions:
        longest = max(len(tokens) for tokens in candidates)
        if longest + self.min_rows > self.n_batch:
            raise PriorError(f"an action is {longest} tokens long; at most {self.n_batch - self.min_rows} fit in one batch")
        self._check_room(prompt, extra=longest)
        n = len(prompt)
        keep = self._reuse_prefix(prompt)
        first = log_softmax(self._evaluate_prompt(prompt, keep))
        evaluated = n - keep
        log_probs = np.array([first[tokens[0]] for tokens in candidates])
        for index, tokens in enumerate(candidates):
            if len(tokens) == 1:
                continue
            # Right after the prompt in sequence 0, in the KV cells a fresh evaluation uses; short batches are
            # padded with the prompt's last tokens, re-decoded in place (the same values are recomputed).
            pad = max(0, self.min_rows - (len(tokens) - 1))
            llama_cpp.llama_memory_seq_rm(self._memory, 0, n - pad, -1)
            rows = [(prompt[i], i, (0,), False) for i in range(n - pad, n)]
            rows += [(token, n + j, (0,), True) for j, token in enumerate(tokens[:-1])]
            self._decode(rows)
            evaluated += len(rows)
            for j, token in enumerate(tokens[1:]):
                log_probs[index] += log_softmax(self._logits(pad + j))[token]
            llama_cpp.llama_memory_seq_rm(self._memory, 0, n, -1)
        return ScoredActions(log_probs, tuple(len(tokens) for tokens in candidates), evaluated)

    def score_naive(self, prompt: Sequence[int], candidates: Sequence[Sequence[int]]) -> np.ndarray:
        """Reference scores: each candidate from an empty cache, prompt and action decoded together.

        The KV-reuse path must equal this within 1e-4; tests and the benchmark compare against it.
        """
        scores = []
        for candidate in candidates:
            self.reset()
            tokens = [*prompt, *candidate]
            n = len(prompt)
            total = 0.0
            for begin, end in self._chunks(0, len(tokens)):
                self._decode([(tokens[i], i, (0,), n - 1 <= i < len(tokens) - 1) for i in range(begin, end)])
                for i in range(max(begin, n - 1), min(end, len(tokens) - 1)):
                    total += log_softmax(self._logits(i - begin))[tokens[i + 1]]
            scores.append(total)
        self.reset()
        return np.asarray(scores)

    # -- sampling --------------------------------------------------------------

    def sample(
        self,
        prompt: Sequence[int],
        *,
        k: int,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        seed: int,
    ) -> Samples:
        """k completions of one line each, decoded in parallel after the (reused) prompt; sample i draws from rng(seed, i)."""
        return self._retrying(
            lambda: self._sample(list(prompt), k, temperature, top_p, max_new_tokens, seed)
        )

    def _sample(
        self, prompt: list[int], k: int, temperature: float, top_p: float, max_new_tokens: int, seed: int
    ) -> Samples:
        if k > self.max_sequences - 1:
            raise PriorError(f"k={k} samples need {k + 1} sequences; this context has {self.max_sequences}")
        self._check_room(prompt, extra=k * max_new_tokens)
        n = len(prompt)
        keep = self._reuse_prefix(prompt)
        first = self._evaluate_prompt(prompt, keep)
        evaluated = n - keep
        for sequence in range(1, k + 1):
            llama_cpp.llama_memory_seq_cp(self._memory, 0, sequence, -1, -1)
        rngs = [np.random.default_rng([seed, i]) for i in range(k)]
        next_tokens = [draw_token(first, rng, temperature, top_p) for rng in rngs]
        outputs: list[list[int]] = [[] for _ in range(k)]
        active = list(range(k))
        for step in range(max_new_tokens):
            still = []
            for i in active:
                token = next_tokens[i]
                if llama_cpp.llama_vocab_is_eog(self._model.vocab, token):
                    continue
                outputs[i].append(token)
                if "\n" not in self.detokenize(outputs[i]).lstrip():
                    still.append(i)
            active = still
            if not active or step == max_new_tokens - 1:
                break
            # Generation may decode a single token (one active sample): nothing is compared against it.
            self._decode([(next_tokens[i], n + step, (i + 1,), True) for i in active])
            evaluated += len(active)
            for row, i in enumerate(active):
                next_tokens[i] = draw_token(self._logits(row), rngs[i], temperature, top_p)
        llama_cpp.llama_memory_seq_keep(self._memory, 0)
        return Samples(tuple(self.detokenize(tokens) for tokens in outputs), evaluated)

    # -- KV bookkeeping ----------------------------------------------------------

    def reset(self) -> None:
        """Empty the KV cache (the next prompt is evaluated from scratch)."""
        llama_cpp.llama_memory_clear(self._memory, True)
        self._prompt_tokens = []

    def evaluate_fresh(self, tokens: Sequence[int]) -> None:
        """Decode `tokens` from an empty cache in full batches: llama.cpp's raw prompt throughput."""
        self.reset()
        for begin, end in self._chunks(0, len(tokens)):
            self._decode([(tokens[i], i, (0,), i == end - 1) for i in range(begin, end)])
        self.reset()

    def _check_room(self, prompt: list[int], extra: int) -> None:
        """The prompt plus `extra` scratch cells must fit the context (the prior trims prompts to ensure it)."""
        if len(prompt) < self.min_rows:
            raise PriorError(f"the prompt must be at least {self.min_rows} tokens long")
        if len(prompt) + extra > self.n_ctx:
            raise PriorError(f"prompt of {len(prompt)} tokens plus {extra} more does not fit n_ctx={self.n_ctx}")

    def _reuse_prefix(self, prompt: list[int]) -> int:
        """Keep the longest prefix sequence 0 shares with `prompt`, leaving ≥ min_rows tokens to evaluate."""
        llama_cpp.llama_memory_seq_keep(self._memory, 0)  # drop scratch sequences an interrupted call left
        keep = min(common_prefix_length(self._prompt_tokens, prompt), len(prompt) - self.min_rows)
        if not llama_cpp.llama_memory_seq_rm(self._memory, 0, keep, -1):
            self.reset()
            keep = 0
        self._prompt_tokens = prompt[:keep]
        return keep

    def _evaluate_prompt(self, prompt: list[int], start: int) -> np.ndarray:
        """Decode prompt[start:] into sequence 0; the logits after its last token (a copy)."""
        chunks = self._chunks(start, len(prompt))
        for begin, end in chunks:
            self._decode([(prompt[i], i, (0,), i == len(prompt) - 1) for i in range(begin, end)])
            self._prompt_tokens = prompt[:end]
        begin, end = chunks[-1]
        return self._logits(end - 1 - begin).copy()

    def _chunks(self, begin: int, end: int) -> list[tuple[int, int]]:
        """[begin, end) in batches of at most n_batch tokens, none shorter than min_rows (if the span allows)."""
        bounds = list(range(begin, end, self.n_batch)) + [end]
        chunks = list(zip(bounds[:-1], bounds[1:]))
        if len(chunks) > 1 and chunks[-1][1] - chunks[-1][0] < self.min_rows:
            (first, _), (_, last) = chunks[-2], chunks[-1]
            chunks[-2:] = [(first, last - self.min_rows), (last - self.min_rows, last)]
        return chunks

    def _decode(self, entries: Sequence[tuple[int, int, tuple[int, ...], bool]]) -> None:
        """One llama_decode of (token, position, sequence ids, wants logits) entries."""
        batch = self._batch.batch
        for i, (token, position, sequences, wants_logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = position
            batch.n_seq_id[i] = len(sequences)
            for j, sequence in enumerate(sequences):
                batch.seq_id[i][j] = sequence
            batch.logits[i] = wants_logits
        batch.n_tokens = len(entries)
        code = llama_cpp.llama_decode(self._ctx.ctx, batch)
        if code != 0:
            raise _DecodeFailed(code)

    def _logits(self, batch_index: int) -> np.ndarray:
        pointer = llama_cpp.llama_get_logits_ith(self._ctx.ctx, batch_index)
        if not pointer:
            raise PriorError(f"llama.cpp returned no logits for batch row {batch_index}")
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))

    def _retrying(self, operation: Callable[[], T]) -> T:
        """Run a KV operation; if llama.cpp finds no room (fragmented cache), retry once from an empty cache."""
        try:
            return operation()
        except _DecodeFailed:
            self.reset()
        try:
            return operation()
        except _DecodeFailed as error:
            self.reset()
            raise PriorError(f"llama.cpp could not evaluate the prompt ({error}); try a larger --n-ctx") from None

    def close(self) -> None:
        self._batch.close()
        self._ctx.close()
        self._model.close()
