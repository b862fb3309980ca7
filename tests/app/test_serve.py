"""`python -m sandbox serve` without a browser: the token guards every page, the cap gives a clear page,
another host needs an explicit flag, and the page loads nothing from the internet."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from sandbox.commands import serve as serve_command
from sandbox.errors import SandboxError
from sandbox.ui.lessons import LESSONS
from sandbox.web import ClassroomServer, lesson_targets


def server(max_sessions: int = 2) -> ClassroomServer:
    lessons = {name: (lesson.title, lesson.summary) for name, lesson in LESSONS.items()}
    return ClassroomServer(lesson_targets(lessons, Path("saves")), token="t0ken", max_sessions=max_sessions)


async def client_for(classroom: ClassroomServer) -> TestClient:
    client = TestClient(TestServer(await classroom._make_app()))
    await client.start_server()
    return client


async def test_every_page_needs_the_token() -> None:
    client = await client_for(server())
    try:
        for path in ("/?token=wrong", "/", "/run/bayes?token=wrong", "/ws/wrong/bayes"):
            response = await client.get(path)
            assert response.status == 403, path
            assert "Access refused" in await response.text()
        index = await client.get("/?token=t0ken")
        text = await index.text()
        assert index.status == 200 and all(f"/run/{name}?token=t0ken" in text for name in LESSONS)
        assert "2 of 2 places free" in text
    finally:
        await client.close()


async def test_the_lesson_page_loads_nothing_from_the_internet() -> None:
    client = await client_for(server())
    try:
        page = await (await client.get("/run/bayes?token=t0ken")).text()
        sources = re.findall(r'(?:href|src)="([^"]+)"', page)
        assert sources and all(source.startswith("/static/") for source in sources), sources
        assert "googleapis" not in page and "/ws/t0ken/bayes" in page
    finally:
        await client.close()


async def test_a_full_class_gets_a_clear_page() -> None:
    classroom = server(max_sessions=1)
    classroom.sessions = 1  # one tab already runs its app
    client = await client_for(classroom)
    try:
        response = await client.get("/run/bayes?token=t0ken")
        assert response.status == 503 and "The class is full" in await response.text()
        socket = await client.get("/ws/t0ken/bayes")
        assert socket.status == 503  # nor does a websocket start another app
    finally:
        await client.close()


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve_command.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_another_host_needs_an_explicit_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SandboxError, match="--allow-remote"):
        serve_command.run(parse("--host", "0.0.0.0"))
    served = []
    monkeypatch.setattr(ClassroomServer, "serve", lambda self: served.append((self.host, list(self.targets))))
    assert serve_command.run(parse("--host", "0.0.0.0", "--allow-remote", "alpha")) == 0
    assert served == [("0.0.0.0", ["alpha"])]


def test_bad_serve_arguments_get_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SandboxError, match="unknown lesson 'nope'"):
        serve_command.run(parse("nope"))
    with pytest.raises(SandboxError, match="--max-sessions must be at least 1"):
        serve_command.run(parse("--max-sessions", "0"))


def test_each_token_is_new_and_printed_once(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(ClassroomServer, "serve", lambda self: None)
    serve_command.run(parse())
    serve_command.run(parse())
    tokens = re.findall(r"token=(\S+)", capsys.readouterr().out)
    assert len(tokens) == 2 and tokens[0] != tokens[1] and len(tokens[0]) >= 16
