"""Text Overcooked: TWOSOME's one-cook salad kitchen with macro-actions, told in words.

The paper (Yan et al. 2025) takes this environment from Tan et al. 2024, "TWOSOME"
(github.com/WeihaoTan/TWOSOME). Its rules, re-implemented here rather than copied:

- Kitchen: map "A" for one agent of gym-macro-overcooked's Overcooked_V3 (tomato-lettuce
  salad) and Overcooked_V4 (tomato salad), 7x7, rows from the top::

      tomato-lettuce salad      tomato salad        T L O: tomato, lettuce, onion tables
      X X X X X T X             X X X X X T X       B: the bowl's table (TWOSOME's "plate")
      1 . . . @ . L             1 . . . @ . X       1 2: cutting boards (TWOSOME's "knife")
      2 . . . . . O             X . . . . . X       D: the serving counter ("delivery")
      D . . . . . X             D . . . . . X       @: the cook's start
      X . . . . . X             X . . . . . X
      X . . . . . X             X . . . . . X
      X X X X X B X             X X X X X B X

- Macro-actions (overcooked_LLMA_V3/V4 `macroActionName`): get tomato / lettuce / onion,
  get the bowl, go to cutting board 1 (/2), deliver, chop. Each walks (A* in TWOSOME) to the
  floor cell in front of its target and interacts once. Every target here has exactly one
  floor cell next to it and the floor is open, so a macro-action always ends at that cell:
  the env tracks which counter the cook stands at, not coordinates.
- What an interaction does (Overcooked_V3/V4 `step`, plus the macro special cases in
  `_computeLowLevelActions`): a cook holds one thing; food goes on an empty cutting board;
  "chop" (3 strokes in TWOSOME) chops the unchopped food on the board in front, hands empty;
  only chopped food goes in the bowl, from the board or from the hand ("get the bowl" while
  holding chopped food puts it in and picks the bowl up); an unchopped ingredient on a board
  is not picked up; serving the bowl with exactly the recipe's ingredients wins; serving
  anything else sends it, and its food unchopped, back to the start tables.
- Words (twosome/overcooked/policy_pomdp.py `obs2text`): the same facts and the same
  state-dependent action wording ("pick up the tomato" becomes "put the tomato in the bowl"
  while the cook holds the bowl). As in TWOSOME every macro-action is admissible in every
  state (5 for the tomato salad, 8 for the tomato-lettuce salad); one that cannot act here
  costs a step and is answered in words. Typed macro names ("get tomato", "get dish",
  "go to cutting board 2", "deliver", "chop") are understood as well.
- Partial observability: TWOSOME's cook sees 5x5 cells and remembers the rest. With one cook
  nothing changes out of sight (items move only in the cook's hands; a wrong delivery sends
  them back to the tables memory assumes), so the remembered kitchen is the true one. What
  stays hidden is what `obs2text` leaves out: where the cook stands, except in front of a
  cutting board, and the serving counter.

Rewards (`--env-reward 0.2 1 0.1 0.001` in TWOSOME's scripts, as in Yan et al.): +0.2 for a
finished subtask, +1 for the correct delivery, -0.1 for a wrong one, -0.001 per step.
Chopping is the only subtask, as in TWOSOME (plating is not rewarded there). Two deliberate
differences, both so that the return is well defined per macro-step and the reward depends on
nothing the text leaves out:

- TWOSOME charges the step penalty per primitive move and 0.99-discounts inside a
  macro-action; here it is -0.001 per env step.
- TWOSOME pays +0.2 every time a recipe ingredient finishes chopping, so chopping, serving
  wrongly (-0.1) and chopping the respawned food again pays +0.1 a loop. Here chopping a
  recipe ingredient always pays +0.2, and a wrong delivery that throws chopped recipe
  ingredients away takes their +0.2 back (on top of its -0.1): the subtask rewards an
  episode keeps are +0.2 per recipe ingredient chopped when it ends, and the loop costs.
  An earlier version paid each ingredient's chop once per episode instead; the observation
  never said whether a chop had been paid, and a wrong delivery returns the kitchen to a text
  identical to the start, so the same text and action could pay +0.2 or nothing: a reward
  no Q function of the text can learn (greedy policies learned to serve wrongly and re-chop).
  Now every reward is a function of the text the cook sees and the action
  (tests/envs/test_env_markov.py checks this for every deterministic env family).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

import gymnasium

from envs.optimal import OptimalActionsUnknown, first_steps_of_shortest_paths, in_action_order
from envs.options import check_choice
from envs.text import ACTION_MAX_LENGTH, normalize_command, text_space

OBSERVATION_MAX_LENGTH = 2048
SUBTASK_REWARD = 0.2
CORRECT_DELIVERY_REWARD = 1.0
WRONG_DELIVERY_REWARD = -0.1
STEP_REWARD = -0.001
BOWL = "bowl"
HAND = "hand"
TABLE = "table"  # an item's own start table
START = "start"
SERVING_COUNTER = "serving counter"
_ARTICLES = {"tomato": "a tomato", "lettuce": "a lettuce", "onion": "an onion", BOWL: "a bowl"}
_ORDINALS = {"board 1": "first", "board 2": "second"}
_PUNCTUATION_END = re.compile(r"[.!]+$")


@dataclass(frozen=True)
class Recipe:
    """One TWOSOME task: the salad ordered, what is in the kitchen, how many cutting boards."""

    name: str
    ingredients: frozenset[str]  # exactly what the served bowl must hold
    pantry: tuple[str, ...]  # every ingredient in the kitchen, in TWOSOME's action order
    boards: tuple[str, ...]

    @property
    def task(self) -> str:
        chopped = " and ".join(f"chopped {name}" for name in self.pantry if name in self.ingredients)
        return f"Make a {self.name} and serve it: a bowl containing only {chopped}."

    @property
    def macros(self) -> tuple[str, ...]:
        """The macro-actions in TWOSOME's order; their canonical names are what walkthrough() plans with."""
        boards = tuple(f"go to cutting {board}" for board in self.boards)
        return (*(f"get {name}" for name in self.pantry), f"get {BOWL}", *boards, "deliver", "chop")


