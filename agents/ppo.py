"""PPO over each state's admissible actions, and PPO-Prior: the same, KL-regularised to p_LLM.

    loss = −clipped surrogate + c_v·value loss − c_H·H(π) + α·KL(π(·|s) ‖ p_LLM(·|s))

Read top to bottom: the config, the rollout record and GAE, then the agent —
acting (prior → policy over the admissible actions), learning (buffer a rollout
through `learn()`, update every `rollout_steps` env steps), checkpointing.

- Actor: the Q head's architecture on [state, action, state⊙action] features gives
  one logit per admissible action, so the action set may change from state to state.
  Its last layer starts at zero, so π starts uniform; with `prior_logits` PPO-Prior's
  logits are log p_LLM + that learned residual instead, so π = p_LLM before any update.
  That helps when the prior is good, and holds π at a misleading prior that rarely
  finds reward (smollm2-135m on Frozen Lake), hence off by default: the paper's
  GFlan-Prior adds only the KL term.
- Critic: V(s) from the state's features.
- The agent sees `terminated` only. Every non-terminal transition bootstraps from
  V(s') at its stored next state, which covers both an episode cut by the time limit
  and a rollout that ends mid-episode; GAE's recursion runs only while the next
  stored transition starts where this one ended (`continues_into_next`).
- α = 0 is plain PPO (unless `prior_logits`); a large α keeps π at the prior.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from agents import bayes
from agents.base import load_training_tensors, restore_rng, rng_state, training_tensors
from agents.configs import PPOConfig
from agents.decision import Decision, TextState, acting_settings, decide, state_text
from agents.errors import AgentError
from agents.features import FeatureCache, build_encoder
from agents.prior.types import ActionPrior, PriorResult
from agents.proposals import CurrentDraw, Draw, draw_shape
from agents.qnet import QHead

PRIOR_FLOOR = 1e-8
"""Smallest p_LLM(a|s) the KL and the prior logits see. KL(π‖p) is infinite where π has mass
and p none (sample-mode priors give zeros), so zeros become a large finite penalty instead;
PriorConfig.epsilon (a uniform floor) is the principled way to give every action mass."""


# ----- the rollout and GAE -----------------------------------------------------------


@dataclass(frozen=True)
class RolloutStep:
    """One on-policy transition, as text and numbers so a checkpoint holds the rollout as JSON.

    The behaviour policy's log-probs and values are not stored: parameters change only
    in `update()`, so recomputing them there, before the first step, gives the policy and
    critic that acted.
    """

    state_text: str
    actions: tuple[str, ...]  # the admissible actions at s, which π is normalised over
    action_index: int
    reward: float
    next_state_text: str
    terminated: bool
    prior: tuple[float, ...] = ()  # p_LLM(·|s) aligned with `actions`, as acting used it; () for plain PPO

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> "RolloutStep":
        return cls(**{**payload, "actions": tuple(payload["actions"]), "prior": tuple(payload["prior"])})


def continues_into_next(steps: Sequence[RolloutStep]) -> list[bool]:
    """Whether each transition's episode goes on in the next stored one (GAE may look ahead).

    False at a terminal, at the rollout's last step, and where the next transition starts
    elsewhere: the time limit cut the episode (or a skipped command broke the chain).
    Text states are Markov here, so a reset that lands on the very state an episode was
    cut at reads as continuing, which bootstraps from the same V either way.
    """
    following = [
        not step.terminated and after.state_text == step.next_state_text for step, after in zip(steps, steps[1:])
    ]
    return following + [False] if steps else []


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    next_values: torch.Tensor,
    terminated: torch.Tensor,
    continues: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """Generalised advantage estimation over one rollout (all arguments aligned, float).

        δ_t = r_t + γ·(1 − terminated_t)·V(s'_t) − V(s_t)
        A_t = δ_t + γλ·continues_t·A_{t+1}
    """
    advantages = torch.zeros_like(rewards)
    running = torch.zeros(())
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * (1.0 - terminated[t]) * next_values[t] - values[t]
        running = delta + gamma * lam * continues[t] * running
        advantages[t] = running
    return advantages


def action_mask(action_groups: Sequence[Sequence[str]], width: int) -> torch.Tensor:
    """(states, width) booleans: True for each state's real actions, False for padding."""
    sizes = torch.tensor([len(group) for group in action_groups])
    return torch.arange(width) < sizes[:, None]


def padded_log_prior(priors: Sequence[Sequence[float]], width: int) -> torch.Tensor:
    """log p_LLM per state, padded to `width` and floored at PRIOR_FLOOR so it stays finite."""
    padded = torch.zeros(len(priors), width)
    for row, probs in enumerate(priors):
        padded[row, : len(probs)] = torch.tensor(probs, dtype=torch.float32)
    return padded.clamp(min=PRIOR_FLOOR).log()


class ValueHead(nn.Module):
    """The critic: V(s) from the state's text features."""

    def __init__(self, feature_dim: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = feature_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, state_vectors: torch.Tensor) -> torch.Tensor:
        return self.mlp(state_vectors).squeeze(-1)


# ----- the agent ---------------------------------------------------------------------


class PPOAgent:
    """One readable class for PPO (prior=None) and PPO-Prior (prior given)."""

    def __init__(self, config: PPOConfig, prior: ActionPrior | None = None) -> None:
        config.validate()
        self.config = config  # the user's settings: read, never written (live changes come as `acting`)
        self.prior = prior
        self.acting = acting_settings("policy", config, prior)  # the session hands a new one when a setting changes
        self.name = "ppo-prior" if prior is not None else "ppo"
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.features = FeatureCache(build_encoder(config.features), capacity=config.feature_cache_size)
        self.actor = QHead(self.features.dim, config.hidden)  # one logit per (state, action)
        self.critic = ValueHead(self.features.dim, config.hidden)
        final = self.actor.mlp[-1]
        nn.init.zeros_(final.weight)  # π starts uniform (PPO) or exactly at p_LLM (prior logits)
        nn.init.zeros_(final.bias)
        self.trainable = [*self.actor.parameters(), *self.critic.parameters()]
        self.optimizer = torch.optim.Adam(self.trainable, lr=config.lr, eps=1e-5)
        self.rollout: list[RolloutStep] = []
        self.env_steps = 0
        self.updates = 0
        # The prior's answer for the state last seen, so acting and learning at s query it once
        # and the transition stores exactly the p_LLM acting used.
        self.draw = CurrentDraw()

    @classmethod
    def from_config(cls, config: PPOConfig, prior: ActionPrior | None) -> "PPOAgent":
        """How `agents.registry.make_agent` builds it."""
        return cls(config, prior)

    @property
    def alpha(self) -> float:
        """The KL weight now: α, linearly annealed to α_final over `alpha_anneal_steps` env steps."""
        config = self.config
        if config.alpha_anneal_steps == 0:
            return config.alpha
        fraction = min(1.0, self.env_steps / config.alpha_anneal_steps)
        return config.alpha + fraction * (config.alpha_final - config.alpha)

    # ----- acting ---------------------------------------------------------------------

    def forget_proposals(self) -> None:
        """Ask the prior again at the current state (a new prompt template; a step that ended without learning)."""
        self.draw.forget()

    def _prior_result(self, state: TextState) -> PriorResult | None:
        if self.prior is None:
            return None
        shape = draw_shape(self.acting)
        kept = self.draw.find(state, shape) or self.draw.keep(Draw(state, shape, self.prior(state), ()))
        return kept.answer

    def _log_policy(
        self,
        state_texts: Sequence[str],
        action_groups: Sequence[Sequence[str]],
        mask: torch.Tensor,
        log_prior: torch.Tensor | None,
    ) -> torch.Tensor:
        """log π(·|s) per state, padded like `mask` (padding: −inf)."""
        pair_states = [text for text, group in zip(state_texts, action_groups) for _ in group]
        pair_actions = [action for group in action_groups for action in group]
        scores = self.actor(self.features.encode(pair_states), self.features.encode(pair_actions))
        logits = torch.full(mask.shape, float("-inf")).masked_scatter(mask, scores)
        if log_prior is not None and self.config.prior_logits:
            logits = logits + log_prior
        return torch.log_softmax(logits, dim=-1)

    @torch.no_grad()
    def policy(self, state: TextState, prior_result: PriorResult | None = None) -> np.ndarray:
        """π(·|s) over `state.actions`, in float64 so it can be sampled from directly."""
        n = len(state.actions)
        log_prior = padded_log_prior([prior_result.probs.tolist()], n) if prior_result is not None else None
        log_pi = self._log_policy([state_text(state)], [state.actions], action_mask([state.actions], n), log_prior)
        return bayes.softmax(log_pi[0].numpy().astype(np.float64))

    def act(self, state: TextState, *, greedy: bool = False, rng: np.random.Generator | None = None) -> Decision:
        if not state.actions:
            raise AgentError("the state has no admissible actions to choose from")
        rng = self.rng if rng is None else rng
        prior_result = self._prior_result(state)
        policy = self.policy(state, prior_result)
        settings = replace(self.acting, alpha=self.alpha)  # the KL weight in force now (α may be annealed)
        return decide(state, prior_result, settings, rng=rng, greedy=greedy, policy=policy)

    # ----- learning -------------------------------------------------------------------

    def learn(
        self, state: TextState, action: str, reward: float, next_state: TextState, terminated: bool
    ) -> dict[str, float]:
        """Buffer the transition; every `rollout_steps` stored transitions, update and start a new rollout.

        A typed command outside the admissible actions has no probability under π, so it
        cannot be an on-policy sample and is not stored (the GAE chain is cut there).
        """
        self.env_steps += 1
        if action in state.actions:
            prior_result = self._prior_result(state)
            self.rollout.append(
                RolloutStep(
                    state_text=state_text(state),
                    actions=tuple(state.actions),
                    action_index=state.actions.index(action),
                    reward=float(reward),
                    next_state_text=state_text(next_state),
                    terminated=bool(terminated),
                    prior=tuple(float(p) for p in prior_result.probs) if prior_result is not None else (),
                )
            )
        stats: dict[str, float] = {"rollout_size": float(len(self.rollout))}
        if len(self.rollout) >= self.config.rollout_steps:
            stats.update(self.update())
        return stats

    def update(self) -> dict[str, float]:
        """PPO on the buffered rollout: GAE once, then `update_epochs` passes of shuffled minibatches."""
        config, steps = self.config, self.rollout
        state_texts = [step.state_text for step in steps]
        action_groups = [step.actions for step in steps]
        width = max(len(group) for group in action_groups)
        mask = action_mask(action_groups, width)
        log_prior = padded_log_prior([step.prior for step in steps], width) if self.prior is not None else None
        actions = torch.tensor([step.action_index for step in steps])
        with torch.no_grad():
            old_log_pi = self._log_policy(state_texts, action_groups, mask, log_prior)
            old_log_probs = old_log_pi.gather(1, actions[:, None]).squeeze(1)
            old_values = self.critic(self.features.encode(state_texts))
            next_values = self.critic(self.features.encode([step.next_state_text for step in steps]))
            advantages = gae(
                torch.tensor([step.reward for step in steps]),
                old_values,
                next_values,
                torch.tensor([float(step.terminated) for step in steps]),
                torch.tensor([float(c) for c in continues_into_next(steps)]),
                config.gamma,
                config.gae_lambda,
            )
            returns = advantages + old_values

        alpha = self.alpha
        totals: dict[str, float] = {}
        minibatches = 0
        for _ in range(config.update_epochs):
            for indices in np.array_split(self.rng.permutation(len(steps)), config.minibatches):
                index = torch.as_tensor(indices)
                batch_prior = log_prior[index] if log_prior is not None else None
                log_pi = self._log_policy(
                    [state_texts[i] for i in indices], [action_groups[i] for i in indices], mask[index], batch_prior
                )
                log_ratio = log_pi.gather(1, actions[index, None]).squeeze(1) - old_log_probs[index]
                ratio = log_ratio.exp()
                batch_advantages = advantages[index]
                if config.norm_adv and len(index) > 1:
                    batch_advantages = (batch_advantages - batch_advantages.mean()) / (batch_advantages.std() + 1e-8)
                policy_loss = torch.max(
                    -batch_advantages * ratio,
                    -batch_advantages * ratio.clamp(1.0 - config.clip_coef, 1.0 + config.clip_coef),
                ).mean()

                values = self.critic(self.features.encode([state_texts[i] for i in indices]))
                value_error = (values - returns[index]) ** 2
                if config.clip_value_loss:
                    change = (values - old_values[index]).clamp(-config.clip_coef, config.clip_coef)
                    value_error = torch.max(value_error, (old_values[index] + change - returns[index]) ** 2)
                value_loss = 0.5 * value_error.mean()

                entropy = bayes.masked_entropy(log_pi, mask[index]).mean()
                loss = policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy
                measured = {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy}
                if batch_prior is not None:
                    kl_prior = bayes.masked_kl_divergence(log_pi, batch_prior, mask[index]).mean()
                    loss = loss + alpha * kl_prior
                    measured["kl_prior"] = kl_prior

                self.optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.trainable, config.max_grad_norm)
                self.optimizer.step()

                measured |= {
                    "loss": loss,
                    "approx_kl": (ratio - 1.0) - log_ratio,  # CleanRL's low-variance estimator of KL(π_old‖π)
                    "clip_frac": ((ratio - 1.0).abs() > config.clip_coef).float(),
                }
                for key, value in measured.items():
                    totals[key] = totals.get(key, 0.0) + float(value.detach().mean())
                minibatches += 1

        self.updates += 1
        self.rollout = []
        stats = {key: total / minibatches for key, total in totals.items()}
        return (stats | {"alpha": alpha}) if self.prior is not None else stats

    # ----- checkpointing --------------------------------------------------------------

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Networks, Adam state and RNGs as tensors; counters and the partial rollout as JSON."""
        tensors, param_groups = training_tensors({"actor": self.actor, "critic": self.critic}, self.optimizer)
        meta = {
            "agent": self.name,
            "config": asdict(self.config),
            "env_steps": self.env_steps,
            "updates": self.updates,
            "rng": rng_state(self.rng),
            "optimizer_param_groups": param_groups,
            "rollout": [asdict(step) for step in self.rollout],
        }
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        modules = {"actor": self.actor, "critic": self.critic}
        load_training_tensors(tensors, modules, self.optimizer, meta["optimizer_param_groups"])
        self.env_steps = int(meta["env_steps"])
        self.updates = int(meta["updates"])
        restore_rng(self.rng, meta["rng"])
        self.rollout = [RolloutStep.from_json(step) for step in meta["rollout"]]
        self.draw.forget()
