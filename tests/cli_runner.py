"""The `cintel` command line as a script sees it, run in this process for speed.

``Cli`` runs a command through the real entry point, ``cintel.cli.main.main()`` (the function the installed
``cintel`` script and ``python -m cintel.cli`` call, with its one-line errors and exit codes), inside Typer's
test isolation: its own stdin, stdout and stderr, the environment a subprocess would get, and the command's
folder as working directory. Starting a Python per command cost seconds of imports each; what the process
boundary itself adds is checked by tests/test_cli_entry_point.py, which runs the real command in a
subprocess and compares it with this runner.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from typer.testing import CliRunner

from cintel.settings import get_settings
from cintel.store.engine import open_store
from tests.conftest import TEST_SETTINGS

# Settings of the test session that a command should keep: cheap password hashes, a small u sample.
KEPT_SETTINGS = tuple(TEST_SETTINGS)


def command_env(url: str) -> dict[str, str]:
    """The environment of a command run by a script: no CINTEL_* settings but the store's URL (and the test
    session's cheap settings), not a terminal and no COLUMNS (what a cron job or a pipe sees)."""
    env = {k: v for k, v in os.environ.items()
           if (k in KEPT_SETTINGS or not k.startswith("CINTEL_")) and k not in ("COLUMNS", "LINES")}
    env["CINTEL_DATABASE_URL"] = url
    return env


@contextmanager
def _entry_point_state(folder: Path) -> Iterator[None]:
    """What main() changes in a process, put back afterwards: working directory, argv, the excepthook Typer
    installs, the root logger basicConfig may configure, and settings read from the command's environment."""
    cwd, argv, hook = os.getcwd(), sys.argv, sys.excepthook
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    os.chdir(folder)
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()
        os.chdir(cwd)
        sys.argv, sys.excepthook = argv, hook
        root.handlers[:] = handlers
        root.setLevel(level)


def run_in_process(args: tuple[str, ...], folder: Path, env: dict[str, str], stdin: str = ""
                   ) -> subprocess.CompletedProcess[str]:
    """Runs `cintel *args` through main() as a subprocess would (same environment, folder, stdin), and returns
    what a subprocess would: exit code, stdout, stderr."""
    from cintel.cli.main import main

    overrides: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    overrides.update(env)
    with CliRunner().isolation(input=stdin, env=overrides) as (out, err, _), _entry_point_state(folder):
        # In a fresh process logging.basicConfig sends warnings to stderr; here pytest's capture handlers
        # make it a no-op, so warnings go to this stderr explicitly, as the command's would.
        warnings = logging.StreamHandler(sys.stderr)
        warnings.setLevel(logging.WARNING)
        warnings.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(warnings)
        sys.argv = ["cintel", *args]
        code: int | str | None = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode("utf-8", "backslashreplace")
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return subprocess.CompletedProcess(["cintel", *args], returncode, stdout, stderr)


def run_subprocess(command: list[str], args: tuple[str, ...], folder: Path, env: dict[str, str], stdin: str = ""
                   ) -> subprocess.CompletedProcess[str]:
    """Runs the real command (``command``: the installed script or ``python -m cintel.cli``) in a subprocess."""
    return subprocess.run([*command, *args], cwd=folder, env=env, input=stdin, capture_output=True, text=True,
                          timeout=300, check=False)


PYTHON_M = [sys.executable, "-m", "cintel.cli"]


class Cli:
    """Runs `cintel` in a folder with its own SQLite store, as a script would: in this process (``main()`` in
    Typer's isolation), or with ``subprocess=True`` as `python -m cintel.cli` in a real subprocess.

    ``template``, when given, is a SQLite file copied as the store first (the session's migrated store, so
    each test does not migrate its own); without it the first command creates and migrates the store."""

    def __init__(self, folder: Path, template: Path | None = None, *, subprocess: bool = False) -> None:
        self.folder = folder
        self.url = f"sqlite:///{folder / 'x.db'}"
        self.subprocess = subprocess
        self.env = command_env(self.url)
        if template is not None:
            shutil.copyfile(template, folder / "x.db")

    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        if self.subprocess:
            return run_subprocess(PYTHON_M, args, self.folder, self.env, stdin)
        return run_in_process(args, self.folder, self.env, stdin)

    def json(self, *args: str) -> Any:
        done = self(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def store(self) -> Engine:
        """The same store, opened in this process to set up or inspect what the command did."""
        return open_store(self.url)


def assert_one_line_error(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: ")
