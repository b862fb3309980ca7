"""Offline datasets of text transitions, with the prior's proposals at s and s', and the
offline trainer that learns from one.

Format: one Parquet file, one row per transition (columns in `SCHEMA`), and the
collection settings as JSON in the file's metadata under `sandbox`. Minari was
considered: its spaces cannot express a per-state list of admissible actions or the
prior's proposals, which CQL-Prior needs, so we keep a documented columnar format that
any Arrow/Parquet reader (pandas, polars, DuckDB) opens.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.decision import ActingSettings, Decision, TextState, Transition, state_text
from agents.registry import make_agent
from agents.replay import ReplayBuffer
from sandbox.errors import SandboxError
from sandbox.engine.runs import load_trained_agent, make_env_for
from sandbox.engine.session import Session, StepRecord
from sandbox.engine.storage import atomic_write_bytes
from sandbox.engine.training import Trainer

FORMAT = "llm-prior-sandbox/transitions-v1"
METADATA_KEY = b"sandbox"
SUFFIX = ".parquet"


def dataset_path(path: Path) -> Path:
    """The file a dataset name means, for `collect --out` and `train-offline --dataset` alike:
    the name as given if it ends in .parquet, else the name + .parquet."""
    return path if path.suffix == SUFFIX else path.with_name(path.name + SUFFIX)


def existing_dataset_path(path: Path) -> Path:
    """`dataset_path`, or the name as given when only that file exists (a dataset named otherwise)."""
    named = dataset_path(path)
    return path if not named.is_file() and path.is_file() else named


def _schema():
    import pyarrow as pa

    text_list = pa.list_(pa.string())
    return pa.schema(
        [
            ("episode", pa.int32()),
            ("t", pa.int32()),
            ("family", pa.string()),
            ("task", pa.string()),
            ("observation", pa.string()),
            ("actions", text_list),
            ("proposals", text_list),  # the prior's k proposals at s (duplicates kept)
            ("action", pa.string()),
            ("reward", pa.float64()),
            ("next_observation", pa.string()),
            ("next_actions", text_list),
            ("next_proposals", text_list),
            ("terminated", pa.bool_()),
            ("truncated", pa.bool_()),
        ]
    )


@dataclass
class DatasetInfo:
    """Where the data came from; stored in the Parquet metadata."""

    env: str
    env_kwargs: dict[str, Any]
    policy: str  # "random", "llm", or the run folder whose agent acted
    seed: int
    prior_model: str
    prior_mode: str
    k: int
    epsilon: float = 0.0  # share of the policy's (greedy) actions replaced by random ones
    episodes: int = 0
    transitions: int = 0
    successes: int = 0
    format: str = FORMAT
    extra: dict[str, Any] = field(default_factory=dict)


class EpsilonMixture:
    """A behaviour policy's greedy action, replaced by a uniformly random admissible action
    with probability ε: the mixed-quality data offline RL is judged on (a good policy's
    choices mixed with exploration), unlike purely random data, where the data action is
    uniform and CQL's penalty can never fall to zero."""

    def __init__(self, policy: Any, epsilon: float, seed: int) -> None:
        from agents.baselines import RandomAgent

        self.policy = policy
        self.epsilon = epsilon
        self.name = f"{policy.name}+epsilon"
        self.prior = policy.prior
        self.random = RandomAgent(seed=seed)
        self.rng = np.random.default_rng(seed)

    @property
    def acting(self) -> ActingSettings:
        return self.policy.acting

    def forget_proposals(self) -> None:
        self.policy.forget_proposals()

    def act(self, state: TextState, *, greedy: bool = False, rng: np.random.Generator | None = None) -> Decision:
        if self.rng.random() < self.epsilon:
            return self.random.act(state)
        return self.policy.act(state, greedy=True)


