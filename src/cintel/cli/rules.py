"""`cintel rules`: write, check, approve and retire selectivity rules; manage lookup lists and profiles.

Register with `app.add_typer(rules_app, name="rules")`. Writing, approving, retiring, recorded backtests and
lookup or profile changes are a person's acts: the account is authenticated by its API token in CINTEL_TOKEN or
by `--as USER` and its password, and needs the roles the web workspace asks for the same act.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cintel.cli.common import (
    Act,
    AsOpt,
    JsonOpt,
    PasswordStdinOpt,
    UserError,
    acting_context,
    default_user,
    emit,
    out,
    parse_day,
    parse_window,
    table,
)
from cintel.cli.common import engine as open_engine
from cintel.risk.rulebook_policy import RULE_APPROVERS, RULE_EDITORS

if TYPE_CHECKING:
    from cintel.risk.rulebook_changes import Change
    from cintel.risk.rules import Rule

rules_app = typer.Typer(help="Selectivity rules: add, check, approve, retire; lookup lists and profiles.",
                        no_args_is_help=True)
lookup_app = typer.Typer(help="Lookup lists rules can use: importer_id IN LOOKUP('name').", no_args_is_help=True)
profile_app = typer.Typer(help="Risk profiles: rules grouped for a threat or an office.", no_args_is_help=True)
rules_app.add_typer(lookup_app, name="lookup")
rules_app.add_typer(profile_app, name="profile")


# The same roles as the workspace asks for the same acts (cintel.risk.rulebook_policy).
PURPOSE = "rule management"
WRITE = Act("writing a rule", PURPOSE, RULE_EDITORS)
APPROVE = Act("approving a rule", PURPOSE, RULE_APPROVERS)
RETIRE = Act("retiring a rule", PURPOSE, RULE_APPROVERS)
BACKTEST = Act("recording a backtest", PURPOSE, RULE_APPROVERS)
LOOKUP = Act("changing a lookup list", PURPOSE, RULE_EDITORS)
PROFILE = Act("changing a risk profile", PURPOSE, RULE_EDITORS)


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
    password_stdin: PasswordStdinOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Saves a rule as a draft after checking its expression, written by the authenticated targeting officer;
    another officer must approve it."""
    from cintel.risk.rulebook import add_rule

    if (weight is None) == (channel is None):
        raise UserError("give exactly one of --weight or --channel")
    engine = open_engine()
    rule = add_rule(engine, acting_context(engine, WRITE, user, password_stdin), rule_id, expr, reason,
                    weight=weight, channel=channel, valid_from=parse_day(valid_from, "--valid-from"),
                    valid_to=parse_day(valid_to, "--valid-to"), offices=office or None, regimes=regime or None)
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
            version: Annotated[int | None, typer.Option(
                help="Version to approve (default: the draft awaiting approval).")] = None,
            comment: Annotated[str | None, typer.Option(help="The approver's comment, kept with the approval.")] = None,
            user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Approves a draft so it scores declarations, with an optional comment: the authenticated approver
    (targeting officer or supervisor) must not be its author (four eyes), the draft must have been backtested
    (`cintel rules backtest RULE_ID`) and no newer version may be approved already."""
    from cintel.risk.rulebook import approve_rule

    engine = open_engine()
    rule = approve_rule(engine, acting_context(engine, APPROVE, user, password_stdin), rule_id, version,
                        comment=comment)
    emit(as_json, rule.to_dict(),
         lambda: out.print(f"rule {rule.rule_id} v{rule.version} approved by {rule.approved_by}", highlight=False))


@rules_app.command("retire")
def retire(rule_id: Annotated[str, typer.Argument(help="Rule id.")],
           reason: Annotated[str, typer.Option(help="Why the rule should stop scoring (kept with the request).")],
           user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Asks for a rule's retirement (all its versions), as an authenticated targeting officer or supervisor: a
    rule with an approved version stops scoring once another officer confirms (`cintel rules changes confirm
    ID`); a rule never approved is retired at once. Its history stays for audit and backtests."""
    from cintel.risk.rulebook_changes import request_retirement

    engine = open_engine()
    change = request_retirement(engine, acting_context(engine, RETIRE, user, password_stdin), rule_id, reason)
    emit(as_json, change.to_dict(), lambda: _told(change))


