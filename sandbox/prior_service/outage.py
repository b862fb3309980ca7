"""Waiting out a remote prior's outage: a server that answered once and then went away (a vLLM or
prior-server restart, a network blip) is asked again with backoff for up to `outage_wait_s`, so a
long run survives a restart instead of losing its work.

Both remote priors (`OpenAIPrior`, `RemotePrior`) send their requests through an `OutageWatch`: a
transport raises `ServerDown` for a failure that may pass (refused, dropped, timed out, HTTP
429/502/503/504), the watch sleeps and tries again, and tells its `listener` what it is doing (the
progress bar and the UI's status bar show it; None when the server is back). After `outage_wait_s`
it gives up with `PriorUnavailable`, which the trainer answers with a checkpoint and the command
that resumes. Errors that will not pass (a bad request, a wrong key) are raised at once.

The first contact (a client checking the server at start) does not wait: a wrong address or a
server that was never started fails in seconds, with the transport's own few quick tries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from agents.errors import PriorError

BACKOFF_START_S = 0.5  # the first pause; doubled after each failed try
BACKOFF_MAX_S = 8.0  # the longest pause: a restarted server is noticed within this
T = TypeVar("T")
OutageListener = Callable[[str | None], None]


class ServerDown(Exception):
    """A failure that may pass (the server is restarting or unreachable); `reason` says what happened."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PriorUnavailable(PriorError):
    """The prior's server stayed away longer than `outage_wait_s`: the run can resume once it is back."""


class OutageWatch:
    """Tries a request until it succeeds, fails for good, or the server has been down for `wait_s` seconds."""

    sleep = staticmethod(time.sleep)  # how a pause is taken (tests restart a server here instead)

    def __init__(self, server: str, wait_s: float) -> None:
        self.server = server
        self.wait_s = wait_s
        self.listener: OutageListener | None = None  # told "waiting ..." during an outage, None once it ends

    def call(self, attempt: Callable[[], T]) -> T:
        started: float | None = None
        pause = BACKOFF_START_S
        while True:
            try:
                result = attempt()
            except ServerDown as down:
                now = time.monotonic()
                started = now if started is None else started
                waited = now - started
                if waited >= self.wait_s:
                    self._tell(None)
                    raise PriorUnavailable(
                        f"the prior server at {self.server} has not answered for {waited:.0f} s ({down.reason}); "
                        "--prior-outage-wait SECONDS waits longer"
                    ) from None
                pause = min(pause, BACKOFF_MAX_S, self.wait_s - waited)
                self._tell(
                    f"prior server down ({down.reason}): waiting for it, {waited:.0f} of {self.wait_s:.0f} s"
                )
                self.sleep(pause)
                pause *= 2
                continue
            if started is not None:
                self._tell(None)
            return result

    def _tell(self, message: str | None) -> None:
        if self.listener is not None:
            self.listener(message)


def outage_watch(prior: Any) -> OutageWatch | None:
    """The outage watch of a remote prior (None for priors that run here and cannot go away)."""
    watch = getattr(prior, "outage", None)
    return watch if isinstance(watch, OutageWatch) else None
