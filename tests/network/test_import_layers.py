"""Dependencies point one way: the network reads resolved entities, risk reads the network; never back.

Checked on the source (every import, including those inside functions) and on a fresh interpreter (importing
a package pulls in nothing of the package it must not depend on)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "cintel"
# package -> packages it must never import (directly, lazily or through a re-export)
FORBIDDEN = {"network": {"risk", "web", "cli", "cases"}, "entities": {"network", "risk", "web", "cli", "cases"}}


def imported_packages(package: str) -> dict[str, set[str]]:
    """cintel sub-package -> the files of ``package`` importing it."""
    found: dict[str, set[str]] = {}
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                parts = name.split(".")
                if parts[0] == "cintel" and len(parts) > 1:
                    found.setdefault(parts[1], set()).add(path.name)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_none_of_the_packages_that_read_it(package: str) -> None:
    found = imported_packages(package)
    wrong = {p: sorted(found[p]) for p in FORBIDDEN[package] if p in found}
    assert not wrong, f"cintel.{package} imports {wrong}"


def test_network_and_risk_and_entities_form_no_cycle() -> None:
    graph = {p: set(imported_packages(p)) - {p} for p in ("entities", "network", "risk")}
    for a in graph:
        for b in graph[a]:
            assert a not in graph.get(b, set()), f"cintel.{a} and cintel.{b} import each other"


def test_importing_a_package_loads_nothing_of_a_package_it_must_not_depend_on() -> None:
    # One fresh interpreter: the entity modules first (no network yet may be loaded), then the network's.
    code = """
import sys
def loaded(package):
    return sorted(m for m in sys.modules if m == package or m.startswith(package + "."))
import cintel.entities.search, cintel.entities.profile, cintel.entities.screening_service
print(loaded("cintel.network"))
import cintel.network.reports, cintel.network.expansion, cintel.network.cache
print(loaded("cintel.risk"))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert done.stdout.split() == ["[]", "[]"], done.stdout
