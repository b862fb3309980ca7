"""ALFWorld-style household tasks, built as real TextWorld games with TextWorld's GameMaker.

Six task families, as in ALFWorld (Shridhar et al. 2021): put an object in/on a receptacle,
put two of them there, examine an object under a lamp, and clean (sink), heat (microwave)
or cool (fridge) an object before putting it away. TextWorld 1.7's built-in logic has no
cleaning, heating, cooling or lamps, so `household.twl` adds them as TextWorld types with rules
(what the Python state tracker and the admissible commands follow) and Inform 7 code (what
the compiled game does and prints; TextWorld reads a win from the game's "The End").
"Examine the book under the desklamp" is the rule `examine/lamp`: examining an object you
hold in a room whose lamp is switched on marks it inspected, so the walkthrough is
"take book from desk", "turn on desklamp", "examine book".

A game is fixed by (family, split, seed): its rooms, furniture, objects, their places and
the task are drawn from a seeded RNG. Names are single words, ALFWorld's compounds
("diningtable", "desklamp"), so that no two things share a word the parser could confuse;
the two objects of a pick-two task are "apple 1" and "apple 2".

Splits: every (object, receptacle) pair a task can name, and (object, lamp) for the light
family, belongs to "unseen" when crc32("object/receptacle") % 4 == 0 and to "train"
otherwise, in every family alike, so unseen tasks only ask for combinations that no train
task of any family asks for. Games are compiled once into the games cache (envs/games.py).
"""

from __future__ import annotations

import glob
import os
import random
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from envs.errors import EnvError
from envs.games import MAX_GAME_SEED, GameFile, find_or_make
from envs.options import check_choice, check_int, check_path
from envs.textworld_env import MAX_POOL_SIZE, TextWorldEnv

SPLITS = ("train", "unseen")
UNSEEN_BUCKETS = 4  # one pair in four is held out
ROOMS = ("kitchen", "living room", "bedroom", "bathroom")
_OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


@dataclass(frozen=True)
class Receptacle:
    name: str
    tw_type: str  # "c" container, "s" supporter, or one of household.twl's appliance types
    rooms: tuple[str, ...]

    @property
    def is_container(self) -> bool:
        return self.tw_type in ("c", "fridge", "microwave")

    @property
    def preposition(self) -> str:
        return "in" if self.is_container else "on"


@dataclass(frozen=True)
class Thing:
    name: str
    plural: str
    can: frozenset[str]  # of "clean", "heat", "cool", "light"
    places: tuple[str, ...]  # receptacles it plausibly starts in and is put in


RECEPTACLES: dict[str, Receptacle] = {
    receptacle.name: receptacle
    for receptacle in (
        Receptacle("fridge", "fridge", ("kitchen",)),
        Receptacle("microwave", "microwave", ("kitchen",)),
        Receptacle("sinkbasin", "sink", ("kitchen", "bathroom")),
        Receptacle("countertop", "s", ("kitchen", "bathroom")),
        Receptacle("cabinet", "c", ("kitchen", "bathroom")),
        Receptacle("diningtable", "s", ("kitchen", "living room")),
        Receptacle("drawer", "c", ("bedroom", "kitchen")),
        Receptacle("coffeetable", "s", ("living room",)),
        Receptacle("sidetable", "s", ("living room", "bedroom")),
        Receptacle("sofa", "s", ("living room",)),
        Receptacle("armchair", "s", ("living room",)),
        Receptacle("tvstand", "s", ("living room",)),
        Receptacle("shelf", "s", ("living room", "bedroom")),
        Receptacle("bed", "s", ("bedroom",)),
        Receptacle("desk", "s", ("bedroom",)),
        Receptacle("dresser", "s", ("bedroom",)),
        Receptacle("toilet", "s", ("bathroom",)),
        Receptacle("bathtubbasin", "s", ("bathroom",)),
    )
}
LAMPS: dict[str, tuple[str, ...]] = {"desklamp": ("bedroom", "living room"), "floorlamp": ("living room", "bedroom")}

