"""The sandbox app: watch an LLM-prior agent play, step it, steer it, take over, save and replay.

Every engine call (LLM, Q network, training, evaluation, saving) runs in one thread
worker at a time; a key pressed while one runs is queued (the latest wins), escape
cancels. Workers report through the typed messages of `sandbox.ui.messages`, and only
their handlers here touch widgets.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.widgets import Footer, Input
from textual.worker import NoActiveWorker, Worker, WorkerState, get_current_worker

from agents.prior.config import PRIOR_MODES
from agents.registry import agent_names, agents_with_prior
from sandbox.engine.config import RunConfig, retargeted
from sandbox.errors import SandboxError
from sandbox.prior_service.outage import outage_watch
from sandbox.features.prompt_edit import editable_prior
from sandbox.engine.replay_files import list_episodes, load_episode
from sandbox.ui.controller import Builders, Cancelled, SessionController, list_sessions, use_one_torch_thread
from sandbox.ui.jobs import Job, JobRunner, PlayJobs
from sandbox.ui.messages import (
    Barrier,
    DecisionReady,
    EngineBusy,
    EpisodeEnded,
    EpisodeStarted,
    EvaluationDone,
    SessionLoaded,
    SessionReady,
    OptimalShown,
    PriorOutage,
    SessionSaved,
    StepTaken,
)
from sandbox.ui.prior_choices import prior_choices
from sandbox.ui.screens.fork import ForkResult, ForkScreen
from sandbox.ui.screens.help import HelpScreen
from sandbox.ui.screens.picker import PickerScreen
from sandbox.ui.screens.prompt_editor import PromptEditorScreen
from sandbox.ui.screens.replay import ReplayScreen
from sandbox.ui.widgets.decision_table import DecisionPanel, DecisionTable
from sandbox.ui.widgets.game_pane import GamePane
from sandbox.ui.widgets.learning_pane import LearningPane
from sandbox.ui.widgets.status_bar import PlayState, StatusBar

ALPHA_LEVELS = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
SPEEDS = (("½/s", 2.0), ("1/s", 1.0), ("2/s", 0.5), ("4/s", 0.25), ("10/s", 0.1), ("max", 0.0))
DEFAULT_SPEED = 2
EVAL_EPISODES = 5
AUTO_EVAL_EVERY = 10  # training episodes between automatic evaluations during auto-play
COMPACT_WIDTH, COMPACT_HEIGHT = 110, 34  # below either, the learning pane shares space with the decision
REPAINT_HOLD_S = 0.05  # the longest a step key holds repaints back, waiting for the step's decision


def next_level(levels: tuple[float, ...], current: float, direction: int) -> float:
    """The next preset above (direction 1) or below (-1) `current`, which need not be a preset."""
    if direction > 0:
        return next((level for level in levels if level > current + 1e-9), levels[-1])
    return next((level for level in reversed(levels) if level < current - 1e-9), levels[0])


class SandboxApp(App[None]):
    """`make play`: one session of env + agent, its decision, its learning, and every control."""

    CSS_PATH = "app.tcss"
    TITLE = "LLM-prior sandbox"
    BINDINGS = [
        Binding("space,s", "step", "step"),
        Binding("a", "autoplay", "auto-play"),
        Binding("plus,equals_sign", "speed(1)", "faster", key_display="+"),
        Binding("minus", "speed(-1)", "slower", key_display="-"),
        Binding("t", "train", "train"),
        Binding("i,slash", "command", "type"),
        Binding("left_square_bracket", "alpha(-1)", "α−", key_display="["),
        Binding("right_square_bracket", "alpha(1)", "α+", key_display="]"),
        Binding("left_curly_bracket", "k(-1)", "k−", key_display="{"),
        Binding("right_curly_bracket", "k(1)", "k+", key_display="}"),
        Binding("m", "mode", "mode"),
        Binding("n", "new_episode", "new"),
        Binding("e", "pick_env", "env"),
        Binding("g", "pick_agent", "agent"),
        Binding("o", "pick_prior", "prior"),
        Binding("v", "evaluate", "eval"),
        Binding("r", "replay", "replay"),
        Binding("ctrl+s", "save", "save"),
        Binding("ctrl+o", "load", "load"),
        Binding("f", "fork", "fork"),
        Binding("p", "prompt", "prompt"),
        Binding("l", "toggle_learning", "plots"),
        Binding("asterisk", "toggle_optimal", "optimal", key_display="*", show=False),
        Binding("d", "toggle_dark", "theme"),
        Binding("escape", "cancel", "cancel"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
    ]
    SCREEN_WIDE_ACTIONS = frozenset({"toggle_dark", "quit"})  # the keys that work over any screen
    KEY_HELP = {
        "step": "step: the agent takes its action (starts a new episode when one is over)",
        "autoplay": "auto-play on/off",
        "speed(1)": "auto-play faster",
        "speed(-1)": "auto-play slower",
        "train": "train while playing on/off (the agent learns from every step)",
        "command": "type any command and take it yourself",
        "alpha(-1)": "lower α (posterior closer to the prior), recomputed without a step",
        "alpha(1)": "raise α (posterior closer to argmax Q), recomputed without a step",
        "k(-1)": "fewer proposals k, redrawn on this state",
        "k(1)": "more proposals k, redrawn on this state",
        "mode": "prior mode: exact scoring ↔ sampled proposals",
        "new_episode": "new episode",
        "pick_env": "switch env",
        "pick_agent": "switch agent",
        "pick_prior": "switch prior: an LLM, uniform, or the oracle at a chosen skill (it knows the optimal actions)",
        "evaluate": f"evaluate: {EVAL_EPISODES} greedy episodes on a separate env",
        "replay": "replay a recorded episode step by step",
        "save": "save agent + session to saves/sessions/",
        "load": "load a saved session",
        "fork": "what-if: fork the episode here, take another action beside the agent, keep or discard the fork",
        "prompt": "edit the prior's prompt for this step, re-score it, save a template for the env",
        "toggle_learning": "show the plots instead of the decision (small terminals)",
        "toggle_optimal": "mark the env's optimal actions (★) in the decision table, where the env knows them",
        "toggle_dark": "light/dark theme",
        "cancel": "cancel the running call, stop auto-play",
        "help": "this help",
        "quit": "quit",
    }

    def __init__(
        self,
        config: RunConfig,
        *,
        saves_dir: Path = Path("saves"),
        builders: Builders | None = None,
        record_episodes: bool = True,
    ) -> None:
        super().__init__()
        use_one_torch_thread()
        self.controller = SessionController(
            config, saves_dir=saves_dir, builders=builders, record_episodes=record_episodes
        )
        self.autoplay = False
        self.speed_index = DEFAULT_SPEED
        self.jobs = JobRunner(self, self._job_finished)
        self.play_jobs = PlayJobs(self, self.controller, self.jobs)
        self._held_repaints: tuple[int, AbstractContextManager[None]] | None = None
        self._holds = 0

    # ----- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield GamePane(id="game")
            with Vertical(id="right"):
                yield DecisionPanel(id="decision")
                yield LearningPane(id="learning")
        yield StatusBar(id="status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#game").border_title = "game"
        self.query_one("#decision").border_title = "decision"
        self.query_one("#learning").border_title = "learning"
        self.query_one(DecisionTable).focus()
        self.query_one(DecisionPanel).loading = True
        self._refresh_status()
        self.submit("loading env, agent and prior", self._job_build)

    def on_resize(self, event: Resize) -> None:
        compact = event.size.width < COMPACT_WIDTH or event.size.height < COMPACT_HEIGHT
        self.query_one("#main").set_class(compact, "-compact")

    # ----- jobs -----------------------------------------------------------------------

    def submit(self, label: str, job: Job) -> None:
        """Run an engine job; one asked for during auto-play pauses it and runs next."""
        if self.autoplay and self.jobs.busy:
            self.autoplay = False
        self.jobs.submit(label, job)

    def _hold_repaints(self) -> None:
        """From a step key until its decision is shown (REPAINT_HOLD_S at most, so a slow LLM call shows the
        step first), the screen is not repainted: the transcript line and the decision table share one
        repaint, and no repaint of the last step delays this one's messages. Stale plots wait for that repaint too."""
        if self._held_repaints is not None:
            return
        self._holds += 1
        hold = self._holds
        batch = self.batch_update()
        batch.__enter__()
        self._held_repaints = (hold, batch)
        self.query_one(LearningPane).hold(True)
        self.set_timer(REPAINT_HOLD_S, lambda: self._release_repaints(hold))

    def _release_repaints(self, hold: int | None = None) -> None:
        """End the hold (`hold`: only that one, for its timer) and repaint what changed meanwhile."""
        if self._held_repaints is None or hold not in (None, self._held_repaints[0]):
            return
        _, batch = self._held_repaints
        self._held_repaints = None
        batch.__exit__(None, None, None)
        self.screen.check_idle()
        pane = self.query_one(LearningPane)
        self.call_after_refresh(lambda: pane.hold(False))  # stale plots redraw after the step's repaint

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.jobs.state_changed(event)

    def _job_finished(self, state: WorkerState) -> None:
        self._release_repaints()
        if state != WorkerState.SUCCESS:
            self.autoplay = False
        self.query_one(StatusBar).set_busy(None)
        self.query_one(DecisionPanel).loading = False
        self._refresh_status()

    def _job_build(self, worker: Worker) -> None:
        with self.jobs.phase("loading env, agent and prior"):
            self.controller.build()
        self.post_message(SessionReady(self.controller.config))
        self.play_jobs.new_episode(worker)

    def _step(self, worker: Worker, action: str | None = None) -> None:
        record = self.play_jobs.step(worker, action)
        if record is not None and record.done and self.autoplay and self.controller.session.learn:
            if len(self.controller.history.returns) % AUTO_EVAL_EVERY == 0:
                self._job_evaluate(worker)

    def _job_autoplay(self, worker: Worker) -> None:
        while self.autoplay and not worker.is_cancelled:
            self._step(worker)
            barrier = Barrier()
            self.post_message(barrier)
            deadline = time.monotonic() + SPEEDS[self.speed_index][1]
            # Wait for the screen to show this step, then for the chosen delay (speed changes apply at once).
            while not worker.is_cancelled and (not barrier.event.is_set() or time.monotonic() < deadline):
                barrier.event.wait(0.02)
                deadline = min(deadline, time.monotonic() + SPEEDS[self.speed_index][1])
                if not self.autoplay:
                    return

    def _job_evaluate(self, worker: Worker) -> None:
        with self.jobs.phase(f"evaluating {EVAL_EPISODES} greedy episodes"):
            result = self.controller.evaluate(EVAL_EPISODES, should_stop=lambda: worker.is_cancelled)
        self.post_message(EvaluationDone(result, self.controller.session.total_steps))

    # ----- message handlers (UI thread) -----------------------------------------------

    def on_engine_busy(self, message: EngineBusy) -> None:
        self.query_one(StatusBar).set_busy(message.label)

    def _watch_prior_outages(self) -> None:
        """A remote prior waiting for its server says so in the status bar; esc cancels the job, which ends the
        wait at its next try."""
        agent = self.controller.agent
        watch = outage_watch(agent.prior if agent is not None else None)
        if watch is None:
            return

        def on_outage(label: str | None) -> None:  # engine thread
            self.post_message(PriorOutage(label))
            try:
                cancelled = get_current_worker().is_cancelled
            except NoActiveWorker:
                cancelled = False
            if label is not None and cancelled:
                raise Cancelled

        watch.listener = on_outage

    def on_prior_outage(self, message: PriorOutage) -> None:
        self.query_one(StatusBar).set_outage(message.label)

    def on_barrier(self, message: Barrier) -> None:
        self.call_after_refresh(message.event.set)  # after the repaint, not only the handlers

    def on_session_ready(self, message: SessionReady) -> None:
        self._watch_prior_outages()
        self.query_one(DecisionPanel).loading = False
        self.query_one(LearningPane).follow(self.controller.history)
        run = message.config.run
        self.sub_title = f"{run.env} · {run.agent}"
        uses_prior = run.agent in agents_with_prior()
        prior = f" · prior {message.config.prior.model}" if uses_prior else ""
        self.query_one(GamePane).note(self.sub_title + prior)
        self._refresh_status()

    def on_episode_started(self, message: EpisodeStarted) -> None:
        self.query_one(GamePane).start_episode(message.episode, message.state)
        self.query_one(DecisionPanel).show(None)
        self._refresh_status()
        self._release_repaints()  # the engine waits for the screen to show the first observation

    def on_decision_ready(self, message: DecisionReady) -> None:
        self.query_one(DecisionPanel).show(message.decision, optimal=message.optimal)
        self._refresh_status()
        self._release_repaints()

    def on_step_taken(self, message: StepTaken) -> None:
        self.query_one(GamePane).add_step(message.record)
        self.query_one(LearningPane).follow(self.controller.history)
        if message.record.done:
            self.query_one(DecisionPanel).show(None, "The episode is over: space or n starts the next one.")
            self._release_repaints()
        self._refresh_status()

    def on_episode_ended(self, message: EpisodeEnded) -> None:
        self._refresh_status()

    def on_evaluation_done(self, message: EvaluationDone) -> None:
        result = message.result
        self.query_one(LearningPane).follow(self.controller.history)
        self.notify(
            f"success {result.success_rate:.0%}, return {result.mean_return:+.2f}, {result.mean_steps:.1f} steps "
            f"over {result.episodes} greedy episodes",
            title=f"evaluation at step {message.step}",
        )

    def on_session_saved(self, message: SessionSaved) -> None:
        self.notify(f"saved to {message.path}", title="session saved")

    def on_session_loaded(self, message: SessionLoaded) -> None:
        self.notify(f"loaded {message.path.name}; play continues with a new episode", title="session loaded")

    @on(DecisionTable.ActionChosen)
    def _take_picked(self, message: DecisionTable.ActionChosen) -> None:
        self._human_step(message.action)

    @on(GamePane.CommandTyped)
    def _take_typed(self, message: GamePane.CommandTyped) -> None:
        self.query_one(DecisionTable).focus()  # single-key controls work again; i types the next command
        self._human_step(message.command)

    def _human_step(self, action: str) -> None:
        session = self.controller.session
        if session is None or session.done:
            self.notify("the episode is over: press n for a new one", severity="warning")
            return
        self.autoplay = False
        self._hold_repaints()
        self.submit(f"taking {action!r}", lambda worker: self._step(worker, action))

    def _refresh_status(self) -> None:
        play = PlayState(autoplay=self.autoplay, speed=SPEEDS[self.speed_index][0])
        self.query_one(StatusBar).show(self.controller, play)

    # ----- actions --------------------------------------------------------------------

    def action_step(self) -> None:
        self.autoplay = False
        self._hold_repaints()
        self.submit("step", self._step)

    def action_autoplay(self) -> None:
        self.autoplay = not self.autoplay
        if self.autoplay:
            self.submit("auto-play", self._job_autoplay)
        self._refresh_status()

    def action_speed(self, direction: int) -> None:
        self.speed_index = min(max(self.speed_index + direction, 0), len(SPEEDS) - 1)
        self._refresh_status()

    def action_train(self) -> None:
        self._change(learn=not self.controller.settings()["learn"])

    def action_alpha(self, direction: int) -> None:
        alpha = self.controller.settings()["alpha"]
        self._change(alpha=next_level(ALPHA_LEVELS, alpha if alpha is not None else 0.0, direction))

    def action_k(self, direction: int) -> None:
        k = self.controller.settings()["k"]
        self._change(k=(k or 1) + direction)

    def action_mode(self) -> None:
        mode = self.controller.settings()["mode"]
        self._change(mode=PRIOR_MODES[(PRIOR_MODES.index(mode) + 1) % len(PRIOR_MODES)] if mode else PRIOR_MODES[0])

    def _change(self, **changes: object) -> None:
        """Queue a settings change and show its effect on the current state without stepping."""
        try:
            self.controller.request(**changes)
        except SandboxError as error:  # a setting this agent does not have
            self.notify(str(error), severity="warning")
            return
        self._refresh_status()
        session = self.controller.session
        if "learn" not in changes and session is not None and not session.done and not self.autoplay:
            self.submit("recomputing the posterior", lambda worker: self.play_jobs.decide(worker, preview=True))

    def action_command(self) -> None:
        self.query_one("#command", Input).focus()

    def action_new_episode(self) -> None:
        self.autoplay = False
        self.submit("new episode", self.play_jobs.new_episode)

    def action_cancel(self) -> None:
        if self.focused is self.query_one("#command", Input):
            self.query_one(DecisionTable).focus()
        self.autoplay = False
        if self.jobs.cancel():
            self.notify("cancelled", timeout=2)
        self._refresh_status()

    def action_evaluate(self) -> None:
        self.submit("evaluation", self._job_evaluate)

    def action_pick_env(self) -> None:
        from envs import list_envs

        choices = [(spec.id, Text.assemble((spec.id, "bold"), "  ", (spec.description, "dim"))) for spec in list_envs()]

        def picked(env_id: str | None) -> None:
            if env_id and env_id != self.controller.config.run.env:
                self._rebuild(retargeted(self.controller.config, env=env_id, env_kwargs={}))

        self.push_screen(PickerScreen("Environment", choices, self.controller.config.run.env), picked)

    def action_pick_agent(self) -> None:
        def picked(agent: str | None) -> None:
            if agent and agent != self.controller.config.run.agent:
                self._rebuild(retargeted(self.controller.config, agent=agent))

        choices = [(name, name) for name in agent_names()]
        self.push_screen(PickerScreen("Agent", choices, self.controller.config.run.agent), picked)

    def action_pick_prior(self) -> None:
        config = self.controller.config

        def picked(model: str | None) -> None:
            if model and model != config.prior.model:
                self._rebuild(replace(config, prior=replace(config.prior, model=model)))

        self.push_screen(PickerScreen("Prior", prior_choices(config.prior.model), config.prior.model), picked)

    def _rebuild(self, config: RunConfig) -> None:
        self.autoplay = False

        def job(worker: Worker) -> None:
            with self.jobs.phase("loading env, agent and prior"):
                self.controller.build(config)
            self.post_message(SessionReady(config))
            self.play_jobs.new_episode(worker)

        self.submit("switching", job)

    def action_save(self) -> None:
        def job(worker: Worker) -> None:
            with self.jobs.phase("saving"):
                path = self.controller.save()
            self.post_message(SessionSaved(path))

        self.submit("save", job)

    def action_load(self) -> None:
        saves = list_sessions(self.controller.saves_dir)
        if not saves:
            self.notify(f"no saved session in {self.controller.saves_dir / 'sessions'} yet (ctrl+s saves)")
            return

        def picked(name: str | None) -> None:
            if name:
                self.load_session(self.controller.saves_dir / "sessions" / name)

        self.push_screen(PickerScreen("Load a saved session", [(path.name, path.name) for path in saves]), picked)

    def load_session(self, path: Path) -> None:
        self.autoplay = False

        def job(worker: Worker) -> None:
            with self.jobs.phase("loading the session"):
                state = self.controller.load(path)
            self.post_message(SessionLoaded(path))
            self.post_message(SessionReady(self.controller.config))
            self.post_message(EpisodeStarted(self.controller.session.episode, state))
            self.play_jobs.wait_for_screen(worker)
            self.play_jobs.decide(worker)

        self.submit("load", job)

    def action_replay(self) -> None:
        folder = self.controller.saves_dir / "episodes"
        episodes = list_episodes(folder)
        if not episodes:
            self.notify("no recorded episode yet: play a step first")
            return

        def picked(name: str | None) -> None:
            if name:
                try:
                    self.push_screen(ReplayScreen(load_episode(folder / name)))
                except SandboxError as error:  # a damaged file
                    self.notify(str(error), severity="error")

        self.push_screen(PickerScreen("Replay an episode", [(path.name, path.stem) for path in episodes]), picked)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While another screen is on top (a fork, the prompt editor, a replay), the main screen's keys rest,
        so nothing moves the session underneath it."""
        if action in self.SCREEN_WIDE_ACTIONS or len(self.screen_stack) <= 1:
            return True
        return action not in {binding.action.split("(")[0] for binding in self.BINDINGS}

    def _running_session(self, what: str) -> bool:
        session = self.controller.session
        if session is None or session.done:
            self.notify(f"the episode is over: press n for a new one, then {what}", severity="warning")
            return False
        self.autoplay = False
        return True

    def action_fork(self) -> None:
        if self._running_session("fork it while it runs"):
            self.push_screen(ForkScreen(self.controller), self._fork_closed)

    def _fork_closed(self, result: ForkResult | None) -> None:
        """A kept fork is now the main episode: its steps join the transcript, and its state gets a decision."""
        if result is None or not result.kept:
            return
        pane = self.query_one(GamePane)
        pane.note(f"kept the fork made after step {result.fork.at}: the episode goes on from it")
        for record in result.fork.fork.records:
            pane.add_step(record)
        self.query_one(LearningPane).follow(self.controller.history)
        if self.controller.session.done:
            self.query_one(DecisionPanel).show(None, "The episode is over: space or n starts the next one.")
        else:
            self.submit("deciding", self.play_jobs.decide)
        self._refresh_status()

    def action_prompt(self) -> None:
        if not self._running_session("edit its prompt"):
            return
        try:
            editable_prior(self.controller.session.agent)
        except SandboxError as error:
            self.notify(str(error), severity="warning")
            return
        self.push_screen(PromptEditorScreen(self.controller), self._prompt_closed)

    def _prompt_closed(self, saved: Path | None) -> None:
        """A saved template changes the prompt of this very state: ask the prior again."""
        if saved is None:
            return

        def job(worker: Worker) -> None:
            with self.jobs.phase(self.play_jobs.llm_label()):
                decision = self.controller.redraw()
            self.play_jobs.posted = decision
            self.post_message(DecisionReady(decision, preview=True, optimal=self.play_jobs.optimal_if_shown()))

        self.submit("asking the prior with the new template", job)

    def action_toggle_learning(self) -> None:
        self.query_one("#main").toggle_class("-show-learning")

    def action_toggle_optimal(self) -> None:
        """Mark (or stop marking) the env's optimal actions: where the prior is right, and where Q must overrule it."""
        self.play_jobs.show_optimal = not self.play_jobs.show_optimal
        if not self.play_jobs.show_optimal:
            self.post_message(OptimalShown(None))
            return

        def job(worker: Worker) -> None:
            self.post_message(OptimalShown(self.controller.optimal()))

        self.submit("asking the env for its optimal actions", job)

    def on_optimal_shown(self, message: OptimalShown) -> None:
        table = self.query_one(DecisionTable)
        if self.play_jobs.show_optimal and message.optimal is None:
            self.notify("this env cannot name its optimal actions here", severity="warning")
        table.show(table.decision, table.before, message.optimal)

    def action_help(self) -> None:
        keys = [
            Binding(binding.key, binding.action, self.KEY_HELP[binding.action], key_display=binding.key_display)
            for binding in self.BINDINGS
        ]
        keys.insert(6, Binding("enter", "", "take the highlighted action in the decision table yourself"))
        self.push_screen(HelpScreen(keys, "Keys (the footer scrolls; this list has them all)"))

    def on_unmount(self) -> None:
        # Waits for a running LLM call to return: freeing llama.cpp under it would abort the process.
        self.autoplay = False
        self.controller.close()
