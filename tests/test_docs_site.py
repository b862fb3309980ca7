"""The documentation hooks: the generated references list what the code has, bench tables are
included as written, and a site that would fetch from the internet fails its build."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed")
from mkdocs.exceptions import PluginError  # noqa: E402

from sandbox.cli import build_parser  # noqa: E402
from sandbox.engine.config import RunConfig  # noqa: E402

HOOKS = Path(__file__).resolve().parents[1] / "docs" / "hooks"


def hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", HOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def page(src_uri: str) -> SimpleNamespace:
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))


def test_the_cli_reference_has_every_command_and_every_flag() -> None:
    text = hook("generated_reference").cli_reference()
    root = build_parser()
    commands = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name, parser in commands.items():
        assert f"\n## {name}\n" in text
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue  # every command has --help; the table leaves it out
            for flag in action.option_strings:
                assert f"`{flag}`" in text, f"{name} {flag}"
    experiments = next(a for a in commands["bench"]._actions if isinstance(a, argparse._SubParsersAction)).choices
    for experiment in experiments:
        assert f"\n### bench {experiment}\n" in text


def test_the_config_reference_has_every_key_with_its_default() -> None:
    reference = hook("generated_reference")
    text = reference.config_reference()
    for section in dataclasses.fields(RunConfig):
        value = getattr(RunConfig(), section.name)
        if not dataclasses.is_dataclass(value):
            continue
        section_text = text.split(f"## `[{section.name}]`")[1].split("\n## ")[0]
        for field in dataclasses.fields(value):
            row = next(line for line in section_text.splitlines() if line.startswith(f"| `{field.name}` |"))
            assert f"`{reference.toml_value(getattr(value, field.name))}`" in row.replace("\\|", "|")
    assert "posterior sharpness: q ∝ p_LLM·exp(α·Q)" in text  # the comment beside DQNConfig.alpha


def test_the_config_reference_reads_the_comment_beside_each_field() -> None:
    @dataclasses.dataclass
    class Settings:
        # read above
        first: int = 1  # and beside
        second: str = "x"
        third: float = 0.5  # only beside

    comments = hook("generated_reference").field_comments(Settings)
    assert comments == {"first": "read above and beside", "second": "", "third": "only beside"}


def test_a_bench_table_is_included_under_the_section_it_is_placed_in(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "table.md").write_text("# Ablations\n\n| a |\n| --- |\n| 1 |\n\n## Notes\n", encoding="utf-8")
    markdown = "# Page\n\n## Section\n\n<!-- bench-table: table.md -->\n\n??? note\n\n    <!-- bench-table: table.md -->\n"
    out = hook("bench_tables").on_page_markdown(markdown, page("results/page.md"), {"docs_dir": str(tmp_path)}, None)
    assert "<!-- bench-table" not in out
    assert "\n### Ablations\n\n| a |\n| --- |\n| 1 |\n\n#### Notes" in out
    assert "\n    ### Ablations\n\n    | a |" in out


def test_a_missing_bench_table_fails_the_build(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="not found"):
        hook("bench_tables").on_page_markdown(
            "<!-- bench-table: gone.md -->", page("results/page.md"), {"docs_dir": str(tmp_path)}, None
        )


@pytest.mark.parametrize(
    "fetching",
    [
        '<script src="https://cdn.example.org/x.js"></script>',
        '<link rel="stylesheet" href="https://fonts.example.org/css">',
        '<img alt="" src="http://example.org/a.png">',
        '@font-face { src: local("F"), url("https://cdn.example.org/f.woff2") format("woff2"); }',
    ],
)
def test_a_site_that_would_fetch_from_the_internet_fails_its_build(tmp_path: Path, fetching: str) -> None:
    (tmp_path / "page.html").write_text(
        '<a href="https://example.org/">a link is fine</a><link rel="canonical" href="https://example.org/page.html">'
        '<script src="http://127.0.0.1:8000/livereload.js"></script>',  # what `mkdocs serve` adds
        encoding="utf-8",
    )
    offline = hook("offline")
    offline.on_post_build({"site_dir": str(tmp_path)})  # links alone pass
    (tmp_path / "style.css" if fetching.startswith("@") else tmp_path / "other.html").write_text(fetching, encoding="utf-8")
    with pytest.raises(PluginError, match="example.org"):
        offline.on_post_build({"site_dir": str(tmp_path)})
