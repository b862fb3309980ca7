"""Argument groups and output helpers shared by the commands and the experiments (`sandbox.results`),
and the flags as config layers (`flag_layers`, which `config_from_args` hands to `sandbox.engine.config.build_config`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from sandbox.engine.config import Layer, RunConfig, build_config, preset_layer, read_toml
from sandbox.engine.metrics import finite
from sandbox.errors import SandboxError

FEATURE_CHOICES = ("minilm", "hash", "minilm+hash")  # agents.features.FEATURE_KINDS, without importing torch for --help

# A command's flag (its argparse dest) → the (config section, key) it sets; a flag left unset (None) keeps the
# value of the layers under it. Agent settings (agents.registry.RUN_WIDE_SETTINGS, e.g. --alpha) are not here:
# each reaches the section of every agent whose spec lists it.
FLAG_SETTINGS = {
    "env": ("run", "env"),
    "agent": ("run", "agent"),
    "steps": ("run", "steps"),
    "seed": ("run", "seed"),
    "eval_every": ("run", "eval_every"),
    "eval_episodes": ("run", "eval_episodes"),
    "checkpoint_every": ("run", "checkpoint_every"),
    "keep_episodes": ("run", "keep_episodes"),
    "limit": ("run", "dataset_limit"),
    "beta": ("dqn", "cql_beta"),
    "prior_mode": ("prior", "mode"),
}
PRIOR_FLAGS = {  # the prior's flags (add_prior_arguments) → [prior] keys
    "prior_model": "model",
    "prior_temperature": "temperature",
    "length_norm": "length_norm",
    "prior_k": "k",
    "prior_epsilon": "epsilon",
    "n_gpu_layers": "n_gpu_layers",
    "n_ctx": "n_ctx",
    "threads": "n_threads",
    "prior_seed": "seed",
    "prior_cache": "cache_path",
    "templates_dir": "templates_dir",
    "prior_server": "server",
    "prior_variant": "variant",
    "prior_api_key_env": "api_key_env",
    "prior_outage_wait": "outage_wait_s",
}


def add_env_arguments(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "--env",
        required=required,
        default=None if required else "TextFrozenLake-v0",
        help="environment id (see `python -m sandbox envs`)",
    )
    parser.add_argument(
        "--env-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment option, repeatable (e.g. --env-arg level=5)",
    )


def parse_key_values(pairs: list[str]) -> dict[str, Any]:
    """Parse KEY=VALUE strings; values are read as JSON when they parse (numbers, bools), else kept as text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise SandboxError(f"option {pair!r} is not KEY=VALUE; write it like --env-arg level=5")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def print_json(payload: dict[str, Any]) -> None:
    """Commands that report numbers print exactly one JSON object with --json (NaN becomes null)."""
    json.dump(finite(payload), sys.stdout, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


def add_prior_arguments(parser: argparse.ArgumentParser, with_defaults: bool = True) -> None:
    """The prior's settings as CLI flags; `prior_config_from_args` turns them into a PriorConfig.

    With `with_defaults=False` every flag defaults to None, so a config file's value wins
    unless the flag is given.
    """
    from agents.prior.config import PRIOR_MODES, PriorConfig
    from agents.prior.variants import VARIANTS

    defaults = PriorConfig()
    group = parser.add_argument_group("prior")
    group.add_argument(
        "--prior-model",
        default=defaults.model,
        help="smollm2-135m (embedded default), gemma-3-270m, uniform, oracle:skill=S (S in [-1, 1]: knows the"
        " env's optimal actions), a path to a .gguf file, hf:OWNER/REPO:FILE.gguf, or with an OpenAI-compatible"
        " --prior-server the id the engine serves",
    )
    group.add_argument(
        "--prior-variant",
        default=defaults.variant,
        metavar="NAME",
        help="a named set of scoring options (agents/prior/variants.py): " + ", ".join(VARIANTS),
    )
    group.add_argument("--prior-mode", choices=PRIOR_MODES, default=defaults.mode)
    group.add_argument("--prior-temperature", type=float, default=defaults.temperature)
    group.add_argument(
        "--length-norm", action="store_const", const=True, default=False, help="score mode: mean token log-prob"
    )
    group.add_argument(
        "--prior-k", type=int, default=defaults.k,
        help="sample mode: completions per state (dqn-prior and cql-prior draw their own --k, eval_k when greedy)",
    )
    group.add_argument("--prior-epsilon", type=float, default=defaults.epsilon, help="uniform floor mixed into the prior")
    group.add_argument("--n-gpu-layers", type=int, default=defaults.n_gpu_layers, help="llama.cpp layers to offload (-1 = all)")
    group.add_argument("--n-ctx", type=int, default=defaults.n_ctx)
    group.add_argument("--threads", type=int, default=defaults.n_threads)
    group.add_argument("--prior-seed", type=int, default=defaults.seed)
    group.add_argument(
        "--prior-cache",
        default=defaults.cache_path,
        help="SQLite file of the exact prior cache ('none' disables it)",
    )
    group.add_argument(
        "--templates-dir",
        default=defaults.templates_dir,
        metavar="DIR",
        help="folder of prompt templates, <family>.toml, that replace the built-in ones ('none': built-in only)",
    )
    group.add_argument(
        "--prior-server",
        default=defaults.server,
        metavar="URL",
        help="ask a server instead of loading the model here: http://HOST:PORT for a `python -m sandbox prior-server`, "
        "openai+http://HOST:PORT/v1 for an OpenAI-compatible engine (vLLM, llama-cpp-python) serving --prior-model",
    )
    group.add_argument(
        "--prior-api-key-env",
        default=defaults.api_key_env,
        metavar="NAME",
        help=f"environment variable holding the prior server's API key, sent as a bearer token (default {defaults.api_key_env})",
    )
    group.add_argument(
        "--prior-outage-wait",
        type=float,
        default=defaults.outage_wait_s,
        metavar="SECONDS",
        help="how long to wait for a prior server that answered once and went away (a restart) before stopping; "
        f"`train` then saves a checkpoint to --resume from (default {defaults.outage_wait_s:g})",
    )
    if not with_defaults:
        for action in group._group_actions:
            action.default = None


def prior_config_from_args(args: argparse.Namespace) -> "PriorConfig":  # noqa: F821
    from agents.prior.config import PriorConfig

    return PriorConfig(
        model=args.prior_model,
        mode=args.prior_mode,
        temperature=args.prior_temperature,
        length_norm=args.length_norm,
        k=args.prior_k,
        epsilon=args.prior_epsilon,
        n_gpu_layers=args.n_gpu_layers,
        n_ctx=args.n_ctx,
        n_threads=args.threads,
        seed=args.prior_seed,
        cache_path=none_or(args.prior_cache),
        templates_dir=none_or(args.templates_dir),
        server=args.prior_server,
        api_key_env=args.prior_api_key_env,
        variant=args.prior_variant,
        outage_wait_s=args.prior_outage_wait,
    )


def none_or(path: str | None) -> str | None:
    """A path flag's value; 'none' (any case) turns the feature off."""
    return None if path is None or str(path).lower() == "none" else path


def flag_layers(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """One config layer per flag given, named after the flag, so config.toml says which flag set a value."""
    from agents.registry import RUN_WIDE_SETTINGS, sections_for

    layers: list[tuple[str, dict[str, Any]]] = []
    if getattr(args, "acting", None):  # before --greedy and --target, which then win key by key
        from agents.configs import acting_rule
        from agents.errors import AgentError

        try:
            layers.append((f"--acting {args.acting}", {"dqn": acting_rule(args.acting)}))
        except AgentError as error:
            raise SandboxError(f"--acting: {error}") from None
    for flag, (section, name) in FLAG_SETTINGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            layers.append((f"--{flag.replace('_', '-')}", {section: {name: value}}))
    for flag in RUN_WIDE_SETTINGS:  # in the section of every agent whose spec lists the setting
        value = getattr(args, flag, None)
        if value is not None:
            layers.append((f"--{flag}", sections_for({flag: value})))
    for flag, name in PRIOR_FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            value = none_or(value) if flag in ("prior_cache", "templates_dir") else value
            layers.append((f"--{flag.replace('_', '-')}", {"prior": {name: "none" if value is None else value}}))
    if getattr(args, "env_arg", None):
        layers.append(("--env-arg", {"run": {"env_kwargs": parse_key_values(args.env_arg)}}))
    elif getattr(args, "env", None):
        layers.append(("--env", {"run": {"env_kwargs": {}}}))  # another env: the file's env options do not apply
    return layers


def config_from_args(
    args: argparse.Namespace, *, base: Sequence[Layer] = (), experiment: Sequence[Layer] = ()
) -> RunConfig:
    """A command's config (`build_config`): --config or --preset as the file, the flags it was given on top."""
    return build_config(base=base, file=file_layer(args), experiment=experiment, flags=flag_layers(args))


def file_layer(args: argparse.Namespace) -> Layer | None:
    """--config FILE or --preset NAME as a layer named after the flag; None without either."""
    if getattr(args, "config", None):
        return f"--config {args.config}", read_toml(args.config)
    if getattr(args, "preset", None):
        return preset_layer(args.preset)
    return None
