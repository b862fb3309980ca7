"""The import graph of agents, envs and sandbox has no cycle, counting imports deferred into functions;
and only `agents.bayes` and `agents.decision` compute a posterior, an entropy or a KL divergence.

`lint-imports` (in `make test`) checks the layering contracts of pyproject.toml; this test
states the acyclicity rule on its own, module by module, and names a cycle when one appears.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

PACKAGES = ("agents", "envs", "sandbox")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, successors = work[-1]
            successor = next(successors, None)
            if successor is not None:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.find_modules_directly_imported_by(successor)))))
                elif successor in on_stack:
                    low[module] = min(low[module], index[successor])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_the_import_graph_has_no_cycle() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert import_cycles(graph) == []


def test_an_import_deferred_into_a_function_counts(tmp_path, monkeypatch) -> None:
    """A package whose second module imports the first only inside a function still has a cycle."""
    package = tmp_path / "loop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text("from loop import second\n")
    (package / "second.py").write_text("def later():\n    from loop import first\n    return first\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles(grimp.build_graph("loop", cache_dir=None)) == [["loop.first", "loop.second"]]


def test_every_data_file_of_the_packages_ships_as_package_data() -> None:
    """Files the code reads at run time (CSS, presets, the household logic, ...) must be in the wheel."""
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    data_files = [
        path
        for package in PACKAGES
        for path in (root / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    ]
    assert any(path.name == "household.twl" for path in data_files)
    missing = [str(path.relative_to(root)) for path in data_files if not any(fnmatch.fnmatch(path.name, p) for p in patterns)]
    assert missing == []


# ----- one place computes a decision's numbers --------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
DECISION_MODULES = {"agents/bayes.py", "agents/decision.py"}  # the math, and `decide` with the Decision's numbers
# What forms a posterior or a decision's entropy and KL: nothing else may call these.
POSTERIOR_MATH = {"posterior", "Posterior", "empirical_prior", "entropy", "kl_divergence", "soft_value"}
# Normalising log-weights: the agents and the priors need it; the sandbox reads decisions instead, except
# the prior-quality study, which tempers a prior's answers (p^(1/T)), not a posterior.
NORMALISING = {"softmax", "log_softmax"}
NORMALISING_ALLOWED = {"sandbox/results/prior_quality.py"}
PRIOR_PACKAGE = "agents/prior/"  # forms p_LLM itself from sampled completions (`empirical_prior`), no posterior


def bayes_calls(path: Path) -> set[str]:
    """The `agents.bayes` functions a module calls, as `bayes.f(...)` or after `from agents.bayes import f`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {
        alias.asname or alias.name: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "agents.bayes"
        for alias in node.names
    }
    called = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name) and function.value.id == "bayes":
            called.add(function.attr)
        elif isinstance(function, ast.Name) and function.id in imported:
            called.add(imported[function.id])
    return called


def decision_math_outside_the_decision_module() -> dict[str, set[str]]:
    found = {}
    for package in ("agents", "envs", "sandbox", "benchmarks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in DECISION_MODULES:
                continue
            forbidden = POSTERIOR_MATH | (NORMALISING if package == "sandbox" and name not in NORMALISING_ALLOWED else set())
            if name.startswith(PRIOR_PACKAGE):
                forbidden = forbidden - {"empirical_prior"}
            calls = bayes_calls(path) & forbidden
            if calls:
                found[name] = calls
    return found


def test_only_the_decision_module_computes_a_posterior_entropy_or_kl() -> None:
    """The UI, the prompt editor, replays and forks read the numbers `agents.decision.decide` put in the Decision."""
    assert decision_math_outside_the_decision_module() == {}


def test_the_scan_sees_the_posterior_where_it_is_computed() -> None:
    """The scan is not blind: it finds the calls in the decision module itself."""
    assert {"posterior", "empirical_prior", "entropy", "kl_divergence"} <= bayes_calls(ROOT / "agents/decision.py")


def test_the_cli_parser_loads_neither_torch_nor_gymnasium() -> None:
    """`python -m sandbox --help` and every command's start pay only for the parser: the heavy libraries are
    imported by the command that runs (an error module importing `envs` at the top once loaded gymnasium)."""
    probe = "import sys; from sandbox.cli import build_parser; build_parser(); print([m for m in ('torch', 'gymnasium') if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "[]"
