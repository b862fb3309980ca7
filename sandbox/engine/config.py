"""Run configuration: one dataclass per section, read from and written to TOML.

A run folder keeps the exact `config.toml` it was started with, so `--resume` and
`eval` rebuild the same env, agent and prior. Unknown keys and wrong types are
one-line errors that name the file, the section and the valid keys.

Every run config is built by `build_config` (every command, every `bench` experiment, every sweep
trial), from layers, later ones winning key by key: the dataclasses' built-in defaults, the tuned
defaults of the env and agent (`sandbox/defaults/`, RL Zoo style: one file per env family, one
table per agent) unless a preset or config file is given, that file, the experiment's own
settings, and the command line. `RunConfig.sources` records where each value came from, and
`config.toml` keeps it under `[sources]`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from agents.configs import DQNConfig, PPOConfig
from agents.prior.config import PriorConfig
from agents.registry import config_sections, sections_for
from sandbox.errors import SandboxError

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # sandbox/: the presets and tuned defaults are data beside the code
PRESETS_DIR = PACKAGE_DIR / "presets"
DEFAULTS_DIR = PACKAGE_DIR / "defaults"
BUILT_IN = "built-in"  # the source of a value no layer set: the dataclass default
# [run] keys a defaults file may not set: they say what to run, which the user chooses.
WHAT_TO_RUN = ("env", "agent", "seed", "env_kwargs")
CHOSEN_BY_USER = (*WHAT_TO_RUN, "dataset", "dataset_limit")


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


@dataclass
class RunConfig:
    """[run], one section per agent config the registry names, and [prior].

    The built-in agents' sections are typed fields; a section that an agent registered later brings
    (`agents.registry.register_agent`) is kept in `more_sections` and read like a field: `config.<section>`.
    """

    run: RunSettings = field(default_factory=RunSettings)
    dqn: DQNConfig = field(default_factory=DQNConfig)  # DQN, DQN-Prior, CQL, CQL-Prior; llm and random read its seed
    ppo: PPOConfig = field(default_factory=PPOConfig)  # PPO, PPO-Prior
    prior: PriorConfig = field(default_factory=PriorConfig)
    # section → key → where the value came from (a file, a flag, "built-in"); not part of the settings
    sources: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)
    more_sections: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, cls in config_sections().items():
            if name not in TYPED_SECTIONS:
                self.more_sections.setdefault(name, cls())

    def __getattr__(self, name: str) -> Any:
        """A registered agent's section that is not a typed field (only called when normal lookup fails)."""
        more = self.__dict__.get("more_sections", {})
        if name in more:
            return more[name]
        raise AttributeError(f"{type(self).__name__} has no section {name!r}")

    def to_toml(self) -> str:
        payload: dict[str, Any] = {name: _strip_none(asdict(getattr(self, name))) for name in sections()}
        if self.sources:
            payload["sources"] = self.sources
        return tomli_w.dumps(payload)

    def source_of(self, section: str, key: str) -> str:
        return self.sources.get(section, {}).get(key, BUILT_IN)

    def agent_sections(self) -> list[Any]:
        return [getattr(self, name) for name in config_sections()]

    def set_agent_settings(self, **settings: Any) -> None:
        """Set run-wide settings (`--alpha`, `--features`, a seed) in the section of every agent whose spec
        lists them (`agents.registry.sections_for`); the seed goes to every agent's section."""
        for section, values in sections_for(settings).items():
            for name, value in values.items():
                setattr(getattr(self, section), name, value)

    def validate_agents(self) -> None:
        for section in self.agent_sections():
            section.validate()


TYPED_SECTIONS = ("dqn", "ppo")  # the agent sections RunConfig has as fields


def sections() -> dict[str, type]:
    """Every section of a run config, in file order: [run], the registry's agent sections, [prior]."""
    return {"run": RunSettings, **config_sections(), "prior": PriorConfig}


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
    valid = sections()
    for key in payload:
        if key not in valid and key != "sources":
            raise SandboxError(f"unknown section [{key}] in {source}; valid sections: {', '.join(valid)}")
    built = {name: _section(cls, payload.get(name, {}), source, name) for name, cls in valid.items()}
    typed = {name: built.pop(name) for name in ("run", *TYPED_SECTIONS, "prior")}
    return RunConfig(**typed, more_sections=built, sources=_parse_sources(payload.get("sources", {}), source))


