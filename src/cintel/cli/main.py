"""The `cintel` command line: each sub-command is a thin call into the modules that do the work.

Errors a user can act on print one line on stderr and exit non-zero; `--json` prints the report
as JSON on stdout for scripts.
"""

from __future__ import annotations

import logging
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
)
from sqlalchemy import Engine

from cintel.cli.bench import bench_app
from cintel.cli.common import (
    JsonOpt,
    UserError,
    emit,
    err,
    log,
    out,
    progress,
    record_kind,
    table,
)
from cintel.cli.common import (
    engine as open_engine,
)
from cintel.cli.entities import register as register_entities
from cintel.cli.risk import register as register_risk
from cintel.cli.rules import rules_app
from cintel.cli.users import register as register_users
from cintel.domain.access import local_operator
from cintel.domain.records import FORMATS
from cintel.errors import CintelError
from cintel.ingest.problems import IngestError

app = typer.Typer(help="cintel: customs intelligence. Ingest, validate and explore trade data.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
quarantine_app = typer.Typer(help="Rejected rows: list, show, export for correction, replay.", no_args_is_help=True)
db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(db_app, name="db")
app.add_typer(rules_app, name="rules")
register_risk(app)
register_entities(app)
register_users(app)
app.add_typer(bench_app, name="bench")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files to ingest (CSV, JSON Lines, Parquet, EDIFACT CUSDEC).")],
    file_format: Annotated[str | None, typer.Option("--format", help="csv, jsonl, parquet, cusdec or ftm; "
                                                    "default from the extension.")] = None,
    kind: Annotated[str | None, typer.Option(help="Record kind; default from the columns.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding, e.g. latin-1 (default UTF-8).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected).")] = None,
    ignore_extra_columns: Annotated[bool, typer.Option(help="Ignore columns the format does not define.")] = False,
    force: Annotated[bool, typer.Option(help="Re-check a file already ingested (stores nothing twice).")] = False,
    profile: Annotated[str | None, typer.Option(help="CUSDEC mapping profile (message implementation guide), e.g. "
                                                "generic or sars; default: chosen per message by its UNH "
                                                "association code.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Validates files and loads them into the store; bad rows go to quarantine with the reason.

    EDIFACT CUSDEC messages are mapped by the profile of their implementation guide (see
    docs/cusdec.md); CINTEL_CUSDEC_PROFILES names a directory of further profiles.
    """
    from cintel.ingest.pipeline import IngestInterrupted, ingest_file
    from cintel.ingest.readers import ReadOptions
    from cintel.settings import get_settings

    engine = open_engine()
    options = ReadOptions(kind=record_kind(kind), encoding=encoding, delimiter=delimiter,
                          ignore_extra_columns=ignore_extra_columns, chunk_rows=get_settings().ingest_chunk_rows,
                          profile=profile)
    reports = []
    failed = False
    for path in paths:
        try:
            with progress(f"ingest {path.name}", None) as advance:
                report = ingest_file(engine, path, file_format=file_format, options=options, force=force,
                                     progress=advance)
            reports.append(report.to_dict())
        except IngestInterrupted as exc:
            err.print(f"[yellow]stopped:[/] {exc}", highlight=False)
            raise typer.Exit(130) from None
        except IngestError as exc:
            failed = True
            reports.append({"path": str(path), "status": "failed", "message": str(exc)})
            err.print(f"[red]error:[/] {exc}", highlight=False)

    def human() -> None:
        for r in reports:
            if r["status"] == "failed":
                continue
            note = f" ({r['message']})" if r.get("message") else ""
            out.print(f"{r['path']}: batch {r['batch_id']} {r['status']}{note}: {r['kind']} rows read "
                      f"{r['rows_read']:,} = stored {r['rows_stored']:,} + duplicate {r['rows_duplicate']:,} + "
                      f"quarantined {r['rows_quarantined']:,}", highlight=False)

    emit(as_json, reports, human)
    if failed:
        raise typer.Exit(1)


@app.command()
def stats(as_json: JsonOpt = False) -> None:
    """Counts what the store holds: declarations, items, other records, quarantine and batches."""
    from cintel.store.stats import store_stats

    result = store_stats(open_engine())

    def human() -> None:
        rows = [{"what": k, "count": f"{v:,}"} for k, v in result.items() if isinstance(v, int)]
        table(rows, ["what", "count"], "cintel store")
        by_code = result["quarantine_by_code"]
        if isinstance(by_code, dict) and by_code:
            table([{"code": k, "open": v} for k, v in by_code.items()], ["code", "open"], "open quarantine by reason")

    emit(as_json, result, human)


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the world into.")] = Path("var/world"),
    declarations: Annotated[int, typer.Option(min=1, help="Number of declarations.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same world.")] = 42,
    file_format: Annotated[list[str] | None, typer.Option(
        "--format", help="csv, jsonl, parquet, cusdec (repeatable).")] = None,
    defect_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of deliberately broken records.")] = 0.01,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of trade.")] = 12,
    end_date: Annotated[str | None, typer.Option(help="Last day of the world (YYYY-MM-DD, default yesterday).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Generates a synthetic trade world with planted fraud schemes and its ground truth."""
    from cintel.simulate import simulate_world

    formats = file_format or ["parquet"]
    bad = [f for f in formats if f not in ("csv", "jsonl", "parquet", "cusdec")]
    if bad:
        raise UserError(f"unknown format(s) {', '.join(bad)}; use csv, jsonl, parquet or cusdec")
    try:
        end = date.fromisoformat(end_date) if end_date else None
    except ValueError:
        raise UserError(f"--end-date '{end_date}' is not a YYYY-MM-DD date") from None
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as progress:
        tasks: dict[str, Any] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        summary = simulate_world(out_dir, declarations=declarations, seed=seed, formats=formats,
                                 defect_rate=defect_rate, end_date=end, months=months, progress=advance)
    result = summary.to_dict()
    emit(as_json, result, lambda: out.print_json(data=result))


def formats_markdown() -> str:
    """The flat formats as a Markdown reference (docs/formats.md is this text)."""
    lines = ["# Flat import formats", "",
             "Generated by `cintel formats --markdown` from `cintel.domain.records`; do not edit by hand.", "",
             "Files are UTF-8 CSV (header row; `,` `;` tab or `|` detected), JSON or Parquet. JSON may be JSON "
             "Lines, an array of records (pretty-printed or not) or one object wrapping the array "
             "(`{\"events\": [...]}`); the layout is read from the content, a record's row number is its line or "
             "its 1-based index in the array, and a broken document (truncated, text after it) is refused whole "
             "with its line and column. DCSA Track & Trace events (TNT 2.2 and 3.0) are recognised by their shape "
             "(or `--format dcsa`) and read as `events` through the profile in `cintel.ingest.read_dcsa`; their "
             "classifier (PLN, EST, ACT) is kept, and an event whose source gives none has an empty classifier: "
             "unknown, never taken as actual. Columns may come in any order. *Required* columns must be present; "
             "*may be empty* says whether a value may be blank. Lists are `;`-separated; an *entry_list* holds "
             "`;`-separated entries of `:`-separated parts (`TYPE:REFERENCE` documents, `TYPE:BASE:RATE:AMOUNT` "
             "duties), whose parts may be empty but whose first part, the type, may not. Containers are given per "
             "item; a declaration's containers are the union of its items'.", ""]
    for spec in FORMATS.values():
        lines += [f"## `{spec.kind.value}`", "", spec.description + ".", "",
                  f"Key: `{', '.join(spec.key)}`" + (f"; rows sharing `{', '.join(spec.group)}` are stored or "
                                                       "quarantined together." if spec.group else "."), "",
                  "| column | kind | required | may be empty | description |", "|---|---|---|---|---|"]
        for f in spec.fields:
            codes = f" ({', '.join(f.codes.codes())})" if f.codes else ""
            lines.append(f"| `{f.name}` | {f.kind.value} | {'yes' if f.required else 'no'} | "
                         f"{'yes' if f.nullable else 'no'} | {f.description}{codes} |")
        lines.append("")
    return "\n".join(lines)


@app.command()
def formats(kind: Annotated[str | None, typer.Argument(help="One record kind.")] = None,
            as_json: JsonOpt = False,
            markdown: Annotated[bool, typer.Option("--markdown", help="Print the Markdown reference.")] = False,
            ) -> None:
    """Describes the flat file formats cintel reads: columns, kinds, whether required."""
    if markdown:
        sys.stdout.write(formats_markdown())
        return
    kinds = [record_kind(kind)] if kind else list(FORMATS)
    result: dict[str, dict[str, Any]] = {
        k.value: {
            "description": FORMATS[k].description,
            "key": list(FORMATS[k].key),
            "fields": [{"name": f.name, "kind": f.kind.value, "required_column": f.required,
                        "may_be_empty": f.nullable, "max_length": f.max_length,
                        "codes": f.codes.codes() if f.codes else None, "description": f.description}
                       for f in FORMATS[k].fields],
        } for k in kinds if k is not None
    }

    def human() -> None:
        for name, spec in result.items():
            rows = [{**f, "codes": ", ".join(f["codes"] or [])[:40]} for f in spec["fields"]]
            table(rows, ["name", "kind", "required_column", "may_be_empty", "description"],
                   f"{name}: {spec['description']}")

    emit(as_json, result, human)


@quarantine_app.command("list")
def quarantine_list(
    batch: Annotated[int | None, typer.Option(help="Only this batch.")] = None,
    code: Annotated[str | None, typer.Option(help="Only this error code.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this record kind.")] = None,
    status: Annotated[str, typer.Option(help="open, resolved or all.")] = "open",
    limit: Annotated[int, typer.Option(min=1, help="At most this many entries.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Lists rejected rows with their reason, newest first."""
    from cintel.ingest.quarantine import Filter, list_entries

    if status not in ("open", "resolved", "all"):
        raise UserError("--status must be open, resolved or all")
    f = Filter(batch_id=batch, code=code, kind=record_kind(kind), status=None if status == "all" else status)
    rows = list_entries(open_engine(), local_operator("quarantine review"), f, limit)
    emit(as_json, rows, lambda: table(rows, ["id", "batch_id", "kind", "source_row", "record_key", "code",
                                              "message"], "quarantine"))


@quarantine_app.command("show")
def quarantine_show(entry_id: Annotated[int, typer.Argument(help="Quarantine id.")], as_json: JsonOpt = False) -> None:
    """Shows one rejected row: every problem found, the row as it was read and, for an EDIFACT message,
    its segments (source_text), so the value that could not be mapped can be seen."""
    from cintel.ingest.quarantine import show_entry

    entry = show_entry(open_engine(), local_operator("quarantine review"), entry_id)

    def human() -> None:
        shown = {k: v for k, v in entry.items() if k != "source_text"}
        out.print_json(data=shown, default=str)
        if entry.get("source_text"):
            out.print("source segments:", highlight=False)
            out.print(entry["source_text"], markup=False, highlight=False)

    emit(as_json, entry, human)


@quarantine_app.command("export")
def quarantine_export(
    out_file: Annotated[Path, typer.Argument(help="CSV file to write.")],
    batch: Annotated[int | None, typer.Option(help="Only this batch.")] = None,
    code: Annotated[str | None, typer.Option(help="Only this error code.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this record kind.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Writes open rejected rows to a CSV to correct in a spreadsheet and replay."""
    from cintel.ingest.quarantine import Filter, export_entries

    n = export_entries(open_engine(), local_operator("quarantine correction"),
                       Filter(batch_id=batch, code=code, kind=record_kind(kind)), out_file)
    result = {"exported": n, "file": str(out_file)}
    emit(as_json, result, lambda: out.print(f"exported {n:,} rows to {out_file}; fix them, then run "
                                             f"`cintel quarantine replay {out_file}`", highlight=False))


@quarantine_app.command("replay")
def quarantine_replay(
    corrected: Annotated[Path | None, typer.Argument(help="A corrected export to ingest.")] = None,
    entry_id: Annotated[list[int] | None, typer.Option("--id", help="Re-check these entries unchanged.")] = None,
    batch: Annotated[int | None, typer.Option(help="Re-check the open entries of this batch unchanged.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-ingests rejected rows: a corrected export, or stored entries as they are."""
    from cintel.ingest.quarantine import Filter, replay_entries, replay_file

    ctx = local_operator("quarantine correction")
    engine = open_engine()
    if corrected is not None:
        report = replay_file(engine, ctx, corrected)
    elif entry_id or batch is not None:
        report = replay_entries(engine, ctx, Filter(batch_id=batch, ids=tuple(entry_id or ())))
    else:
        raise UserError("give a corrected export file, --id or --batch")
    r = report.to_dict()
    emit(as_json, r, lambda: out.print(
        f"replay batch {r['batch_id']}: {r['rows_read']} rows = stored {r['rows_stored']} + duplicate "
        f"{r['rows_duplicate']} + still quarantined {r['rows_quarantined']}", highlight=False))


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOpt = False) -> None:
    """Creates or migrates the store to the latest schema."""
    from cintel.store.engine import is_current, make_engine, upgrade

    engine = make_engine()
    upgrade(engine)
    result = {"database": engine.url.render_as_string(hide_password=True), "current": is_current(engine)}
    emit(as_json, result, lambda: out.print(f"store {result['database']} is up to date", highlight=False))


@db_app.command("check")
def db_check(as_json: JsonOpt = False) -> None:
    """Verifies the store's references (items to declarations, records to batches); exit 1 if any is broken."""
    from cintel.store.integrity import integrity_report

    report = integrity_report(open_engine())
    broken = {k: v for k, v in report.items() if v}
    emit(as_json, report, lambda: out.print("store is consistent" if not broken else f"broken references: {broken}",
                                             highlight=False))
    if broken:
        raise typer.Exit(1)


@app.command()
def demo(
    declarations: Annotated[int, typer.Option(min=100, help="Size of the demo world.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    serve: Annotated[bool, typer.Option(help="Then serve the workspace with one demo user per role. When "
                                        "standard input is not a terminal (CI), every page is checked over "
                                        "HTTP as each user instead, and the command ends.")] = False,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default: CINTEL_WEB_PORT).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Builds a demo: simulates a world, ingests every file into the store, resolves and screens its parties,
    trains and selects the latest day, prints what it found; with --serve, opens the workspace on it."""
    from cintel.demo import run_demo

    engine = open_engine()
    result = run_demo(engine, declarations=declarations, seed=seed, progress=progress)
    emit(as_json, result, lambda: _print_demo(result))
    if serve:
        _serve_demo(engine, result, port)


def _serve_demo(engine: Engine, result: dict[str, Any], port: int | None) -> None:
    from cintel.demo import demo_pages, demo_users
    from cintel.settings import get_settings
    from cintel.web import serve

    # The demo is plain HTTP on the loopback address: cookies cannot be Secure there for every client.
    settings = get_settings().model_copy(update={"web_secure_cookies": False})
    host, port = "127.0.0.1", port or settings.web_port
    accounts = demo_users(engine)
    table([{"username": name, "role": a["role"], "password": a["password"]} for name, a in accounts.items()],
          ["username", "role", "password"], "demo users (new passwords on every run)")
    if not sys.stdin.isatty():
        with serve.background(engine, settings, host, 0) as url:
            checks = serve.check_pages(url, accounts, demo_pages(engine, result))
        table([{"user": c.username, "page": c.path, "status": str(c.status), "ms": f"{c.ms:.0f}"} for c in checks],
              ["user", "page", "status", "ms"], "workspace check (not a terminal, so not left running)")
        failed = [c for c in checks if c.status != 200]
        if failed:
            raise UserError(f"{len(failed)} workspace page(s) failed: "
                            + ", ".join(f"{c.path} as {c.username} -> {c.status}" for c in failed))
        out.print("every page answered; run `make serve` (or `cintel serve`) to keep the workspace running",
                  highlight=False)
        return
    out.print(f"workspace: http://{host}:{port}/  (Ctrl-C to stop)", highlight=False)
    serve.run(engine, settings, host, port)


def _print_demo(result: dict[str, Any]) -> None:
    rows = [{"file": Path(r["path"]).name, "kind": r["kind"], "read": f"{r['rows_read']:,}",
             "stored": f"{r['rows_stored']:,}", "duplicate": f"{r['rows_duplicate']:,}",
             "quarantined": f"{r['rows_quarantined']:,}"} for r in result["batches"]]
    table(rows, ["file", "kind", "read", "stored", "duplicate", "quarantined"], "demo ingest")
    stats_rows = [{"what": k, "count": f"{v:,}"} for k, v in result["store"].items() if isinstance(v, int)]
    table(stats_rows, ["what", "count"], f"store {result['database']}")
    out.print(f"world: {result['world_dir']}  |  planted defects found in quarantine: "
              f"{result['defects_quarantined']}/{result['defects_planted']}", highlight=False)
    e = result["entities"]
    r, sc = e["resolution"], e["screening"]
    out.print(f"entities: {r['records']:,} party records resolved into {r['entities']:,} entities  |  watch-list "
              f"hits: {sc['hits']:,}", highlight=False)
    out.print("suspected front-company rings:", highlight=False)
    for ring in e["rings"]:
        out.print(f"  {ring['ring_id']} (score {ring['score']:.2f}): {ring['summary']}", highlight=False)
        out.print(f"      {'; '.join(ring['companies'])}", highlight=False)
    t = result["targeting"]
    red = [{"rank": r["rank"], "declaration": r["declaration_id"], "why": r["selection_reason"],
            "p": "" if r["probability"] is None else f"{r['probability']:.2f}",
            "reasons": "; ".join(r["reasons"]) or ", ".join(r["rule_ids"])} for r in t["red_list"]]
    table(red, ["rank", "declaration", "why", "p", "reasons"], f"red list for {t['day']} (run {t['run_id']})")
    out.print(f"models: {t['models']}  |  channels: {t['summary']['counts']}", highlight=False)


def main() -> None:
    """Entry point: runs the app and turns every error into one line and an exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("[yellow]stopped by the user[/]")
        sys.exit(130)
    except CintelError as exc:
        # Messages quote what the user typed: it is text, never console markup.
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    except Exception as exc:
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            # Typer's own errors (usage, bad parameter): its message, without the multi-line panel.
            ctx = getattr(exc, "ctx", None)
            hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
            err.print(f"[red]error:[/] {exc.format_message()}{hint}", highlight=False)
            sys.exit(exc.exit_code)
        # A bug or an unreachable database: one line, details in debug logging.
        log.debug("unexpected error", exc_info=True)
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        err.print(f"[red]error:[/] {type(exc).__name__}: {first_line}", highlight=False)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