def collect(
    info: DatasetInfo,
    episodes: int,
    out: Path,
    prior_config: Any,
    on_episode: Callable[[int, float], None] | None = None,
    *,
    min_transitions: int = 0,
) -> DatasetInfo:
    """Run the behaviour policy for `episodes` episodes — more if needed to reach
    `min_transitions` — and write the dataset atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from agents.baselines import LLMAgent, RandomAgent
    from agents.prior import build_prior
    from agents.proposals import draw_proposals
    from envs import env_family, make_env

    if episodes < 1:
        raise SandboxError(f"--episodes must be at least 1, got {episodes}")
    if not 0.0 <= info.epsilon <= 1.0:
        raise SandboxError(f"--epsilon must be between 0 and 1, got {info.epsilon}")
    if info.epsilon and info.policy == "random":
        raise SandboxError("--epsilon mixes random actions into an llm or RUN policy; the random policy is already uniform")
    prior = build_prior(prior_config, run_seed=info.seed)  # sample mode: each collection seed draws its own
    if info.policy == "random":
        agent = RandomAgent(seed=info.seed)
    elif info.policy == "llm":
        agent = LLMAgent(prior, seed=info.seed)
    else:
        _, agent = load_trained_agent(Path(info.policy))
    if info.epsilon:
        agent = EpsilonMixture(agent, info.epsilon, info.seed)
    env = make_env(info.env, **info.env_kwargs)
    family = env_family(info.env)
    session = Session(env, agent, family=family, seed=info.seed, history_length=prior_config.history, learn=False)
    proposal_rng = np.random.default_rng(info.seed)
    proposals_at: dict[TextState, list[str]] = {}

    def proposals(state: TextState) -> list[str]:
        if not state.actions:
            return []
        if state not in proposals_at:
            proposals_at.clear()  # only s and s' of the current step are ever needed again
            proposals_at[state] = list(draw_proposals(prior(state, k=info.k), info.k, proposal_rng))
        return proposals_at[state]

    rows: dict[str, list[Any]] = {name: [] for name in _schema().names}
    episode = 0
    while episode < episodes or len(rows["episode"]) < min_transitions:
        records = session.run_episode()
        for record in records:
            at_s = proposals(record.state)
            at_next = [] if record.terminated else proposals(record.next_state)
            for name, value in (
                ("episode", episode),
                ("t", record.t),
                ("family", family),
                ("task", record.state.task),
                ("observation", record.state.observation),
                ("actions", list(record.state.actions)),
                ("proposals", at_s),
                ("action", record.action),
                ("reward", record.reward),
                ("next_observation", record.next_state.observation),
                ("next_actions", list(record.next_state.actions)),
                ("next_proposals", at_next),
                ("terminated", record.terminated),
                ("truncated", record.truncated),
            ):
                rows[name].append(value)
        info.successes += int(bool(records and records[-1].won))
        episode += 1
        if on_episode is not None:
            on_episode(episode, session.episode_return)
    info.episodes = episode
    info.transitions = len(rows["episode"])
    table = pa.table(rows, schema=_schema()).replace_schema_metadata({METADATA_KEY: json.dumps(asdict(info))})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    atomic_write_bytes(out, buffer.getvalue())
    return info


def read_dataset_info(path: Path) -> DatasetInfo:
    """The collection settings stored in a dataset's metadata (env, policy, prior), without its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = existing_dataset_path(path)
    if not path.is_file():
        raise SandboxError(f"dataset {path} does not exist; create one with `python -m sandbox collect`")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise SandboxError(f"dataset {path} is not a readable Parquet file ({error}); collect it again") from error
    metadata = (schema.metadata or {}).get(METADATA_KEY)
    if metadata is None:
        raise SandboxError(f"{path} is a Parquet file but not a sandbox dataset (no '{METADATA_KEY.decode()}' metadata)")
    try:
        info = DatasetInfo(**json.loads(metadata))
    except (ValueError, TypeError) as error:  # not JSON, not an object, or fields of another version
        raise SandboxError(f"dataset {path} has unreadable '{METADATA_KEY.decode()}' metadata ({error}); collect it again") from error
    if info.format != FORMAT:
        raise SandboxError(f"dataset {path} has format {info.format!r}; this version reads {FORMAT!r}")
    return info


