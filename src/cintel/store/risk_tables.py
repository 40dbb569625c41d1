"""Tables of the risk engine: rules and their versions, lookup lists, profiles, the model registry,
scoring runs with one assessment per declaration, and drift measurements.

Lists and structured values that are read and written whole (a rule's offices, a run's rule
versions, an assessment's reasons) are JSON text: they are never queried inside SQL.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from cintel.store.tables import metadata

risk_rules = Table(
    "risk_rules",
    metadata,
    Column("rule_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True, comment="1, 2, ...: every edit is a new version"),
    Column("expression", Text, nullable=False, comment="rule language expression (docs/rules.md)"),
    Column("reason", Text, nullable=False, comment="why the rule exists, shown to officers"),
    Column("weight", Double, comment="score added when the rule hits (weighted rules)"),
    Column("channel", String(8), comment="fixed channel when the rule hits (yellow or red)"),
    Column("author", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column("offices", Text, comment="JSON list of office codes in scope; null for all"),
    Column("regimes", Text, comment="JSON list of declaration types in scope; null for all"),
    Column("status", String(16), nullable=False, comment="draft, approved, retired"),
    Column("approved_by", String(64)),
    Column("approved_at", DateTime(timezone=True)),
    Column("approval_comment", Text, comment="what the approver noted when approving (migration 0012)"),
    Column("retired_by", String(64)),
    Column("retired_at", DateTime(timezone=True)),
)

risk_rule_backtests = Table(
    "risk_rule_backtests",
    metadata,
    Column("backtest_id", Integer, primary_key=True, autoincrement=True),
    Column("rule_id", String(64), nullable=False),
    Column("version", Integer, nullable=False, comment="the version replayed; approval needs one of its own"),
    Column("window_from", Date, nullable=False, comment="first day replayed"),
    Column("window_to", Date, nullable=False, comment="last day replayed, included"),
    Column("declarations", Integer, nullable=False),
    Column("hits", Integer, nullable=False),
    Column("labelled", Integer, nullable=False, comment="hits that were inspected"),
    Column("frauds", Integer, nullable=False, comment="inspected hits found irregular"),
    Column("revenue", Double, nullable=False, comment="additional duty found on the hits"),
    Column("new_hits", Integer, nullable=False, comment="hits no approved rule caught"),
    Column("overlap", Text, nullable=False, comment="JSON list of {rule_id, shared, share_of_candidate}"),
    Column("run_by", String(64), nullable=False),
    Column("run_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["rule_id", "version"], ["risk_rules.rule_id", "risk_rules.version"]),
    Index("ix_risk_rule_backtests_rule_version", "rule_id", "version"),
)

risk_rule_backtest_hits = Table(
    "risk_rule_backtest_hits",
    metadata,
    Column("backtest_id", Integer, ForeignKey("risk_rule_backtests.backtest_id"), primary_key=True),
    Column("declaration_id", String(64), primary_key=True),
    Column("declaration_date", Date, nullable=False),
    Column("is_fraud", Boolean, comment="what its inspection found (true: irregular); null if never inspected"),
    Column("revenue", Double, comment="additional duty its inspection found"),
    # The backtest page lists a run's hits newest first, a page at a time.
    Index("ix_risk_rule_backtest_hits_backtest_id_declaration_date", "backtest_id", "declaration_date"),
)

# Changes to the rulebook that take effect only once a second officer confirms them (four eyes): lookup values
# added or removed, a lookup list dropped, a rule retired. Automatic feeds (seizures, watch-list screening) are
# recorded here too, as applied at once ("automatic"). Never deleted: this is the history of every list and
# retirement, so the lookup and rule it names are kept by name, without a foreign key.
risk_rule_changes = Table(
    "risk_rule_changes",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False, comment="lookup_values, lookup_drop or retirement"),
    Column("lookup", String(64), comment="the lookup list changed or dropped"),
    Column("rule_id", String(64), comment="the rule to retire"),
    Column("additions", Text, nullable=False, comment="JSON list of the values to add"),
    Column("removals", Text, nullable=False, comment="JSON list of the values to remove"),
    Column("reason", Text, nullable=False, comment="why, as the requester gave it"),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, comment="pending, confirmed, refused, withdrawn or automatic"),
    Column("decided_by", String(64), comment="who confirmed or refused it (never the requester)"),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision_comment", Text, comment="the confirmer's or refuser's comment"),
    Column("effect", Text, comment="JSON: what confirming it did (values added and removed, versions retired)"),
    Index("ix_risk_rule_changes_status", "status"),
    Index("ix_risk_rule_changes_lookup", "lookup"),
    Index("ix_risk_rule_changes_rule_id", "rule_id"),
)

risk_lookups = Table(
    "risk_lookups",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("kind", String(32), nullable=False, comment="trader, declarant, country, hs_code, bl_number, other"),
    Column("description", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

risk_lookup_values = Table(
    "risk_lookup_values",
    metadata,
    Column("name", String(64), ForeignKey("risk_lookups.name"), primary_key=True),
    Column("value", String(128), primary_key=True),
    Column("note", Text),
    Column("added_by", String(64), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("change_id", Integer, ForeignKey("risk_rule_changes.change_id"),
           comment="the change that added it (null for values added before migration 0012)"),
)

risk_profiles = Table(
    "risk_profiles",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("threat", String(32), nullable=False, comment="narcotics, undervaluation, ipr, origin, ..."),
    Column("description", Text, nullable=False),
    Column("offices", Text, comment="JSON list of office codes; null for all"),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

risk_profile_rules = Table(
    "risk_profile_rules",
    metadata,
    Column("profile", String(64), ForeignKey("risk_profiles.name"), primary_key=True),
    Column("rule_id", String(64), primary_key=True),
)

risk_models = Table(
    "risk_models",
    metadata,
    Column("model_id", String(64), primary_key=True, comment="name-vN"),
    Column("name", String(32), nullable=False, comment="fraud (classifier) or revenue (regressor)"),
    Column("version", Integer, nullable=False),
    Column("kind", String(16), nullable=False, comment="classifier or regressor"),
    Column("status", String(16), nullable=False, comment="candidate, active, retired"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("train_from", Date, nullable=False),
    Column("train_to", Date, nullable=False),
    Column("valid_to", Date, nullable=False, comment="end of the validation window (early stopping, calibration)"),
    Column("test_to", Date, comment="end of the held-out test window"),
    Column("data_hash", String(64), nullable=False, comment="SHA-256 of the training frame"),
    Column("features", Text, nullable=False, comment="JSON list of feature names, in model order"),
    Column("categorical", Text, nullable=False, comment="JSON: categorical feature -> category list"),
    Column("params", Text, nullable=False, comment="JSON LightGBM parameters"),
    Column("metrics", Text, nullable=False, comment="JSON metrics on validation and test"),
    Column("calibration", Text, comment="JSON isotonic calibration points"),
    Column("booster", Text, nullable=False, comment="LightGBM model text"),
    UniqueConstraint("name", "version"),
)

risk_runs = Table(
    "risk_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False, comment="score or select"),
    Column("run_date", Date, nullable=False, comment="the day whose declarations were scored"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("model_id", String(64), comment="fraud model used, if any"),
    Column("revenue_model_id", String(64)),
    Column("rule_versions", Text, nullable=False, comment="JSON list of [rule_id, version] evaluated"),
    Column("parameters", Text, nullable=False, comment="JSON capacities, shares and seed"),
    Column("summary", Text, nullable=False, comment="JSON counts per channel and reason"),
)

risk_assessments = Table(
    "risk_assessments",
    metadata,
    Column("run_id", Integer, ForeignKey("risk_runs.run_id"), primary_key=True),
    Column("declaration_id", String(64), primary_key=True),
    Column("probability", Double, comment="calibrated fraud probability"),
    Column("expected_revenue", Double, comment="expected additional revenue if inspected"),
    Column("priority", Double, nullable=False, comment="value the ranking uses"),
    Column("rank", Integer, nullable=False, comment="1 = highest priority of the run"),
    Column("rule_score", Double, nullable=False, comment="sum of the weights of the rules hit"),
    Column("rule_hits", Text, nullable=False, comment="JSON list of [rule_id, version]"),
    Column("channel", String(8), nullable=False),
    Column("selection_reason", String(16), nullable=False, comment="rule, random, score, exploration, none"),
    Column("selection_detail", Text, comment="rule id, score rank or draw that selected it"),
    Column("reasons", Text, nullable=False, comment="JSON list of the top reasons in words"),
    # Stored when the run scores, so that the declaration page shows why without re-scoring (migration 0014).
    Column("explanation", Text, comment="JSON list of [feature, contribution to the log-odds of fraud or null "
           "for a rule, reason in words], strongest first; null for runs made before it was stored"),
    # What the queue shows and sorts by, as the run assessed the declaration.
    Column("customs_value", Double, comment="total customs value of the declaration's items"),
    Column("main_hs_code", String(10), comment="commodity code of the largest-value item"),
    Column("main_origin", String(2), comment="country of origin of the largest-value item"),
    Column("office_code", String(16), comment="customs office of lodgement"),
    Index("ix_risk_assessments_declaration_id", "declaration_id"),
    # The risk queue pages through one run sorted by any of its sort columns (ties by rank): each index serves
    # that ORDER BY ... LIMIT without sorting the run. declaration_id and channel are carried so that the
    # queue's filters (channel; EXISTS on items, declarations, assignments) are checked from the index, and
    # the row is read only for what passes.
    Index("ix_risk_assessments_run_rank", "run_id", "rank", "declaration_id", "channel"),
    Index("ix_risk_assessments_run_channel_rank", "run_id", "channel", "rank", "declaration_id"),
    Index("ix_risk_assessments_run_probability", "run_id", "probability", "rank", "declaration_id", "channel"),
    Index("ix_risk_assessments_run_expected_revenue", "run_id", "expected_revenue", "rank", "declaration_id",
          "channel"),
    Index("ix_risk_assessments_run_priority", "run_id", "priority", "rank", "declaration_id", "channel"),
    Index("ix_risk_assessments_run_rule_score", "run_id", "rule_score", "rank", "declaration_id", "channel"),
    *[Index(f"ix_risk_assessments_run_{column}", "run_id", column, "rank", "declaration_id", "channel")
      for column in ("customs_value", "main_hs_code", "main_origin", "office_code", "selection_reason")],
)

risk_drift = Table(
    "risk_drift",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", String(64), nullable=False),
    Column("week_start", Date, nullable=False),
    Column("name", String(128), nullable=False, comment="feature name, or 'score'"),
    Column("psi", Double, nullable=False, comment="population stability index against the training window"),
    Column("alert", Boolean, nullable=False),
    Column("measured_at", DateTime(timezone=True), nullable=False),
    Index("ix_risk_drift_model_week", "model_id", "week_start"),
)
