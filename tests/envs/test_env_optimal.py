"""The optimal actions O the envs name (envs/optimal.py), checked against sets worked out by hand."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from envs import make_env, textworld_plans
from envs.household import FAMILIES, SPLITS
from envs.optimal import OptimalActionsUnknown, first_steps_of_shortest_paths, optimal_actions
from envs.textworld_plans import WinningPlanner, detachable_types


def lake(desc: list[str], slippery: bool = False):
    env = make_env("TextFrozenLake-v0", desc=desc, is_slippery=slippery)
    env.reset(seed=0)
    return env


def test_two_shortest_paths_both_optimal() -> None:
    # S F      east-then-south and south-then-east are both 2 moves long.
    # F G
    assert optimal_actions(lake(["SF", "FG"])) == ("go south", "go east")


def test_one_shortest_path_and_a_detour() -> None:
    # S F F     from S: east (4 moves) beats south (a dead end over the hole row).
    # F H F
    # H F G
    env = lake(["SFF", "FHF", "HFG"])
    assert optimal_actions(env) == ("go east",)
    env.step("go east")
    assert optimal_actions(env) == ("go east",)  # south of (1,2) is a hole
    env.step("go east")
    assert optimal_actions(env) == ("go south",)


def test_moves_into_holes_are_never_optimal_and_unreachable_goals_are_unknown() -> None:
    env = lake(["SH", "HG"])
    with pytest.raises(OptimalActionsUnknown, match="no move reaches the goal from row 1, column 1"):
        optimal_actions(env)


def test_episode_over_has_no_optimal_actions() -> None:
    env = lake(["SG"])
    env.step("go east")
    assert optimal_actions(env) == ()


def test_slippery_map_by_value_iteration() -> None:
    # S G    On ice, "east" reaches G, stays (slides north into the edge) or falls (slides south
    # H F    into H), 1/3 each; "south" falls into H, stays (west edge) or slides east onto G,
    #        1/3 each: the same odds, so both are optimal, though only east is a shortest path.
    assert optimal_actions(lake(["SG", "HF"])) == ("go east",)
    assert optimal_actions(lake(["SG", "HF"], slippery=True)) == ("go south", "go east")


def test_slippery_corridor_only_forward_helps() -> None:
    # In one row every slide is into an edge (stay): east gets 1/3 closer, west 1/3 farther.
    env = lake(["SFG"], slippery=True)
    assert optimal_actions(env) == ("go east",)


def test_named_lakes_walkthrough_follows_optimal_moves() -> None:
    for map_name in ("4x4", "8x8"):
        env = make_env("TextFrozenLake-v0", map_name=map_name)
        env.reset(seed=0)
        for command in env.unwrapped.walkthrough():
            assert command in optimal_actions(env)
            *_, info = env.step(command)
        assert info["won"]


def test_shortest_path_search_collects_every_first_step() -> None:
    # A diamond 0 -> {1, 2} -> 3 plus a long way 0 -> 4 -> 5 -> 3.
    graph = {0: [("a", 1), ("b", 2), ("c", 4)], 1: [("x", 3)], 2: [("y", 3)], 4: [("z", 5)], 5: [("w", 3)], 3: []}
    assert first_steps_of_shortest_paths(0, graph.__getitem__, lambda state: state == 3) == {"a", "b"}
    assert first_steps_of_shortest_paths(0, graph.__getitem__, lambda state: state == 9) is None


def test_overcooked_tomato_salad_optimal_macros() -> None:
    env = make_env("overcooked-tomato-salad-v0")
    env.reset(seed=0)
    assert optimal_actions(env) == ("pick up the tomato",)  # the bowl first costs a step more
    for command in ("pick up the tomato", "put the tomato on the cutting board"):
        env.step(command)
    assert optimal_actions(env) == ("chop the tomato",)
    env.step("chop the tomato")
    # The chopped tomato reaches the bowl either way: take it to the bowl, or the bowl to it.
    assert optimal_actions(env) == ("pick up the tomato", "take the empty bowl")
    env.step("take the empty bowl")
    # Holding the bowl: fetch the tomato from the board into it, or walk the bowl to the board.
    assert optimal_actions(env) == ("put the tomato in the bowl", "put the bowl on the cutting board")
    env.step("put the bowl on the cutting board")
    assert optimal_actions(env) == ("serve the dish",)
    *_, info = env.step("serve the dish")
    assert info["won"] and optimal_actions(env) == ()


def test_overcooked_tomato_lettuce_salad_starts_with_either_ingredient() -> None:
    env = make_env("overcooked-tomato-lettuce-salad-v0")
    env.reset(seed=0)
    assert optimal_actions(env) == ("pick up the tomato", "pick up the lettuce")


def test_textworld_policy_commands_win_coin_collector(tw_games: dict[str, Path]) -> None:
    env = make_env("tw-game-file-v0", path=str(tw_games["coin-collector"]))
    _, info = env.reset(seed=0)
    steps = 0
    while not info["won"]:
        optimal = optimal_actions(env)
        assert len(optimal) == 1 and optimal[0] in info["admissible_commands"]
        *_, info = env.step(optimal[0])
        steps += 1
    assert steps == len(env.unwrapped.walkthrough())
    assert optimal_actions(env) == ()


def test_textworld_policy_replans_after_a_detour(tw_games: dict[str, Path]) -> None:
    env = make_env("tw-game-file-v0", path=str(tw_games["coin-collector"]))
    env.reset(seed=0)
    first = optimal_actions(env)[0]
    back = {"go west": "go east", "go east": "go west", "go north": "go south", "go south": "go north"}[first]
    *_, info = env.step(first)
    assert back in info["admissible_commands"]
    env.step(back)
    assert optimal_actions(env) == (first,)


def play(env, commands: list[str]) -> dict:
    info: dict = {}
    for command in commands:
        *_, info = env.step(command)
    return info


def test_household_replans_from_a_detour(household_games: dict[tuple[str, str], Path]) -> None:
    # Put the newspaper on the armchair (west room); it starts on the desk (east room, with a drawer).
    env = make_env("tw-game-file-v0", path=str(household_games[("pick-place", "train")]))
    env.reset(seed=0)
    assert env.unwrapped.walkthrough() == ["go east", "take newspaper from desk", "go west", "put newspaper on armchair"]
    assert optimal_actions(env) == ("go east",)
    play(env, ["go east", "take newspaper from desk", "open drawer", "insert newspaper into drawer", "go west"])
    assert optimal_actions(env) == ("go east",)  # the newspaper is back east, in the open drawer
    play(env, ["go east", "close drawer"])
    assert optimal_actions(env) == ("open drawer",)
    play(env, ["open drawer", "take newspaper from drawer", "drop newspaper"])
    assert optimal_actions(env) == ("take newspaper",)  # from the floor
    env.step("take newspaper")
    assert optimal_actions(env) == ("go west",)
    env.step("go west")
    assert optimal_actions(env) == ("put newspaper on armchair",)
    *_, info = env.step("put newspaper on armchair")
    assert info["won"] and optimal_actions(env) == ()


def test_household_names_every_first_move_of_a_shortest_plan(household_games: dict[tuple[str, str], Path]) -> None:
    # Two vases, on the coffeetable and the diningtable, go on the tvstand, all in one room:
    # either vase can be taken first, and with one in hand, putting it or taking the other are both optimal.
    env = make_env("tw-game-file-v0", path=str(household_games[("pick-two-place", "train")]))
    env.reset(seed=0)
    assert optimal_actions(env) == ("take vase 1 from coffeetable", "take vase 2 from diningtable")
    env.step("take vase 1 from coffeetable")
    assert optimal_actions(env) == ("put vase 1 on tvstand", "take vase 2 from diningtable")
    env.step("take vase 2 from diningtable")
    assert optimal_actions(env) == ("put vase 1 on tvstand", "put vase 2 on tvstand")


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_household_family_names_its_optimal_actions_from_the_start(
    household_games: dict[tuple[str, str], Path], family: str, split: str
) -> None:
    env = make_env("tw-game-file-v0", path=str(household_games[(family, split)]))
    _, info = env.reset(seed=0)
    walkthrough = env.unwrapped.walkthrough()
    assert walkthrough[0] in optimal_actions(env)
    steps = 0
    while not info["won"]:
        optimal = optimal_actions(env)
        assert optimal and set(optimal) <= set(info["admissible_commands"])
        *_, info = env.step(optimal[-1])  # the last, not the walkthrough's first, where there are several
        steps += 1
    assert steps == len(walkthrough)  # the generated walkthrough is itself a shortest plan


def test_leaving_distractors_out_of_the_search_changes_no_answer(
    household_games: dict[tuple[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env("tw-game-file-v0", path=str(household_games[("clean-place", "unseen")]))
    _, info = env.reset(seed=0)
    game = env.unwrapped._state["game"]
    assert detachable_types(game.kb) == {"t", "o", "f"}  # keys open locks, so k is never left out
    small = WinningPlanner(game)
    monkeypatch.setattr(textworld_plans, "detachable_types", lambda kb: set())
    full = WinningPlanner(game)
    rng = random.Random(0)
    for _ in range(12):  # a random walk, distractors touched, compared at every state
        progression = env.unwrapped._state["_game_progression"]
        assert small.first_commands(progression) == full.first_commands(progression)
        *_, terminated, _, info = env.step(rng.choice(info["admissible_commands"]))
        if terminated:
            _, info = env.reset(seed=0)
    assert len(small._successors) < len(full._successors)


def test_a_search_too_big_to_finish_says_so(household_games: dict[tuple[str, str], Path]) -> None:
    env = make_env("tw-game-file-v0", path=str(household_games[("heat-place", "train")]))
    env.reset(seed=0)
    planner = WinningPlanner(env.unwrapped._state["game"], max_states=10)
    with pytest.raises(OptimalActionsUnknown, match="passed 10 states, too many to finish"):
        planner.first_commands(env.unwrapped._state["_game_progression"])


def test_a_game_without_quests_knows_only_its_walkthrough(questless_game: Path) -> None:
    env = make_env("tw-game-file-v0", path=str(questless_game))
    _, info = env.reset(seed=0)
    with pytest.raises(OptimalActionsUnknown, match="no winning policy .* no quest with win conditions"):
        optimal_actions(env)
    walkthrough = env.unwrapped.walkthrough()
    for command in walkthrough:
        assert optimal_actions(env, along_walkthrough=True) == (command,)
        *_, info = env.step(command)
    assert info["won"]
    _, info = env.reset(seed=0)
    wrong = next(action for action in info["admissible_commands"] if action != walkthrough[0])
    env.step(wrong)
    with pytest.raises(OptimalActionsUnknown, match="left the walkthrough at step 1"):
        optimal_actions(env, along_walkthrough=True)


def test_an_env_without_optimal_actions_says_so() -> None:
    class Plain:
        pass

    with pytest.raises(OptimalActionsUnknown, match="Plain cannot compute its optimal actions"):
        optimal_actions(Plain())