RECIPES: dict[str, Recipe] = {
    "tomato-salad": Recipe("tomato salad", frozenset({"tomato"}), ("tomato",), ("board 1",)),
    "tomato-lettuce-salad": Recipe(
        "tomato-lettuce salad", frozenset({"tomato", "lettuce"}), ("tomato", "lettuce", "onion"), ("board 1", "board 2")
    ),
}


@dataclass(frozen=True)
class Kitchen:
    """Everything that can change, immutable so that walkthrough() can search over it.

    `places` gives each item's place: TABLE (its start table), a board, HAND or, for food,
    BOWL; `cook_at` is what the cook stands in front of.
    """

    cook_at: str
    places: tuple[tuple[str, str], ...]
    chopped: frozenset[str] = frozenset()
    served: bool = False

    def place(self, item: str) -> str:
        return dict(self.places)[item]

    def moved(self, **places: str) -> Kitchen:
        return replace(self, places=tuple((item, places.get(item, place)) for item, place in self.places))

    def held(self) -> str | None:
        return next((item for item, place in self.places if place == HAND), None)

    def on(self, spot: str) -> str | None:
        return next((item for item, place in self.places if place == spot), None)

    def in_bowl(self) -> frozenset[str]:
        return frozenset(item for item, place in self.places if place == BOWL)


@dataclass(frozen=True)
class Outcome:
    kitchen: Kitchen
    text: str
    reward: float = 0.0  # on top of the step penalty


def _spot_name(spot: str, recipe: Recipe) -> str:
    if spot in _ORDINALS:
        return "the cutting board" if len(recipe.boards) == 1 else f"the {_ORDINALS[spot]} cutting board"
    return f"the {spot}"


def _list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def _thing(item: str, kitchen: Kitchen, recipe: Recipe) -> str:
    """An item with its state, as obs2text says it: "an unchopped tomato", "a bowl containing chopped tomato"."""
    if item == BOWL:
        contents = [name for name in recipe.pantry if name in kitchen.in_bowl()]
        return f"a bowl containing chopped {_list(contents)}" if contents else "a bowl"
    return f"a chopped {item}" if item in kitchen.chopped else f"an unchopped {item}"


