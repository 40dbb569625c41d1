"""`cintel rules`: write, check, approve and retire selectivity rules; manage lookup lists and profiles.

Register with `app.add_typer(rules_app, name="rules")`. Who acts is `--as USER` (default: the OS user).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cintel.cli.common import AsOpt, JsonOpt, UserError, default_user, emit, out, parse_day, parse_window, table
from cintel.cli.common import engine as open_engine
from cintel.domain.access import AccessContext

if TYPE_CHECKING:
    from cintel.risk.rules import Rule

rules_app = typer.Typer(help="Selectivity rules: add, check, approve, retire; lookup lists and profiles.",
                        no_args_is_help=True)
lookup_app = typer.Typer(help="Lookup lists rules can use: importer_id IN LOOKUP('name').", no_args_is_help=True)
profile_app = typer.Typer(help="Risk profiles: rules grouped for a threat or an office.", no_args_is_help=True)
rules_app.add_typer(lookup_app, name="lookup")
rules_app.add_typer(profile_app, name="profile")


def _actor(user: str | None) -> AccessContext:
    return AccessContext(user=user or default_user(), purpose="rule management", roles=frozenset({"targeting"}))


def _summary(r: Rule) -> dict[str, object]:
    return {"rule_id": r.rule_id, "version": r.version, "status": r.status.value,
            "effect": f"weight {r.weight:g}" if r.weight is not None else f"channel {r.channel}",
            "author": r.author, "expression": r.expression}


@rules_app.command("add")
def add(
    rule_id: Annotated[str, typer.Argument(help="Rule id; an existing id gets a new draft version.")],
    expr: Annotated[str, typer.Option("--expr", help="The rule expression (docs/rules.md).")],
    reason: Annotated[str, typer.Option(help="Why the rule exists, shown to officers.")],
    weight: Annotated[float | None, typer.Option(help="Expected hit rate, 0-1.")] = None,
    channel: Annotated[str | None, typer.Option(help="Fixed channel when it hits: yellow or red.")] = None,
    valid_from: Annotated[str | None, typer.Option(help="First day the rule applies (YYYY-MM-DD).")] = None,
    valid_to: Annotated[str | None, typer.Option(help="Last day the rule applies (YYYY-MM-DD).")] = None,
    office: Annotated[list[str] | None, typer.Option(help="Office in scope (repeatable; default all).")] = None,
    regime: Annotated[list[str] | None, typer.Option(help="IM, EX or TR in scope (repeatable; default all).")] = None,
    user: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Saves a rule as a draft after checking its expression; another officer must approve it."""
    from cintel.risk.rulebook import add_rule

    if (weight is None) == (channel is None):
        raise UserError("give exactly one of --weight or --channel")
    rule = add_rule(open_engine(), _actor(user), rule_id, expr, reason, weight=weight, channel=channel,
                    valid_from=parse_day(valid_from, "--valid-from"), valid_to=parse_day(valid_to, "--valid-to"),
                    offices=office or None, regimes=regime or None)
    emit(as_json, rule.to_dict(),
         lambda: out.print(f"rule {rule.rule_id} v{rule.version} saved as draft by {rule.author}", highlight=False))