_FOOD = ("fridge", "countertop", "diningtable", "microwave", "sinkbasin")
_DISHES = (
    "cabinet", "countertop", "diningtable", "shelf", "sinkbasin", "fridge", "microwave", "coffeetable", "sidetable"
)
_SMALL = ("sofa", "armchair", "coffeetable", "sidetable", "desk", "dresser", "drawer", "shelf", "tvstand", "bed")
_READING = ("desk", "shelf", "bed", "sofa", "coffeetable", "sidetable", "dresser", "drawer", "armchair")
_DECOR = ("shelf", "tvstand", "coffeetable", "sidetable", "dresser", "diningtable", "desk")
_BATH = ("countertop", "toilet", "bathtubbasin", "cabinet", "shelf", "sinkbasin")
_HOT_COLD_CLEAN = frozenset({"clean", "heat", "cool"})
_LIGHT = frozenset({"light"})

THINGS: dict[str, Thing] = {
    thing.name: thing
    for thing in (
        Thing("apple", "apples", _HOT_COLD_CLEAN, _FOOD),
        Thing("tomato", "tomatoes", _HOT_COLD_CLEAN, _FOOD),
        Thing("potato", "potatoes", _HOT_COLD_CLEAN, _FOOD),
        Thing("egg", "eggs", _HOT_COLD_CLEAN, _FOOD),
        Thing("lettuce", "lettuces", frozenset({"clean", "cool"}), _FOOD),
        Thing("mug", "mugs", _HOT_COLD_CLEAN | _LIGHT, _DISHES),
        Thing("cup", "cups", _HOT_COLD_CLEAN, _DISHES),
        Thing("plate", "plates", _HOT_COLD_CLEAN, _DISHES),
        Thing("bowl", "bowls", frozenset({"clean", "cool", "light"}), _DISHES),
        Thing("keychain", "keychains", _LIGHT, _SMALL),
        Thing("creditcard", "creditcards", _LIGHT, _SMALL),
        Thing("cellphone", "cellphones", _LIGHT, _SMALL),
        Thing("remotecontrol", "remotecontrols", _LIGHT, _SMALL),
        Thing("pen", "pens", _LIGHT, _SMALL),
        Thing("pencil", "pencils", _LIGHT, _SMALL),
        Thing("watch", "watches", _LIGHT, _SMALL),
        Thing("cd", "cds", _LIGHT, _SMALL),
        Thing("book", "books", _LIGHT, _READING),
        Thing("newspaper", "newspapers", _LIGHT, _READING),
        Thing("vase", "vases", _LIGHT, _DECOR),
        Thing("statue", "statues", _LIGHT, _DECOR),
        Thing("soapbar", "soapbars", frozenset({"clean"}), _BATH),
        Thing("spraybottle", "spraybottles", frozenset(), _BATH),
        Thing("toiletpaper", "toiletpapers", frozenset(), _BATH),
        Thing("candle", "candles", frozenset(), _BATH),
    )
}


@dataclass(frozen=True)
class Family:
    """A task family: what the object must be able to undergo, and where that happens."""

    description: str
    ability: str | None = None  # the Thing.can an object needs; None: any object
    appliance: str | None = None  # the receptacle (or "lamp") the task uses on the way
    verb: str | None = None  # the command at the appliance: "clean {thing} with sinkbasin"
    adjective: str = ""  # the object's state in the task text: "a clean apple"
    predicate: str | None = None  # the TextWorld fact of that state


