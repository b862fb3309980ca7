"""Prompt templates per env family, and fitting a prompt into the model's context.

Stable parts come first (instructions, then the task) so consecutive steps of an episode
share a long token prefix and the backend reuses its KV cache for it. Templates are short
on purpose: on a CPU, evaluating prompt tokens is what a prior query costs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

from agents.errors import PriorError
from agents.prior.types import PriorQuery


@dataclass(frozen=True, kw_only=True)
class PromptTemplate:
    """The pieces of one family's prompt, in the order they are rendered.

    The transcript pieces (past turns, the current observation, the ">" cue) are shared by
    every family; families differ in their instructions and wording.
    """

    intro: str  # instructions: identical for every state of the family
    task: str  # "{task}"
    history_header: str
    step: str = "{observation}\n> {action}\n"  # one past turn: the observation it was taken at, then the action
    current: str = "\nNow:\n{observation}\n"
    actions: str  # "{actions}": the admissible list, when shown
    cue: str = ">"  # transcript-style ending; score mode scores " <action>" right after it
    question: str  # chat mode: the request that replaces the cue


TEMPLATES: dict[str, PromptTemplate] = {
    "textworld": PromptTemplate(
        intro="You are playing a text adventure game. Type the best next command.\n",
        task="Task: {task}\n",
        history_header="\nRecent turns:\n",
        actions="Valid commands: {actions}\n",
        question="Reply with the next command only.",
    ),
    "frozenlake": PromptTemplate(
        intro=(
            "You are crossing a frozen lake on a grid. Reach the goal without stepping into a hole. "
            "Choose one move per turn.\n"
        ),
        task="Task: {task}\n",
        history_header="\nRecent moves:\n",
        actions="Valid moves: {actions}\n",
        question="Reply with the next move only.",
    ),
    "overcooked": PromptTemplate(
        intro=(
            "You are a cook in a small kitchen with cutting boards, a serving counter, and tables holding "
            "ingredients and a bowl. Only chopped ingredients go in the bowl; serve the bowl holding exactly "
            "the ordered salad. Choose one action per turn.\n"
        ),
        task="Order: {task}\n",
        history_header="\nRecent actions:\n",
        actions="Possible actions: {actions}\n",
        question="Reply with the next action only.",
    ),
    "household": PromptTemplate(
        intro=(
            "You are in a house and must finish a household task. You can move around, open and close "
            "containers, take and put objects, clean things at a sink, heat them with a microwave, cool them "
            "with a fridge, and switch lamps on. Type the best next command.\n"
        ),
        task="{task}\n",  # the task already reads "Your task is to: ..."
        history_header="\nRecent turns:\n",
        actions="Valid commands: {actions}\n",
        question="Reply with the next command only.",
    ),
    "textworld-express": PromptTemplate(
        intro=(
            "You are playing a text game. You can move between rooms, open doors and containers, take, put and "
            "read things, and follow instructions. Type the best next command for the task.\n"
        ),
        task="{task}\n",  # the games' tasks are whole sentences ("Your task is to ...")
        history_header="\nRecent turns:\n",
        actions="Valid commands: {actions}\n",
        question="Reply with the next command only.",
    ),
    "scienceworld": PromptTemplate(
        intro=(
            "You are doing a science task in a simulated house. You can go between rooms, open doors and "
            "containers, pick up and move objects, activate devices such as the stove or the sink, and use "
            "tools such as a thermometer. Focus only on the object the task asks for: focusing on a wrong one "
            "fails the task. Type the best next action.\n"
        ),
        task="{task}\n",  # "Your task is to ..."
        history_header="\nRecent steps:\n",
        actions="Valid actions: {actions}\n",
        question="Reply with the next action only.",
    ),
    "generic": PromptTemplate(
        intro="You are an agent in a text environment. Choose the best next action.\n",
        task="Task: {task}\n",
        history_header="\nRecent steps:\n",
        actions="Valid actions: {actions}\n",
        question="Reply with the next action only.",
    ),
}

# The "guided" wording (PriorConfig.wording): the same pieces, with instructions that say how the
# family's text reads and what to look for in it. Like every prompt, they describe what any game of
# the family is about, never one game's solution. Families not listed keep the default wording.
GUIDED_TEMPLATES: dict[str, PromptTemplate] = {
    "frozenlake": replace(
        TEMPLATES["frozenlake"],
        intro=(
            "You are crossing a frozen lake on a grid. Each turn the text says what lies one step to the north, "
            "south, east and west of you (frozen ice, a hole, the edge of the lake, the start or the goal) and "
            "how many rows south and columns east the goal is. Stepping onto a hole ends the game. Read the "
            "four directions, then choose a move onto frozen ice or the goal that brings you closer to the goal.\n"
        ),
    ),
    "textworld": replace(
        TEMPLATES["textworld"],
        intro=(
            "You are playing a text adventure game. The text describes the room you are in, its exits and the "
            "things in it. Reach the places and objects the task names: go through exits toward rooms you have "
            "not seen, open what blocks the way, and take or use the objects the task needs. Type the best "
            "next command.\n"
        ),
    ),
    "overcooked": replace(
        TEMPLATES["overcooked"],
        intro=TEMPLATES["overcooked"].intro.replace(
            "Choose one action per turn.",
            "A salad is made by taking each ordered ingredient, chopping it on a cutting board, putting it in "
            "the bowl, and serving the bowl. Choose the action that moves the order forward.",
        ),
    ),
    "household": replace(
        TEMPLATES["household"],
        intro=TEMPLATES["household"].intro.replace(
            "Type the best next command.",
            "First find the object the task names (go to the furniture where it may be, open containers), take "
            "it, do what the task asks with it, then go to the target place and put it there. Type the best "
            "next command.",
        ),
    ),
    "textworld-express": replace(
        TEMPLATES["textworld-express"],
        intro=TEMPLATES["textworld-express"].intro.replace(
            "Type the best next command for the task.",
            "Read the task, then move toward the room or object it names; open closed doors that lead on. "
            "Type the best next command for the task.",
        ),
    ),
}


_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")


def tidy(text: str) -> str:
    """Strip game text and collapse runs of blank lines: games pad with them, and every one costs tokens."""
    return _BLANK_LINES.sub("\n\n", text.strip())


def template_for(family: str, wording: str = "default") -> PromptTemplate:
    """The family's template in `wording` (families without a guided wording keep the default): the
    built-in one, else the prompt its `envs.EnvFamily` registration carries, else the generic one."""
    if wording == "guided" and family in GUIDED_TEMPLATES:
        return GUIDED_TEMPLATES[family]
    if family in TEMPLATES:
        return TEMPLATES[family]
    return registered_template(family, wording) or TEMPLATES["generic"]


def registered_template(family: str, wording: str = "default") -> PromptTemplate | None:
    """The template a registered env family carries as plain data (its `prompt` pieces, with its
    `guided_prompt` pieces over them in the guided wording); None when it carries none."""
    from envs.registry import registered_family  # deferred: only a family outside the built-in ones needs envs

    registered = registered_family(family)
    if registered is None or registered.prompt is None:
        return None
    guided = registered.guided_prompt if wording == "guided" and registered.guided_prompt else {}
    pieces = {**registered.prompt, **guided}
    try:
        return PromptTemplate(**pieces)
    except TypeError as error:
        names = ", ".join(item.name for item in fields(PromptTemplate))
        raise PriorError(
            f"env family {family!r}: its prompt pieces do not fit ({error}); the pieces are {names}"
        ) from None


def render_prompt(
    query: PriorQuery,
    list_actions: bool = True,
    history: int = 2,
    *,
    chat: bool = False,
    observation: str | None = None,
    template: PromptTemplate | None = None,
    listed: tuple[str, ...] | None = None,
    examples: str = "",
    ending: str | None = None,
) -> str:
    """The prompt for `query`: ends in the transcript cue ">" (or, for chat, in the question).

    `history` is how many of the most recent (action, observation) steps are shown;
    `observation` overrides the query's observation (used when trimming it to fit);
    `template` overrides the family's built-in one (a user's template). The score-mode levers
    (agents/prior/scoring.py) pass `listed` (the actions in the order shown, default the env's),
    `examples` (a constant few-shot block, right after the instructions so its KV cache is
    shared by every state) and `ending` (replaces the cue or question).
    """
    template = template or template_for(query.family)
    parts = [template.intro, examples]
    if query.task.strip():
        parts.append(template.task.format(task=tidy(query.task)))
    shown = query.history[-history:] if history > 0 else ()
    if shown:
        parts.append(template.history_header)
        parts.extend(
            template.step.format(action=action.strip(), observation=tidy(text)) for action, text in shown
        )
    current = query.observation if observation is None else observation
    parts.append(template.current.format(observation=tidy(current)))
    if list_actions:
        parts.append(template.actions.format(actions=", ".join(query.actions if listed is None else listed)))
    parts.append(ending if ending is not None else template.question if chat else template.cue)
    return "".join(parts)


@dataclass(frozen=True)
class FittedPrompt:
    text: str
    dropped_history: int  # oldest history steps left out to fit
    cut_observation_chars: int  # characters cut from the start of the observation


TRIM_MARK = "..."


def fit_prompt(
    query: PriorQuery,
    *,
    list_actions: bool,
    history: int,
    chat: bool,
    count_tokens: Callable[[str], int],
    budget: int,
    template: PromptTemplate | None = None,
    listed: tuple[str, ...] | None = None,
    examples: str = "",
    ending: str | None = None,
) -> FittedPrompt:
    """The longest rendering of `query` within `budget` tokens.

    Trims the oldest history first, then the start of the observation (its end, the most
    recent text, is kept); PriorError if even an empty observation does not fit.
    """
    extras = {"template": template, "listed": listed, "examples": examples, "ending": ending}
    shown = min(max(history, 0), len(query.history))
    for kept in range(shown, -1, -1):
        text = render_prompt(query, list_actions, kept, chat=chat, **extras)
        if count_tokens(text) <= budget:
            return FittedPrompt(text, shown - kept, 0)
    observation = query.observation.strip()

    def render_cut(cut: int) -> str:
        rest = observation[cut:]
        observation_text = TRIM_MARK + rest if cut else rest
        return render_prompt(query, list_actions, 0, chat=chat, observation=observation_text, **extras)

    if count_tokens(render_cut(len(observation))) > budget:
        raise PriorError(
            f"the prompt does not fit in n_ctx even without history and observation ({budget} tokens left); "
            "raise --n-ctx or hide the action list"
        )
    low, high = 1, len(observation)  # binary search the smallest cut that fits
    while low < high:
        middle = (low + high) // 2
        if count_tokens(render_cut(middle)) <= budget:
            high = middle
        else:
            low = middle + 1
    return FittedPrompt(render_cut(low), shown, low)
