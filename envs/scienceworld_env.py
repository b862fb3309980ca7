"""ScienceWorld (Wang et al. 2022) under this project's env contract.

ScienceWorld is a text world simulator of elementary-school science: 30 tasks (boil water,
grow a plant, build a circuit, ...), each with variations split into train, dev and test.
The `scienceworld` wheel bundles its Scala jar and drives it through py4j. An env is a pool
of `n_variations` consecutive variations of one task's split, starting at its
`variation`-th; `reset` picks one with `np_random`. Every env starts its own JVM (~3 s);
close it with `close()`. A step costs ~0.1 s, nearly all of it in ScienceWorld listing the
valid actions. The first observation is "look around", as in ScienceWorld's own reset.

Rewards are the change in ScienceWorld's score divided by 100, so a won task returns 1 in
total; `info["score"]` is the score (0-100, negative once the task has failed, e.g. after
focusing on the wrong object) and `max_score` 100.

Valid actions: ScienceWorld fills its action templates with every object in view, a median
of ~1,900 commands per state in the gold paths (up to 8,000), most of them nonsense
("connect kitchen to orange"). `admissible_commands` keeps a manageable list, the same for
the same state:
1. drop the nonsense: "reset task"; any action on the agent, the inventory or the air;
   rooms and doors other than as places to go, open, close or look at/in; connecting
   anything but electrical terminals (each pair once) or disconnecting non-electrical
   things; moving, pouring or dunking into what holds nothing (only containers, furniture,
   devices, answer boxes and inclined planes hold things); pouring or mixing a
   non-container; using a non-device on something.
2. rank what is left: commands without an object (and task-specific answers), then going,
   opening, closing, switching devices on and off, then actions on carried things, then
   one-object actions on things in view, then two-object actions on things not carried,
   then electrical connections; alphabetical within a template.
3. keep the first `max_actions` (100).
On the 30 tasks' gold paths (first train variation) step 1 keeps every gold action that
ScienceWorld lists as valid (up to the order of a connection's two ends); with the cap of
100, 82% of them are in the list, the rest being mostly moves and pours of things not yet
picked up (pick them up first). The env accepts any typed command, listed or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium

from envs.errors import EnvError
from envs.jvm import close_py4j_game
from envs.optimal import OptimalActionsUnknown, next_walkthrough_command
from envs.options import OptionError, check_choice, check_int
from envs.text import ACTION_MAX_LENGTH, OBSERVATION_MAX_LENGTH, normalize_command, sanitize_text, text_space

SPLITS = ("train", "dev", "test")
SIMPLIFICATIONS = (
    "easy",
    "teleportAction",
    "selfWateringFlowerPots",
    "openContainers",
    "openDoors",
    "noElectricalAction",
)
MAX_ACTIONS = 100
INSTALL_HINT = "pip install scienceworld==1.2.3 (it needs Java 1.8+ on the PATH)"
_META_COMMANDS = frozenset({"reset task"})
_META_REPLY = "That command is not available here; the environment's reset() starts the task over."

# Template ids by ScienceWorld's own template text (get_possible_actions_with_IDs); task-specific
# answer templates are not among them and rank first.
_NO_OBJECT = ("look around", "inventory", "task", "wait1", "wait")
_PLACES_AND_DEVICES = ("go OBJ", "open OBJ", "close OBJ", "activate OBJ", "deactivate OBJ")
_ONE_OBJECT = (
    "put down OBJ",
    "pick up OBJ",
    "look at OBJ",
    "focus on OBJ",
    "look in OBJ",
    "read OBJ",
    "eat OBJ",
    "mix OBJ",
    "flush OBJ",
    "disconnect OBJ",
)
_TWO_OBJECTS = ("move OBJ to OBJ", "pour OBJ in OBJ", "use OBJ on OBJ", "dunk OBJ in OBJ")
_CONNECT = "connect OBJ to OBJ"
_TEMPLATE_ORDER = (*_NO_OBJECT, *_PLACES_AND_DEVICES, *_ONE_OBJECT, *_TWO_OBJECTS, _CONNECT)
_PLACE_TEMPLATES = ("go OBJ", "open OBJ", "close OBJ", "look at OBJ", "look in OBJ")
_HOLDERS = frozenset({"container", "furniture", "device", "holder"})


def object_kind(class_name: str) -> str:
    """What an object is, for the filter, from its ScienceWorld class (scienceworld.objects.<package>.<Class>)."""
    name = class_name.removeprefix("scienceworld.objects.")
    if name.startswith(("location.", "portal.")):
        return "place"
    if name.startswith("agent.") or name == "substance.Air":
        return "never"  # the agent, its inventory, the air
    if name in ("electricalcomponent.Terminal", "electricalcomponent.Anode", "electricalcomponent.Cathode"):
        return "terminal"
    if name.startswith("electricalcomponent."):
        return "electrical"
    if name.startswith("containers.furniture."):
        return "furniture"
    if name.startswith("containers."):
        return "container"
    if name.startswith("devices."):
        return "device"
    if name in ("taskitems.AnswerBox", "misc.InclinedPlane"):
        return "holder"
    return "thing"


@dataclass(frozen=True)
class _Action:
    text: str
    template: str  # ScienceWorld's template text, "" for task-specific ones
    objects: tuple[int, ...]
    kinds: tuple[str, ...]


def _sensible(action: _Action) -> bool:
    """Step 1 of the module doc's filter."""
    template, kinds = action.template, action.kinds
    if template == "reset task" or "never" in kinds:
        return False
    if "place" in kinds and template not in _PLACE_TEMPLATES:
        return False
    if template == _CONNECT:
        return kinds == ("terminal", "terminal")
    if template == "disconnect OBJ":
        return kinds[0] in ("terminal", "electrical")
    if template in ("move OBJ to OBJ", "dunk OBJ in OBJ"):
        return kinds[1] in _HOLDERS
    if template == "pour OBJ in OBJ":
        return kinds[0] == "container" and kinds[1] in _HOLDERS
    if template == "mix OBJ":
        return kinds[0] == "container"
    if template == "use OBJ on OBJ":
        return kinds[0] == "device"
    return True


