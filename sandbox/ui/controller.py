"""The UI's handle on the session engine: one lock, queued setting changes, saves and records.

Textual runs every engine call in a thread worker. A cancelled LLM call keeps running
in its thread until llama.cpp returns, so the next job may start while it finishes:
the lock makes such overlaps wait instead of racing on the agent. Setting changes
(α, k, prior mode) are queued and applied under the lock at the start of the next
engine call. Acting, learning and Bayes rule stay in `Session`, the agents and
`agents.bayes`; this class only sequences calls and keeps what the panels plot.
"""

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from agents.base import Agent
from agents.decision import ActingSettings, Decision, TextState
from agents.prior.config import PRIOR_MODES
from agents.prior.priors import UNIFORM_MODEL
from agents.registry import make_agent
from sandbox.features.branching import Fork, adopt, check_forkable, start_fork
from sandbox.engine.config import RunConfig, parse_config
from sandbox.errors import SandboxError
from sandbox.engine.metrics import EpisodeTally
from sandbox.engine.replay_files import EpisodeRecorder, header_json
from sandbox.engine.session import LIVE_ACTING, Session, StepRecord
from sandbox.engine.storage import load_checkpoint, restoring_checkpoint, save_checkpoint
from sandbox.engine.runs import make_env_for, prior_stats, restore_prior_stats
from sandbox.engine.training import EvalResult, evaluate

SESSIONS_DIR = "sessions"
EPISODES_DIR = "episodes"
MAX_K = 15  # the paper samples up to 15 proposals at test time


class Cancelled(Exception):
    """Raised inside an engine job when the user pressed escape; the job runner ends it quietly."""


def use_one_torch_thread() -> None:
    """The Q network is tiny and llama.cpp and the UI already use the cores: torch's own thread
    pool competing with them made a DQN update about 100x slower on a busy 2-core machine."""
    torch.set_num_threads(1)


def steers_posterior(agent: Agent | None) -> bool:
    """Whether the UI's α and k knobs apply: the agent acts on p_LLM·exp(α·Q) (DQN, DQN-Prior)."""
    return agent is not None and agent.acting.acts_on == "q"


def has_llm_prior(agent: Agent | None) -> bool:
    """Whether the agent consults a language model, whose mode the UI can switch."""
    return agent is not None and agent.prior is not None and agent.prior.model_name != UNIFORM_MODEL


# The UI's live knobs: the ActingSettings field each sets, and the type it takes.
KNOBS: dict[str, tuple[str, Callable[[Any], Any]]] = {"alpha": ("alpha", float), "k": ("k", int), "mode": ("prior_mode", str)}


@dataclass(frozen=True)
class Builders:
    """How a config becomes an env and an agent; tests swap in a scripted prior here."""

    env: Callable[[RunConfig], tuple[gym.Env, str]] = make_env_for
    agent: Callable[[RunConfig], Agent] = make_agent


@dataclass
class LearningHistory:
    """What the learning pane plots: per-episode results and per-update training stats."""

    returns: list[float] = field(default_factory=list)
    wins: list[float] = field(default_factory=list)
    episode_steps: list[int] = field(default_factory=list)  # the env step at which each episode ended (races plot against it)
    loss_steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    stat_steps: list[int] = field(default_factory=list)
    epsilons: list[float] = field(default_factory=list)
    replay_sizes: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_success: list[float] = field(default_factory=list)
    eval_returns: list[float] = field(default_factory=list)
    episode_rows: list[dict[str, float]] = field(default_factory=list)  # the metrics schema per episode, + episode, step
    eval_rows: list[dict[str, float]] = field(default_factory=list)  # its means per evaluation, + step

    def add_step(self, record: StepRecord, total_steps: int) -> None:
        stats = record.learn_stats
        if "loss" in stats:
            self.loss_steps.append(total_steps)
            self.losses.append(stats["loss"])
        if "epsilon" in stats:
            self.stat_steps.append(total_steps)
            self.epsilons.append(stats["epsilon"])
            self.replay_sizes.append(stats.get("replay_size", 0.0))
        if record.done:
            self.returns.append(record.episode_return)
            self.wins.append(float(record.won))
            self.episode_steps.append(total_steps)

    def add_episode(self, episode: int, metrics: dict[str, float], total_steps: int) -> None:
        self.episode_rows.append({"episode": episode, "step": total_steps, **metrics})

    def add_eval(self, result: EvalResult, total_steps: int) -> None:
        self.eval_steps.append(total_steps)
        self.eval_success.append(result.success_rate)
        self.eval_returns.append(result.mean_return)
        self.eval_rows.append({"step": total_steps, **result.metrics})

    def copy(self) -> LearningHistory:
        copied = LearningHistory()
        copied.catch_up(self)
        return copied

    def catch_up(self, source: LearningHistory) -> None:
        """Append what `source` holds beyond this copy of it: `source` only grows, and its rows are never
        changed once added, so a copy kept up to date costs what was added since, not the whole history."""
        for name in LEARNING_SERIES:
            mine: list = getattr(self, name)
            mine.extend(getattr(source, name)[len(mine):])