FAMILIES: dict[str, Family] = {
    "pick-place": Family("pick an object and place it in or on a receptacle"),
    "pick-two-place": Family("pick two objects of a kind and place both in or on a receptacle"),
    "examine-in-light": Family(
        "take an object to a lamp, switch the lamp on and examine the object",
        ability="light",
        appliance="lamp",
        predicate="inspected",
    ),
    "clean-place": Family(
        "clean an object at the sink, then place it in or on a receptacle",
        ability="clean",
        appliance="sinkbasin",
        verb="clean",
        adjective="clean",
        predicate="clean",
    ),
    "heat-place": Family(
        "heat an object with the microwave, then place it in or on a receptacle",
        ability="heat",
        appliance="microwave",
        verb="heat",
        adjective="hot",
        predicate="hot",
    ),
    "cool-place": Family(
        "cool an object with the fridge, then place it in or on a receptacle",
        ability="cool",
        appliance="fridge",
        verb="cool",
        adjective="cool",
        predicate="cold",
    ),
}


def is_unseen(thing: str, place: str) -> bool:
    """Whether the (object, receptacle or lamp) pair is held out of training."""
    return zlib.crc32(f"{thing}/{place}".encode()) % UNSEEN_BUCKETS == 0


@cache
def task_pairs(family: str, split: str) -> frozenset[tuple[str, str]]:
    """Every (object, receptacle) pair the split's tasks can name; (object, lamp) for examine-in-light."""
    rules = FAMILIES[family]
    pairs = set()
    for thing in THINGS.values():
        if rules.ability is not None and rules.ability not in thing.can:
            continue
        places = tuple(LAMPS) if rules.appliance == "lamp" else thing.places
        pairs.update((thing.name, place) for place in places if place != rules.appliance)
    return frozenset(pair for pair in pairs if is_unseen(*pair) == (split == "unseen"))


