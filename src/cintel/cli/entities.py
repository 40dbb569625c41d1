"""`cintel entities`, `cintel screen`, `cintel watchlist` and `cintel network`: who is who, who is
listed, and how they are tied. Register with `register(app)`.

Merging, splitting, keeping apart and disposing of hits are a person's acts: the account is authenticated by
its API token in CINTEL_TOKEN or by `--as USER` and its password, and needs the roles the web workspace asks
for them. Reads and batch runs act as the authenticated account when credentials are given, else as the local
operator (the OS user).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from sqlalchemy import Engine

from cintel.cli.common import (
    Act,
    AsOpt,
    JsonOpt,
    PasswordStdinOpt,
    UserError,
    acting_context,
    emit,
    out,
    parse_day,
    table,
)
from cintel.cli.common import engine as open_engine
from cintel.domain.access import AccessContext
from cintel.domain.roles import Role

entities_app = typer.Typer(help="Entity resolution: resolve parties, inspect, merge and split entities.",
                           no_args_is_help=True)
watchlist_app = typer.Typer(help="Watch lists: import (FtM JSON lines, CSV, ...), review hits, dispose.",
                            no_args_is_help=True)
network_app = typer.Typer(help="Link analysis: neighbours, paths, communities, rings, risk, export.",
                          no_args_is_help=True)
ReasonOpt = Annotated[str, typer.Option(help="Why: kept with the decision.")]


# The roles of the same acts in the workspace (web/entity_pages.py: ENTITY_EDITORS).
EDITORS = frozenset({Role.ANALYST, Role.SUPERVISOR})
MERGE = Act("merging entities", "entity review", EDITORS)
SPLIT = Act("splitting an entity", "entity review", EDITORS)
NOT_SAME = Act("keeping entities apart", "entity review", EDITORS)
DISPOSE = Act("disposing of a watch-list hit", "watch-list review", EDITORS)


def _ctx(engine: Engine, user: str | None, password_stdin: bool, purpose: str) -> AccessContext:
    """The context of a read or a batch run (no person or role required)."""
    return acting_context(engine, Act(purpose, purpose, person=False), user, password_stdin)


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.with_columns(pl.col(pl.Date, pl.Datetime).cast(pl.String)).to_dicts()


# --- entities --------------------------------------------------------------------------------------------------

@entities_app.command("resolve")
def resolve(
    full: Annotated[bool, typer.Option(help="Re-score every party record, not only new ones.")] = False,
    retrain: Annotated[bool, typer.Option(help="Train a new resolution model first (implies --full).")] = False,
    threshold: Annotated[float | None, typer.Option(min=0.01, max=1.0,
                                                    help="Match probability to join records (default: setting).")
                         ] = None,
    user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False,
) -> None:
    """Resolves the parties of every source into entities; incremental unless --full or --retrain."""
    from cintel.entities.service import resolve_store

    engine = open_engine()
    report = resolve_store(engine, _ctx(engine, user, password_stdin, "entity resolution"), full=full,
                           retrain=retrain, threshold=threshold)
    emit(as_json, report.to_dict(), lambda: out.print(
        f"{report.mode} resolution with {report.model_id}: {report.records:,} party records "
        f"({report.new_records:,} new), {report.pairs_scored:,} pairs scored, {report.entities:,} entities "
        f"({report.multi_record_entities:,} joining several records) in {report.seconds:.1f} s\n"
        f"evidence: {report.evidence}", highlight=False))


@entities_app.command("show")
def show(entity_id: Annotated[str, typer.Argument(help="Entity id, e.g. ENT00000042.")],
         user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Shows an entity: its records (names, identifiers, contacts) and the sources they come from."""
    from cintel.entities.service import entity_view

    engine = open_engine()
    view = entity_view(engine, _ctx(engine, user, password_stdin, "entity review"), entity_id)
    payload: dict[str, Any] = {"entity": {k: str(v) if isinstance(v, date) else v for k, v in view.entity.items()},
               "records": _rows(view.records), "sources": _rows(view.sources)}

    def human() -> None:
        e = view.entity
        out.print(f"{e.get('entity_id')} {e.get('entity_type', '')} '{e.get('label', '')}' {e.get('country') or ''}: "
                  f"{view.records.height} record(s), first seen {e.get('first_seen')}", highlight=False)
        table(payload["records"], ["record_id", "entity_type", "name", "country", "tax_id", "address", "phone",
                                   "email", "iban", "imo", "roles", "sources"], "records")
        table(payload["sources"][:20], ["source_kind", "source_key", "role", "seen_on", "record_id"],
              "sources (first 20)")
    emit(as_json, payload, human)