@rules_app.command("backtest")
def backtest(
    rule_id: Annotated[str | None, typer.Argument(help="A stored rule (its latest version).")] = None,
    expr: Annotated[str | None, typer.Option("--expr", help="Or an expression not saved yet.")] = None,
    version: Annotated[int | None, typer.Option(help="Version of the stored rule (default: the latest).")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day of the window (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, included (YYYY-MM-DD).")] = None,
    user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False,
) -> None:
    """How a rule would have done over past declarations: hits, load, hit rate on inspected ones, revenue
    found, and overlap with the approved rules. A backtest of a stored rule is recorded, by an authenticated
    targeting officer or supervisor: approving a draft needs one of its version."""
    from cintel.risk.review import backtest_stored_rule, candidate_backtest
    from cintel.risk.rules import Rule

    if (rule_id is None) == (expr is None):
        raise UserError("give a RULE_ID or --expr, not both")
    if version is not None and rule_id is None:
        raise UserError("--version needs a RULE_ID")
    engine = open_engine()
    window = parse_window(start, end)
    if rule_id is not None:
        report = backtest_stored_rule(engine, acting_context(engine, BACKTEST, user, password_stdin), rule_id,
                                      version, *window)
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
                  user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Creates an empty lookup list (an authenticated targeting officer)."""
    from cintel.risk.rulebook import create_lookup

    engine = open_engine()
    lookup = create_lookup(engine, acting_context(engine, LOOKUP, user, password_stdin), name, kind, description)
    emit(as_json, {"name": lookup.name, "kind": lookup.kind.value},
         lambda: out.print(f"lookup list {lookup.name} created", highlight=False))


@lookup_app.command("add")
def lookup_add(name: Annotated[str, typer.Argument(help="List name.")],
               values: Annotated[list[str], typer.Argument(help="Values to add.")],
               reason: Annotated[str, typer.Option("--reason", "--note", help="Why (kept with the change).")],
               remove: Annotated[bool, typer.Option("--remove", help="Remove the values instead.")] = False,
               user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Asks for values to be added to a lookup list (or removed with --remove), as an authenticated targeting
    officer, with a reason: they take effect once another officer confirms (`cintel rules changes confirm
    ID`)."""
    from cintel.risk.rulebook_changes import request_lookup_change

    engine = open_engine()
    actor = acting_context(engine, LOOKUP, user, password_stdin)
    change = request_lookup_change(engine, actor, name, add=() if remove else values, remove=values if remove else (),
                                   reason=reason)
    emit(as_json, change.to_dict(), lambda: _told(change))


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
                user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Creates a profile (with --threat) and/or adds rules to it (--rule), as an authenticated targeting
    officer."""
    from cintel.risk.rulebook import add_profile_rule, create_profile

    engine = open_engine()
    actor = acting_context(engine, PROFILE, user, password_stdin)
    if threat:
        create_profile(engine, actor, name, threat, description, office or None)
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


# ---------------------------------------------------------------- four-eyes changes: lookups and retirements

changes_app = typer.Typer(help="Rulebook changes that wait for a second officer: lookup changes and retirements.",
                          no_args_is_help=True)
rules_app.add_typer(changes_app, name="changes")
DECIDE = Act("deciding on a rulebook change", PURPOSE, RULE_APPROVERS)
DROP = Act("dropping a lookup list", PURPOSE, RULE_EDITORS)


def _told(change: Change) -> None:
    """One line on a change: what it does, its number and what happens next."""
    if change.pending:
        out.print(f"change #{change.change_id} asked for: {change.summary}; it takes effect once another officer "
                  f"confirms it (cintel rules changes confirm {change.change_id})", highlight=False, soft_wrap=True)
    else:
        by = f" by {change.decided_by}" if change.decided_by else ""
        out.print(f"change #{change.change_id} {change.status.value}{by}: {change.summary}", highlight=False,
                  soft_wrap=True)


def _changes_table(changes: list[Change]) -> None:
    rows = [{"change": c.change_id, "status": c.status.value, "what": c.summary, "reason": c.reason,
             "asked_by": c.requested_by, "decided_by": c.decided_by or "", "comment": c.decision_comment or ""}
            for c in changes]
    table(rows, ["change", "status", "what", "reason", "asked_by", "decided_by", "comment"], "rulebook changes")


@lookup_app.command("drop")
def lookup_drop(name: Annotated[str, typer.Argument(help="List name.")],
                reason: Annotated[str, typer.Option(help="Why the list goes (kept with the change).")],
                user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Asks for a lookup list to be dropped with its values (refused while a rule not retired names it); it goes
    once another officer confirms. Its history stays."""
    from cintel.risk.rulebook_changes import request_lookup_drop

    engine = open_engine()
    change = request_lookup_drop(engine, acting_context(engine, DROP, user, password_stdin), name, reason=reason)
    emit(as_json, change.to_dict(), lambda: _told(change))


@changes_app.command("pending")
def changes_pending(lookup: Annotated[str | None, typer.Option(help="Only this lookup list's.")] = None,
                    rule: Annotated[str | None, typer.Option(help="Only this rule's.")] = None,
                    as_json: JsonOpt = False) -> None:
    """Lists the changes waiting for a second officer, newest first."""
    from cintel.risk.rulebook_changes import pending_changes

    changes = pending_changes(open_engine(), lookup=lookup, rule_id=rule)
    emit(as_json, [c.to_dict() for c in changes], lambda: _changes_table(changes))


@changes_app.command("history")
def changes_history(lookup: Annotated[str | None, typer.Option(help="Only this lookup list's.")] = None,
                    rule: Annotated[str | None, typer.Option(help="Only this rule's.")] = None,
                    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 200,
                    as_json: JsonOpt = False) -> None:
    """Lists rulebook changes, newest first, with who asked, why, and who confirmed or refused them."""
    from cintel.risk.rulebook_changes import list_changes

    changes = list_changes(open_engine(), lookup=lookup, rule_id=rule, limit=limit)
    emit(as_json, [c.to_dict() for c in changes], lambda: _changes_table(changes))


@changes_app.command("confirm")
def changes_confirm(change_id: Annotated[int, typer.Argument(help="The change's number.")],
                    comment: Annotated[str | None, typer.Option(help="The confirmer's comment.")] = None,
                    user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Confirms a pending change, which takes effect now: an authenticated targeting officer or supervisor
    other than the one who asked for it (four eyes)."""
    from cintel.risk.rulebook_changes import confirm_change

    engine = open_engine()
    change = confirm_change(engine, acting_context(engine, DECIDE, user, password_stdin), change_id, comment)
    emit(as_json, change.to_dict(), lambda: _told(change))


@changes_app.command("refuse")
def changes_refuse(change_id: Annotated[int, typer.Argument(help="The change's number.")],
                   comment: Annotated[str, typer.Option(help="Why it is refused (kept with the change).")],
                   user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Refuses a pending change, saying why; nothing changes. Another officer than the one who asked."""
    from cintel.risk.rulebook_changes import refuse_change

    engine = open_engine()
    change = refuse_change(engine, acting_context(engine, DECIDE, user, password_stdin), change_id, comment)
    emit(as_json, change.to_dict(), lambda: _told(change))


@changes_app.command("withdraw")
def changes_withdraw(change_id: Annotated[int, typer.Argument(help="The change's number.")],
                     user: AsOpt = None, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Takes back a pending change one asked for; nothing changes."""
    from cintel.risk.rulebook_changes import withdraw_change

    engine = open_engine()
    change = withdraw_change(engine, acting_context(engine, DECIDE, user, password_stdin), change_id)
    emit(as_json, change.to_dict(), lambda: _told(change))
