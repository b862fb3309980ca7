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
ACTIONS = ("", "episode", "probe", "train", "sweep", "compare")
SWEEP_ALPHAS = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0)
# Short live runs must show learning: a 3x3 lake (one hole, the goal 4 moves away), less
# exploration for less long, updates from step 32 and hard target copies every 10. The lessons
# show posterior sampling, so they keep it whatever the lake's tuned defaults explore with.
LESSON_MAP = ["SFF", "FHF", "FFG"]
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
    steps: int = 0  # for "train" and "compare": env steps per agent

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


BAYES = Lesson(
    name="bayes",
    title="Bayes rule on real steps",
    summary="prior × likelihood → posterior, with the agent's actual numbers at every step",
    dqn=QUICK_DQN,
    pages=(
        Page(
            "A state, in words",
            "The lake is described in text, with the moves you may make.\n\n"
            "The LLM reads that text and scores every admissible action: the **p_LLM** column is "
            "the **prior** p(a|s). It knows language, not this lake.",
            action="episode",
        ),
        Page(
            "The prior proposes",
            "The agent draws **k proposals** from p_LLM (×n in the table). Their share is a **Monte "
            "Carlo estimate** of p_LLM, the paper's way to read a prior off an LLM it can only sample, "
            "and the agent acts on that estimate.\n\nAn action never proposed gets **zero** share, "
            "so zero posterior: the LLM prunes the action space.",
        ),
        Page(
            "Q is the likelihood",
            "The **Q** column is the agent's estimate of future reward.\n\n"
            "**exp(α·Q)**, normalised, is the likelihood that an action is the optimal one. "
            "Before any learning Q is nearly flat, so the likelihood is too.",
        ),
        Page(
            "Posterior ∝ prior × likelihood",
            "Bayes rule: multiply **p_LLM** by the likelihood and normalise. The panel under the table "
            "does it for the chosen action with the real numbers, then does the same with the agent's "
            "**estimate** (the share of its k proposals): that second posterior is the table's "
            "**posterior** column, and the two differ as much as the estimate differs from p_LLM.\n\n"
            "Entropy H says how spread out each distribution is; **KL(agent's posterior ‖ p_LLM)** how "
            "far Q moved the agent away from the LLM.",
        ),
        Page(
            "Step and watch",
            "Press **s** to let the agent act. Every new state gets a fresh prior, Q and posterior.\n\n"
            "Press **[** and **]** to change α on this state: the posterior is recomputed, nothing moves.",
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
            "Back at the start. Q now separates the actions, the likelihood is sharp, and the "
            "posterior leaves the prior where Q disagrees: compare the **KL** with the first pages.",
            action="episode",
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
            "The start state with the trained Q. The agent acts with α from its settings; "
            "the next page keeps this prior and this Q and changes only α.",
            action="episode",
        ),
        Page(
            "The α sweep",
            "Each column is the posterior for one α.\n\n"
            "- **α = 0**: posterior = prior (the LLM decides).\n"
            "- **large α**: all mass on the best Q among the proposals (Q decides).\n"
            "- in between: a blend.\n\n"
            "The H row shows the posterior sharpening as α grows.",
            panel="sweep",
            action="sweep",
        ),
        Page(
            "Your turn",
            "Press **[** and **]** to change α live on this state, **s** to step with it. The paper uses α = 10.",
        ),
    ),
)

WRONG_PRIOR = Lesson(
    name="wrong-prior",
    title="When the prior is wrong",
    summary="a lake whose text calls holes safe: the prior points at them, Q learns better",
    env_kwargs={"desc": LESSON_MAP, "misleading": True},
    probe=("go east",),
    dqn=QUICK_DQN,
    pages=(
        Page(
            "A lying lake",
            "This lake's text swaps the words: holes are **safe-looking ice**, ice is "
            "**dangerous-looking**.\n\nHere the hole is to the **south**. Read p_LLM for go south: "
            "nothing in the text warns the LLM.",
            action="probe",
        ),
        Page(
            "The posterior follows",
            "Q knows nothing yet, so the likelihood is flat and the posterior is the prior: the agent "
            "is drawn to the hole.",
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
            "The same state after training. The prior still points at the hole, but Q separates the "
            "moves and exp(α·Q) pulls the posterior toward the better one where the prior proposed it.",
            action="probe",
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
    summary="DQN over all actions and DQN-Prior over the LLM's proposals, raced on the same game",
    rivals=("dqn", "dqn-prior"),
    dqn=QUICK_DQN,
    pages=(
        Page(
            "Two agents",
            "**dqn** explores all actions ε-greedily. **dqn-prior** acts from the posterior over "
            "the LLM's proposals. Same lake, same seeds, same network.",
            panel="compare",
        ),
        Page(
            "The race",
            "Both train live, in turns. The lines are each agent's success over its last 10 "
            "episodes.",
            panel="compare",
            action="compare",
            steps=600,
        ),
        Page(
            "What it shows",
            "The table under the plot counts episodes to the first success and the success rate at "
            "the end. A good prior finds reward sooner; a poor one (small model, lying text) can "
            "slow the agent down.",
            panel="compare",
        ),
    ),
)

PRIOR_STRENGTH = Lesson(
    name="prior-strength",
    title="How good must a prior be?",
    summary="a skill dial on an oracle prior: DQN and DQN-Prior race on the lake, the curve grows race by race",
    rivals=("dqn", "dqn-prior"),
    env_kwargs={"map_name": "4x4"},  # the lake of `bench prior-strength`
    dqn=QUICK_DQN,
    screen="strength",
    pages=(
        Page(
            "A prior with a dial",
            "The **oracle prior** knows the lake's optimal moves O at every state. Its **skill S** sets how much "
            "it says so:\n\n"
            "- **S = 1**: all mass on O;\n- **S = 0**: uniform, no help;\n"
            "- **S < 0**: mass |S| on the *other* moves, a confidently **wrong** prior.\n\n"
            "A real LLM sits somewhere on this dial (`bench prior-quality` measures where).\n\n"
            "**The race**: dqn (no prior) and dqn-prior with this oracle train live on the same lake. Move the "
            "dial with **↑/↓** and dqn-prior races again; dqn's run is kept. Each finished race adds a point to "
            "**the curve** below the race.\n\n"
            "Below zero the prior pulls the agent into wrong moves: it learns **slower** than dqn.\n\n"
            "**α** (**[** / **]**) weighs Q against the prior, q ∝ p·exp(α·Q): at α = 0 the agent follows the prior "
            "whatever it learns; a large α lets Q overrule a wrong prior, once Q knows better. At **S = −1** the "
            "optimal moves get no mass at all and no α brings them back: the agent acts only among the prior's "
            "proposals. **r** races again.",
            panel="compare",
            action="compare",
            steps=1500,
        ),
    ),
)

LESSONS: dict[str, Lesson] = {
    lesson.name: lesson for lesson in (BAYES, ALPHA, WRONG_PRIOR, SAMPLE_EFFICIENCY, PRIOR_STRENGTH)
}
