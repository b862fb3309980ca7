"""Gymnasium's Frozen Lake told in words: a small text env whose solution is known exactly.

The dynamics are gymnasium's own `FrozenLakeEnv` (slippery or not); this env only turns
states into sentences and command strings into its actions. `misleading=True` swaps how
ice and holes are described (never how they behave), so a language prior reading the
text is confidently wrong: the case a teaching demo needs.
"""

from __future__ import annotations

import math
import re
from collections import deque
from typing import Any

import gymnasium
from gymnasium.envs.toy_text.frozen_lake import MAPS, FrozenLakeEnv

from envs.optimal import OptimalActionsUnknown, action_value, first_steps_of_shortest_paths, in_action_order, state_values
from envs.options import OptionError, check_bool, check_choice
from envs.text import ACTION_MAX_LENGTH, normalize_command, text_space

TASK = "Cross the frozen lake from the start to the goal without falling into a hole."
OBSERVATION_MAX_LENGTH = 1024
MAP_NAMES = ("4x4", "8x8")
TILES = "SFHG"
SLIPPERY_GAMMA = 0.99  # the discount the slippery lake's optimal moves are defined with (the agents' gamma)
VALUE_TIE = 1e-9  # moves whose values differ by less are equally optimal

# Fixed order of the admissible moves, with gymnasium's action index and (row, col) step.
MOVES: dict[str, tuple[int, tuple[int, int]]] = {
    "north": (3, (-1, 0)),
    "south": (1, (1, 0)),
    "east": (2, (0, 1)),
    "west": (0, (0, -1)),
}
_ALIASES = {direction[0]: direction for direction in MOVES} | {direction: direction for direction in MOVES}
_COMMAND = re.compile(r"^(?:(?:go|move|walk)\s+)?(\w+)$")
_TILE_WORDS = {"S": "the start", "F": "frozen ice", "H": "a hole", "G": "the goal"}
_MISLEADING_TILE_WORDS = _TILE_WORDS | {"F": "dangerous-looking ice", "H": "safe-looking ice"}


def lake_rows(map_name: str = "4x4", desc: list[str] | None = None) -> list[str]:
    """The map's rows: a custom `desc` if given, else gymnasium's named map (both checked)."""
    check_choice("map_name", map_name, MAP_NAMES)
    return _check_desc(desc) if desc is not None else list(MAPS[map_name])


def episode_step_limit(map_name: str = "4x4", desc: list[str] | None = None) -> int:
    """Default step limit: 30 on the 4x4 lake, scaled by area (100 on 8x8), never below 30."""
    rows = lake_rows(map_name, desc)
    return max(30, math.ceil(100 * len(rows) * len(rows[0]) / 64))


def _check_desc(desc: Any) -> list[str]:
    """A custom map: equal-length rows of S/F/H/G with one start and at least one goal."""
    if not isinstance(desc, list) or not desc or not all(isinstance(row, str) and row for row in desc):
        raise OptionError(f'option desc must be a list of map rows like ["SFFF", "FHFH", ...], got {desc!r}')
    if len({len(row) for row in desc}) != 1:
        raise OptionError(f"option desc rows must all have the same length, got {desc!r}")
    text = "".join(desc)
    if set(text) - set(TILES):
        raise OptionError(f"option desc may only use S (start), F (ice), H (hole), G (goal), got {desc!r}")
    if text.count("S") != 1 or "G" not in text:
        raise OptionError(f"option desc needs exactly one S and at least one G, got {desc!r}")
    return list(desc)


