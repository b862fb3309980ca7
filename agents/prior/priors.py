"""The priors agents consult: `LlamaPrior` (p_LLM on llama.cpp) and `UniformPrior`, and `build_prior`.

Both are a `CachedPrior` (agents/prior/cached.py: cache, stats, seed, floor) around a backend
that only answers. `LlamaPrior` answers from the cache when it can and loads the model only on
the first miss, so a fully cached run never starts llama.cpp.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agents import bayes
from agents.errors import PriorError
from agents.prior import scoring
from agents.prior.answers import answer_key_parts, sample_result
from agents.prior.cache import PriorCache, cache_key
from agents.prior.cached import UNIFORM_MODE, CachedPrior, PriorBackend, PriorRequest
from agents.prior.config import PriorConfig, validate_config
from agents.prior.examples import examples_block
from agents.prior.models import (
    chat_format_for,
    expected_gpu_layers,
    gpu_offload_supported,
    inspect_gguf,
    resolve_model_path,
)
from agents.prior.oracle import OraclePrior, is_oracle_model
from agents.prior.prompts import FittedPrompt, PromptTemplate, fit_prompt, template_for
from agents.prior.templates import check_template, load_templates
from agents.prior.types import ActionPrior, PriorQuery, PriorResult
from agents.prior.variants import apply_variant, for_family

if TYPE_CHECKING:
    from agents.prior.backend import LlamaBackend  # imported on first use: it loads llama.cpp

UNIFORM_MODEL = "uniform"
MIN_SEQUENCES = 16  # context sequences made at load: room for k up to 15 (the UI may raise k later)
CONTINUATION_ROOM = 8  # context kept free beyond an action's own tokens: its line's end, a judge's answer


class UniformPriorBackend(PriorBackend):
    """Every admissible action equally likely: the no-LLM baseline. Its answers are not cached (they cost
    less than a lookup), and the floor leaves them as they are."""

    asks_model = False

    def __init__(self, config: PriorConfig) -> None:
        self.config = config
        self.model_name = UNIFORM_MODEL

    def key_parts(self, request: PriorRequest) -> dict[str, Any]:
        return {"model": UNIFORM_MODEL, "actions": list(request.query.actions)}

    def answer(self, request: PriorRequest, cache: PriorCache | None) -> PriorResult:
        """Uniform, whatever k: it draws no samples."""
        actions = request.query.actions
        return PriorResult(model=UNIFORM_MODEL, mode=UNIFORM_MODE, actions=actions, probs=bayes.uniform(len(actions)))


class UniformPrior(CachedPrior):
    """Every admissible action equally likely, with the interface (and stats) of every other prior."""

    def __init__(self, config: PriorConfig | None = None) -> None:
        super().__init__(UniformPriorBackend(config or PriorConfig(model=UNIFORM_MODEL)), cache=None)


class LlamaPriorBackend(PriorBackend):
    """p_LLM(a|s) from a GGUF model on llama.cpp: exact scoring ("score") or k mapped samples ("sample").

    The model is loaded on the first answer (a cache hit never asks for one); methods are called under
    `LlamaPrior`'s lock, since llama.cpp contexts are not thread-safe.
    """

    reads_edited_prompts = True

    def __init__(self, config: PriorConfig) -> None:
        self.config = config
        self.model_name = config.model
        self.model_path: Path = resolve_model_path(config.model)
        self._info = inspect_gguf(self.model_path)
        self._identity = self._info.identity
        self._backend: LlamaBackend | None = None  # loaded on the first cache miss
        self._templates = load_templates(config.templates_dir)  # the user's, by family; read once, checked now
        self.gpu_layers = expected_gpu_layers(config.n_gpu_layers, self._info.n_layers, gpu_offload_supported())

    @property
    def loaded(self) -> bool:
        return self._backend is not None

    def key_parts(self, request: PriorRequest) -> dict[str, Any]:
        """Everything that determines the answer; the prompt before trimming (trimming follows from n_ctx),
        or an edited prompt's full text under a key of its own, so an edit never returns (or overwrites)
        the answer to the prompt the template renders."""
        query, prompt = request.query, request.prompt
        identity = {"model": self._identity, "gpu_layers": self.gpu_layers, "n_ctx": self.config.n_ctx}
        config = for_family(self.config, query.family)  # the variant may tune the options per family
        levers = self.levers(query.family)
        extra = {}  # absent for the plain prior, whose keys stay as they were
        if config.mode == "score" and levers.changed():
            extra["levers"] = levers.changed()
            if levers.few_shot and prompt is None:
                template = self.template(query.family)
                extra["examples"] = examples_block(query.family, levers.few_shot, template, config.list_actions)
        return answer_key_parts(
            config,
            query,
            self.template(query.family),
            identity,
            k=request.k,
            seed=request.seed,
            edited_prompt=prompt,
            space_prefix=self._info.metadata.get("tokenizer.ggml.add_space_prefix") is True,
            levers=extra,
        )

    def answer(self, request: PriorRequest, cache: PriorCache | None) -> PriorResult:
        if self.config.mode == "score":
            return self._score(request.query, cache, request.prompt)
        return self._sample(request.query, request.prompt, request.k, request.seed)

    def prompt_for(self, request: PriorRequest) -> str:
        """The prompt exactly as the model reads it (trimmed to n_ctx, chat-wrapped in chat sample mode)."""
        query = request.query
        if self.config.mode == "score":
            levers = self.levers(query.family)
            return scoring.parts(query, levers, self._fitter(query, levers))[0].readings[0].prompt.text
        fitted = self._fit(query, chat=self.config.chat, reserve=self._sample_reserve())
        return self._sample_prompt_text(fitted)

    def rendered_prompt(self, query: PriorQuery, template: PromptTemplate | None = None) -> str:
        """The prompt `template` (default: the one in use for the family) renders, fitted to n_ctx,
        before any chat wrapping: the text a `prompt=` override replaces."""
        if self.config.mode == "score":
            return self._score_prompt(query, template=template).text
        return self._fit(query, chat=self.config.chat, reserve=self._sample_reserve(), template=template).text

    def template(self, family: str, wording: str | None = None) -> PromptTemplate:
        """The family's template in use: the user's (see `templates_dir`) or the built-in one in `wording`
        (default: the wording the family's options set)."""
        wording = self.levers(family).wording if wording is None else wording
        return self._templates.get(family) or template_for(family, wording)

    def levers(self, family: str) -> scoring.Levers:
        """The score-mode options in force for an env family (the variant may tune them per family)."""
        return scoring.Levers.of(for_family(self.config, family))

    def set_template(self, family: str, template: PromptTemplate) -> None:
        self._templates[family] = template

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    # -- the two modes ---------------------------------------------------------

    def _score(self, query: PriorQuery, cache: PriorCache | None, prompt: str | None = None) -> PriorResult:
        """Score every action through the levers in force (agents/prior/scoring.py). An edited `prompt`
        is read as written, once: the levers that re-render the prompt (order, few-shot, judge,
        calibration, wording) leave it alone."""
        backend = self._load()
        levers = self.levers(query.family)
        if prompt is not None:
            levers = dataclasses.replace(levers, order="given", few_shot=0, judge=False, calibrate=False, wording="default")
        fit = self._fitter(query, levers, prompt)
        planned = scoring.parts(query, levers, fit)
        main = [scoring.evaluate(backend, part, levers) for part in planned]
        evaluated = sum(part.tokens_evaluated for part in main)
        calibration = None
        if levers.calibrate:
            calibration, calibration_tokens = self._content_free_values(query, levers, fit, cache)
            evaluated += calibration_tokens
        scores = scoring.combine([part.values for part in main], calibration)
        probs = bayes.prior_from_sequence_log_probs(scores, for_family(self.config, query.family).temperature)
        return PriorResult(
            model=self.model_name,
            mode="score",
            actions=query.actions,
            probs=probs,
            sequence_log_probs=None if levers.judge else np.asarray(main[0].log_probs[0]),
            scores=scores,
            token_counts=() if levers.judge else main[0].token_counts[0],
            tokens_evaluated=evaluated,
            prompt=planned[0].readings[0].prompt.text,
        )

    def _content_free_values(
        self, query: PriorQuery, levers: scoring.Levers, fit: scoring.Fit, cache: PriorCache | None
    ) -> tuple[list[np.ndarray], int]:
        """The content-free readings' values (PMI calibration), cached once per action set: the content-free
        prompt holds no state, so every state with these actions (and family, levers) shares them."""
        backend = self._load()
        free = scoring.parts(scoring.content_free(query), levers, fit)
        key = cache_key(
            {
                "content_free": [[[r.prompt.text, list(r.continuations)] for r in part.readings] for part in free],
                "model": self._identity,
                "gpu_layers": self.gpu_layers,
                "n_ctx": self.config.n_ctx,
                "levers": levers.as_dict(),
            }
        )
        stored = cache.get(key) if cache is not None else None
        if stored is not None:
            return [np.asarray(values, dtype=np.float64) for values in json.loads(stored)], 0
        evaluated = [scoring.evaluate(backend, part, levers) for part in free]
        if cache is not None:
            cache.put(key, json.dumps([part.values.tolist() for part in evaluated]))
        return [part.values for part in evaluated], sum(part.tokens_evaluated for part in evaluated)

    def _fitter(self, query: PriorQuery, levers: scoring.Levers, edited: str | None = None) -> scoring.Fit:
        """Renders a prompt of `query`'s family with the levers in force, fitted to n_ctx (an `edited` prompt
        as written), chat-wrapped when `chat` is on, and tokenised."""
        backend = self._load()
        config = self.config
        template = self.template(query.family, levers.wording)
        examples = examples_block(query.family, levers.few_shot, template, config.list_actions) if levers.few_shot else ""
        reserve = CONTINUATION_ROOM + max(len(backend.tokenize_action(action)) for action in query.actions)

        def fit(state: PriorQuery, listed: tuple[str, ...], ending: str | None) -> scoring.Prompt:
            if edited is not None:
                text = self._fit(state, chat=levers.chat, reserve=reserve, prompt=edited).text
            else:
                text = self._fit(
                    state, chat=levers.chat, reserve=reserve, template=template, listed=listed, examples=examples, ending=ending
                ).text
            if levers.chat:
                chat = backend.chat_prompt(text)
                return scoring.Prompt(chat.text, chat.tokens, chat.add_bos, chat=True, end_of_turn=chat.end_of_turn)
            return scoring.Prompt(text, backend.tokenize_prompt(text))

        return fit

    def _sample(self, query: PriorQuery, prompt: str | None, k: int, seed: int) -> PriorResult:
        config = self.config
        if self._backend is not None and k + 1 > self._backend.max_sequences:
            self._backend.close()  # k was raised after loading (the UI can): reload with more sequences
            self._backend = None
        backend = self._load(k)
        fitted = self._fit(query, chat=config.chat, reserve=self._sample_reserve(k), prompt=prompt)
        prompt_tokens = backend.chat_prompt(fitted.text).tokens if config.chat else backend.tokenize_prompt(fitted.text)
        samples = backend.sample(
            prompt_tokens,
            k=k,
            temperature=config.temperature,
            top_p=config.top_p,
            max_new_tokens=config.max_new_tokens,
            seed=seed,
        )
        return sample_result(
            self.model_name,
            query,
            samples.texts,
            tokens_evaluated=samples.tokens_evaluated,
            prompt=self._sample_prompt_text(fitted),
        )

    # -- helpers -----------------------------------------------------------------

    def _load(self, k: int | None = None) -> LlamaBackend:
        """The backend, loaded on first use with sequences for k samples (default: the config's k)."""
        if self._backend is None:
            from agents.prior.backend import LlamaBackend

            self._backend = LlamaBackend(
                self.model_path,
                n_ctx=self.config.n_ctx,
                n_threads=self.config.n_threads,
                n_gpu_layers=self.config.n_gpu_layers,
                chat_format=chat_format_for(self.config.model),
                max_sequences=max(MIN_SEQUENCES, (self.config.k if k is None else k) + 1),
            )
            self.gpu_layers = self._backend.gpu_layers
        return self._backend

    def _score_prompt(
        self, query: PriorQuery, prompt: str | None = None, template: PromptTemplate | None = None
    ) -> FittedPrompt:
        """The fitted prompt; the context keeps room for the longest action after it (the backend checks
        the room again with the actions' tokens as they continue the prompt)."""
        backend = self._load()
        reserve = max(len(backend.tokenize_action(action)) for action in query.actions)
        return self._fit(query, chat=False, reserve=reserve, prompt=prompt, template=template)

    def _sample_reserve(self, k: int | None = None) -> int:
        return (self.config.k if k is None else k) * self.config.max_new_tokens

    def _fit(
        self,
        query: PriorQuery,
        *,
        chat: bool,
        reserve: int,
        prompt: str | None = None,
        template: PromptTemplate | None = None,
        listed: tuple[str, ...] | None = None,
        examples: str = "",
        ending: str | None = None,
    ) -> FittedPrompt:
        """Render the prompt within n_ctx less `reserve` tokens, warning when something was left out.

        An edited `prompt` is used as written: it must fit, since trimming it would change the edit.
        """
        backend = self._load()

        def count_tokens(text: str) -> int:
            return len(backend.chat_prompt(text).tokens if chat else backend.tokenize_prompt(text))

        budget = backend.n_ctx - reserve
        if prompt is not None:
            tokens = count_tokens(prompt)
            if tokens > budget:
                raise PriorError(
                    f"the edited prompt is {tokens} tokens; n_ctx={backend.n_ctx} leaves room for {budget}: "
                    "shorten it or raise --n-ctx"
                )
            return FittedPrompt(prompt, 0, 0)
        config = self.config
        fitted = fit_prompt(
            query,
            list_actions=config.list_actions,
            history=config.history,
            chat=chat,
            count_tokens=count_tokens,
            budget=budget,
            template=template or self.template(query.family),
            listed=listed,
            examples=examples,
            ending=ending,
        )
        left_out = []
        if fitted.dropped_history:
            left_out.append(f"the {fitted.dropped_history} oldest history step(s)")
        if fitted.cut_observation_chars:
            left_out.append(f"the first {fitted.cut_observation_chars} character(s) of the observation")
        if left_out:
            warnings.warn(
                f"prompt longer than n_ctx={backend.n_ctx}: left out {' and '.join(left_out)}; "
                "raise --n-ctx to keep them",
                stacklevel=6,
            )
        return fitted

    def _sample_prompt_text(self, fitted: FittedPrompt) -> str:
        return self._load().chat_prompt(fitted.text).text if self.config.chat else fitted.text


class LlamaPrior(CachedPrior):
    """p_LLM(a|s) from a GGUF model on llama.cpp, cached (memory LRU + the SQLite file `cache_path`).

    `run_seed` is the seed of the run the prior serves: sample mode draws with `config.seed + run_seed`
    (`sampling_seed`), so runs of different seeds see the prior's sampling variance too.
    """

    backend: LlamaPriorBackend

    def __init__(self, config: PriorConfig, *, run_seed: int = 0) -> None:
        validate_config(config)
        backend = LlamaPriorBackend(config)
        super().__init__(backend, PriorCache(config.cache_path, config.memory_cache_size), run_seed=run_seed)

    @property
    def model_path(self) -> Path:
        return self.backend.model_path

    @property
    def loaded(self) -> bool:
        """Whether llama.cpp has loaded the model (it does on the first cache miss)."""
        return self.backend.loaded

    def load(self) -> None:
        """Load the model now rather than on the first cache miss (the prior server does, to fail fast)."""
        with self._lock:
            self.backend._load()

    def _load(self, k: int | None = None) -> LlamaBackend:
        """The llama.cpp model itself, loaded if it was not (benchmarks and tests read its scores directly)."""
        with self._lock:
            return self.backend._load(k)

    def rendered_prompt(self, query: PriorQuery, template: PromptTemplate | None = None) -> str:
        """The prompt `template` (default: the one in use for the family) renders, fitted to n_ctx,
        before any chat wrapping: the text a `prompt=` override replaces."""
        with self._lock:
            return self.backend.rendered_prompt(query, template)

    def template(self, family: str, wording: str | None = None) -> PromptTemplate:
        """The family's template in use (see `LlamaPriorBackend.template`)."""
        return self.backend.template(family, wording)

    def levers(self, family: str) -> scoring.Levers:
        """The score-mode options in force for an env family (the variant may tune them per family)."""
        return self.backend.levers(family)

    def set_template(self, family: str, template: PromptTemplate) -> None:
        """Use `template` for the family from now on (cached answers stay valid: they key on the prompt text)."""
        check_template(template, f"the template for {family!r}")
        with self._lock:
            self.backend.set_template(family, template)


# How to reach a model that runs behind a server (`PriorConfig.server`), by the kind of address: the clients
# live in sandbox.prior_service (the HTTP infrastructure is no part of the agents), which registers them here
# when the sandbox is imported.
ServerPriorFactory = Callable[[PriorConfig, int], ActionPrior]
SERVER_PRIORS: dict[str, tuple[Callable[[str], bool], ServerPriorFactory]] = {}


def register_server_prior(name: str, serves: Callable[[str], bool], factory: ServerPriorFactory) -> None:
    """`factory(config, run_seed)` builds the prior for server addresses `serves` accepts; addresses are
    offered to the registered kinds in registration order (a later registration of `name` replaces it)."""
    SERVER_PRIORS[name] = (serves, factory)


def build_prior(config: PriorConfig, *, run_seed: int = 0) -> ActionPrior:
    """The prior a config asks for, its variant's settings in force: "uniform" needs no model (nor a
    server), "oracle:skill=S" reads the env's optimal actions; with `server` set, the model runs in an
    OpenAI-compatible engine ("openai+http://...") or a `python -m sandbox prior-server` (the clients
    registered by sandbox.prior_service); anything else is a GGUF on llama.cpp here.

    `run_seed`: the seed of the run the prior serves, added to sample mode's seed (see `LlamaPrior`).
    """
    config = apply_variant(config)
    if is_oracle_model(config.model):
        validate_config(config)
        return OraclePrior(config, run_seed=run_seed)
    if config.model == UNIFORM_MODEL:
        validate_config(config)
        return UniformPrior(config)
    if config.server:
        for serves, factory in SERVER_PRIORS.values():
            if serves(config.server):
                return factory(config, run_seed)
        raise PriorError(
            f"no client for the prior server {config.server!r} is registered; import sandbox (its prior_service "
            "package registers them), as every `python -m sandbox` command does"
        )
    return LlamaPrior(config, run_seed=run_seed)
