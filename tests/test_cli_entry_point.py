"""The real `cintel` command in a subprocess, as installed: what the in-process runner of the other command line
tests (tests/cli_runner.py) cannot show, and proof that it sees what a script sees."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cintel.store.engine import is_current, make_engine
from cintel.web.accounts import verify_login
from tests.cli_runner import Cli, assert_one_line_error, run_subprocess

INSTALLED = [str(Path(sys.executable).with_name("cintel"))]
PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize("args", [("formats", "parties", "--json"), ("ingest", "missing.csv"), ("ingest",)],
                         ids=["json", "error", "usage-error"])
def test_the_installed_command_answers_exactly_as_the_in_process_runner(tmp_path: Path, args: tuple[str, ...]
                                                                        ) -> None:
    cli = Cli(tmp_path)
    real, here = run_subprocess(INSTALLED, args, cli.folder, cli.env), cli(*args)
    assert (real.returncode, real.stdout, real.stderr) == (here.returncode, here.stdout, here.stderr)
    if args[0] == "formats":
        assert real.returncode == 0
        assert list(json.loads(real.stdout)) == ["parties"]
    else:
        assert_one_line_error(real)
        assert real.returncode == (1 if args == ("ingest", "missing.csv") else 2)


def test_python_m_cintel_cli_creates_and_migrates_a_fresh_store(tmp_path: Path) -> None:
    cli = Cli(tmp_path, subprocess=True)
    assert not (tmp_path / "x.db").exists()
    assert cli.json("db", "upgrade") == {"database": cli.url, "current": True}
    assert is_current(make_engine(cli.url))


def test_a_password_piped_to_the_installed_command_is_read_from_stdin(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    done = run_subprocess(INSTALLED, ("users", "add", "ann", "--role", "analyst", "--password-stdin"), cli.folder,
                          cli.env, stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout
    assert verify_login(cli.store(), "ann", PASSWORD, "127.0.0.1").username == "ann"

