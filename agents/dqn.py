"""DQN over all admissible actions, and DQN-Prior over the LLM prior's k proposals.

Read top to bottom: the config, then acting (prior → proposals → Q → posterior),
then learning (replay → Bellman target at s' → MSE).
The two agents differ only in where the candidate set comes from:

- DQN:       every admissible action; ε-greedy acting.
- DQN-Prior: k proposals drawn from p_LLM(·|s); act by sampling the posterior
             ∝ (proposal frequency)·exp(α·Q), or ε-greedy over the proposals;
             the paper's target maxes over the proposals drawn at s' (METHOD.md).

Two choices the paper fixed are settings (docs/concepts/acting-rules.md): `greedy`, how
evaluation picks (argmax Q over the proposals, or the posterior's mode), and `target`, the
backup at s' (max over the proposals, max over every admissible action, or the soft backup
of the KL-regularised objective, `bayes.soft_values_per_group`).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import torch

from agents import bayes
from agents.base import load_training_tensors, restore_rng, rng_state, training_tensors
from agents.configs import DQNConfig
from agents.decision import Decision, TextState, Transition, acting_settings, decide, state_text
from agents.errors import AgentError
from agents.features import FeatureCache, build_encoder
from agents.prior.types import ActionPrior, PriorResult
from agents.proposals import CurrentDraw, Draw, draw_proposals, draw_shape
from agents.qnet import QHead, max_q_per_group, q_values
from agents.replay import ReplayBuffer


class DQNAgent:
    """One readable class for DQN (prior=None) and DQN-Prior (prior given)."""

    def __init__(self, config: DQNConfig, prior: ActionPrior | None = None) -> None:
        config.validate()
        self.config = config  # the user's settings: read, never written (live changes come as `acting`)
        self.prior = prior
        self.acting = acting_settings("q", config, prior)  # the session hands a new one when a setting changes
        self.name = "dqn-prior" if prior is not None else "dqn"
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.features = FeatureCache(build_encoder(config.features), capacity=config.feature_cache_size)
        self.q_net = QHead(self.features.dim, config.hidden)
        self.target_net = copy.deepcopy(self.q_net)
        self.optimizer = torch.optim.Adam(self.q_net.parameters(), lr=config.lr)
        self.buffer = ReplayBuffer(config.buffer_size)
        self.env_steps = 0
        self.updates = 0
        # Proposals drawn at s' when learning are reused to act at s', so the Bellman max and the
        # next action see the same candidate set: one draw per step.
        self.draw = CurrentDraw()

    @classmethod
    def from_config(cls, config: DQNConfig, prior: ActionPrior | None) -> "DQNAgent":
        """How `agents.registry.make_agent` builds it (CQL and CQL-Prior inherit it)."""
        return cls(config, prior)

    # ----- acting ---------------------------------------------------------------------

    @property
    def epsilon(self) -> float:
        fraction = min(1.0, self.env_steps / self.config.epsilon_decay_steps)
        return self.config.epsilon_start + fraction * (self.config.epsilon_end - self.config.epsilon_start)

    def _propose(
        self, state: TextState, rng: np.random.Generator, *, greedy: bool = False, fresh: bool = False
    ) -> tuple[tuple[str, ...], PriorResult | None]:
        """k proposals from the prior (eval_k when greedy, with duplicates); DQN's candidates are all admissible actions.

        `fresh` draws anew even for the state of the kept draw: s' of a new step (the paper draws at every
        step). The prior's answer is cached exactly, so a score-mode redraw asks the model nothing; in sample
        mode the LLM's k completions for a state are fixed by the run's seed.
        """
        if self.prior is None:
            return tuple(state.actions), None
        shape = draw_shape(self.acting, greedy)
        k = shape[0]
        own = rng is self.rng  # a private RNG (evaluation, a fork's branch) neither reads nor keeps the agent's draw
        kept = self.draw.find(state, shape) if own and not fresh else None
        if kept is not None:
            if kept.answer is None:  # restored from a checkpoint
                kept = self.draw.keep(replace(kept, answer=self.prior(state, k=k)))
            return kept.proposals, kept.answer
        result = self.prior(state, k=k)
        proposals = draw_proposals(result, k, rng)
        if own:
            # Drawn once per step: re-deciding (e.g. the UI changing α) keeps the same proposals.
            self.draw.keep(Draw(state, shape, result, proposals))
        return proposals, result

    def forget_proposals(self) -> None:
        """Drop the draw kept for the current state (a new prompt template; a step that ended without learning)."""
        self.draw.forget()

    @torch.no_grad()
    def q_for_actions(self, state: TextState, actions: tuple[str, ...]) -> np.ndarray:
        text = state_text(state)
        return q_values(self.q_net, self.features, [text] * len(actions), list(actions)).numpy().astype(np.float64)

    def act(self, state: TextState, *, greedy: bool = False, rng: np.random.Generator | None = None) -> Decision:
        if not state.actions:
            raise AgentError("the state has no admissible actions to choose from")
        rng = self.rng if rng is None else rng
        proposals, prior_result = self._propose(state, rng, greedy=greedy)
        q = self.q_for_actions(state, state.actions)
        return decide(
            state, prior_result, self.acting, rng=rng, greedy=greedy, q_values=q, proposals=proposals, epsilon=self.epsilon
        )

    # ----- learning -------------------------------------------------------------------

    def learn(
        self, state: TextState, action: str, reward: float, next_state: TextState, terminated: bool
    ) -> dict[str, float]:
        candidates = tuple(dict.fromkeys(self._propose(state, self.rng)[0]))
        next_candidates: tuple[str, ...] = ()
        next_actions: tuple[str, ...] = ()
        next_log_prior: tuple[float, ...] = ()
        if not terminated and next_state.actions:
            proposals, result = self._propose(next_state, self.rng, fresh=True)  # a new step, even if s' == s
            next_candidates = tuple(dict.fromkeys(proposals))
            if self.config.target != "proposals":
                next_actions = tuple(next_state.actions)
            if self.config.target == "soft":
                next_log_prior = self._target_log_prior(result, len(next_actions))
        else:
            self.draw.forget()
        self.buffer.add(
            Transition(
                state_text(state),
                action,
                float(reward),
                state_text(next_state),
                bool(terminated),
                next_candidates,
                candidates,
                next_actions,
                next_log_prior,
            )
        )
        self.env_steps += 1
        stats: dict[str, float] = {"replay_size": float(len(self.buffer)), "epsilon": self.epsilon}
        if len(self.buffer) >= self.config.learning_starts and self.env_steps % self.config.train_every == 0:
            stats.update(self.update())
        return stats

    def _target_log_prior(self, result: PriorResult | None, n_actions: int) -> tuple[float, ...]:
        """log p(a|s') for the soft backup, from the answer acting already got (no new LLM call): the prior's
        probabilities (score mode: over every action; sample mode: the histogram of the k completions),
        with `soft_floor` of uniform mass mixed in so every admissible action can back up. Uniform for DQN."""
        probs = bayes.uniform(n_actions) if result is None else bayes.mix_uniform(result.probs, self.config.soft_floor)
        with np.errstate(divide="ignore"):
            return tuple(float(value) for value in np.log(probs))

    @property
    def soft_alpha(self) -> float:
        config = self.config
        return bayes.soft_alpha(config.soft_alpha_start, config.soft_alpha_end, config.soft_alpha_steps, self.env_steps)

    def update(self) -> dict[str, float]:
        """One gradient step on a replay batch (online: after each env step; offline: in a loop)."""
        batch = self.buffer.sample(self.config.batch_size, self.rng)
        loss, stats = self.loss(batch)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.q_net.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        self.updates += 1
        if self.updates % self.config.target_every == 0:
            self._sync_target()
        return stats

    def loss(self, batch: list[Transition]) -> tuple[torch.Tensor, dict[str, float]]:
        loss, predicted = self.td_loss(batch)
        return loss, {"loss": float(loss.detach()), "q_mean": float(predicted.detach().mean())}

    def td_loss(self, batch: list[Transition]) -> tuple[torch.Tensor, torch.Tensor]:
        """½(Q(s,a) − y)², y = r + γ(1−done)·V_target(s'), V by `[dqn] target`."""
        with torch.no_grad():
            next_value = self.next_values(batch)
            rewards = torch.tensor([t.reward for t in batch])
            not_done = torch.tensor([0.0 if t.terminated else 1.0 for t in batch])
            targets = rewards + self.config.gamma * not_done * next_value
        predicted = q_values(self.q_net, self.features, [t.state_text for t in batch], [t.action for t in batch])
        return 0.5 * torch.mean((predicted - targets) ** 2), predicted

    def next_values(self, batch: list[Transition]) -> torch.Tensor:
        """V_target(s') per transition: max of Q_target over the proposals stored at s' ("proposals"), over
        every admissible action ("all"), or (1/α_t)·log Σ_a p(a|s')·exp(α_t·Q_target(s',a)) over them ("soft")."""
        next_texts = [t.next_state_text for t in batch]
        target = self.config.target
        if target == "proposals":
            return max_q_per_group(self.target_net, self.features, next_texts, [t.next_candidates for t in batch])
        missing = [t for t in batch if not t.terminated and t.next_candidates and not t.next_actions]
        if target == "soft":
            missing += [t for t in batch if len(t.next_log_prior) != len(t.next_actions)]
        if missing:
            raise AgentError(
                f'target = "{target}" needs the admissible actions (and, for "soft", the prior) stored at s\', '
                'which these transitions (collected before, or by another target) lack; use target = "proposals"'
            )
        groups = [t.next_actions for t in batch]
        if target == "all" or not any(groups):  # no s' to back up from: max_q_per_group gives each 0
            return max_q_per_group(self.target_net, self.features, next_texts, groups)
        group_ids = torch.tensor([index for index, group in enumerate(groups) for _ in group], dtype=torch.long)
        q = q_values(
            self.target_net,
            self.features,
            [text for text, group in zip(next_texts, groups) for _ in group],
            [action for group in groups for action in group],
        )
        log_prior = torch.tensor([value for t in batch for value in t.next_log_prior], dtype=q.dtype)
        return bayes.soft_values_per_group(log_prior, q, group_ids, len(batch), self.soft_alpha)

    @torch.no_grad()
    def _sync_target(self) -> None:
        tau = self.config.target_tau
        for target, online in zip(self.target_net.parameters(), self.q_net.parameters()):
            target.mul_(1.0 - tau).add_(online, alpha=tau)

    # ----- checkpointing --------------------------------------------------------------

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors, param_groups = training_tensors({"q_net": self.q_net, "target_net": self.target_net}, self.optimizer)
        meta = {
            "agent": self.name,
            "config": asdict(self.config),
            "env_steps": self.env_steps,
            "updates": self.updates,
            "rng": rng_state(self.rng),
            "optimizer_param_groups": param_groups,
            "replay": self.buffer.to_json(),
            # The proposals already drawn for the state the agent is about to act in.
            "pending": None
            if (kept := self.draw.kept) is None
            else {"state": asdict(kept.state), "k": kept.shape[0], "proposals": list(kept.proposals)},
        }
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        modules = {"q_net": self.q_net, "target_net": self.target_net}
        load_training_tensors(tensors, modules, self.optimizer, meta["optimizer_param_groups"])
        self.env_steps = int(meta["env_steps"])
        self.updates = int(meta["updates"])
        restore_rng(self.rng, meta["rng"])
        self.buffer = ReplayBuffer.from_json(meta["replay"])
        pending = meta.get("pending")
        self.draw.forget()
        if pending is not None:
            state = pending["state"]
            restored = TextState(
                family=state["family"],
                task=state["task"],
                observation=state["observation"],
                actions=tuple(state["actions"]),
                history=tuple(tuple(pair) for pair in state["history"]),
            )
            # The prior's answer is recomputed on demand: it is deterministic (and cached).
            k = int(pending.get("k", self.acting.k))  # checkpoints from before k was kept drew the config's k
            shape = draw_shape(replace(self.acting, k=k))
            self.draw.keep(Draw(restored, shape, None, tuple(pending["proposals"])))
