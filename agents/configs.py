"""The agents' settings, apart from the agents: dataclasses that load without torch.

`sandbox.engine.config` reads them from TOML and the CLI lists their choices for `--help`;
neither should pay for importing torch, and the agents import their config from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.errors import AgentError

EXPLORATION_RULES = ("posterior", "epsilon")  # DQN-Prior: sample the posterior, or ε-greedy over proposals
# Greedy evaluation: argmax Q over the proposals (the paper's code), or the posterior's mode,
# argmax log p̂(a|s) + α·Q(s,a) (p̂: the proposals' share).
GREEDY_RULES = ("q", "map")
# The Bellman target's backup at s': max over the proposals stored at s' (the paper's rule), max over every
# admissible action, or the soft backup (1/α_t)·log Σ_a p(a|s')·exp(α_t·Q_target(s',a)) over every admissible action.
TARGET_RULES = ("proposals", "all", "soft")
# The config fields an agent's acting settings are read from, by what it acts on (agents.decision.acting_settings);
# the registry checks a spec's config class has them.
ACTING_FIELDS: dict[str, tuple[str, ...]] = {
    "q": ("alpha", "k", "eval_k", "explore", "greedy"),
    "policy": ("alpha",),
    "prior": (),
}
# Named acting rules: `paper` is the paper's (and its code's), kept so the reproduction is never lost.
ACTING_PRESETS: dict[str, dict[str, str]] = {"paper": {"greedy": "q", "target": "proposals"}}
# The acting rule an online agent gets unless a file or flag sets one (sandbox.engine.config applies it as the lowest
# layer): DQN-Prior's is the one `bench prior-strength` favoured (docs/concepts/acting-rules.md). DQNConfig's own
# defaults stay the paper's, so plain DQN keeps the max over every action, CQL its offline data (which stores no
# prior), and every config written before these settings its meaning.
AGENT_ACTING_DEFAULTS: dict[str, dict[str, str]] = {"dqn-prior": {"greedy": "map", "target": "soft"}}


def acting_rule(name: str) -> dict[str, str]:
    """{"greedy", "target"} for a named rule: a preset ("paper"), "default" (DQN-Prior's default) or
    "GREEDY+TARGET", e.g. "map+soft" (one setting changed against a preset: a counterfactual)."""
    if name in ACTING_PRESETS:
        return dict(ACTING_PRESETS[name])
    if name == "default":
        return dict(AGENT_ACTING_DEFAULTS["dqn-prior"])
    greedy, _, target = name.partition("+")
    if greedy not in GREEDY_RULES or target not in TARGET_RULES:
        raise AgentError(
            f"unknown acting rule {name!r}; use {', '.join(ACTING_PRESETS)}, default or GREEDY+TARGET with GREEDY in "
            f"{', '.join(GREEDY_RULES)} and TARGET in {', '.join(TARGET_RULES)}, e.g. map+soft"
        )
    return {"greedy": greedy, "target": target}


@dataclass
class DQNConfig:
    """Hyperparameters. Defaults: the paper's α = 10, k = 5 (eval_k 15), lr 5e-4, batch 64, buffer 4,000 and
    gradient clipping at 1.0 (its Overcooked code); its ALFWorld target, a hard copy every 20 updates
    (target_tau = 0.005 with target_every = 1 is its Overcooked soft update); and a decaying ε for plain
    DQN where its code keeps ε constant (epsilon_start = epsilon_end gives that). docs/guides/paper-differences.md
    says why.
    """

    alpha: float = 10.0  # posterior sharpness: q ∝ p_LLM·exp(α·Q)
    k: int = 5  # proposals drawn from the prior per state while training
    eval_k: int = 15  # proposals per state when acting greedily (the paper uses up to 15 at test)
    explore: str = "posterior"  # DQN-Prior: sample the posterior, or ε-greedy over proposals
    greedy: str = "q"  # evaluation: "q" argmax Q over the proposals, "map" the posterior's mode
    target: str = "proposals"  # Bellman backup at s': "proposals", "all" (max over A(s')) or "soft"
    soft_alpha_start: float = 1.0  # target = "soft": α_t goes linearly from this ...
    soft_alpha_end: float = 100.0  # ... to this ...
    soft_alpha_steps: int = 2000  # ... over this many env steps (G-learning's growing α)
    soft_floor: float = 0.01  # target = "soft": uniform mass mixed into the prior at s' so every action can back up
    gamma: float = 0.99
    lr: float = 5e-4
    batch_size: int = 64
    buffer_size: int = 4000
    learning_starts: int = 64  # transitions collected before the first update
    train_every: int = 1  # env steps per gradient step
    target_every: int = 20  # updates between target syncs
    target_tau: float = 1.0  # 1 = hard copy; 0.005 with target_every=1 = the paper's soft update
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_steps: int = 2000
    max_grad_norm: float = 1.0  # the Q head's gradient norm is clipped to this before each step (the paper's code)
    cql_beta: float = 5.0  # offline agents only: weight of CQL's conservative penalty
    hidden: tuple[int, ...] = (64, 64)
    features: str = "minilm"  # "minilm" (frozen sentence encoder) or "hash" (no model)
    feature_cache_size: int = 50_000
    seed: int = 0

    def validate(self) -> None:
        if self.explore not in EXPLORATION_RULES:
            raise AgentError(f"explore must be one of {', '.join(EXPLORATION_RULES)}, got {self.explore!r}")
        for name, value, valid in (("greedy", self.greedy, GREEDY_RULES), ("target", self.target, TARGET_RULES)):
            if value not in valid:
                raise AgentError(f"{name} must be one of {', '.join(valid)}, got {value!r}")
        if not (0 < self.soft_alpha_start and 0 < self.soft_alpha_end):
            raise AgentError(
                f"soft_alpha_start and soft_alpha_end must be > 0, got {self.soft_alpha_start} and {self.soft_alpha_end}"
            )
        if self.soft_alpha_steps < 0 or not 0.0 <= self.soft_floor <= 1.0:
            raise AgentError(
                f"soft_alpha_steps must be >= 0 and soft_floor in [0, 1], got {self.soft_alpha_steps} and {self.soft_floor}"
            )
        if self.k < 1 or self.eval_k < 1:
            raise AgentError(f"k and eval_k (proposals per state) must be at least 1, got {self.k} and {self.eval_k}")
        if not 0.0 < self.target_tau <= 1.0:
            raise AgentError(f"target_tau must be in (0, 1], got {self.target_tau}")
        if not self.max_grad_norm > 0:
            raise AgentError(f"max_grad_norm must be > 0, got {self.max_grad_norm}")
        for name in ("batch_size", "buffer_size", "train_every", "target_every", "epsilon_decay_steps"):
            if getattr(self, name) < 1:
                raise AgentError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass
class PPOConfig:
    """Hyperparameters; defaults follow CleanRL's ppo.py except lr (the paper's 5e-4, as DQN's)."""

    alpha: float = 0.1  # PPO-Prior: weight of α·KL(π(·|s) ‖ p_LLM(·|s)) in the loss
    alpha_final: float = 0.1  # α is annealed linearly to this value ...
    alpha_anneal_steps: int = 0  # ... over this many env steps (0: α stays constant)
    prior_logits: bool = False  # PPO-Prior: actor logits = log p_LLM + learned residual (π = p_LLM at init)
    gamma: float = 0.99
    gae_lambda: float = 0.95
    lr: float = 5e-4
    rollout_steps: int = 128  # env steps collected between updates
    minibatches: int = 4  # per epoch; a rollout of 128 gives minibatches of 32
    update_epochs: int = 4
    clip_coef: float = 0.2  # PPO's ratio clip, also used for the value clip
    clip_value_loss: bool = True
    norm_adv: bool = True  # normalise advantages per minibatch
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: tuple[int, ...] = (64, 64)
    features: str = "minilm"  # "minilm" (frozen sentence encoder) or "hash" (no model)
    feature_cache_size: int = 50_000
    seed: int = 0

    def validate(self) -> None:
        for name in ("rollout_steps", "minibatches", "update_epochs"):
            if getattr(self, name) < 1:
                raise AgentError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.minibatches > self.rollout_steps:
            raise AgentError(f"minibatches ({self.minibatches}) cannot exceed rollout_steps ({self.rollout_steps})")
        for name in ("alpha", "alpha_final", "alpha_anneal_steps", "ent_coef", "vf_coef"):
            if getattr(self, name) < 0:
                raise AgentError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("gamma", "gae_lambda"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise AgentError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("lr", "clip_coef", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise AgentError(f"{name} must be > 0, got {getattr(self, name)}")