def _rank(action: _Action, carried: frozenset[int]) -> tuple[int, int, str]:
    """Step 2 of the module doc's filter: (tier, template, text)."""
    template = action.template
    if template not in _TEMPLATE_ORDER or template in _NO_OBJECT:
        tier = 0
    elif template in _PLACES_AND_DEVICES:
        tier = 1
    elif template == _CONNECT:
        tier = 5
    elif action.objects[0] in carried:
        tier = 2
    else:
        tier = 4 if template in _TWO_OBJECTS else 3
    order = _TEMPLATE_ORDER.index(template) if template in _TEMPLATE_ORDER else -1
    return tier, order, action.text


def admissible_actions(
    valid: Sequence[dict[str, Any]], templates: dict[int, str], kinds: dict[int, str], limit: int
) -> list[str]:
    """The module doc's list from ScienceWorld's `get_valid_action_object_combinations_with_templates`.

    `templates` maps template ids to ScienceWorld's template text, `kinds` object type ids to `object_kind`.
    """
    actions = (
        _Action(
            entry["action"],
            templates.get(entry["template_id"], ""),
            tuple(entry["obj_ids"]),
            tuple(kinds.get(type_id, "thing") for type_id in entry["type_ids"]),
        )
        for entry in valid
    )
    connected: set[frozenset[int]] = set()
    kept = []
    for action in sorted(filter(_sensible, actions), key=lambda action: action.text):
        if action.template == _CONNECT:
            if frozenset(action.objects) in connected:
                continue
            connected.add(frozenset(action.objects))
        kept.append(action)
    carried = frozenset(action.objects[0] for action in kept if action.template == "put down OBJ")
    return [action.text for action in sorted(kept, key=lambda action: _rank(action, carried))[:limit]]


def _scienceworld() -> Any:
    try:
        from scienceworld import ScienceWorldEnv as Simulator
    except ImportError:
        raise EnvError(f"scienceworld-v0 needs the scienceworld package: {INSTALL_HINT}") from None
    return Simulator


def task_names() -> list[str]:
    """ScienceWorld's 30 task names, read from the package without starting its JVM."""
    _scienceworld()
    from scienceworld.constants import ID2TASK
    from scienceworld.utils import infer_task

    return [infer_task(name) for name in ID2TASK.values()]


