"""Shortest winning plans of a TextWorld game from any state, by breadth-first search over its logic.

TextWorld's own winning policy (`policy_commands`) exists only for quests recorded as actions;
a quest given by its win conditions alone (the household games) has none. This search needs
only the conditions: from the facts TextWorld's state tracker holds, it walks the game's rules
breadth-first and names every command that starts a shortest winning plan.

It stays small by leaving out the things no quest names whose rules touch nothing else
(distractor objects: taking, putting or cleaning one changes only facts about it). An action
on such a thing never shortens a plan and every plan stays applicable without them, so the
shortest plans' first commands are exactly those of the full game. Successors are memoised
per game: an episode's later states, and the next episodes', cost little.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from envs.optimal import OptimalActionsUnknown, first_steps_of_shortest_paths

Facts = frozenset  # of textworld.logic.Proposition
Node = tuple[Facts, frozenset[int]]  # the facts kept, and the quests completed so far

MAX_STATES = 50_000  # states one search may expand before it gives up; also the memo's size


def detachable_types(kb: Any) -> set[str]:
    """Types whose every rule changes only facts about the thing it acts on (so an unnamed one can be left out)."""
    types = kb.logic.types
    detachable = set()
    for type_ in types:
        binding = [
            (rule, placeholder)
            for rule in kb.rules.values()
            for placeholder in rule.placeholders
            if type_.is_subtype_of(types.get(placeholder.type))
        ]
        changes = ((placeholder, fact) for rule, placeholder in binding for fact in [*rule.added, *rule.removed])
        if all(placeholder in fact.parameters for placeholder, fact in changes):
            detachable.add(type_.name)
    return detachable


class WinningPlanner:
    """The first commands of every shortest winning plan from a state of one game (None: no plan)."""

    def __init__(self, game: Any, max_states: int = MAX_STATES) -> None:
        from textworld.generator.inform7 import Inform7Game

        self._kb = game.kb
        self._inform7 = Inform7Game(game)
        quests = list(game.quests)
        self._required = frozenset(i for i, quest in enumerate(quests) if quest.win_events and not quest.optional)
        if not self._required:
            raise OptimalActionsUnknown("the game has no quest with win conditions to plan for")
        # Each quest's win conditions (any one event's facts win it), and the facts that lose the game.
        self._wins = [[frozenset(event.condition.preconditions) for event in quest.win_events] for quest in quests]
        self._losses = [
            frozenset(event.condition.preconditions)
            for quest in quests
            if not quest.optional
            for event in quest.fail_events
        ]
        conditions = [*(win for wins in self._wins for win in wins), *self._losses]
        named = {variable for facts in conditions for fact in facts for variable in fact.arguments}
        detachable = detachable_types(self._kb)
        self._left_out = {
            variable
            for fact in game.world.state.facts
            for variable in fact.arguments
            if variable.type in detachable and variable not in named
        }
        self._max_states = max_states
        self._expanded = 0  # states the current search has expanded
        self._successors: dict[Facts, list[tuple[str, Facts]]] = {}  # memo, emptied when it reaches max_states
        self._answers: dict[Node, frozenset[str] | None] = {}

    def kept(self, facts: Iterable[Any]) -> Facts:
        return frozenset(fact for fact in facts if not self._left_out.intersection(fact.arguments))

    def first_commands(self, progression: Any) -> frozenset[str] | None:
        """Commands that start a shortest winning plan from TextWorld's GameProgression `progression`."""
        completed = frozenset(index for index, quest in enumerate(progression.quest_progressions) if quest.completed)
        start = (self.kept(progression.state.facts), completed)
        if start not in self._answers:
            if len(self._successors) >= self._max_states:
                self._successors.clear()
                self._answers.clear()
            self._expanded = 0
            self._answers[start] = first_steps_of_shortest_paths(start, self._next_nodes, self._is_won)
        return self._answers[start]

    def _is_won(self, node: Node) -> bool:
        return self._required <= node[1]

    def _next_nodes(self, node: Node) -> list[tuple[str, Node]]:
        facts, completed = node
        if any(loss <= facts for loss in self._losses):
            return []
        self._expanded += 1
        if self._expanded > self._max_states:
            raise OptimalActionsUnknown(
                f"the search for a shortest winning plan passed {self._max_states} states, too many to finish"
            )
        return [(command, (after, completed | self._completed_in(after))) for command, after in self._moves(facts)]

    def _moves(self, facts: Facts) -> list[tuple[str, Facts]]:
        if facts not in self._successors:
            from textworld.logic import State

            state = State(self._kb.logic, facts)
            actions = list(state.all_applicable_actions(self._kb.rules.values(), self._kb.types.constants_mapping))
            commands = self._inform7.gen_commands_from_actions(actions)
            self._successors[facts] = [
                (command, (facts - set(action.removed)) | set(action.added))
                for command, action in zip(commands, actions)
            ]
        return self._successors[facts]

    def _completed_in(self, facts: Facts) -> frozenset[int]:
        return frozenset(index for index, wins in enumerate(self._wins) if any(win <= facts for win in wins))
