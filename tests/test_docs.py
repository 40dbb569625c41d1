"""Documentation generated from the domain model stays in step with it."""

from __future__ import annotations

from pathlib import Path

from cintel.cli import formats_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_the_formats_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    assert committed == formats_markdown(), "run: cintel formats --markdown > docs/formats.md"


def test_the_readme_quick_start_has_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick_start.strip().splitlines()]
    assert commands == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
