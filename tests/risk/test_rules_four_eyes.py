"""Four eyes beyond approval, on every back end: a lookup change or the retirement of an approved rule is asked
for by one officer with a reason and takes effect only when another officer confirms it; refusals and
withdrawals are recorded; scoring reads only the values in effect."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, select

from cintel.domain.access import AccessContext
from cintel.domain.codes import Channel
from cintel.domain.roles import Role
from cintel.risk.lookups import automatic_change
from cintel.risk.rulebook import (
    RulebookError,
    active_rules,
    add_lookup_values,
    add_rule,
    approve_rule,
    create_lookup,
    load_lookups,
    lookup_values,
    rule_versions,
)
from cintel.risk.rulebook_changes import (
    ChangeStatus,
    confirm_change,
    confirm_lookup_change,
    confirm_retirement,
    list_changes,
    pending_changes,
    refuse_change,
    request_lookup_change,
    request_lookup_drop,
    request_retirement,
    withdraw_change,
)
from cintel.risk.rules import RuleStatus, score_declaration
from cintel.store.risk_tables import risk_lookup_values, risk_rule_changes
from tests.risk.conftest import backtested

ANN = AccessContext(user="ann", purpose="targeting", roles=frozenset({Role.TARGETING_OFFICER}))
TOM = AccessContext(user="tom", purpose="targeting", roles=frozenset({Role.TARGETING_OFFICER}))
BOB = AccessContext(user="bob", purpose="targeting", roles=frozenset({Role.SUPERVISOR}))
IVAN = AccessContext(user="ivan", purpose="inspection", roles=frozenset({Role.INSPECTOR}))
DAY = date(2025, 3, 3)
WATCHED = "importer_id IN LOOKUP('watch')"


def _item(importer: str) -> dict[str, object]:
    return {"declaration_id": f"D-{importer}", "declaration_date": DAY, "importer_id": importer,
            "office_code": "NLRTM", "declaration_type": "IM"}


def _channel(engine: Engine, importer: str) -> Channel | None:
    """The channel the approved rules give a declaration of ``importer`` today, with the values in effect."""
    return score_declaration(active_rules(engine, DAY), [_item(importer)], load_lookups(engine)).channel


def _watch_list_rule(engine: Engine, *values: str) -> None:
    """A watch list holding ``values`` (asked by ann, confirmed by bob) and an approved fixed-red rule on it."""
    create_lookup(engine, ANN, "watch", "trader", "parties on a sanctions list")
    confirm_lookup_change(engine, BOB, request_lookup_change(engine, ANN, "watch", add=values,
                                                             reason="listed by the OFAC release of March").change_id)
    add_rule(engine, ANN, "WATCH", WATCHED, "a listed party is always inspected", channel="red")
    backtested(engine, "WATCH")
    approve_rule(engine, BOB, "WATCH")


def test_one_officer_removing_a_watch_list_value_no_longer_stops_a_fixed_red_rule(engine: Engine) -> None:
    _watch_list_rule(engine, "T1", "T2")
    assert _channel(engine, "T1") is Channel.RED
    change = request_lookup_change(engine, TOM, "watch", remove=["T1"], reason="T1 was delisted")
    assert change.status is ChangeStatus.PENDING
    assert lookup_values(engine, "watch") == ["T1", "T2"]
    assert _channel(engine, "T1") is Channel.RED  # the pending removal does not score
    assert [c.change_id for c in pending_changes(engine, lookup="watch")] == [change.change_id]
    confirmed = confirm_lookup_change(engine, ANN, change.change_id, "checked the release notice")
    assert (confirmed.status, confirmed.decided_by, confirmed.effect) == (
        ChangeStatus.CONFIRMED, "ann", {"added": 0, "removed": 1})
    assert _channel(engine, "T1") is None
    assert _channel(engine, "T2") is Channel.RED
    history = list_changes(engine, lookup="watch")
    assert [(c.requested_by, c.reason, c.status, c.decided_by, c.decision_comment) for c in history] == [
        ("tom", "T1 was delisted", ChangeStatus.CONFIRMED, "ann", "checked the release notice"),
        ("ann", "listed by the OFAC release of March", ChangeStatus.CONFIRMED, "bob", None)]
    assert pending_changes(engine) == []


def test_values_added_by_a_confirmed_change_say_which_change_and_who_asked(engine: Engine) -> None:
    _watch_list_rule(engine, "T1")
    (first,) = list_changes(engine, lookup="watch")
    with engine.connect() as conn:
        row = conn.execute(select(risk_lookup_values).where(risk_lookup_values.c.value == "T1")).mappings().one()
    assert (row["added_by"], row["note"], row["change_id"]) == ("ann", "listed by the OFAC release of March",
                                                                first.change_id)


def test_the_requester_cannot_confirm_or_refuse_their_own_change(engine: Engine) -> None:
    create_lookup(engine, ANN, "watch", "trader", "parties on a sanctions list")
    change = request_lookup_change(engine, ANN, "watch", add=["T1"], reason="listed")
    with pytest.raises(RulebookError, match="another officer must confirm it"):
        confirm_change(engine, ANN, change.change_id)
    with pytest.raises(RulebookError, match="another officer must refuse it"):
        refuse_change(engine, ANN, change.change_id, "no")
    assert lookup_values(engine, "watch") == []
    assert [c.status for c in pending_changes(engine)] == [ChangeStatus.PENDING]


def test_a_change_without_a_reason_is_refused_and_nothing_is_recorded(engine: Engine) -> None:
    _watch_list_rule(engine, "T1")
    before = len(list_changes(engine))
    for reason in ("", "   "):
        with pytest.raises(RulebookError, match="give the reason") as refused:
            request_lookup_change(engine, ANN, "watch", remove=["T1"], reason=reason)
        assert refused.value.field == "reason"
        with pytest.raises(RulebookError, match="give the reason"):
            request_retirement(engine, BOB, "WATCH", reason)
    with pytest.raises(RulebookError, match="give the reason for refusing"):
        refuse_change(engine, BOB, request_lookup_change(engine, ANN, "watch", add=["T9"], reason="x").change_id, "")
    assert len(list_changes(engine)) == before + 1
    assert lookup_values(engine, "watch") == ["T1"]


def test_a_single_officer_cannot_retire_an_approved_rule(engine: Engine) -> None:
    _watch_list_rule(engine, "T1")
    change = request_retirement(engine, ANN, "WATCH", "the watch list moves to the screening module")
    assert change.status is ChangeStatus.PENDING
    assert [r.key for r in active_rules(engine, DAY)] == [("WATCH", 1)]
    assert _channel(engine, "T1") is Channel.RED
    with pytest.raises(RulebookError, match="another officer must confirm"):
        confirm_retirement(engine, ANN, change.change_id)
    with pytest.raises(RulebookError, match="already asked for"):
        request_retirement(engine, TOM, "WATCH", "again")
    done = confirm_retirement(engine, BOB, change.change_id, "agreed at the targeting meeting")
    assert done.effect == {"retired_versions": [1]}
    assert active_rules(engine, DAY) == []
    assert [(r.status, r.retired_by) for r in rule_versions(engine, "WATCH")] == [(RuleStatus.RETIRED, "bob")]
    with pytest.raises(RulebookError, match="already retired"):
        request_retirement(engine, TOM, "WATCH", "once more")


def test_a_refused_retirement_changes_nothing_and_is_kept(engine: Engine) -> None:
    _watch_list_rule(engine, "T1")
    change = request_retirement(engine, ANN, "WATCH", "too many hits")
    refused = refuse_change(engine, TOM, change.change_id, "the hits are the point")
    assert (refused.status, refused.decided_by, refused.decision_comment) == (
        ChangeStatus.REFUSED, "tom", "the hits are the point")
    assert [r.status for r in rule_versions(engine, "WATCH")] == [RuleStatus.APPROVED]
    with pytest.raises(RulebookError, match="is refused, not pending"):
        confirm_change(engine, BOB, change.change_id)
    assert [c.status for c in list_changes(engine, rule_id="WATCH")] == [ChangeStatus.REFUSED]


def test_a_rule_never_approved_is_retired_at_once_with_its_reason(engine: Engine) -> None:
    add_rule(engine, ANN, "IDEA", "customs_value > 10", "an idea", weight=0.1)
    change = request_retirement(engine, ANN, "IDEA", "abandoned")
    assert (change.status, change.effect) == (ChangeStatus.APPLIED, {"retired_versions": [1]})
    assert [(r.status, r.retired_by) for r in rule_versions(engine, "IDEA")] == [(RuleStatus.RETIRED, "ann")]
    assert list_changes(engine, rule_id="IDEA")[0].reason == "abandoned"


def test_only_approvers_decide_and_only_targeting_officers_ask_for_lookup_changes(engine: Engine) -> None:
    create_lookup(engine, ANN, "watch", "trader", "parties on a sanctions list")
    with pytest.raises(RulebookError, match="needs the role targeting_officer; bob has supervisor"):
        request_lookup_change(engine, BOB, "watch", add=["T1"], reason="listed")
    change = request_lookup_change(engine, ANN, "watch", add=["T1"], reason="listed")
    with pytest.raises(RulebookError, match="confirming a rulebook change needs the role"):
        confirm_change(engine, IVAN, change.change_id)
    with pytest.raises(RulebookError, match="ivan has inspector"):
        refuse_change(engine, IVAN, change.change_id, "no")
    assert confirm_change(engine, TOM, change.change_id).status is ChangeStatus.CONFIRMED  # a second officer


def test_only_the_requester_withdraws_a_pending_change(engine: Engine) -> None:
    create_lookup(engine, ANN, "watch", "trader", "parties on a sanctions list")
    change = request_lookup_change(engine, ANN, "watch", add=["T1"], reason="listed")
    with pytest.raises(RulebookError, match="only they can withdraw it"):
        withdraw_change(engine, BOB, change.change_id)
    assert withdraw_change(engine, ANN, change.change_id).status is ChangeStatus.WITHDRAWN
    with pytest.raises(RulebookError, match="is withdrawn, not pending"):
        confirm_change(engine, BOB, change.change_id)
    assert lookup_values(engine, "watch") == []


def test_a_change_is_decided_once(engine: Engine) -> None:
    create_lookup(engine, ANN, "watch", "trader", "parties on a sanctions list")
    change = request_lookup_change(engine, ANN, "watch", add=["T1"], reason="listed")
    confirm_change(engine, BOB, change.change_id)
    with pytest.raises(RulebookError, match="is confirmed, not pending"):
        confirm_change(engine, TOM, change.change_id)
    with engine.connect() as conn:
        assert conn.execute(select(risk_rule_changes.c.decided_by)
                            .where(risk_rule_changes.c.change_id == change.change_id)).scalar() == "bob"


@pytest.mark.parametrize(("add", "remove", "message"), [
    ((), (), "at least one value"),
    (("T1",), ("T1",), "'T1' cannot be both added and removed"),
    ((), ("T9",), "'T9' is not on lookup list 'watch'"),
    (("T1",), (), "every value is already on lookup list 'watch'"),
    (("x" * 129,), (), "longer than 128 characters"),
    (("T\ud800",), (), "lone surrogate"),
])
def test_a_lookup_change_that_cannot_be_right_is_refused(engine: Engine, add: tuple[str, ...],
                                                          remove: tuple[str, ...], message: str) -> None:
    _watch_list_rule(engine, "T1")
    with pytest.raises(RulebookError, match=message) as refused:
        request_lookup_change(engine, TOM, "watch", add=add, remove=remove, reason="r")
    assert refused.value.field == "values"
    with pytest.raises(RulebookError, match="no lookup list 'nope'"):
        request_lookup_change(engine, TOM, "nope", add=["T1"], reason="r")


def test_a_list_a_rule_names_cannot_be_dropped_and_an_unused_one_is_dropped_with_four_eyes(engine: Engine) -> None:
    _watch_list_rule(engine, "T1")
    with pytest.raises(RulebookError, match=r"named by WATCH \(approved\): retire those rules first"):
        request_lookup_drop(engine, ANN, "watch", reason="replaced")
    create_lookup(engine, ANN, "old", "country", "an old list")
    confirm_change(engine, BOB, request_lookup_change(engine, ANN, "old", add=["CN"], reason="start").change_id)
    waiting = request_lookup_change(engine, TOM, "old", add=["VN"], reason="more")
    drop = request_lookup_drop(engine, ANN, "old", reason="nobody uses it")
    assert "old" in load_lookups(engine)
    dropped = confirm_change(engine, BOB, drop.change_id)
    assert dropped.effect == {"removed": 1}
    assert "old" not in load_lookups(engine)
    statuses = {c.change_id: c.status for c in list_changes(engine, lookup="old")}  # the history stays
    assert statuses[waiting.change_id] is ChangeStatus.WITHDRAWN
    assert statuses[drop.change_id] is ChangeStatus.CONFIRMED


def test_a_rule_written_while_a_drop_waits_makes_the_confirmation_fail(engine: Engine) -> None:
    create_lookup(engine, ANN, "old", "country", "an old list")
    drop = request_lookup_drop(engine, ANN, "old", reason="nobody uses it")
    add_rule(engine, TOM, "NEW", "country_of_dispatch IN LOOKUP('old')", "uses it after all", weight=0.1)
    with pytest.raises(RulebookError, match=r"named by NEW \(draft\)"):
        confirm_change(engine, BOB, drop.change_id)
    assert [c.status for c in pending_changes(engine)] == [ChangeStatus.PENDING]  # rolled back, still waiting


def test_an_automatic_feed_applies_at_once_and_is_recorded(engine: Engine) -> None:
    create_lookup(engine, ANN, "seized", "trader", "importers with goods seized")
    assert add_lookup_values(engine, ANN, "seized", ["T1", "T2"], note="seizures before 2025-03-01") == 2
    (change,) = list_changes(engine, lookup="seized")
    assert (change.status, change.requested_by, change.reason, change.additions, change.effect) == (
        ChangeStatus.APPLIED, "ann", "seizures before 2025-03-01", ["T1", "T2"], {"added": 2, "removed": 0})


def test_a_feed_removing_what_a_publisher_delisted_is_recorded_with_its_reason(engine: Engine) -> None:
    create_lookup(engine, ANN, "listed", "trader", "parties matching a watch list")
    add_lookup_values(engine, ANN, "listed", ["T1", "T2"], note="screening")
    with engine.begin() as conn:
        effect = automatic_change(conn, ANN, "listed", remove=["T1", "T9"], reason="release 2025-03 delisted E-7")
    assert effect == {"added": 0, "removed": 1}
    assert lookup_values(engine, "listed") == ["T2"]
    latest = list_changes(engine, lookup="listed")[0]
    assert (latest.status, latest.removals, latest.reason) == (ChangeStatus.APPLIED, ["T1", "T9"],
                                                               "release 2025-03 delisted E-7")