@rules_app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="Only draft, approved or retired.")] = None,
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Every version, not only the latest.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Lists rules: the latest version of each, with status and effect."""
    from cintel.risk.rulebook import list_rules
    from cintel.risk.rules import RuleStatus

    try:
        wanted = RuleStatus(status) if status else None
    except ValueError:
        raise UserError(f"unknown status '{status}'; use draft, approved or retired") from None
    rules = list_rules(open_engine(), status=wanted, all_versions=all_versions)
    emit(as_json, [r.to_dict() for r in rules],
         lambda: table([_summary(r) for r in rules], ["rule_id", "version", "status", "effect", "author",
                                                      "expression"], "rules"))


@rules_app.command("show")
def show(rule_id: Annotated[str, typer.Argument(help="Rule id.")], as_json: JsonOpt = False) -> None:
    """Shows every version of a rule: expression, reason, scope, who wrote, approved and retired it."""
    from cintel.risk.rulebook import rule_versions

    versions = rule_versions(open_engine(), rule_id)

    def human() -> None:
        for r in versions:
            out.print(f"[bold]{r.rule_id} v{r.version}[/] {r.status.value}", highlight=False)
            for key, value in r.to_dict().items():
                if key not in ("rule_id", "version", "status") and value is not None:
                    out.print(f"  {key}: {value}", highlight=False)

    emit(as_json, [r.to_dict() for r in versions], human)


@rules_app.command("check")
def check(expr: Annotated[str, typer.Option("--expr", help="The rule expression to check.")],
          as_json: JsonOpt = False) -> None:
    """Checks an expression without saving it: prints OK, or the error and where it is (exit 2)."""
    from cintel.risk.rule_language import check_rule
    from cintel.risk.rule_schema import RULE_SCHEMA  # the feature columns: it imports the feature pipeline
    from cintel.risk.rulebook import lookup_names

    rule = check_rule(expr, RULE_SCHEMA, lookup_names(open_engine()))
    emit(as_json, {"status": "ok", "columns": sorted(rule.columns), "lookups": sorted(rule.lookups)},
         lambda: out.print("OK"))


@rules_app.command("approve")
def approve(rule_id: Annotated[str, typer.Argument(help="Rule id.")],
            version: Annotated[int | None, typer.Option(help="Version to approve (default: the latest draft).")] = None,
            user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Approves a draft so it scores declarations; the approver must not be its author (four eyes) and the
    draft must have been backtested (`cintel rules backtest RULE_ID`)."""
    from cintel.risk.rulebook import approve_rule

    rule = approve_rule(open_engine(), _actor(user), rule_id, version)
    emit(as_json, rule.to_dict(),
         lambda: out.print(f"rule {rule.rule_id} v{rule.version} approved by {rule.approved_by}", highlight=False))


@rules_app.command("retire")
def retire(rule_id: Annotated[str, typer.Argument(help="Rule id.")], user: AsOpt = None,
           as_json: JsonOpt = False) -> None:
    """Retires a rule (all its versions): it stops scoring; its history stays for audit and backtests."""
    from cintel.risk.rulebook import retire_rule

    retired = retire_rule(open_engine(), _actor(user), rule_id)
    emit(as_json, [r.to_dict() for r in retired],
         lambda: out.print(f"rule {rule_id} retired ({len(retired)} version(s))", highlight=False))


