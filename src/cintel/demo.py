"""The demo: a synthetic world generated, ingested into the store, and summarised.

Every act the demo records (resolution, rule drafts, their approval, training, the day's run) is done by a
demo account of the role the act needs (``demo-<role>``), through the same service functions as the
workspace and the command line: the four-eyes rule holds between two real accounts.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, select

from cintel.domain.access import AccessContext
from cintel.domain.records import RecordKind
from cintel.domain.roles import Role
from cintel.errors import CintelError
from cintel.ingest.pipeline import ingest_file
from cintel.ingest.readers import ReadOptions
from cintel.risk.selection import SelectionPolicy
from cintel.settings import get_settings
from cintel.store import tables
from cintel.store.stats import store_stats

# Parties first, so later stages find the register; declarations before what refers to them.
INGEST_ORDER = (
    RecordKind.TARIFF, RecordKind.PARTIES, RecordKind.DECLARATIONS, RecordKind.MANIFESTS, RecordKind.EVENTS,
    RecordKind.INSPECTIONS, RecordKind.INTEL_REPORTS, RecordKind.FINANCIAL, RecordKind.WATCHLIST,
)
ProgressFactory = Callable[[str, int | None], AbstractContextManager[Callable[[int], None]]]


def planted_defects_found(engine: Engine, world: Path) -> tuple[int, int]:
    """How many deliberately broken records the quarantine caught, out of those planted."""
    truth = world / "truth" / "defects.parquet"
    if not truth.exists():
        return 0, 0
    planted = set(pl.read_parquet(truth).select("record_kind", "record_key").iter_rows())
    q = tables.quarantine
    with engine.connect() as conn:
        caught = set(conn.execute(select(q.c.kind, q.c.record_key).where(q.c.status == "open").distinct()).all())
    return len(planted & {tuple(row) for row in caught}), len(planted)


def run_demo(engine: Engine, *, declarations: int, seed: int, progress: ProgressFactory,
             world: Path | None = None, **simulate: Any) -> dict[str, Any]:
    """Simulates a world in ``world`` (default: the data directory's demo-world; an identical world
    already there is reused), ingests it, resolves and screens its parties, trains and selects the
    latest day, and reports. ``simulate`` passes further options to the simulator."""
    from cintel.simulate import simulate_world

    settings = get_settings()
    world = world or settings.data_dir / "demo-world"
    summary = simulate_world(world, declarations=declarations, seed=seed, formats=("parquet",), **simulate)
    options = ReadOptions(chunk_rows=settings.ingest_chunk_rows)
    batches = []
    for kind in INGEST_ORDER:
        path = world / f"{kind.value}.parquet"
        if not path.exists():
            continue
        with progress(f"ingest {path.name}", None) as advance:
            batches.append(ingest_file(engine, path, options=options, progress=advance).to_dict())
    found, planted = planted_defects_found(engine, world)
    entities = run_entities(engine)
    targeting = run_targeting(engine)
    return {
        "database": engine.url.render_as_string(hide_password=True),
        "world_dir": str(world),
        "world": summary.to_dict(),
        "batches": batches,
        "store": store_stats(engine),
        "defects_planted": planted,
        "defects_quarantined": found,
        "entities": entities,
        "targeting": targeting,
    }


DEMO_RINGS = 5


def run_entities(engine: Engine) -> dict[str, Any]:
    """Resolves the world's parties (incrementally on a re-run), screens them against its watch lists and
    ranks the suspected front-company rings with their evidence."""
    from cintel.entities.screening_service import screen_store
    from cintel.entities.service import resolve_store
    from cintel.network.service import ring_report

    analyst = demo_actor(engine, Role.ANALYST, "demo entity resolution")
    resolved = resolve_store(engine, analyst)
    screened = screen_store(engine, analyst)
    rings = ring_report(engine, analyst, top=DEMO_RINGS)
    return {
        "resolution": resolved.to_dict(), "screening": screened.to_dict(),
        "rings": [{"ring_id": r.ring_id, "score": round(r.score, 3), "summary": r.summary,
                   "companies": r.members.filter(pl.col("kind") == "company")["label"].to_list(),
                   "evidence": r.evidence.with_columns(pl.col(pl.Date).cast(pl.String)).to_dicts()}
                  for r in rings],
    }


# The demo office's daily capacity: what its inspection teams can do on one day.
DEMO_POLICY = SelectionPolicy(red_capacity=10, yellow_capacity=20, random_share=0.01, exploration_share=0.10, seed=0)


def run_targeting(engine: Engine) -> dict[str, Any]:
    """Installs the demo rulebook, trains the models once, then scores the latest day and selects its
    channels within the demo capacity. Returns the training report and the day's red list."""
    from cintel.demo_rules import install, refresh_listed_parties, refresh_seized_traders
    from cintel.risk import service

    author = demo_actor(engine, Role.TARGETING_OFFICER, "demo rulebook")
    approver = demo_actor(engine, Role.SUPERVISOR, "demo rulebook")
    install(engine, author, approver)
    trained = service.model_ids(engine)
    report = None if "fraud" in trained else service.train(engine, author).to_dict()
    day = service.last_declaration_day(engine)
    refresh_seized_traders(engine, author, before=day)
    refresh_listed_parties(engine, author, before=day)
    run = service.run_day(engine, author, day, DEMO_POLICY)
    assessed = run.pop("assessments").sort("rank")
    red = assessed.filter(pl.col("channel") == "red").select(
        "rank", "declaration_id", "selection_reason", "probability", "expected_revenue", "rule_ids", "reasons")
    return {"training": report, "models": service.model_ids(engine), "run_id": run["run_id"], "day": day,
            "summary": run["summary"], "red_list": red.to_dicts()}