class TextFrozenLakeEnv(gymnasium.Env[str, str]):
    """Frozen Lake with observations in words and moves as commands like "go south"."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        map_name: str = "4x4",
        desc: list[str] | None = None,
        is_slippery: bool = False,
        misleading: bool = False,
    ) -> None:
        rows = lake_rows(map_name, desc)
        self.is_slippery = check_bool("is_slippery", is_slippery)
        self._lake = FrozenLakeEnv(desc=rows, is_slippery=self.is_slippery)
        self._tile_words = _MISLEADING_TILE_WORDS if check_bool("misleading", misleading) else _TILE_WORDS
        self.grid: tuple[str, ...] = tuple(rows)
        self.n_rows, self.n_cols = len(rows), len(rows[0])
        self.observation_space = text_space(OBSERVATION_MAX_LENGTH, min_length=1)
        self.action_space = text_space(ACTION_MAX_LENGTH, min_length=1)
        self._position = self._find("S")
        self._won = self._lost = False
        self._values: dict[int, float] | None = None  # the slippery lake's V*, computed on first use

    def _find(self, tile: str) -> tuple[int, int]:
        return next((row, col) for row, line in enumerate(self.grid) for col, char in enumerate(line) if char == tile)

    def _on_board(self, row: int, col: int) -> bool:
        return 0 <= row < self.n_rows and 0 <= col < self.n_cols

    def _moves_from(self, position: tuple[int, int]) -> list[str]:
        row, col = position
        return [name for name, (_, (d_row, d_col)) in MOVES.items() if self._on_board(row + d_row, col + d_col)]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        state, _ = self._lake.reset(seed=seed)
        self._position = divmod(int(state), self.n_cols)
        self._won = self._lost = False
        return self._describe(), self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        command = normalize_command(action).lower()
        match = _COMMAND.match(command)
        direction = _ALIASES.get(match.group(1)) if match else None
        moves = self._moves_from(self._position)
        if direction not in moves:
            edge = f": to the {direction} is the edge of the lake" if direction else ""
            allowed = [f"go {move}" for move in moves]
            options = ", ".join(allowed[:-1]) + f" or {allowed[-1]}" if len(allowed) > 1 else allowed[0]
            text = f"That is not a move here{edge}. You can {options}.\n{self._describe()}"
            return text, 0.0, self._won or self._lost, False, self._info()
        before = self._position
        state, reward, _, _, _ = self._lake.step(MOVES[direction][0])
        self._position = divmod(int(state), self.n_cols)
        tile = self.grid[self._position[0]][self._position[1]]
        self._won, self._lost = tile == "G", tile == "H"
        text = f"{self._movement(direction, before)}{self._outcome()}\n{self._describe()}"
        return text, float(reward), self._won or self._lost, False, self._info()

    def _movement(self, intended: str, before: tuple[int, int]) -> str:
        d_row, d_col = self._position[0] - before[0], self._position[1] - before[1]
        actual = next((name for name, (_, step) in MOVES.items() if step == (d_row, d_col)), None)
        if actual == intended:
            return f"You go {intended}."
        if actual is None:
            return f"You try to go {intended}, slip on the ice and stay where you are."
        return f"You try to go {intended}, but the ice is slippery: you slide {actual}."

    def _outcome(self) -> str:
        if self._won:
            return " You reach the goal: you have crossed the frozen lake!"
        if self._lost:
            return " The ice gives way and you fall into a hole."
        return ""

    def _describe(self) -> str:
        row, col = self._position
        tile = self.grid[row][col]
        where = {"S": " (the start)", "G": " (the goal)", "H": " (in a hole)"}.get(tile, "")
        lines = [
            f"You are at row {row + 1}, column {col + 1}{where} of a {self.n_rows}x{self.n_cols} frozen lake"
            " (rows count from north to south, columns from west to east)."
        ]
        for name, (_, (d_row, d_col)) in MOVES.items():
            if self._on_board(row + d_row, col + d_col):
                lines.append(f"To the {name}: {self._tile_words[self.grid[row + d_row][col + d_col]]}.")
            else:
                lines.append(f"To the {name}: the edge of the lake.")
        lines.append(self._goal_direction())
        return "\n".join(lines)

    def _goal_direction(self) -> str:
        row, col = self._position
        goals = [(r, c) for r, line in enumerate(self.grid) for c, char in enumerate(line) if char == "G"]
        goal_row, goal_col = min(goals, key=lambda goal: abs(goal[0] - row) + abs(goal[1] - col))
        parts = []
        for offset, unit, positive, negative in (
            (goal_row - row, "row", "south", "north"),
            (goal_col - col, "column", "east", "west"),
        ):
            if offset:
                plural = "s" if abs(offset) > 1 else ""
                parts.append(f"{abs(offset)} {unit}{plural} {positive if offset > 0 else negative}")
        if not parts:
            return "You are at the goal."
        return f"The goal is {' and '.join(parts)} of you."

    def _info(self) -> dict[str, Any]:
        return {
            "admissible_commands": [f"go {move}" for move in self._moves_from(self._position)],
            "task": TASK,
            "won": self._won,
            "lost": self._lost,
            "score": int(self._won),
            "max_score": 1,
        }

    def moves_into_holes(self) -> tuple[str, ...]:
        """The admissible moves that would fall into a hole from here (on a slippery lake: that would, without slipping)."""
        row, col = self._position
        holes = []
        for move in self._moves_from(self._position):
            d_row, d_col = MOVES[move][1]
            if self.grid[row + d_row][col + d_col] == "H":
                holes.append(f"go {move}")
        return tuple(holes)

    def walkthrough(self) -> list[str] | None:
        """A shortest path of moves from the start to a goal over safe ice (BFS), None if none exists."""
        start = self._find("S")
        previous: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start: None}
        queue = deque([start])
        while queue:
            position = queue.popleft()
            if self.grid[position[0]][position[1]] == "G":
                path: list[str] = []
                while (step := previous[position]) is not None:
                    position, move = step
                    path.append(f"go {move}")
                return path[::-1]
            for move in self._moves_from(position):
                d_row, d_col = MOVES[move][1]
                neighbour = (position[0] + d_row, position[1] + d_col)
                if neighbour not in previous and self.grid[neighbour[0]][neighbour[1]] != "H":
                    previous[neighbour] = (position, move)
                    queue.append(neighbour)
        return None

    def optimal_actions(self, along_walkthrough: bool = False) -> tuple[str, ...]:
        """Every move on a shortest safe path to a goal (breadth-first); on a slippery lake,
        every move of maximal value (value iteration). Empty once the episode is over."""
        if self._won or self._lost:
            return ()
        if self.is_slippery:
            best = self._best_slippery_moves()
        else:
            best = first_steps_of_shortest_paths(self._position, self._safe_steps, self._is_goal)
        if not best:
            row, col = self._position
            raise OptimalActionsUnknown(f"no move reaches the goal from row {row + 1}, column {col + 1}")
        return in_action_order((f"go {move}" for move in best), self._info()["admissible_commands"])

    def _is_goal(self, position: tuple[int, int]) -> bool:
        return self.grid[position[0]][position[1]] == "G"

    def _safe_steps(self, position: tuple[int, int]) -> list[tuple[str, tuple[int, int]]]:
        """Moves onto ice or a goal (a hole ends the episode); a goal is never left."""
        if self._is_goal(position):
            return []
        steps = []
        for move in self._moves_from(position):
            d_row, d_col = MOVES[move][1]
            after = (position[0] + d_row, position[1] + d_col)
            if self.grid[after[0]][after[1]] != "H":
                steps.append((move, after))
        return steps

    def _best_slippery_moves(self) -> frozenset[str] | None:
        transitions = self._lake.unwrapped.P

        def moves(state: int) -> list[int]:
            row, col = divmod(state, self.n_cols)
            if self.grid[row][col] in "HG":
                return []
            return [MOVES[move][0] for move in self._moves_from((row, col))]

        if self._values is None:
            states = range(self.n_rows * self.n_cols)
            self._values = state_values(states, moves, lambda s, a: transitions[s][a], SLIPPERY_GAMMA)
        state = self._position[0] * self.n_cols + self._position[1]
        q = {
            move: action_value(state, MOVES[move][0], self._values, lambda s, a: transitions[s][a], SLIPPERY_GAMMA)
            for move in self._moves_from(self._position)
        }
        best = max(q.values(), default=0.0)
        if best <= 0.0:
            return None
        return frozenset(move for move, value in q.items() if value >= best - VALUE_TIE)
