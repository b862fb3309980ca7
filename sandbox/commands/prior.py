"""`python -m sandbox prior`: the LLM prior p_LLM(a|s) over the first state of an environment."""

from __future__ import annotations

import argparse
import dataclasses

from sandbox.arguments import add_env_arguments, add_prior_arguments, parse_key_values, print_json, prior_config_from_args

NAME = "prior"
HELP = "show the LLM prior over the admissible actions of an environment's first state"

BAR_WIDTH = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.prior.config import PRIOR_MODES, PriorConfig

    defaults = PriorConfig()
    add_env_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="environment reset seed")
    parser.add_argument(
        "--mode", dest="prior_mode", choices=PRIOR_MODES, default=argparse.SUPPRESS, help="same as --prior-mode"
    )
    parser.add_argument("--top-p", type=float, default=defaults.top_p, help="sample mode: nucleus mass")
    parser.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens, help="sample mode: tokens per completion")
    parser.add_argument("--chat", action="store_true", help="sample mode: wrap the prompt in the model's chat template")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    add_prior_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from agents.prior import PRIOR_MODES, PriorQuery, build_prior
    from agents.prior.variants import options_in_force
    from envs import env_family, make_env

    config = dataclasses.replace(
        prior_config_from_args(args), top_p=args.top_p, max_new_tokens=args.max_new_tokens, chat=args.chat
    )
    env = make_env(args.env, **parse_key_values(args.env_arg))
    try:
        observation, info = env.reset(seed=args.seed)
    finally:
        env.close()
    query = PriorQuery(
        family=env_family(args.env),
        task=str(info.get("task", "")),
        observation=str(observation).strip(),
        actions=tuple(info.get("admissible_commands", ())),
    )
    prior = build_prior(config)
    try:
        result = prior(query)
    finally:
        prior.close()
    if args.json:
        payload = {
            "model": prior.model_name,
            "mode": result.mode,
            "actions": list(result.actions),
            "probs": [float(p) for p in result.probs],
            "ms": round(result.ms, 3),
            "cached": result.cached,
            "gpu_layers": prior.gpu_layers,
            # the scoring options in force (a prior that reads no prompt, uniform or oracle, has none)
            "variant": options_in_force(prior.config, query.family)
            if result.mode in PRIOR_MODES
            else {"name": prior.config.variant},
        }
        if result.mode == "sample":
            payload["proposals"] = [dataclasses.asdict(proposal) for proposal in result.proposals]
            payload["dropped"] = result.dropped
            payload["fallback_uniform"] = result.fallback_uniform
        print_json(payload)
        return 0
    source = "cache hit" if result.cached else "computed"
    print(f"prior {prior.model_name} ({result.mode}) on {args.env}: {result.ms:.0f} ms, {source}, {prior.gpu_layers} GPU layers")
    width = max(len("action"), *(len(action) for action in result.actions))
    print(f"{'action':<{width}}  {'prob':>6}")
    for action, prob in sorted(zip(result.actions, result.probs), key=lambda pair: -pair[1]):
        print(f"{action:<{width}}  {prob:6.3f}  {'█' * round(prob * BAR_WIDTH)}")
    if result.mode == "sample":
        for proposal in result.proposals:
            print(f"  proposal {proposal.text.strip()!r} → {proposal.action or '-'} ({proposal.how})")
        note = "; every proposal dropped, uniform fallback" if result.fallback_uniform else ""
        print(f"  {result.dropped} of {len(result.proposals)} proposals dropped{note}")
    return 0
