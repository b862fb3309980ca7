"""What-if forks in the engine (no UI): exact replay on every env family, isolation, keep and discard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from sandbox.errors import SandboxError
from sandbox.ui.controller import Builders, SessionController
from tests.app.support import fast_config


def controller_for(env: str, agent: str = "dqn-prior", **env_kwargs: Any) -> SessionController:
    controller = SessionController(fast_config(agent, env=env, env_kwargs=env_kwargs), record_episodes=False)
    controller.build()
    controller.new_episode()
    return controller


def play(controller: SessionController, steps: int) -> None:
    for _ in range(steps):
        if controller.session.done:
            break
        controller.step()


@pytest.mark.parametrize(
    ("env", "env_kwargs"),
    [
        ("TextFrozenLake-v0", {"is_slippery": True}),  # slips come from the env's seeded RNG
        ("overcooked-tomato-salad-v0", {}),
        ("tw-coin-collector-v0", {"level": 5}),
    ],
)
def test_a_fork_replays_the_episode_exactly(env: str, env_kwargs: dict[str, Any], games_dir: Path) -> None:
    if env.startswith("tw-"):
        env_kwargs = {**env_kwargs, "games_dir": str(games_dir)}
    controller = controller_for(env, **env_kwargs)
    session = controller.session
    for _ in range(4):  # a few steps in, on a non-terminal state
        if controller.step().done:
            controller.new_episode()
    shown = controller.decide()
    fork = controller.fork()
    assert (fork.episode, fork.at) == (session.episode, session.t)
    assert fork.main.session.state == fork.fork.session.state == session.state
    assert fork.main.decide() is shown  # both branches start from the decision main shows
    # The fork and main take the same action: exactly the same outcome, slips included.
    branch_record = controller.fork_step(fork, "fork")
    main_record = controller.step(branch_record.action)
    assert branch_record.next_state == main_record.next_state
    assert (branch_record.reward, branch_record.done) == (main_record.reward, main_record.done)
    controller.discard_fork(fork)
    controller.close()


def test_a_discarded_fork_leaves_the_agent_as_it_was() -> None:
    controller = controller_for("TextFrozenLake-v0")
    play(controller, 5)  # past learning_starts: the agent has updated
    agent = controller.session.agent
    shown = controller.decide()
    rng_state = agent.rng.bit_generator.state
    buffer, env_steps, updates = len(agent.buffer), agent.env_steps, agent.updates
    fork = controller.fork()
    assert not fork.learn
    other = next(action for action in controller.session.state.actions if action != shown.action)
    first = controller.fork_step(fork, "fork", other)
    assert first.decision.rule == "human" and first.decision.candidates == shown.candidates
    for _ in range(3):
        if fork.fork.session.done:
            break
        controller.fork_step(fork, "fork")
    main_step = controller.fork_step(fork, "main")
    assert main_step.decision is shown  # the main branch's first move is the one main shows
    controller.discard_fork(fork)
    assert agent.rng.bit_generator.state == rng_state
    assert (len(agent.buffer), agent.env_steps, agent.updates) == (buffer, env_steps, updates)
    assert controller.decide() is shown  # main still waits on the same decision
    assert controller.step().action == shown.action
    controller.close()


def test_a_learning_fork_trains_the_agent_and_a_kept_fork_becomes_main() -> None:
    controller = controller_for("TextFrozenLake-v0")
    play(controller, 2)
    main = controller.session
    prefix, total = list(main.episode_actions), main.total_steps
    agent = main.agent
    buffer = len(agent.buffer)
    fork = controller.fork()
    controller.set_fork_learning(fork, True)
    taken = []
    for _ in range(2):
        if fork.fork.session.done:
            break
        taken.append(controller.fork_step(fork, "fork").action)
    assert len(agent.buffer) == buffer + len(taken)  # only because learning was switched on
    losses = len(controller.history.epsilons)
    kept = controller.keep_fork(fork)
    assert controller.session is kept is fork.fork.session
    assert kept.episode_actions == prefix + taken
    assert kept.total_steps == total + len(taken)
    assert kept.learn is main.learn and kept.act_rng is main.act_rng  # main's switches, main's randomness
    assert len(controller.history.epsilons) == losses + len(taken)  # kept steps join the plots as main steps
    if not kept.done:
        assert controller.step().t == len(prefix) + len(taken) + 1
    controller.close()


def test_keeping_a_fork_after_main_moved_on_is_refused() -> None:
    controller = controller_for("TextFrozenLake-v0")
    fork = controller.fork()
    controller.step()
    with pytest.raises(SandboxError, match="moved on since the fork"):
        controller.keep_fork(fork)
    controller.discard_fork(fork)
    controller.close()


def test_a_finished_episode_cannot_be_forked() -> None:
    controller = controller_for("TextFrozenLake-v0", desc=["SG"])  # one step east wins
    controller.step("go east")
    assert controller.session.done
    with pytest.raises(SandboxError, match="episode is over"):
        controller.fork()
    controller.close()


class UnseededEnv(gym.Env):
    """Its first observation ignores the reset seed: replaying it cannot reach the same state."""

    observation_space = gym.spaces.Text(64)
    action_space = gym.spaces.Text(64)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        self.number = int(np.random.default_rng().integers(1_000_000_000))
        return f"room {self.number}", {"admissible_commands": ["wait"]}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        return f"room {self.number}", 0.0, False, False, {"admissible_commands": ["wait"]}


def test_a_fork_needs_an_env_that_is_deterministic_given_its_seed() -> None:
    builders = Builders(env=lambda config: (UnseededEnv(), "generic"))
    controller = SessionController(fast_config("random"), builders=builders, record_episodes=False)
    controller.build()
    controller.new_episode()
    controller.step()
    with pytest.raises(SandboxError, match="deterministic given its seed"):
        controller.fork()
    controller.close()
