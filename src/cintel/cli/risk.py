"""Risk commands: features, train, score, select, explain, monitor. Each is a thin call into
``cintel.risk.service`` / ``cintel.risk.review``. Training and runs are recorded under the account
authenticated by CINTEL_TOKEN or ``--as`` and its password, else under the local operator (the OS user)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

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
    parse_window,
    table,
)
from cintel.cli.common import engine as open_engine

features_app = typer.Typer(help="Risk features of declarations, point in time.", no_args_is_help=True)

DayOpt = Annotated[str | None, typer.Option("--date", help="Day to score (YYYY-MM-DD; default: the latest "
                                                          "declaration day in the store).")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day of the window (YYYY-MM-DD).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day of the window, included (YYYY-MM-DD).")]


# Batch work a scheduler runs as much as a person: no person or role is required, credentials only attribute it.
TRAIN = Act("training the models", "model training", person=False)
SCORE = Act("scoring a day", "risk scoring", person=False)
SELECT = Act("selecting channels", "channel selection", person=False)


def _day(engine: Any, value: str | None) -> date:
    from cintel.risk.service import last_declaration_day

    return parse_day(value, "--date") or last_declaration_day(engine)


@features_app.command("build")
def features_build(
    out_path: Annotated[Path, typer.Option("--out", help="Parquet file to write the declaration features to.")],
    start: FromOpt = None, end: ToOpt = None,
    items: Annotated[Path | None, typer.Option(help="Also write the item-level features here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Computes the features of every declaration in a window, each as of its own date, to Parquet."""
    from cintel.risk.service import feature_window

    first, stop = parse_window(start, end)
    item_frame, decl = feature_window(open_engine(), first, stop)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    decl.write_parquet(out_path)
    if items is not None:
        item_frame.write_parquet(items)
    result = {"declarations": decl.height, "items": item_frame.height, "columns": decl.width, "out": str(out_path)}
    emit(as_json, result, lambda: out.print(f"{decl.height:,} declarations x {decl.width} columns -> {out_path}",
                                            highlight=False))


def train(
    start: FromOpt = None, end: ToOpt = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    no_activate: Annotated[bool, typer.Option("--no-activate", help="Register as candidate only.")] = False,
    user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False,
) -> None:
    """Trains the fraud and revenue models on recorded inspection outcomes (train, validate, test in date
    order), registers them with their metrics and makes them active."""
    from cintel.risk.service import train as train_models

    first, stop = parse_window(start, end)
    engine = open_engine()
    report = train_models(engine, acting_context(engine, TRAIN, user, password_stdin), start=first, end=stop,
                          seed=seed, activate=not no_activate).to_dict()

    def human() -> None:
        test = report["metrics"]["fraud"].get("test") or {}
        out.print(f"trained {report['fraud_model_id']} and {report['revenue_model_id'] or 'no revenue model'} on "
                  f"{report['rows']:,} inspected declarations ({report['frauds']:,} frauds); test window: "
                  f"precision@5% {test.get('precision@5%', float('nan')):.3f}, auc {test.get('auc', float('nan')):.3f}",
                  highlight=False)
    emit(as_json, report, human)


def score(
    day: DayOpt = None,
    declaration: Annotated[Path | None, typer.Option(
        "--declaration", help="Score one declaration from a JSON file (real time).")] = None,
    no_model: Annotated[bool, typer.Option("--no-model", help="Rules only.")] = False,
    top: Annotated[int, typer.Option(min=0, help="Rows to print.")] = 20,
    user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False,
) -> None:
    """Scores a day's declarations (rules, model, reasons) and records the run; or one declaration in real time."""
    if declaration is not None:
        _score_one(declaration, as_json)
        return
    from cintel.risk.service import run_day

    engine = open_engine()
    result = run_day(engine, acting_context(engine, SCORE, user, password_stdin), _day(engine, day),
                     use_model=not no_model)
    _print_run(result, as_json, top, channel=None)