@rules_app.command("backtest")
def backtest(
    rule_id: Annotated[str | None, typer.Argument(help="A stored rule (its latest version).")] = None,
    expr: Annotated[str | None, typer.Option("--expr", help="Or an expression not saved yet.")] = None,
    version: Annotated[int | None, typer.Option(help="Version of the stored rule (default: the latest).")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day of the window (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, included (YYYY-MM-DD).")] = None,
    user: AsOpt = None, as_json: JsonOpt = False,
) -> None:
    """How a rule would have done over past declarations: hits, load, hit rate on inspected ones, revenue
    found, and overlap with the approved rules. A backtest of a stored rule is recorded: approving a draft
    needs one of its version."""
    from cintel.risk.review import backtest_stored_rule, candidate_backtest
    from cintel.risk.rules import Rule

    if (rule_id is None) == (expr is None):
        raise UserError("give a RULE_ID or --expr, not both")
    if version is not None and rule_id is None:
        raise UserError("--version needs a RULE_ID")
    engine = open_engine()
    window = parse_window(start, end)
    if rule_id is not None:
        report = backtest_stored_rule(engine, _actor(user), rule_id, version, *window)
    else:
        report = candidate_backtest(engine, Rule("candidate", 1, expr or "", "candidate rule", default_user(),
                                                 weight=1.0), *window)

    def human() -> None:
        hit_rate = report["hit_rate"]
        out.print(f"{report['rule_id']}: {report['hits']:,} hits of {report['declarations']:,} declarations "
                  f"from {report['from']} to {report['to']} (load {report['load'] or 0:.2%}); "
                  f"{report['labelled']:,} inspected, {report['frauds']:,} frauds, "
                  f"hit rate {'n/a' if hit_rate is None else f'{hit_rate:.1%}'}; {report['new_hits']:,} hits no "
                  f"approved rule catches", highlight=False)
        if report["overlap"]:
            table(report["overlap"], ["rule_id", "shared", "share_of_candidate"], "overlap with approved rules")
        if "backtest_id" in report:
            out.print(f"recorded as backtest {report['backtest_id']} of v{report['version']}", highlight=False)
    emit(as_json, report, human)


@lookup_app.command("create")
def lookup_create(name: Annotated[str, typer.Argument(help="List name used in LOOKUP('name').")],
                  kind: Annotated[str, typer.Option(help="trader, declarant, country, hs_code, bl_number, other.")],
                  description: Annotated[str, typer.Option(help="What the list holds and why.")],
                  user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Creates an empty lookup list."""
    from cintel.risk.rulebook import create_lookup

    lookup = create_lookup(open_engine(), _actor(user), name, kind, description)
    emit(as_json, {"name": lookup.name, "kind": lookup.kind.value},
         lambda: out.print(f"lookup list {lookup.name} created", highlight=False))


@lookup_app.command("add")
def lookup_add(name: Annotated[str, typer.Argument(help="List name.")],
               values: Annotated[list[str], typer.Argument(help="Values to add.")],
               note: Annotated[str | None, typer.Option(help="Why they are added.")] = None,
               remove: Annotated[bool, typer.Option("--remove", help="Remove the values instead.")] = False,
               user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Adds values to a lookup list (or removes them with --remove)."""
    from cintel.risk.rulebook import add_lookup_values, remove_lookup_values

    engine = open_engine()
    if remove:
        n = remove_lookup_values(engine, name, values)
        emit(as_json, {"name": name, "removed": n}, lambda: out.print(f"{n} value(s) removed from {name}"))
    else:
        n = add_lookup_values(engine, _actor(user), name, values, note)
        emit(as_json, {"name": name, "added": n}, lambda: out.print(f"{n} value(s) added to {name}"))


@lookup_app.command("list")
def lookup_list(name: Annotated[str | None, typer.Argument(help="Show the values of this list.")] = None,
                as_json: JsonOpt = False) -> None:
    """Lists the lookup lists, or the values of one."""
    from cintel.risk.rulebook import list_lookups, lookup_values

    engine = open_engine()
    if name:
        values = lookup_values(engine, name)
        emit(as_json, {"name": name, "values": values}, lambda: out.print("\n".join(values), highlight=False))
        return
    lookups = [{"name": lk.name, "kind": lk.kind.value, "values": lk.values, "description": lk.description}
               for lk in list_lookups(engine)]
    emit(as_json, lookups, lambda: table(lookups, ["name", "kind", "values", "description"], "lookup lists"))


@profile_app.command("add")
def profile_add(name: Annotated[str, typer.Argument(help="Profile name.")],
                rule: Annotated[list[str] | None, typer.Option(help="Rule id to include (repeatable).")] = None,
                threat: Annotated[str | None, typer.Option(
                    help="Creates the profile: narcotics, undervaluation, ipr, origin, ...")] = None,
                description: Annotated[str, typer.Option(help="What the profile targets.")] = "",
                office: Annotated[list[str] | None, typer.Option(help="Office (repeatable).")] = None,
                user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Creates a profile (with --threat) and/or adds rules to it (--rule)."""
    from cintel.risk.rulebook import add_profile_rule, create_profile

    engine = open_engine()
    if threat:
        create_profile(engine, _actor(user), name, threat, description, office or None)
    for rule_id in rule or []:
        add_profile_rule(engine, name, rule_id)
    emit(as_json, {"name": name, "rules_added": rule or []}, lambda: out.print(f"profile {name} updated"))


@profile_app.command("list")
def profile_list(as_json: JsonOpt = False) -> None:
    """Lists the risk profiles with their threat, offices and rules."""
    from cintel.risk.rulebook import list_profiles

    rows = [{"name": p.name, "threat": p.threat.value, "offices": list(p.offices) if p.offices else None,
             "rules": list(p.rule_ids), "description": p.description} for p in list_profiles(open_engine())]
    emit(as_json, rows, lambda: table(rows, ["name", "threat", "offices", "rules", "description"], "profiles"))
