"""Which code produced a run: the git commit and whether the code differed from it, or the package
version outside git, plus the versions of the libraries that decide a run's numbers.

A result is reproducible only if the code that made it can be named. Runs record this in
`code_version.json`, and `bench` reuses a kept run only when its code version is today's
(`--accept-older-code` takes older ones and says which rows came from which version).
Only the code counts: a change to docs/ or saves/ (which a bench itself writes) leaves the
version clean. A dirty tree is identified by a hash of its changes, so two runs of the same
uncommitted code still match and a run of different uncommitted code does not.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CODE_PATHS = ("agents", "envs", "sandbox", "benchmarks", "pyproject.toml")  # what a run executes or is built from
PACKAGE = "llm-prior-sandbox"
LIBRARIES = ("torch", "llama-cpp-python", "textworld", "gymnasium")


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True).stdout


def _library_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def code_version() -> dict[str, Any]:
    """{"commit", "dirty", "diff_sha256", "package", "libraries", "id"}; `id` names the code in one string:
    the commit (12 hex digits), "+dirty.<hash of the changes>" when the code differs from it, or
    "package <version>" outside git. Computed once per process, so every run of one bench shares it."""
    libraries = {name: _library_version(name) for name in LIBRARIES}
    package = _library_version(PACKAGE)
    try:
        commit = _git("rev-parse", "HEAD").strip()
        changed = _git("status", "--porcelain", "--untracked-files=all", "--", *CODE_PATHS)
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None, "diff_sha256": None, "package": package, "libraries": libraries,
                "id": f"package {package}"}  # fmt: skip
    digest = None
    if changed:
        hasher = hashlib.sha256(_git("diff", "HEAD", "--", *CODE_PATHS).encode())
        untracked = _git("ls-files", "--others", "--exclude-standard", "--", *CODE_PATHS).splitlines()
        for name in sorted(untracked):
            hasher.update(name.encode() + b"\0" + (REPO / name).read_bytes())
        digest = hasher.hexdigest()
    identity = commit[:12] + (f"+dirty.{digest[:10]}" if digest else "")
    return {"commit": commit, "dirty": bool(changed), "diff_sha256": digest, "package": package,
            "libraries": libraries, "id": identity}  # fmt: skip