def _parse_sources(sources: Any, where: str) -> dict[str, dict[str, str]]:
    valid = isinstance(sources, dict) and all(
        isinstance(table, dict) and all(isinstance(label, str) for label in table.values()) for table in sources.values()
    )
    if not valid:
        raise SandboxError(f"[sources] in {where} must hold tables of text, e.g. [sources.dqn] lr = \"built-in\"")
    return {section: dict(table) for section, table in sources.items()}


def read_toml(path: Path, what: str = "config file") -> dict[str, Any]:
    if not path.is_file():
        raise SandboxError(f"{what} {path} does not exist; see sandbox/presets/ for examples")
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SandboxError(f"{what} {path} is not valid TOML: {error}") from error


def load_config(path: Path) -> RunConfig:
    return parse_config(read_toml(path), str(path))


def load_run_config(path: Path) -> RunConfig:
    """A run folder's config.toml. A run written before `[dqn] greedy` and `target` existed acted and
    learned by the paper's rules, whatever today's defaults are: its missing keys mean `paper`."""
    from agents.configs import ACTING_PRESETS

    payload = read_toml(path)
    dqn = payload.setdefault("dqn", {})
    if isinstance(dqn, dict):
        for key, value in ACTING_PRESETS["paper"].items():
            dqn.setdefault(key, value)
    return parse_config(payload, str(path))


# ----- the one config path: built-in < tuned defaults < config file < experiment < command line -------

Layer = tuple[str, dict[str, Any]]  # (where the values come from, {section: {key: value}})


def build_config(
    *,
    base: Sequence[Layer] = (),
    file: Layer | None = None,
    experiment: Sequence[Layer] = (),
    flags: Sequence[Layer] = (),
) -> RunConfig:
    """The one way a run config is made, so that every run folder says where each value came from and a
    bench arm gets the env's tuned defaults as `train` does. Layers, later ones winning key by key:

    1. built-in: the dataclasses' defaults and the chosen agent's acting rule, then `base`, a command's
       own defaults (train-offline's budget of gradient steps);
    2. the tuned defaults (`sandbox/defaults/`) of the env and agent the layers above them choose, left
       out under a config file: a file or preset states a whole run;
    3. `file`: --config or --preset;
    4. `experiment`: what the caller itself sets (a bench arm, a lesson, the dataset train-offline reads,
       a sweep file and its grid point);
    5. `flags`: the command line.

    Every agent section takes [run] seed (`seeded_config`), and the agents' settings are validated.
    """
    upper = [*([file] if file is not None else []), *experiment, *flags]
    chosen = [*base, *upper]
    tuned = None if file is not None else defaults_layer(_chosen(chosen, "env"), _chosen(chosen, "agent"))
    return seeded_config([*base, *([tuned] if tuned else []), *upper])


def _chosen(layers: Sequence[Layer], key: str) -> str:
    """The [run] env or agent the layers settle on (the last one that sets it), else the built-in one."""
    values = [payload["run"][key] for _, payload in layers if key in payload.get("run", {})]
    return values[-1] if values else getattr(RunSettings(), key)