def select(
    day: DayOpt = None,
    red_capacity: Annotated[int, typer.Option("--red-capacity", min=0, help="Physical inspections available.")] = 10,
    yellow_capacity: Annotated[int, typer.Option("--yellow-capacity", min=0, help="Documentary checks.")] = 20,
    random_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Random share of the day.")] = 0.01,
    exploration_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Capacity kept for exploration.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the random and exploration draws.")] = 0,
    no_model: Annotated[bool, typer.Option("--no-model", help="Rules only.")] = False,
    rank_by: Annotated[str, typer.Option("--rank-by", help="value: risk x expected revenue; risk: risk alone.")
                       ] = "value",
    user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False,
) -> None:
    """Scores a day and assigns channels within capacity: rule hits, random share, model ranking and
    exploration; records why each declaration was selected and prints the red list."""
    from cintel.risk.selection import SelectionPolicy
    from cintel.risk.service import run_day

    engine = open_engine()
    policy = SelectionPolicy(red_capacity=red_capacity, yellow_capacity=yellow_capacity, random_share=random_share,
                             exploration_share=exploration_share, seed=seed)
    if rank_by not in ("value", "risk"):
        raise UserError(f"--rank-by must be value or risk, not '{rank_by}'")
    result = run_day(engine, acting_context(engine, SELECT, user, password_stdin), _day(engine, day), policy,
                     use_model=not no_model, rank_by=rank_by)
    _print_run(result, as_json, top=red_capacity + yellow_capacity, channel="red")


def _print_run(result: dict[str, Any], as_json: bool, top: int, channel: str | None) -> None:
    import polars as pl

    frame = result.pop("assessments").sort("rank")
    shown = frame.filter(pl.col("channel") == channel) if channel else frame.head(top)
    rows = [{"rank": r["rank"], "declaration": r["declaration_id"], "channel": r["channel"],
             "why": r["selection_reason"], "p": "" if r["probability"] is None else f"{r['probability']:.3f}",
             "rules": ",".join(r["rule_ids"]), "reasons": "; ".join(r["reasons"])} for r in shown.iter_rows(named=True)]
    payload = {**result, "declarations": frame.height, "shown": rows}

    def human() -> None:
        title = f"run {result['run_id']} for {result['run_date']}: " + (f"{channel} list" if channel else "top")
        table(rows, ["rank", "declaration", "channel", "why", "p", "rules", "reasons"], title)
        out.print(f"model {result['model_id'] or 'none'}; rules {result['rule_versions']}; summary "
                  f"{result['summary']}", highlight=False)
    emit(as_json, payload, human)


def _score_one(path: Path, as_json: bool) -> None:
    from cintel.risk.realtime import RealtimeScorer, lodged_on, read_declaration

    items = read_declaration(path)
    scorer = RealtimeScorer.from_store(open_engine(), lodged_on(items))
    result = scorer.score(items)
    emit(as_json, result, lambda: out.print(
        f"{result['declaration_id']}: channel {result['rule_channel'] or '-'}, probability "
        f"{result['probability']}, priority {result['priority']:.4g}\n  " + "\n  ".join(result["reasons"]),
        highlight=False))


def explain(declaration_id: Annotated[str, typer.Argument(help="A stored declaration.")],
            as_json: JsonOpt = False) -> None:
    """Why a declaration scores as it does: rule hits, probability and the model's reasons with their weight."""
    from cintel.risk.service import explain_declaration

    result = explain_declaration(open_engine(), declaration_id)

    def human() -> None:
        out.print(f"{declaration_id} ({result['declaration_date']}): probability {result['probability']}, "
                  f"rules {result['rule_hits'] or 'none'}, latest selection {result['latest_selection']}",
                  highlight=False)
        table(result["reasons"], ["text", "feature", "contribution"], "reasons (contribution to the log-odds)")
    emit(as_json, result, human)


def monitor(
    weeks: Annotated[int, typer.Option(min=1, max=260, help="Weeks to monitor, ending at the latest day.")] = 8,
    threshold: Annotated[float, typer.Option(min=0.0, help="PSI above which a feature alerts.")] = 0.2,
    fairness: Annotated[bool, typer.Option("--fairness/--no-fairness", help="Also the fairness report.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Drift of the active model's features and score (PSI per week, alerts recorded) and the fairness
    of inspections per importer country, trader size and office over the same weeks."""
    from cintel.risk.review import fairness_window
    from cintel.risk.service import monitor as drift

    engine = open_engine()
    report = drift(engine, weeks=weeks, threshold=threshold)
    flagged: list[dict[str, Any]] = []
    if fairness:
        groups = fairness_window(engine, report["from"], report["to"])
        flagged = groups.filter(groups["flagged"]).to_dicts()
        report["fairness"] = {"groups": groups.height, "flagged": flagged}

    def human() -> None:
        table(report["alerts"], ["week_start", "name", "psi"], f"drift alerts (PSI > {threshold})")
        if fairness:
            table(flagged, ["dimension", "group", "n", "inspection_rate", "expected_rate", "burden_ratio", "hit_rate"],
                  "inspection burden not explained by risk")
    emit(as_json, report, human)


def register(app: typer.Typer) -> None:
    """Adds the risk commands to the main app."""
    app.add_typer(features_app, name="features")
    for command in (train, score, select, explain, monitor):
        app.command()(command)