class ScienceWorldEnv(gymnasium.Env[str, str]):
    """A pool of variations of one ScienceWorld task, on one JVM."""

    metadata = {"render_modes": []}

    def __init__(
        self, task: str, split: str, variation: int, n_variations: int, simplifications: str, max_actions: int
    ) -> None:
        self.task = task
        self.split = split
        self.simplifications = simplifications
        self.max_actions = max_actions
        self.observation_space = text_space(OBSERVATION_MAX_LENGTH)
        self.action_space = text_space(ACTION_MAX_LENGTH, min_length=1)
        try:
            self._sim = _scienceworld()(envStepLimit=10**9)  # its step limit is unused: TimeLimit truncates
        except OSError as error:  # no `java` on the PATH
            raise EnvError(f"cannot start ScienceWorld's JVM ({error}): {INSTALL_HINT}") from None
        try:
            self._sim.load(task, 0, simplifications)
            splits = {"train": self._sim.get_variations_train, "dev": self._sim.get_variations_dev}
            variations = splits.get(split, self._sim.get_variations_test)()
        except ValueError as error:  # a simplification the task cannot take ("noElectricalAction" on a circuit)
            self.close()
            raise OptionError(str(error).strip()) from None
        if variation + n_variations > len(variations):
            self.close()
            count = len(variations)
            raise OptionError(
                f"{task} has {count} {split} variations: variation + n_variations must be at most {count}"
            )
        self.variations = tuple(variations[variation : variation + n_variations])
        self._variation = self.variations[0]
        templates = self._sim.get_possible_actions_with_IDs()
        self._templates = {entry["template_id"]: entry["action_example"] for entry in templates}
        self._kinds = {type_id: object_kind(name) for name, type_id in self._sim.get_object_types().items()}
        self._commands: list[str] = []
        self._walkthroughs: dict[int, list[str]] = {}
        self._last_info: dict[str, Any] = {}
        self._score = 0
        self._task = ""
        self._started = False

    def _start(self, gold_path: bool = False) -> str:
        """Load the variation and look around, as ScienceWorld's own reset does (the score updates on a step)."""
        self._sim.load(self.task, self._variation, self.simplifications, generateGoldPath=gold_path)
        return self._sim.server.step("look around")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if len(self.variations) > 1:
            self._variation = self.variations[int(self.np_random.integers(len(self.variations)))]
        observation = self._start()
        self._task = sanitize_text(self._sim.get_task_description().strip())
        self._commands = []
        self._started = True
        info = self._info()
        self._score = info["score"]
        return sanitize_text(observation.strip()), info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise EnvError("call reset() before step()")
        command = normalize_command(action)
        if command.lower() in _META_COMMANDS:
            info = self._info()
            return _META_REPLY, 0.0, info["won"] or info["lost"], False, info
        # The wrapper's own step() also lists every valid action as text, doubling the cost.
        observation = self._sim.server.step(command)
        self._commands.append(command)
        info = self._info()
        reward = (info["score"] - self._score) / 100
        self._score = info["score"]
        return sanitize_text(observation.strip()), reward, info["won"] or info["lost"], False, info

    def walkthrough(self) -> list[str] | None:
        """ScienceWorld's gold action sequence for the current variation, from its start.

        Making the gold path reloads the task, so a running episode is replayed afterwards.
        """
        if self._variation not in self._walkthroughs:
            self._start(gold_path=True)
            self._walkthroughs[self._variation] = list(self._sim.get_gold_action_sequence())
            if self._started:
                for command in self._commands:
                    self._sim.server.step(command)
        return list(self._walkthroughs[self._variation]) or None

    def optimal_actions(self, along_walkthrough: bool = False) -> tuple[str, ...]:
        """The gold path's next command while the episode follows it (`along_walkthrough`);
        ScienceWorld knows no optimal actions anywhere else."""
        if not self._started:
            raise EnvError("call reset() before asking for optimal actions")
        info = self._last_info
        if info["won"] or info["lost"]:
            return ()
        source = f"ScienceWorld {self.task} variation {self._variation}"
        if not along_walkthrough:
            raise OptimalActionsUnknown(
                f"{source} gives only a gold path from its start, not the optimal actions of every state"
            )
        return next_walkthrough_command(self.walkthrough(), self._commands, info["admissible_commands"], source)

    def close(self) -> None:
        if self._sim is not None:
            close_py4j_game(self._sim)
            # The wrapper's close() leaves its temporary folder to the garbage collector, which warns.
            self._sim._obj_tree_tempdir.cleanup()
            self._sim = None
        self._started = False

    def _info(self) -> dict[str, Any]:
        server = self._sim.server
        score = round(100 * server.getScore())
        valid = self._sim.get_valid_action_object_combinations_with_templates()
        self._last_info = {
            "admissible_commands": admissible_actions(valid, self._templates, self._kinds, self.max_actions),
            "task": self._task,
            "won": bool(server.getCompleted()) and score > 0,
            "lost": score < 0,
            "score": score,
            "max_score": 100,
            "description": sanitize_text(self._sim.look().strip()),
            "inventory": sanitize_text(self._sim.inventory().strip()),
            "game": f"scienceworld {self.task} variation {self._variation} ({self.split})",
        }
        return dict(self._last_info)


def make_scienceworld_env(
    task: str = "boil",
    split: str = "train",
    variation: int = 0,
    n_variations: int = 1,
    simplifications: str = "",
    max_actions: int = MAX_ACTIONS,
) -> ScienceWorldEnv:
    """Entry point of scienceworld-v0: variations variation..+n_variations-1 of the task's split.

    `simplifications` is ScienceWorld's comma-separated list (e.g. "easy", or "openDoors,teleportAction").
    """
    check_choice("task", task, task_names())
    check_choice("split", split, SPLITS)
    check_int("variation", variation, 0)
    check_int("n_variations", n_variations, 1)
    check_int("max_actions", max_actions, 1)
    if not isinstance(simplifications, str):
        raise OptionError(f"option simplifications must be a comma-separated string, got {simplifications!r}")
    for name in filter(None, simplifications.split(",")):
        check_choice("simplifications", name, SIMPLIFICATIONS)
    return ScienceWorldEnv(task, split, variation, n_variations, simplifications, max_actions)