def describe(kitchen: Kitchen, recipe: Recipe) -> str:
    """What the cook knows, in obs2text's order: boards, items on their tables, the boards' load, the hands."""
    sentences = [
        "There is a fixed cutting board in the room."
        if len(recipe.boards) == 1
        else "There are two fixed cutting boards in the room."
    ]
    on_tables = [_ARTICLES[item] for item, place in kitchen.places if place == TABLE]
    if on_tables:
        where = "on the table" if len(on_tables) == 1 else "on different tables"
        sentences.append(f"You notice {_list(on_tables)} {where}.")
    for board in recipe.boards:
        item = kitchen.on(board)
        if item is not None:
            sentences.append(f"{_thing(item, kitchen, recipe).capitalize()} is on {_spot_name(board, recipe)}.")
    held = kitchen.held()
    carrying = f"carrying {_thing(held, kitchen, recipe)} in hand" if held else None
    if kitchen.cook_at in recipe.boards:
        standing = f"Currently you are standing in front of {_spot_name(kitchen.cook_at, recipe)}"
        sentences.append(f"{standing}, {carrying}." if carrying else f"{standing} without anything in hand.")
    else:
        sentences.append(f"Currently you are {carrying}." if carrying else "Currently you don't have anything in hand.")
    return " ".join(sentences)


def wording(macro: str, kitchen: Kitchen, recipe: Recipe) -> str:
    """TWOSOME's words for a macro-action in this state (policy_pomdp.py `obs2text`)."""
    held = kitchen.held()
    holding_unchopped_food = held not in (None, BOWL) and held not in kitchen.chopped
    if macro == f"get {BOWL}":
        return "take the bowl" if kitchen.in_bowl() else "take the empty bowl"
    if macro.startswith("get "):
        food = macro.removeprefix("get ")
        return f"put the {food} in the bowl" if held == BOWL else f"pick up the {food}"
    if macro.startswith("go to cutting "):
        board = _spot_name(macro.removeprefix("go to cutting "), recipe)
        return f"put the {held} on {board}" if held == BOWL or holding_unchopped_food else f"walk to {board}"
    if macro == "deliver":
        return "serve the dish" if held else "serve nothing"
    food_on_board = kitchen.on(kitchen.cook_at) if kitchen.cook_at in recipe.boards else None
    if food_on_board not in (None, BOWL) and food_on_board not in kitchen.chopped:
        return f"chop the {food_on_board}"
    return "chop nothing"


def _phrases(recipe: Recipe) -> dict[str, str]:
    """Every wording TWOSOME can show for a macro-action, plus typed names, mapped to the macro."""
    phrases: dict[str, str] = {}
    for macro in recipe.macros:
        phrases[macro] = macro
        if macro == f"get {BOWL}":
            names = ("take the bowl", "take the empty bowl", "get the bowl", "get dish", "get the dish", "get plate")
        elif macro.startswith("get "):
            food = macro.removeprefix("get ")
            names = (f"pick up the {food}", f"put the {food} in the bowl", f"get the {food}")
        elif macro.startswith("go to cutting "):
            spot = macro.removeprefix("go to cutting ")
            board = _spot_name(spot, recipe)
            held_things = (BOWL, *recipe.pantry)
            names = (f"walk to {board}", f"go to {board}", *(f"put the {thing} on {board}" for thing in held_things))
            if len(recipe.boards) == 1:
                names += ("go to cutting board", "go to the cutting board")
        elif macro == "deliver":
            names = ("serve the dish", "serve nothing", "serve")
        else:
            names = ("chop nothing", *(f"chop the {food}" for food in recipe.pantry))
        phrases.update(dict.fromkeys(names, macro))
    return phrases


def _walk(kitchen: Kitchen, spot: str) -> Kitchen:
    return replace(kitchen, cook_at=spot)


def _get_food(kitchen: Kitchen, recipe: Recipe, food: str) -> Outcome:
    place = kitchen.place(food)
    if place == HAND:
        return Outcome(kitchen, f"You are already holding the {food}.")
    if place == BOWL:
        return Outcome(kitchen, f"The {food} is already in the bowl.")
    held = kitchen.held()
    spot = place if place in recipe.boards else f"{food} {TABLE}"
    kitchen = _walk(kitchen, spot)
    chopped = food in kitchen.chopped
    if place in recipe.boards and not chopped:
        return Outcome(kitchen, f"You go to {_spot_name(spot, recipe)}; the {food} on it is not chopped yet.")
    if held is None:
        return Outcome(kitchen.moved(**{food: HAND}), f"You pick up the {'chopped ' if chopped else ''}{food}.")
    if held == BOWL:
        if chopped:
            return Outcome(kitchen.moved(**{food: BOWL}), f"You put the chopped {food} in the bowl.")
        return Outcome(kitchen, f"You go to the {food}, but it must be chopped before it goes in the bowl.")
    return Outcome(kitchen, f"You go to the {food}, but your hands are full: you are holding the {held}.")