class DemoError(CintelError):
    """The demo cannot act as one of its accounts."""


DEMO_ROLES = (Role.ANALYST, Role.TARGETING_OFFICER, Role.INSPECTOR, Role.SUPERVISOR, Role.ADMINISTRATOR)


def demo_username(role: Role) -> str:
    return f"demo-{role.value.replace('_', '-')}"


def _add_demo_account(engine: Engine, role: Role, password: str) -> bool:
    """Creates the demo account of ``role``; False when it exists already."""
    from cintel.web.accounts import AccountError, add_user, get_user

    try:
        get_user(engine, demo_username(role))
        return False
    except AccountError:
        add_user(engine, demo_username(role), password, [role.value], f"Demo {role.value.replace('_', ' ')}")
        return True


def demo_actor(engine: Engine, role: Role, purpose: str) -> AccessContext:
    """The demo account of ``role`` acting: its stored name and roles. A missing account is created with a
    random password nobody is shown (`demo_users` sets new ones and prints them when the workspace is served)."""
    from cintel.web.accounts import get_user

    _add_demo_account(engine, role, secrets.token_urlsafe(12))
    account = get_user(engine, demo_username(role))
    if account.disabled or role not in account.roles:
        raise DemoError(f"demo account {account.username} is disabled or no longer has the role {role.value}")
    return AccessContext(user=account.username, purpose=purpose, roles=account.roles)


def demo_users(engine: Engine) -> dict[str, dict[str, str]]:
    """One demo account per role (``demo-<role>``), each with a fresh random password: created, or reset
    when it exists. Returns username -> {role, password}; the passwords exist nowhere else."""
    from cintel.web.accounts import reset_password

    accounts = {}
    for role in DEMO_ROLES:
        password = secrets.token_urlsafe(12)
        if not _add_demo_account(engine, role, password):
            reset_password(engine, demo_username(role), password)
        accounts[demo_username(role)] = {"role": role.value, "password": password}
    return accounts


def demo_pages(engine: Engine, demo: dict[str, Any]) -> dict[str, list[str]]:
    """What each demo role opens to check the workspace: its landing pages and real objects of the demo."""
    from cintel.store.entity_tables import entities

    red = demo["targeting"]["red_list"]
    declaration = f"/declarations/{red[0]['declaration_id']}" if red else "/queue"
    with engine.connect() as conn:
        entity_id = conn.execute(select(entities.c.entity_id).order_by(entities.c.entity_id).limit(1)).scalar()
    entity = f"/entities/{entity_id}" if entity_id else "/network"
    common = ["/", "/queue", "/search?q=trading"]
    return {
        Role.ANALYST.value: [*common, declaration, entity, "/network", "/rules", "/cases"],
        Role.TARGETING_OFFICER.value: [*common, declaration, "/rules", "/rules/new", "/rules/lookups"],
        Role.INSPECTOR.value: [*common, declaration, "/cases"],
        Role.SUPERVISOR.value: [*common, entity, "/network", "/rules", "/cases"],
        Role.ADMINISTRATOR.value: ["/admin/users", "/api/docs"],
    }