def as_layer(section: Any) -> dict[str, Any]:
    """A whole config section (a dataclass) as a layer's table, as config.toml writes it."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in _strip_none(asdict(section)).items()}


def layered_config(layers: list[Layer]) -> RunConfig:
    """Merge the layers key by key (later ones win) and record each value's source.

    Each layer is checked on its own first, so a bad key is reported against its own file. Under them all
    lies the chosen agent's default acting rule (agents.configs.AGENT_ACTING_DEFAULTS), sourced "built-in".
    """
    from agents.configs import AGENT_ACTING_DEFAULTS

    agent = _chosen(layers, "agent")
    if agent in AGENT_ACTING_DEFAULTS:
        layers = [(BUILT_IN, {"dqn": dict(AGENT_ACTING_DEFAULTS[agent])}), *layers]
    merged: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, str]] = {}
    for label, payload in layers:
        payload = {name: values for name, values in payload.items() if name != "sources"}
        parse_config(payload, label)
        for section, values in payload.items():
            merged.setdefault(section, {}).update(values)
            sources.setdefault(section, {}).update({key: label for key in values})
    config = parse_config(merged, " + ".join(label for label, _ in layers) or BUILT_IN)
    config.sources = {
        name: {key: sources.get(name, {}).get(key, BUILT_IN) for key in asdict(getattr(config, name))}
        for name in sections()
    }
    return config


def seeded_config(layers: list[Layer]) -> RunConfig:
    """`layered_config`, with every agent section seeded from [run] seed (and sourced with it), validated."""
    config = layered_config(layers)
    config.set_agent_settings(seed=config.run.seed)
    for section in config_sections():
        config.sources[section]["seed"] = config.sources["run"]["seed"]
    config.validate_agents()
    return config


def defaults_path(env_id: str) -> Path | None:
    """The tuned defaults for an env: its own file (RL Zoo keys by env id), else its family's, else
    the file its family's `envs.EnvFamily` registration names."""
    from envs import env_family
    from envs.registry import registered_family

    family = env_family(env_id)
    for stem in (env_id, family):
        path = DEFAULTS_DIR / f"{stem}.toml"
        if path.is_file():
            return path
    registered = registered_family(family)
    return None if registered is None or registered.defaults is None else Path(registered.defaults)


def defaults_layer(env_id: str, agent: str) -> Layer | None:
    """The tuned settings for `agent` on `env_id` as a layer, or None where nothing was tuned."""
    path = defaults_path(env_id)
    if path is None:
        return None
    tables = read_toml(path, "defaults file").get(agent)
    if tables is None:
        return None
    where = f"sandbox/defaults/{path.name}" if path.parent == DEFAULTS_DIR else str(path)
    label = f"{where} [{agent}]"
    if not isinstance(tables, dict) or not all(isinstance(values, dict) for values in tables.values()):
        raise SandboxError(f"{label} must hold tables, e.g. [{agent}.dqn]")
    chosen = sorted(set(tables.get("run", {})) & set(CHOSEN_BY_USER))
    if chosen:
        raise SandboxError(f"{label} sets [run] {', '.join(chosen)}, which only the user chooses; remove it")
    return label, tables


def preset_layer(name: str) -> Layer:
    """A named preset (sandbox/presets/) as the file layer, labelled as `--preset` labels it."""
    return f"--preset {name}", read_toml(preset_path(name))


def preset_path(name: str) -> Path:
    path = PRESETS_DIR / f"{name}.toml"
    if not path.is_file():
        names = sorted(item.stem for item in PRESETS_DIR.glob("*.toml"))
        raise SandboxError(f"unknown preset {name!r}; presets: {', '.join(names)}")
    return path


def retargeted(config: RunConfig, **run: Any) -> RunConfig:
    """The config for another env or agent (the UI's pickers), built as `train` would build it: the
    new pair's tuned defaults under the values flags gave. A config from a preset or a file, or one
    without sources, keeps every setting and changes only `run`."""
    labels = {label for table in config.sources.values() for label in table.values()}
    if not config.sources or any(label.startswith(("--preset", "--config")) for label in labels):
        return replace(config, run=replace(config.run, **run))
    payload = tomllib.loads(config.to_toml())
    flags: dict[str, dict[str, dict[str, Any]]] = {}
    for section, table in config.sources.items():
        for key, label in table.items():
            if label.startswith("--") and not (section == "run" and key in WHAT_TO_RUN):
                flags.setdefault(label, {}).setdefault(section, {})[key] = payload[section][key]
    chosen = {key: getattr(config.run, key) for key in WHAT_TO_RUN}
    chosen.update(run)
    return build_config(experiment=[("picked in the UI", {"run": chosen})], flags=list(flags.items()))


def settings_line(config: RunConfig) -> str:
    """One line naming every source a config drew on, for commands to print at start."""
    labels = list(dict.fromkeys(label for table in config.sources.values() for label in table.values()))
    named = [label for label in labels if label != BUILT_IN]
    where = ", ".join(named) if named else "built-in defaults only"
    return f"settings: {where} (each value's source: [sources] in the run's config.toml)"
