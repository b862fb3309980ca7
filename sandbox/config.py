"""Run configuration: one dataclass per section, read from and written to TOML.

A run folder keeps the exact `config.toml` it was started with, so `--resume` and
`eval` rebuild the same env, agent and prior. Unknown keys and wrong types are
one-line errors that name the file, the section and the valid keys.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from agents.configs import DQNConfig, PPOConfig
from agents.prior.config import PriorConfig
from sandbox.errors import SandboxError

PRESETS_DIR = Path(__file__).parent / "presets"


@dataclass
class RunSettings:
    """What to train on and for how long."""

    env: str = "TextFrozenLake-v0"
    agent: str = "dqn-prior"
    steps: int = 3000
    seed: int = 0
    eval_every: int = 250  # env steps between greedy evaluations
    eval_episodes: int = 10
    checkpoint_every: int = 500  # env steps between checkpoints (taken at the next episode end)
    keep_episodes: int = 20  # replay files kept in episodes/, newest first, per source (training, evaluation); 0: none
    dataset: str = ""  # offline training: the Parquet dataset written by `collect`
    dataset_limit: int = 0  # offline training: use only the first N transitions (0 = all)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    # Options the greedy evaluations change on top of env_kwargs, e.g. {split = "unseen"}: train on one
    # split of a household family and measure on games no training episode showed.
    eval_env_kwargs: dict[str, Any] = field(default_factory=dict)


# The agents' config sections; each agent reads one (its `config` in agents.registry).
AGENT_SECTIONS: dict[str, type] = {"dqn": DQNConfig, "ppo": PPOConfig}


@dataclass
class RunConfig:
    run: RunSettings = field(default_factory=RunSettings)
    dqn: DQNConfig = field(default_factory=DQNConfig)  # DQN, DQN-Prior, CQL, CQL-Prior; llm and random read its seed
    ppo: PPOConfig = field(default_factory=PPOConfig)  # PPO, PPO-Prior
    prior: PriorConfig = field(default_factory=PriorConfig)

    def to_toml(self) -> str:
        payload = {name: _strip_none(asdict(getattr(self, name))) for name in ("run", *AGENT_SECTIONS, "prior")}
        return tomli_w.dumps(payload)

    def agent_sections(self) -> list[Any]:
        return [getattr(self, name) for name in AGENT_SECTIONS]

    def set_agent_settings(self, **settings: Any) -> None:
        """Set each setting in every agent section that has it: `--alpha`, `--features` or a seed mean
        the same to every agent that reads them, whichever section it reads them from."""
        for name, value in settings.items():
            for section in self.agent_sections():
                if hasattr(section, name):
                    setattr(section, name, value)

    def validate_agents(self) -> None:
        for section in self.agent_sections():
            section.validate()


def _strip_none(section: dict[str, Any]) -> dict[str, Any]:
    """TOML has no null: a None setting (e.g. no disk cache) is written as the string "none"."""
    return {key: ("none" if value is None else value) for key, value in section.items()}


def _coerce(value: Any, default: Any, where: str) -> Any:
    if value == "none" and (default is None or isinstance(default, str)):
        return None  # optional text settings, e.g. prior.cache_path = "none" disables the disk cache
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SandboxError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SandboxError(f"{where} must be a whole number, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SandboxError(f"{where} must be a number, got {value!r}")
        return float(value)
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(item, int) for item in value):
            raise SandboxError(f"{where} must be a list of whole numbers, got {value!r}")
        return tuple(value)
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise SandboxError(f"{where} must be a table, got {value!r}")
        return value
    if not isinstance(value, str):
        raise SandboxError(f"{where} must be text, got {value!r}")
    return value


def _section(cls: type, values: dict[str, Any], source: str, name: str) -> Any:
    defaults = cls()
    valid = {item.name for item in fields(cls)}
    for key in values:
        if key not in valid:
            raise SandboxError(f"unknown key {key!r} in [{name}] of {source}; valid keys: {', '.join(sorted(valid))}")
    coerced = {key: _coerce(value, getattr(defaults, key), f"[{name}] {key} in {source}") for key, value in values.items()}
    return cls(**{**asdict(defaults), **coerced})


def parse_config(payload: dict[str, Any], source: str) -> RunConfig:
    sections = {"run": RunSettings, **AGENT_SECTIONS, "prior": PriorConfig}
    for key in payload:
        if key not in sections:
            raise SandboxError(f"unknown section [{key}] in {source}; valid sections: {', '.join(sections)}")
    built = {name: _section(cls, payload.get(name, {}), source, name) for name, cls in sections.items()}
    return RunConfig(**built)


def load_config(path: Path) -> RunConfig:
    if not path.is_file():
        raise SandboxError(f"config file {path} does not exist; see sandbox/presets/ for examples")
    try:
        payload = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SandboxError(f"config file {path} is not valid TOML: {error}") from error
    return parse_config(payload, str(path))


def preset_path(name: str) -> Path:
    path = PRESETS_DIR / f"{name}.toml"
    if not path.is_file():
        names = sorted(item.stem for item in PRESETS_DIR.glob("*.toml"))
        raise SandboxError(f"unknown preset {name!r}; presets: {', '.join(names)}")
    return path