def _get_bowl(kitchen: Kitchen, recipe: Recipe) -> Outcome:
    place = kitchen.place(BOWL)
    if place == HAND:
        return Outcome(kitchen, "You are already holding the bowl.")
    held = kitchen.held()
    kitchen = _walk(kitchen, place if place in recipe.boards else f"{BOWL} {TABLE}")
    if held is None:
        return Outcome(kitchen.moved(**{BOWL: HAND}), f"You pick up {_thing(BOWL, kitchen, recipe)}.")
    if held in kitchen.chopped:
        kitchen = kitchen.moved(**{held: BOWL, BOWL: HAND})
        return Outcome(kitchen, f"You put the chopped {held} in the bowl and pick the bowl up.")
    return Outcome(kitchen, f"You go to the bowl, but the {held} must be chopped before it goes in the bowl.")


def _go_to_board(kitchen: Kitchen, recipe: Recipe, board: str) -> Outcome:
    held, on_board = kitchen.held(), kitchen.on(board)
    kitchen = _walk(kitchen, board)
    name = _spot_name(board, recipe)
    if held is None:
        return Outcome(kitchen, f"You walk to {name}.")
    if on_board is None:
        return Outcome(kitchen.moved(**{held: board}), f"You put the {held} on {name}.")
    if held == BOWL and on_board in kitchen.chopped:
        return Outcome(kitchen.moved(**{on_board: BOWL}), f"You put the chopped {on_board} from {name} in the bowl.")
    if on_board == BOWL and held in kitchen.chopped:
        kitchen = kitchen.moved(**{held: BOWL, BOWL: HAND})
        return Outcome(kitchen, f"You put the chopped {held} in the bowl on {name} and pick the bowl up.")
    return Outcome(kitchen, f"You walk to {name}, but {_thing(on_board, kitchen, recipe)} is already on it.")


def _back_to_tables(kitchen: Kitchen, items: frozenset[str]) -> Kitchen:
    """A wrong delivery: the items reappear on their start tables, food unchopped (TWOSOME's `refresh`)."""
    kitchen = kitchen.moved(**dict.fromkeys(items, TABLE))
    return replace(kitchen, chopped=kitchen.chopped - items)


def _deliver(kitchen: Kitchen, recipe: Recipe) -> Outcome:
    held = kitchen.held()
    kitchen = _walk(kitchen, SERVING_COUNTER)
    if held is None:
        return Outcome(kitchen, "You walk to the serving counter with nothing to serve.")
    served = _thing(held, kitchen, recipe)
    if held == BOWL and kitchen.in_bowl() == recipe.ingredients:
        return Outcome(
            replace(kitchen, served=True), f"You serve {served}: the {recipe.name} is done!", CORRECT_DELIVERY_REWARD
        )
    returned = frozenset({held}) | (kitchen.in_bowl() if held == BOWL else frozenset())
    text = f"You serve {served}, but the order is a {recipe.name}. It is thrown away and goes back to the tables."
    wasted = sorted(returned & kitchen.chopped & recipe.ingredients)  # their chops paid; the reward goes back
    if wasted:
        text += f" The reward for chopping the {_list(wasted)} is taken back."
    reward = WRONG_DELIVERY_REWARD - SUBTASK_REWARD * len(wasted)
    return Outcome(_back_to_tables(kitchen, returned), text, reward)


def _chop(kitchen: Kitchen, recipe: Recipe) -> Outcome:
    if kitchen.cook_at not in recipe.boards:
        return Outcome(kitchen, "There is no cutting board in front of you.")
    food = kitchen.on(kitchen.cook_at)
    if food in (None, BOWL) or food in kitchen.chopped:
        return Outcome(kitchen, f"There is nothing to chop on {_spot_name(kitchen.cook_at, recipe)}.")
    if kitchen.held() is not None:
        return Outcome(kitchen, f"You need empty hands to chop; you are holding the {kitchen.held()}.")
    kitchen = replace(kitchen, chopped=kitchen.chopped | {food})
    return Outcome(kitchen, f"You chop the {food}.", SUBTASK_REWARD if food in recipe.ingredients else 0.0)