def load_dataset(path: Path, *, use_prior: bool, limit: int | None = None) -> tuple[DatasetInfo, list[Transition]]:
    """Transitions for CQL (candidates = all admissible) or CQL-Prior (candidates = proposals).

    `limit` keeps the first N transitions: the data-efficiency experiment's dataset sizes.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = existing_dataset_path(path)
    info = read_dataset_info(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise SandboxError(f"dataset {path} is not a readable Parquet file ({error}); collect it again") from error
    missing = set(_schema().names) - set(table.column_names)
    if missing:
        raise SandboxError(f"dataset {path} lacks columns {', '.join(sorted(missing))}; collect it again")
    data = table.slice(0, limit).to_pydict() if limit is not None else table.to_pydict()
    transitions = []
    for i in range(len(data["action"])):
        state = TextState(data["family"][i], data["task"][i], data["observation"][i], tuple(data["actions"][i]))
        next_state = TextState(
            data["family"][i], data["task"][i], data["next_observation"][i], tuple(data["next_actions"][i])
        )
        now = data["proposals"][i] if use_prior else data["actions"][i]
        later = data["next_proposals"][i] if use_prior else data["next_actions"][i]
        terminated = bool(data["terminated"][i])
        transitions.append(
            Transition(
                state_text=state_text(state),
                action=data["action"][i],
                reward=float(data["reward"][i]),
                next_state_text=state_text(next_state),
                terminated=terminated,
                next_candidates=() if terminated else tuple(dict.fromkeys(later)),
                # The data's own action is always a candidate, so logsumexp ≥ Q(s, a_data).
                candidates=tuple(dict.fromkeys([*now, data["action"][i]])),
            )
        )
    return info, transitions


class OfflineTrainer(Trainer):
    """CQL / CQL-Prior from a fixed dataset: an epoch is `eval_every` gradient steps, then an
    online greedy evaluation in the dataset's env. Metrics, checkpoints and resume as online."""

    def _build(self) -> None:
        run = self.config.run
        if not run.dataset:
            raise SandboxError("offline training needs a dataset: pass --dataset saves/datasets/NAME.parquet")
        info, transitions = load_dataset(
            Path(run.dataset), use_prior=run.agent.endswith("-prior"), limit=run.dataset_limit or None
        )
        if not transitions:
            raise SandboxError(f"dataset {run.dataset} holds no transitions")
        run.env, run.env_kwargs = info.env, dict(info.env_kwargs)
        self.eval_env, self.family = make_env_for(self.config)
        self.agent = make_agent(self.config)
        self.agent.buffer = ReplayBuffer(len(transitions))
        for transition in transitions:
            self.agent.buffer.add(transition)
        self.dataset_size = len(transitions)

    @property
    def steps_done(self) -> int:
        return self.agent.updates if self.agent else 0

    def run_epoch(self, on_step: Callable[[StepRecord], None] | None = None) -> dict[str, float]:
        assert self.agent is not None, "call reset() first"
        target = self._epoch_target()
        while self.steps_done < target:
            self._losses.append(self.agent.update()["loss"])
            if self.steps_done >= self._next_checkpoint:
                self.save_checkpoint()
        row = self._evaluate_and_log()
        if self.finished:
            self.save_checkpoint()
        return row

    def _progress_state(self) -> dict[str, Any]:
        return {"updates": self.steps_done, "dataset_size": self.dataset_size}

    def _restore_progress(self, progress: dict[str, Any]) -> None:
        if int(progress["dataset_size"]) != self.dataset_size:
            raise SandboxError(
                f"the dataset now holds {self.dataset_size} transitions but the run was trained on "
                f"{progress['dataset_size']}; resume with the same dataset"
            )
