"""The teaching lessons: short pages of text, each beside a live panel driven by the real engine.

A page names the panel it shows and what opening it does (start an episode, walk to the
state the lesson studies, train for a while, sweep α, race two agents); the numbers on
screen are always the agent's own, never canned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PANELS = ("decision", "sweep", "curves", "compare")
ACTIONS = ("", "study", "train", "sweep", "compare")
SWEEP_ALPHAS = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0)
LESSON_ENV = "TextFrozenLake-v0"
# Short live runs must show learning on a state whose optimal move is unique: a 3x3 lake whose
# start has one way to the goal (east, four moves) and one dead end (south: a hole below it and
# a hole beside it), so with γ = 0.9 Q*(go east) = 0.729 and Q*(go south) = 0.59. Less
# exploration for less long, updates from step 32 and hard target copies every 10. The lessons
# show posterior sampling, so they keep it whatever the lake's tuned defaults explore with.
LESSON_MAP = ["SFF", "FHF", "HFG"]
QUICK_DQN = {
    "epsilon_decay_steps": 400,
    "learning_starts": 32,
    "target_every": 10,
    "target_tau": 1.0,
    "explore": "posterior",
}


@dataclass(frozen=True)
class Page:
    title: str
    text: str  # Markdown, kept short: it sits beside the live panel
    panel: str = "decision"
    action: str = ""
    steps: int = 0  # for "train" and "compare": env steps per agent and seed
    study: str = "before"  # for "study": the name the studied decision is kept under ("before" or "after" training)
    checks: tuple[str, ...] = ()  # claims this page makes, checked on live numbers (sandbox.ui.lesson_checks)
    keys: tuple[str, ...] = ()  # the page's own keys (actions of DemoScreen) the footer offers: "step", "alpha", "guess"

    def __post_init__(self) -> None:
        assert self.panel in PANELS and self.action in ACTIONS, (self.panel, self.action)


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    summary: str
    pages: tuple[Page, ...]
    agent: str = "dqn-prior"
    env_kwargs: Mapping[str, Any] = field(default_factory=lambda: {"desc": LESSON_MAP})
    probe: tuple[str, ...] = ()  # actions from the start that reach the state the lesson studies
    rivals: tuple[str, ...] = ()  # agents raced on the "compare" panel
    dqn: Mapping[str, Any] = field(default_factory=dict)  # DQN settings that make a short live run teach
    screen: str = "pages"  # "strength": the prior-strength lesson's own screen (a dial, a race and a curve)
    seeds: int = 1  # races run each agent on this many seeds (the run's seed and the ones after it)
    classroom_prior: str = "oracle:skill=0.5"  # the prior served lessons use: no LLM process per student
    oracle_rival: float | None = None  # races add dqn-prior with the oracle at this skill: what a good prior does


BAYES = Lesson(
    name="bayes",
    title="Bayes rule on real steps",
    summary="prior × likelihood → posterior, with the agent's actual numbers at every step",
    dqn=QUICK_DQN,
    pages=(
        Page(
            "A state, in words",
            "The lake is described in text, with the moves you may make (the whole text is on the right).\n\n"
            "The LLM reads that text and scores every admissible action: the **p_LLM** column is the "
            "**prior** p(a|s). It knows language, not this lake. ★ marks the move the env knows is optimal.",
            action="study",
            checks=("unique-optimal",),
        ),
        Page(
            "The prior proposes",
            "The agent draws **k proposals** from p_LLM; the **k-share** column is each action's share of "
            "them. It is a **Monte Carlo estimate** of p_LLM, the paper's way to read a prior off an LLM it "
            "can only sample, and the agent acts on it.\n\n"
            "How far the estimate is from p_LLM is **sampling noise**: KL(k-share ‖ p_LLM), under the table.",
            checks=("unproposed-zero",),
        ),
        Page(
            "Q is the likelihood",
            "The **Q** column is the agent's estimate of future reward, drawn on a fixed 0 to 1 scale "
            "(the lake pays 1 at the goal).\n\n"
            "**exp(α·Q)**, normalised, is the **likelihood** that an action is the optimal one. Below: "
            "how flat Q is before any learning.",
            checks=("q-flat-before",),
        ),
        Page(
            "Your guess",
            "Before the answer: the posterior column is hidden.\n\n"
            "Multiply the chosen action's **k-share** by its **likelihood** and divide by the sum of those "
            "products over the rows. Type your guess for its posterior and press **Enter** to see "
            "Bayes rule's answer.",
            checks=(),
            keys=("guess",),
        ),
        Page(
            "Posterior ∝ prior × likelihood",
            "Bayes rule, twice, under the table:\n\n"
            "- with **p_LLM**, the exact prior;\n"
            "- with the **k-share**, what the agent acts on: the table's **posterior** column.\n\n"
            "**Q's pull** is KL(posterior under p_LLM ‖ p_LLM): how far Q moves belief away from the "
            "LLM. **Sampling noise** is KL(k-share ‖ p_LLM): how far k draws land from p_LLM. They are "
            "different things; the panel names each.",
            checks=("column-is-bayes",),
        ),
        Page(
            "Step and watch",
            "Press **s** to let the agent act: the lake moves on, and every new state gets a fresh prior, "
            "Q and posterior.\n\n"
            "Press **[** and **]** to halve or double α: the posterior is recomputed on the same state "
            "and no step is taken.",
            keys=("step", "alpha"),
        ),
        Page(
            "Learning moves Q",
            "Now the agent trains live. Each reward updates Q by the Bellman target over the "
            "**proposals** at the next state.",
            panel="curves",
            action="train",
            steps=400,
        ),
        Page(
            "After learning",
            "Back at the start, with the trained Q. Each Q bar shows its spread (▒) over the last 100 "
            "training steps: a gap smaller than that is noise, not knowledge.\n\n"
            "The checks below say what learning did here.",
            action="study",
            study="after",
            checks=("q-separates", "pull-grows", "pull-beats-noise"),
        ),
    ),
)

ALPHA = Lesson(
    name="alpha",
    title="What α does",
    summary="one state, one prior, one Q: the posterior from α = 0 (trust the LLM) to α = 100 (trust Q)",
    dqn=QUICK_DQN,
    pages=(
        Page(
            "First, some learning",
            "α weighs Q against the prior, so Q needs something to say: the agent trains for a while.",
            panel="curves",
            action="train",
            steps=400,
        ),
        Page(
            "One state",
            "The start state with the trained Q, and Q's spread (▒) over the last 100 training steps. "
            "The next page keeps this p_LLM and this Q and changes only α.",
            action="study",
            study="after",
            checks=("q-separates", "best-q-is-optimal"),
        ),
        Page(
            "The α sweep",
            "Each column is the posterior ∝ **p_LLM**·exp(α·Q) for one α, with the exact p_LLM "
            "beside it.\n\n"
            "- **α = 0**: the posterior is the prior (the LLM decides).\n"
            "- **large α**: the mass goes to the best Q (Q decides).\n"
            "- in between: a blend.\n\n"
            "A large α is only as good as Q: it amplifies Q's errors as readily as its knowledge.",
            panel="sweep",
            action="sweep",
            checks=("alpha-zero-is-prior", "large-alpha-best-q", "best-q-is-optimal"),
        ),
        Page(
            "Your turn",
            "Press **[** and **]** to halve or double α on this state (no step is taken), **s** to step "
            "with it. The paper uses α = 10.",
            keys=("step", "alpha"),
        ),
    ),
)

WRONG_PRIOR = Lesson(
    name="wrong-prior",
    title="When the prior is wrong",
    summary="a lake whose text calls holes safe: the prior favours a hole, Q learns better",
    env_kwargs={"desc": LESSON_MAP, "misleading": True},
    probe=("go south",),
    dqn=QUICK_DQN,
    classroom_prior="oracle:skill=-0.6",
    pages=(
        Page(
            "A lying lake",
            "This lake's text swaps the words: holes are **safe-looking ice**, ice is "
            "**dangerous-looking**.\n\n"
            "One step south of the start, holes lie to the **south** and the **east**, and the goal is "
            "to the south. The one way on is back **north** (★). Read p_LLM: nothing in the text warns "
            "the LLM.",
            action="study",
            checks=("prior-favours-hole", "unique-optimal"),
        ),
        Page(
            "The posterior follows",
            "Q knows nothing yet, so the likelihood is close to flat and the posterior close to the "
            "prior, which favours the hole.",
            checks=("prior-favours-hole", "q-flat-before"),
        ),
        Page(
            "Evidence arrives",
            "The agent trains live. Falling in ends the episode with nothing; the paths that reach "
            "the goal earn reward and their Q grows.",
            panel="curves",
            action="train",
            steps=600,
        ),
        Page(
            "Q overrides the prior",
            "The same state after training, with Q's spread (▒) over the last 100 training steps. "
            "p_LLM has not changed: the prior is fixed. Whether Q and the posterior did is checked below.",
            action="study",
            study="after",
            checks=("q-below-hole", "posterior-leaves-hole"),
        ),
        Page(
            "The catch",
            "The Bellman max runs over the **proposals** only: a move the prior never proposes is "
            "never learned. A prior floor (`--prior-epsilon 0.1`) keeps a little mass on every action.",
        ),
    ),
)

SAMPLE_EFFICIENCY = Lesson(
    name="sample-efficiency",
    title="Prior vs no prior",
    summary="DQN, DQN-Prior with this run's prior and DQN-Prior with a skilled oracle, raced over 5 seeds",
    rivals=("dqn", "dqn-prior"),
    dqn=QUICK_DQN,
    seeds=5,
    oracle_rival=0.9,
    classroom_prior="oracle:skill=-0.25",  # served: a poor prior stands in for the small LLM
    pages=(
        Page(
            "Three agents",
            "**dqn** explores all actions ε-greedily. **dqn-prior** acts from the posterior over the "
            "proposals of this run's prior (the status bar names it). **dqn-prior S=+0.9** does the same "
            "with an oracle that puts 0.9 of its mass on the optimal moves: what a good prior can do.\n\n"
            "Same lake, same 5 seeds, same network.",
            panel="compare",
        ),
        Page(
            "The race",
            "All three train live on 5 seeds each, in turns. The x-axis counts **env steps** (episodes "
            "differ in length). Each line is the mean over the seeds of the share of episodes won among "
            "those that ended in the last 100 steps; the dotted lines are its lowest and highest seed.",
            panel="compare",
            action="compare",
            steps=600,
        ),
        Page(
            "What it shows",
            "The table counts env steps to the first success on each seed, and the success over the last "
            "100 steps with its range. A prior helps only as much as it knows: the checks below compare "
            "each prior with dqn on this run.",
            panel="compare",
            checks=("good-prior-sooner", "this-prior-not-sooner"),
        ),
    ),
)

PRIOR_STRENGTH = Lesson(
    name="prior-strength",
    title="How good must a prior be?",
    summary="a skill dial on an oracle prior: races over seeds against S = 0, the control, point by point",
    rivals=("dqn", "dqn-prior"),
    env_kwargs={"map_name": "4x4"},  # the lake of `bench prior-strength`
    dqn=QUICK_DQN,
    screen="strength",
    seeds=3,
    pages=(
        Page(
            "A prior with a dial",
            "The **oracle prior** knows the lake's optimal moves O at every state. Its **skill S** sets how much "
            "it says so:\n\n"
            "- **S = 1**: all mass on O;\n- **S = 0**: uniform, it says nothing;\n"
            "- **S < 0**: mass |S| on the *other* moves, a confidently **wrong** prior.\n\n"
            "A real LLM sits somewhere on this dial (`bench prior-quality` measures where).\n\n"
            "**The race**: dqn (no prior) and dqn-prior with the oracle train on the same lake, 3 seeds each. "
            "**S = 0 is the control**: dqn-prior with a prior that says nothing still acts among k proposals by "
            "sampling its posterior, and that costs something against dqn. Compare each skill with S = 0, not "
            "with dqn: the difference is what the prior's knowledge is worth.\n\n"
            "Move the dial with **↑/↓** and dqn-prior races again at the new skill; dqn and the control are "
            "kept. Each race adds a point with its spread over the seeds; no line joins skills not run.\n\n"
            "**α** (**[** / **]**) is the posterior's inverse temperature on Q, q ∝ p·exp(α·Q): at S = 0 the "
            "prior is flat over the proposals and α alone sets how greedily the agent follows Q. At **S = −1** "
            "the optimal moves get no mass and are never proposed, so no α brings them back. **r** races again.",
            panel="compare",
            action="compare",
            steps=1500,
            checks=("skill-beats-control", "wrong-below-control"),
        ),
    ),
)

LESSONS: dict[str, Lesson] = {
    lesson.name: lesson for lesson in (BAYES, ALPHA, WRONG_PRIOR, SAMPLE_EFFICIENCY, PRIOR_STRENGTH)
}