def act(kitchen: Kitchen, recipe: Recipe, macro: str) -> Outcome:
    """One macro-action's effect (without the step penalty): TWOSOME's rules, see the module doc."""
    if macro == f"get {BOWL}":
        return _get_bowl(kitchen, recipe)
    if macro.startswith("get "):
        return _get_food(kitchen, recipe, macro.removeprefix("get "))
    if macro.startswith("go to cutting "):
        return _go_to_board(kitchen, recipe, macro.removeprefix("go to cutting "))
    if macro == "deliver":
        return _deliver(kitchen, recipe)
    return _chop(kitchen, recipe)


def initial_kitchen(recipe: Recipe) -> Kitchen:
    return Kitchen(cook_at=START, places=tuple((item, TABLE) for item in (*recipe.pantry, BOWL)))


class TextOvercookedEnv(gymnasium.Env[str, str]):
    """TWOSOME's Overcooked salad task for one cook; a step is one macro-action."""

    metadata = {"render_modes": []}

    def __init__(self, recipe: str) -> None:
        self.recipe = RECIPES[check_choice("recipe", recipe, RECIPES)]
        self.observation_space = text_space(OBSERVATION_MAX_LENGTH, min_length=1)
        self.action_space = text_space(ACTION_MAX_LENGTH, min_length=1)
        self._phrases = _phrases(self.recipe)
        self._kitchen = initial_kitchen(self.recipe)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)  # the kitchen has no randomness: every episode starts the same
        self._kitchen = initial_kitchen(self.recipe)
        return describe(self._kitchen, self.recipe), self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        command = _PUNCTUATION_END.sub("", normalize_command(action).lower()).strip()
        if self._kitchen.served:
            return "The salad has been served; reset() starts a new order.", 0.0, True, False, self._info()
        macro = self._phrases.get(command)
        if macro is None:
            commands = self._info()["admissible_commands"]
            text = f"That is not an action here. You can: {', '.join(commands)}."
            return f"{text}\n{describe(self._kitchen, self.recipe)}", STEP_REWARD, False, False, self._info()
        outcome = act(self._kitchen, self.recipe, macro)
        self._kitchen = outcome.kitchen
        observation = f"{outcome.text}\n{describe(self._kitchen, self.recipe)}"
        reward = round(outcome.reward + STEP_REWARD, 6)  # 0.2 - 0.001 is 0.199, not 0.19900000000000001
        return observation, reward, self._kitchen.served, False, self._info()

    def _info(self) -> dict[str, Any]:
        kitchen = self._kitchen
        return {
            "admissible_commands": [wording(macro, kitchen, self.recipe) for macro in self.recipe.macros],
            "task": self.recipe.task,
            "won": kitchen.served,
            "lost": False,
            "score": len(kitchen.chopped & self.recipe.ingredients) + int(kitchen.served),
            "max_score": len(self.recipe.ingredients) + 1,
        }

    def optimal_actions(self, along_walkthrough: bool = False) -> tuple[str, ...]:
        """Every macro-action (in its words here) that starts a shortest plan to a correct delivery."""
        if self._kitchen.served:
            return ()

        def successors(kitchen: Kitchen) -> list[tuple[str, Kitchen]]:
            if kitchen.served:
                return []
            return [(wording(m, kitchen, self.recipe), act(kitchen, self.recipe, m).kitchen) for m in self.recipe.macros]

        best = first_steps_of_shortest_paths(self._kitchen, successors, lambda kitchen: kitchen.served)
        if not best:
            raise OptimalActionsUnknown(f"no plan serves the {self.recipe.name} from this kitchen")
        return in_action_order(best, self._info()["admissible_commands"])

    def walkthrough(self) -> list[str] | None:
        """A shortest macro-action plan that serves the salad (breadth-first over the kitchen's states)."""
        start = initial_kitchen(self.recipe)
        previous: dict[Kitchen, tuple[Kitchen, str] | None] = {start: None}
        queue = deque([start])
        while queue:
            kitchen = queue.popleft()
            if kitchen.served:
                plan: list[str] = []
                while (step := previous[kitchen]) is not None:
                    kitchen, command = step
                    plan.append(command)
                return plan[::-1]
            for macro in self.recipe.macros:
                after = act(kitchen, self.recipe, macro).kitchen
                if after not in previous:
                    previous[after] = (kitchen, wording(macro, kitchen, self.recipe))
                    queue.append(after)
        return None