LEARNING_SERIES = tuple(item.name for item in fields(LearningHistory))


class SessionController:
    """One env + agent session for the UI; every public method may block (call it from a worker)."""

    def __init__(
        self,
        config: RunConfig,
        *,
        saves_dir: Path = Path("saves"),
        builders: Builders | None = None,
        record_episodes: bool = True,
    ) -> None:
        self.config = config
        self.saves_dir = saves_dir
        self.builders = builders or Builders()
        self.lock = threading.RLock()
        self.session: Session | None = None
        self.history = LearningHistory()
        self.recorder = EpisodeRecorder(saves_dir / EPISODES_DIR) if record_episodes else None
        self.tally = EpisodeTally()  # the running episode's counts for its metrics row
        self._eval_env: tuple[gym.Env, str] | None = None
        self._changes: dict[str, Any] = {}
        self._changes_lock = threading.Lock()

    # ----- building -------------------------------------------------------------------

    @property
    def agent(self) -> Agent | None:
        return self.session.agent if self.session is not None else None

    def build(self, config: RunConfig | None = None) -> Session:
        """(Re)build env and agent, e.g. after the env or agent picker; closes the old prior."""
        with self.lock:
            config = config or self.config
            return self._install(self._new_session(config), config)

    def _new_session(self, config: RunConfig) -> Session:
        """A session for `config`, not yet in use: the current one runs on until `_install`."""
        env, family = self.builders.env(config)
        agent = self.builders.agent(config)
        learn = self.session.learn if self.session is not None else True
        return Session(env, agent, family=family, seed=config.run.seed, history_length=config.prior.history, learn=learn)

    def _install(self, session: Session, config: RunConfig) -> Session:
        self.close()
        self.config = config
        self.session = session
        self.history = LearningHistory()
        with self._changes_lock:
            self._changes.clear()
        return session

    def close(self) -> None:
        with self.lock:
            if self.session is None:
                return
            _close_session(self.session)
            if self._eval_env is not None:
                self._eval_env[0].close()
                self._eval_env = None
            self.session = None

    def _require(self) -> Session:
        if self.session is None:
            raise SandboxError("the session is still being built")
        return self.session

    # ----- live settings --------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """α, k, prior mode and train flag as the session acts under them, with queued changes on top."""
        session, agent = self.session, self.agent
        acting = session.acting if session is not None else None
        steered = steers_posterior(agent)
        current = {
            "alpha": acting.alpha if steered else None,
            "k": acting.k if steered else None,
            "mode": acting.prior_mode if has_llm_prior(agent) else None,
            "learn": session.learn if session is not None else True,
        }
        with self._changes_lock:
            current.update(self._changes)
        return current

    def request(self, **changes: Any) -> None:
        """Queue α / k / mode / learn changes; they apply at the start of the next engine call.

        Raises SandboxError right away when the agent has no such setting, so a key press
        on the wrong agent gets an immediate one-line answer.
        """
        agent = self._require().agent
        for name, value in changes.items():
            if name in ("alpha", "k") and not steers_posterior(agent):
                knob = "α" if name == "alpha" else "k"
                raise SandboxError(f"{knob} shapes the posterior over Q values; the {agent.name} agent has none")
            if name == "alpha" and value < 0:
                raise SandboxError(f"α must be at least 0, got {value}")
            if name == "k" and not 1 <= value <= MAX_K:
                raise SandboxError(f"k must be between 1 and {MAX_K}, got {value}")
            if name == "mode":
                if not has_llm_prior(agent):
                    raise SandboxError(f"the {agent.name} agent has no LLM prior whose mode could switch")
                if value not in PRIOR_MODES:
                    raise SandboxError(f"prior mode must be one of {', '.join(PRIOR_MODES)}, got {value!r}")
        with self._changes_lock:
            self._changes.update(changes)

    def _apply_changes(self, session: Session) -> None:
        """Apply queued settings: the acting ones as one new ActingSettings (`Session.update_acting`)."""
        with self._changes_lock:
            changes, self._changes = self._changes, {}
        if "learn" in changes:
            session.learn = bool(changes.pop("learn"))
        if changes:
            session.update_acting(**{KNOBS[name][0]: KNOBS[name][1](value) for name, value in changes.items()})

    # ----- playing --------------------------------------------------------------------

    def new_episode(self) -> TextState:
        with self.lock:
            session = self._require()
            self._apply_changes(session)
            state = session.reset()
            self._episode_started(session, state, session.total_steps)
            return state

    def _episode_started(self, session: Session, state: TextState, step: int) -> None:
        """A new main episode (started at env step `step`) gets a fresh metrics tally and its own recording."""
        self.tally = EpisodeTally()
        if self.recorder is not None:
            header = header_json(
                env=self.config.run.env,
                env_kwargs=self.config.run.env_kwargs,
                agent=self.config.run.agent,
                episode=session.episode,
                seed=session.seed + session.episode - 1,
                source="play",
                step=step,
                state=state,
            )
            self.recorder.start(header)

    def decide(self) -> Decision:
        """The agent's decision on the current state (an LLM call unless cached)."""
        with self.lock:
            session = self._require()
            self._apply_changes(session)
            return session.decide()

    def preview(self) -> Decision:
        """Recompute the decision on the current state after a settings change, without stepping."""
        with self.lock:
            session = self._require()
            self._apply_changes(session)
            return session.preview()

    def step(self, action: str | None = None) -> StepRecord:
        """One env step: the agent's action, or `action` typed or picked by a person; after an
        episode's end, the first step of the next one (`Session.play`)."""
        with self.lock:
            session = self._require()
            self._apply_changes(session)
            episode = session.episode
            record = session.play(action)
            if session.episode != episode:
                self._episode_started(session, record.state, session.total_steps - 1)
            self._account(record, session.total_steps)
            return record

    def _account(self, record: StepRecord, total_steps: int) -> None:
        """A main-episode step enters the plots, the episode's metrics and its recording."""
        self.history.add_step(record, total_steps)
        self.tally.add(record)
        if record.done:
            self.history.add_episode(record.episode, self.tally.metrics(record), total_steps)
        if self.recorder is not None:
            self.recorder.add(record)

    def optimal(self) -> tuple[str, ...] | None:
        """The env's optimal actions at the current state (None: it cannot name them, or no session yet)."""
        with self.lock:
            return self.session.optimal_here() if self.session is not None else None

    def redraw(self) -> Decision:
        """The decision on the current state with the prior asked afresh (e.g. after its template changed)."""
        with self.lock:
            session = self._require()
            self._apply_changes(session)
            return session.preview(redraw=True)

    # ----- what-if forks (sandbox.features.branching) -------------------------------------------

    def fork(self) -> Fork:
        """Fork the episode at the current step: main and fork branches on envs of their own, learning off."""
        with self.lock:
            session = self._require()
            check_forkable(session)
            decision = self.decide()
            return start_fork(session, decision, lambda: self.builders.env(self.config)[0], self.config.prior.history)

    def fork_decide(self, fork: Fork, branch: str) -> Decision:
        with self.lock:
            return fork.branch(branch).decide()

    def fork_step(self, fork: Fork, branch: str, action: str | None = None) -> StepRecord:
        """One step in a branch; the agent learns from it only if the fork's learning is on (and only in the fork)."""
        with self.lock:
            line = fork.branch(branch)
            if line.session.done:
                raise SandboxError(f"the {branch} branch's episode is over; keep (k) or discard (x) the fork")
            return line.step(action)

    def set_fork_learning(self, fork: Fork, learn: bool) -> None:
        with self.lock:
            fork.fork.session.learn = learn

    def keep_fork(self, fork: Fork) -> Session:
        """The fork becomes the main session; its steps enter the plots, metrics and recording as main steps."""
        with self.lock:
            self.session = adopt(self._require(), fork)
            for index, record in enumerate(fork.fork.records, start=1):
                self._account(record, self.session.total_steps - len(fork.fork.records) + index)
            return self.session

    def discard_fork(self, fork: Fork) -> None:
        with self.lock:
            fork.close()

    def reach(self, actions: Sequence[str]) -> TextState:
        """Start a new episode and take `actions` without learning: the state a lesson studies."""
        with self.lock:
            session = self._require()
            learn = session.learn
            session.learn = False
            try:
                state = self.new_episode()
                for action in actions:
                    if session.done:
                        break
                    state = self.step(action).next_state
            finally:
                session.learn = learn
            return state

    def train(self, steps: int, on_step: Callable[[StepRecord], None], should_stop: Callable[[], bool]) -> None:
        """Play `steps` steps with learning on (new episodes as needed), for the lessons' live training."""
        with self.lock:
            session = self._require()
            learn = session.learn
            session.learn = True
            try:
                for _ in range(steps):
                    if should_stop():
                        raise Cancelled
                    on_step(self.step())
            finally:
                session.learn = learn

    def evaluate(self, episodes: int, should_stop: Callable[[], bool]) -> EvalResult:
        """Greedy episodes on a second env with a private RNG: training is not perturbed."""
        with self.lock:
            session = self._require()
            self._apply_changes(session)
            if self._eval_env is None:
                self._eval_env = self.builders.env(self.config)

            def check(_: StepRecord) -> None:
                if should_stop():
                    raise Cancelled

            env, family = self._eval_env
            result = evaluate(
                session.agent, env, family, episodes=episodes, history=self.config.prior.history, on_step=check
            )
            self.history.add_eval(result, session.total_steps)
            return result

    # ----- saving ---------------------------------------------------------------------

    def save(self) -> Path:
        """Agent weights (safetensors) + session and plot history (JSON) in saves/sessions/<time>-<env>-<agent>/."""
        with self.lock:
            session = self._require()
            tensors, agent_state = session.agent.state_dict()
            state = {
                "config_toml": self.config.to_toml(),
                "agent": agent_state,
                "session": {"episode": session.episode, "total_steps": session.total_steps, "learn": session.learn},
                "acting": session.acting.to_json(),  # the live settings; config_toml stays what the user asked for
                "history": asdict(self.history),
                "prior_stats": prior_stats(session.agent.prior),
            }
            stamp = time.strftime("%Y%m%d-%H%M%S")
            folder = self.saves_dir / SESSIONS_DIR / f"{stamp}-{self.config.run.env}-{self.config.run.agent}"
            save_checkpoint(folder, tensors, state)
            return folder

    def load(self, folder: Path) -> TextState:
        """Rebuild env and agent from a save and restore them; play resumes with the next episode."""
        tensors, state = load_checkpoint(folder)
        try:
            config = parse_config(tomllib.loads(state["config_toml"]), str(folder))
        except (KeyError, tomllib.TOMLDecodeError) as error:
            raise SandboxError(f"{folder} is not a session saved by the UI ({error})") from error
        with self.lock:
            session = self._new_session(config)  # a save that does not fit leaves the running session as it is
            try:
                with restoring_checkpoint(folder, session.agent.name, state):
                    session.agent.load_state_dict(tensors, state["agent"])
                    session.episode = int(state["session"]["episode"])
                    session.total_steps = int(state["session"]["total_steps"])
                    session.learn = bool(state["session"]["learn"])
                    if "acting" in state:  # saves from before live settings were kept apart wrote them into the config
                        live = ActingSettings.from_json(state["acting"])
                        session.update_acting(**{name: getattr(live, name) for name in LIVE_ACTING})
                    history = LearningHistory(**state["history"])
            except BaseException:
                _close_session(session)
                raise
            self._install(session, config)
            self.history = history
            restore_prior_stats(session.agent.prior, state.get("prior_stats"))
            return self.new_episode()


def list_sessions(saves_dir: Path) -> list[Path]:
    """Saved sessions, newest first."""
    folder = saves_dir / SESSIONS_DIR
    if not folder.is_dir():
        return []
    return sorted((item for item in folder.iterdir() if item.is_dir() and not item.name.startswith(".")), reverse=True)


def _close_session(session: Session) -> None:
    """Release what a session holds: its prior's model and its env (a JVM or a game process)."""
    if session.agent.prior is not None:
        session.agent.prior.close()
    session.env.close()