def _article(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def task_text(family: str, thing: str, place: str) -> str:
    """The objective, in ALFWorld's words: "Your task is to: put a clean apple in the fridge." """
    rules = FAMILIES[family]
    if rules.appliance == "lamp":
        return f"Your task is to: examine the {thing} under the {place}."
    where = f"{RECEPTACLES[place].preposition} the {place}"
    if family == "pick-two-place":
        return f"Your task is to: put two {THINGS[thing].plural} {where}."
    return f"Your task is to: put {_article(f'{rules.adjective} {thing}'.strip())} {where}."


@dataclass
class _Plan:
    """A game being drawn: rooms in a chain, the furniture of each room, objects and their places."""

    rooms: list[str]
    directions: list[str]  # directions[i] leads from rooms[i] to rooms[i + 1]
    furniture: dict[str, str]  # receptacle or lamp -> room
    objects: dict[str, str]  # object name -> receptacle it starts in/on
    start: str

    def path(self, origin: str, target: str) -> list[str]:
        """The "go ..." commands from one room to another along the chain."""
        here, there = self.rooms.index(origin), self.rooms.index(target)
        if there >= here:
            return [f"go {direction}" for direction in self.directions[here:there]]
        return [f"go {_OPPOSITE[direction]}" for direction in reversed(self.directions[there:here])]


def _draw_plan(rng: random.Random, family: str, thing: Thing, place: str) -> tuple[_Plan, list[str]]:
    """Rooms, furniture and objects around one task; returns the plan and the task objects' names."""
    rules = FAMILIES[family]
    excluded = {place, rules.appliance}
    sources = [rng.choice([p for p in thing.places if p not in excluded])]
    names = [thing.name]
    if family == "pick-two-place":
        sources.append(rng.choice([p for p in thing.places if p not in excluded]))
        names = [f"{thing.name} 1", f"{thing.name} 2"]
    needed = [*sources, place] + ([rules.appliance] if rules.appliance not in (None, "lamp") else [])
    furniture: dict[str, str] = {}
    for name in needed:
        furniture.setdefault(name, rng.choice(LAMPS[name] if name in LAMPS else RECEPTACLES[name].rooms))
    rooms = sorted(set(furniture.values()))
    if rng.random() < 0.5:
        rooms.append(rng.choice([room for room in ROOMS if room not in rooms]))
    rng.shuffle(rooms)
    for room in rooms:  # one or two pieces of furniture more per room
        free = sorted(name for name, spec in RECEPTACLES.items() if room in spec.rooms and name not in furniture)
        for name in rng.sample(free, min(len(free), rng.randint(1, 2))):
            furniture[name] = room
    directions: list[str] = []
    for _ in rooms[1:]:  # a chain; a room's next exit must differ from the one it was entered by
        used = _OPPOSITE[directions[-1]] if directions else None
        directions.append(rng.choice([direction for direction in _OPPOSITE if direction != used]))
    objects = dict(zip(names, sources))
    present = {name for name in furniture if name in RECEPTACLES}
    candidates = sorted(name for name, other in THINGS.items() if name != thing.name and set(other.places) & present)
    for name in rng.sample(candidates, min(len(candidates), rng.randint(2, 4))):
        objects[name] = rng.choice([p for p in THINGS[name].places if p in present])
    return _Plan(rooms, directions, furniture, objects, rng.choice(rooms)), names


def _walkthrough(family: str, plan: _Plan, names: list[str], place: str) -> list[str]:
    rules = FAMILIES[family]
    commands: list[str] = []
    room = plan.start
    opened: set[str] = set()

    def go_to(furniture: str) -> None:
        nonlocal room
        commands.extend(plan.path(room, plan.furniture[furniture]))
        room = plan.furniture[furniture]
        if furniture in RECEPTACLES and RECEPTACLES[furniture].is_container and furniture not in opened:
            if rules.verb is None or furniture != rules.appliance:  # appliances work closed
                commands.append(f"open {furniture}")
                opened.add(furniture)

    for name in names:
        go_to(plan.objects[name])
        commands.append(f"take {name} from {plan.objects[name]}")
    if rules.appliance == "lamp":
        go_to(place)
        return [*commands, f"turn on {place}", f"examine {names[0]}"]
    if rules.verb is not None:
        go_to(rules.appliance)
        commands.append(f"{rules.verb} {names[0]} with {rules.appliance}")
    go_to(place)
    verb = "insert {} into {}" if RECEPTACLES[place].is_container else "put {} on {}"
    return commands + [verb.format(name, place) for name in names]


# Household rules for TextWorld (household.twl, beside this module): each type's `rules` drive
# TextWorld's state tracking and admissible commands, its `inform7` code makes the compiled game
# behave the same way. Things the logic gives no cleanliness or temperature stay "unwashable" /
# "inert" in Inform, so the game refuses to clean or heat them exactly when TextWorld offers no command.
HOUSEHOLD_LOGIC = Path(__file__).with_name("household.twl")


@cache
def knowledge_base() -> Any:
    """TextWorld's built-in logic plus the household types of `HOUSEHOLD_LOGIC`, parsed once."""
    from textworld.generator.data import LOGIC_DATA_PATH, TEXT_GRAMMARS_PATH, KnowledgeBase
    from textworld.logic import GameLogic

    builtin = [Path(path).read_text() for path in sorted(glob.glob(os.path.join(LOGIC_DATA_PATH, "*.twl")))]
    household = HOUSEHOLD_LOGIC.read_text(encoding="utf-8")
    return KnowledgeBase(GameLogic.parse("\n".join([*builtin, household])), TEXT_GRAMMARS_PATH)


def build_game(family: str, split: str, seed: int) -> Any:
    """The TextWorld game for (family, split, seed), with its objective and walkthrough."""
    import textworld
    from textworld.generator.game import Event, Quest

    rng = random.Random(f"household/{family}/{split}/{seed}")
    thing_name, place = rng.choice(sorted(task_pairs(family, split)))
    thing = THINGS[thing_name]
    plan, names = _draw_plan(rng, family, thing, place)

    options = textworld.GameOptions()
    options.kb = knowledge_base()
    options.seeds = seed  # the room descriptions' text grammar
    maker = textworld.GameMaker(options)
    rooms = {name: maker.new_room(name) for name in plan.rooms}
    for here, there, direction in zip(plan.rooms, plan.rooms[1:], plan.directions):
        maker.connect(getattr(rooms[here], direction), getattr(rooms[there], _OPPOSITE[direction]))
    maker.set_player(rooms[plan.start])
    entities = {}
    for name, room in plan.furniture.items():
        entity = maker.new(type="lamp" if name in LAMPS else RECEPTACLES[name].tw_type, name=name)
        if name in LAMPS:
            entity.add_property("switched_off")
        elif RECEPTACLES[name].is_container:
            entity.add_property("closed")
        rooms[room].add(entity)
        entities[name] = entity
    for name, source in plan.objects.items():
        kind = THINGS[name.split()[0]]
        entity = maker.new(type="o", name=name, desc=f"It is {_article(kind.name)}.")
        if "clean" in kind.can:
            entity.add_property("dirty")
        if kind.can & {"heat", "cool"}:
            entity.add_property("tepid")
        entities[source].add(entity)
        entities[name] = entity

    target = entities[place]
    conditions = set()
    for name in names:
        if FAMILIES[family].predicate is not None:
            conditions.add(maker.new_fact(FAMILIES[family].predicate, entities[name]))
        if place in RECEPTACLES:
            conditions.add(maker.new_fact("in" if RECEPTACLES[place].is_container else "on", entities[name], target))
    maker.quests = [Quest(win_events=[Event(conditions=conditions)])]
    game = maker.build()
    game.objective = task_text(family, thing_name, place)
    game.metadata.update(
        walkthrough=_walkthrough(family, plan, names, place),
        household={"family": family, "split": split, "seed": seed, "object": thing_name, "place": place},
    )
    return game


def _make_game(family: str, split: str, seed: int, game_path: Path) -> None:
    """Compile the game into `game_path` (and its .json), and check that its walkthrough wins."""
    import textworld
    from textworld.generator import compile_game

    try:
        game = build_game(family, split, seed)
        options = textworld.GameOptions()
        options.path = str(game_path)
        options.file_ext = ".z8"
        compile_game(game, options)
    except Exception as error:  # TextWorld's and Inform 7's failures are many and untyped
        raise EnvError(f"TextWorld could not make {game_path.stem}: {type(error).__name__}: {error}") from None
    env = TextWorldEnv([game_path])
    try:
        env.reset()
        won = [env.step(command)[4]["won"] for command in game.metadata["walkthrough"]]
    finally:
        env.close()
    if not won[-1]:
        raise EnvError(f"{game_path.stem}: the generated walkthrough does not win; this is a bug in envs/household.py")


def game_stem(family: str, split: str, seed: int) -> str:
    return f"household-{family}-{split}-seed{seed}"


def find_or_make_household_game(
    family: str, split: str, seed: int, games_dir: str | os.PathLike[str] | None = None
) -> GameFile:
    """The cached game for (family, split, seed), compiled first if needed."""
    check_choice("family", family, FAMILIES)
    check_choice("split", split, SPLITS)
    check_int("game_seed", seed, 0, MAX_GAME_SEED)
    return find_or_make(game_stem(family, split, seed), lambda path: _make_game(family, split, seed, path), games_dir)


def make_household_env(
    family: str,
    split: str = "train",
    game_seed: int = 0,
    n_games: int = 1,
    games_dir: str | os.PathLike[str] | None = None,
) -> TextWorldEnv:
    """Entry point of the household-* ids: a pool of games with seeds game_seed..+n_games-1."""
    check_choice("split", split, SPLITS)
    check_int("game_seed", game_seed, 0, MAX_GAME_SEED)
    check_int("n_games", n_games, 1, MAX_POOL_SIZE)
    if games_dir is not None:
        games_dir = check_path("games_dir", games_dir)
    seeds = range(game_seed, game_seed + n_games)
    return TextWorldEnv([find_or_make_household_game(family, split, seed, games_dir).path for seed in seeds])