@entities_app.command("explain")
def explain(entity_id: Annotated[str, typer.Argument(help="Entity id.")],
            user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Explains why an entity's records were joined: each link with the match weight of every field."""
    from cintel.entities.service import entity_view

    engine = open_engine()
    view = entity_view(engine, _ctx(engine, user, password_stdin, "entity review"), entity_id)
    links = [{**row, "explanation": json.loads(row["explanation"])} for row in _rows(view.links)]
    payload: dict[str, Any] = {"entity_id": entity_id, "links": links, "decisions": _rows(view.decisions)}

    def human() -> None:
        names = dict(view.records.select("record_id", "name").iter_rows())
        if not links:
            out.print(f"{entity_id} is a single record: nothing was joined", highlight=False)
        for link in links:
            out.print(f"{link['record_a'][:8]} '{names.get(link['record_a'])}' ~ {link['record_b'][:8]} "
                      f"'{names.get(link['record_b'])}': probability {link['probability']:.3f}, "
                      f"weight {link['match_weight']:+.1f}", highlight=False)
            for field_name, part in link["explanation"].items():
                if part["weight"]:
                    out.print(f"    {field_name:>10} {part['weight']:+6.1f}  {part['level']}", highlight=False)
        for d in payload["decisions"]:
            out.print(f"analyst {d['decided_by']}: {d['record_a'][:8]} {d['decision']} {d['record_b'][:8]} "
                      f"({d['reason']})", highlight=False)
    emit(as_json, payload, human)


@entities_app.command("merge")
def merge_cmd(entity_a: Annotated[str, typer.Argument(help="Entity id.")],
              entity_b: Annotated[str, typer.Argument(help="Entity id to merge into the first.")],
              reason: ReasonOpt, user: AsOpt = None, password_stdin: PasswordStdinOpt = False,
              as_json: JsonOpt = False) -> None:
    """Merges two entities; the decision outlives every later resolution run."""
    from cintel.entities.service import merge

    engine = open_engine()
    survivor = merge(engine, acting_context(engine, MERGE, user, password_stdin), entity_a, entity_b, reason)
    emit(as_json, {"entity_id": survivor}, lambda: out.print(f"merged into {survivor}", highlight=False))


@entities_app.command("split")
def split_cmd(entity_id: Annotated[str, typer.Argument(help="Entity id.")],
              record: Annotated[list[str], typer.Option(help="Record id to split off (repeatable).")],
              reason: ReasonOpt, user: AsOpt = None, password_stdin: PasswordStdinOpt = False,
              as_json: JsonOpt = False) -> None:
    """Splits records off an entity: they are another party. The decision outlives re-runs."""
    from cintel.entities.service import split

    engine = open_engine()
    ids = split(engine, acting_context(engine, SPLIT, user, password_stdin), entity_id, record, reason)
    emit(as_json, {"entities": ids}, lambda: out.print(f"now: {', '.join(ids)}", highlight=False))


@entities_app.command("not-same")
def not_same_cmd(entity_a: Annotated[str, typer.Argument(help="Entity id.")],
                 entity_b: Annotated[str, typer.Argument(help="Entity id.")],
                 reason: ReasonOpt, user: AsOpt = None, password_stdin: PasswordStdinOpt = False,
                 as_json: JsonOpt = False) -> None:
    """Records that two entities are different parties, so no later run joins them."""
    from cintel.entities.service import not_same

    engine = open_engine()
    not_same(engine, acting_context(engine, NOT_SAME, user, password_stdin), entity_a, entity_b, reason)
    emit(as_json, {"entity_a": entity_a, "entity_b": entity_b, "decision": "not_same"},
         lambda: out.print(f"{entity_a} and {entity_b} are kept apart", highlight=False))


# --- screening and watch lists -----------------------------------------------------------------------------------

def screen_cmd(
    list_name: Annotated[str | None, typer.Option("--list", help="Screen against this list only.")] = None,
    threshold: Annotated[float | None, typer.Option(min=0.01, max=1.0, help="Score to raise a hit (default 0.70).")
                         ] = None,
    top: Annotated[int, typer.Option(min=0, help="Hits to print.")] = 20,
    user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False,
) -> None:
    """Screens every party against the stored watch lists; prints the strongest open hits."""
    from cintel.entities.screening_service import open_hits, screen_store

    engine = open_engine()
    ctx = _ctx(engine, user, password_stdin, "watch-list screening")
    report = screen_store(engine, ctx, list_name=list_name, threshold=threshold)
    hits = _rows(open_hits(engine, ctx, list_name=list_name, limit=top))
    payload = {**report.to_dict(), "top_hits": hits}

    def human() -> None:
        out.print(f"{report.records:,} party records screened against {report.entries:,} entries of "
                  f"{', '.join(report.lists)}: {report.hits:,} open hits at >= {report.threshold:.2f} "
                  f"({report.suppressed:,} suppressed by earlier dispositions)", highlight=False)
        table(hits, ["id", "score", "name", "matched_name", "list_name", "entry_id", "entity_id"], "strongest hits")
    emit(as_json, payload, human)


@watchlist_app.command("import")
def watchlist_import(
    path: Annotated[Path, typer.Argument(help="The list: FtM / OpenSanctions JSON lines (export or delta file), "
                                         "or a watchlist CSV / JSON lines / Parquet file.")],
    file_format: Annotated[str | None, typer.Option("--format", help="ftm, csv, jsonl or parquet "
                                                    "(default: from the extension; FtM needs --format ftm).")] = None,
    list_name: Annotated[str | None, typer.Option("--list", help="The list's name (required for ftm).")] = None,
    version: Annotated[str | None, typer.Option(help="The release's version or date.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Apply a file already imported under this list again.")
                     ] = False,
    user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False,
) -> None:
    """Imports a release of a watch list: it replaces the list (entries added, changed, delisted; hits on
    delisted entries closed); a delta file (ADD/MOD/DEL) amends it. Bad lines go to quarantine."""
    from cintel.entities.watchlists import import_release

    if file_format == "ftm" and not list_name:
        raise UserError("an FtM export needs --list NAME")
    engine = open_engine()
    report = import_release(engine, _ctx(engine, user, password_stdin, "watch-list import"), path, list_name=list_name,
                            version=version, file_format=file_format, force=force)
    payload = report.to_dict()

    def human() -> None:
        if report.status == "skipped":
            out.print(f"{path}: {report.message}", highlight=False)
            return
        others = ", ".join(f"{n} {c['context'] + c['skipped']:,}" for n, c in sorted(report.schemata.items()))
        out.print(f"{path}: {report.mode} release {report.version or report.release_id} of {report.list_name}: "
                  f"{report.entries:,} entries listed (added {report.added:,}, changed {report.changed:,}, "
                  f"unchanged {report.unchanged:,}, delisted {report.delisted:,}); {report.lines:,} lines = "
                  f"blank {report.blank:,} + quarantined {report.quarantined + report.invalid:,} + "
                  + (f"operations {report.operations:,} + unknown DEL {report.unknown_deletes:,}"
                     if report.mode == "delta" else
                     f"entries {report.added + report.changed + report.unchanged:,} + non-target parties "
                     f"{report.non_targets_context:,} kept as context / {report.non_targets_skipped:,} skipped"
                     + (f" + other schemata ({others})" if others else ""))
                  + f"; {report.hits_closed:,} open hits closed", highlight=False)
    emit(as_json, payload, human)


@watchlist_app.command("releases")
def watchlist_releases_cmd(list_name: Annotated[str | None, typer.Option("--list", help="One list only.")] = None,
                           user: AsOpt = None, password_stdin: PasswordStdinOpt = False,
                           as_json: JsonOpt = False) -> None:
    """Lists the releases imported, newest first, with what each added, changed and delisted."""
    from cintel.entities.watchlists import list_releases

    engine = open_engine()
    rows = _rows(list_releases(engine, _ctx(engine, user, password_stdin, "watch-list review"), list_name))
    emit(as_json, rows, lambda: table(rows, ["id", "list_name", "version", "mode", "entries", "added", "changed",
                                             "unchanged", "delisted", "quarantined", "hits_closed", "imported_at"],
                                      "releases"))


@watchlist_app.command("delisted")
def watchlist_delisted_cmd(list_name: Annotated[str | None, typer.Option("--list", help="One list only.")] = None,
                           user: AsOpt = None, password_stdin: PasswordStdinOpt = False,
                           as_json: JsonOpt = False) -> None:
    """Lists the entries releases delisted, with the date and the release."""
    from cintel.entities.watchlists import delistings

    engine = open_engine()
    rows = _rows(delistings(engine, _ctx(engine, user, password_stdin, "watch-list review"), list_name))
    emit(as_json, rows, lambda: table(rows, ["list_name", "entry_id", "name", "delisted_on", "version",
                                             "relisted_in_release"], "delisted entries"))


@watchlist_app.command("hits")
def watchlist_hits(list_name: Annotated[str | None, typer.Option("--list", help="One list only.")] = None,
                   top: Annotated[int, typer.Option(min=1, help="Hits to show.")] = 50,
                   user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Lists open screening hits, strongest first, with why they scored."""
    from cintel.entities.screening_service import open_hits

    engine = open_engine()
    ctx = _ctx(engine, user, password_stdin, "watch-list review")
    hits = _rows(open_hits(engine, ctx, list_name=list_name, limit=top))
    emit(as_json, hits, lambda: table(hits, ["id", "score", "name", "matched_name", "list_name", "entry_id",
                                             "explanation"], "open hits"))


@watchlist_app.command("dispose")
def watchlist_dispose(hit_id: Annotated[int, typer.Argument(help="Hit id (from `cintel watchlist hits`).")],
                      disposition: Annotated[str, typer.Argument(help="true_hit or false_positive.")],
                      reason: ReasonOpt, user: AsOpt = None, password_stdin: PasswordStdinOpt = False,
                      as_json: JsonOpt = False) -> None:
    """Records a verdict on a hit; a false positive never alerts again for the same party and entry."""
    from cintel.entities.screening_service import dispose

    engine = open_engine()
    dispose(engine, acting_context(engine, DISPOSE, user, password_stdin), hit_id, disposition, reason)
    emit(as_json, {"hit": hit_id, "disposition": disposition},
         lambda: out.print(f"hit {hit_id}: {disposition}", highlight=False))


# --- network --------------------------------------------------------------------------------------------------------

EdgeKindOpt = Annotated[list[str] | None, typer.Option("--edge-kind", help="Follow only these edge kinds "
                                                       "(repeatable), e.g. director_of, has_phone.")]


def _subgraph_payload(sub: Any) -> dict[str, Any]:
    return {"nodes": _rows(sub.nodes), "edges": _rows(sub.edges), "truncated": sub.truncated, "hubs": sub.hubs}


@network_app.command("neighbours")
def neighbours_cmd(
    ref: Annotated[str, typer.Argument(help="Entity id, declaration id or node id (phone:+31...).")],
    hops: Annotated[int, typer.Option(min=1, max=4, help="How far to go.")] = 2,
    edge_kind: EdgeKindOpt = None,
    since: Annotated[str | None, typer.Option(help="Only links dated on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Only links dated before (YYYY-MM-DD).")] = None,
    user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False,
) -> None:
    """Shows who and what is tied to a party within a few hops."""
    from cintel.network.service import neighbours

    engine = open_engine()
    sub = neighbours(engine, _ctx(engine, user, password_stdin, "link analysis"), ref, hops=hops,
                     edge_kinds=set(edge_kind) if edge_kind else None, since=parse_day(since, "--since"),
                     until=parse_day(until, "--until"))
    payload = _subgraph_payload(sub)

    def human() -> None:
        table(payload["nodes"], ["node_id", "kind", "label", "hops", "seized", "watchlisted"],
              f"{len(payload['nodes'])} nodes within {hops} hops" + (" (truncated)" if sub.truncated else ""))
    emit(as_json, payload, human)


@network_app.command("path")
def path_cmd(a: Annotated[str, typer.Argument(help="From: entity, declaration or node id.")],
             b: Annotated[str, typer.Argument(help="To: entity, declaration or node id.")],
             max_hops: Annotated[int, typer.Option(min=1, max=10, help="Longest path searched.")] = 6,
             edge_kind: EdgeKindOpt = None, user: AsOpt = None, password_stdin: PasswordStdinOpt = False,
             as_json: JsonOpt = False) -> None:
    """Finds the shortest paths between two parties, each step with the record that proves it."""
    from cintel.network.service import paths

    engine = open_engine()
    found = paths(engine, _ctx(engine, user, password_stdin, "link analysis"), a, b, max_hops=max_hops,
                  edge_kinds=set(edge_kind) if edge_kind else None)
    payload: list[dict[str, Any]] = [{"nodes": p.nodes, "steps": _rows(p.edges)} for p in found]

    def human() -> None:
        if not found:
            out.print(f"no path within {max_hops} hops", highlight=False)
        for k, p in enumerate(payload, 1):
            out.print(f"path {k}: " + " -> ".join(p["nodes"]), highlight=False)
            for step in p["steps"]:
                out.print(f"    {step['src']} -[{step['kind']}]- {step['dst']}  ({step['source_kind']} "
                          f"{step['source_key']}, {step.get('date')})", highlight=False)
    emit(as_json, payload, human)


@network_app.command("communities")
def communities_cmd(method: Annotated[str, typer.Option(help="modularity or cpm.")] = "modularity",
                    resolution: Annotated[float, typer.Option(min=0.0, help="Leiden resolution.")] = 1.0,
                    top: Annotated[int, typer.Option(min=1, help="Communities to list.")] = 20,
                    user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Finds Leiden communities of parties and shared identifiers; lists the largest."""
    from cintel.network.service import community_report

    engine = open_engine()
    report = community_report(engine, _ctx(engine, user, password_stdin, "link analysis"), method=method,
                              resolution=resolution)
    sizes = _rows(report.sizes.head(top))
    emit(as_json, {"communities": report.sizes.height, "largest": sizes},
         lambda: table(sizes, ["community", "size", "companies", "seized", "watchlisted"],
                       f"{report.sizes.height:,} communities"))


@network_app.command("rings")
def rings_cmd(top: Annotated[int, typer.Option(min=1, help="Rings to list.")] = 10,
              user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Ranks suspected front-company rings with the shared identifiers that tie them."""
    from cintel.network.service import ring_report

    engine = open_engine()
    found = ring_report(engine, _ctx(engine, user, password_stdin, "link analysis"), top=top)
    payload = [{"ring_id": r.ring_id, "score": round(r.score, 3), "summary": r.summary,
                "members": _rows(r.members), "evidence": _rows(r.evidence)} for r in found]

    def human() -> None:
        if not found:
            out.print("no ring candidates: no companies share identifiers", highlight=False)
        for r in found:
            out.print(f"{r.ring_id} score {r.score:.2f}: {r.summary}", highlight=False)
            labels = r.members.filter(pl.col("kind") == "company")["label"].to_list()
            out.print("    " + "; ".join(labels[:8]) + (" ..." if len(labels) > 8 else ""), highlight=False)
    emit(as_json, payload, human)


@network_app.command("risk")
def risk_cmd(as_of: Annotated[str | None, typer.Option(help="Day (YYYY-MM-DD); default today.")] = None,
             top: Annotated[int, typer.Option(min=1, help="Entities to list.")] = 20,
             user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Ranks parties by the risk that spreads to them from caught and listed parties."""
    from cintel.network.service import risk_scores

    day = parse_day(as_of, "--as-of") or date.today()
    engine = open_engine()
    rows = _rows(risk_scores(engine, _ctx(engine, user, password_stdin, "link analysis"), as_of=day, limit=top))
    emit(as_json, rows, lambda: table(rows, ["node_id", "label", "risk", "hops_to_seed", "seized", "watchlisted"],
                                      f"network risk as of {day}"))


@network_app.command("export")
def export_cmd(ref: Annotated[str, typer.Argument(help="Entity, declaration or node id at the centre.")],
               output: Annotated[Path, typer.Option("--out", help="JSON file to write (Cytoscape.js elements).")],
               hops: Annotated[int, typer.Option(min=1, max=4, help="How far to go.")] = 2,
               edge_kind: EdgeKindOpt = None, user: AsOpt = None, password_stdin: PasswordStdinOpt = False,
               as_json: JsonOpt = False) -> None:
    """Writes a party's neighbourhood as Cytoscape.js elements for a graph viewer."""
    from cintel.network.queries import export_cytoscape
    from cintel.network.service import neighbours

    engine = open_engine()
    sub = neighbours(engine, _ctx(engine, user, password_stdin, "link analysis export"), ref, hops=hops,
                     edge_kinds=set(edge_kind) if edge_kind else None)
    elements = export_cytoscape(sub)
    try:
        output.write_text(json.dumps(elements, default=str), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
    summary = {"path": str(output), "nodes": len(elements["nodes"]), "edges": len(elements["edges"])}
    emit(as_json, summary, lambda: out.print(f"wrote {summary['nodes']} nodes and {summary['edges']} edges to "
                                             f"{output}", highlight=False))


def register(app: typer.Typer) -> None:
    """Adds the entity, screening, watch-list and network commands to the main app."""
    app.add_typer(entities_app, name="entities")
    app.command("screen")(screen_cmd)
    app.add_typer(watchlist_app, name="watchlist")
    app.add_typer(network_app, name="network")
