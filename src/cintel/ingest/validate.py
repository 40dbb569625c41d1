"""Vectorised validation and standardisation of record chunks.

`validate(frame, fmt)` takes a chunk as read (strings, or typed columns from Parquet) with a
`_row` column of source row numbers, and returns the standardised, typed frame and a frame of
problems, one row per (source row, field, code, message). It never raises on bad values:
everything wrong with a value becomes a problem a clerk can read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl

from cintel.domain.codes import HS_CHAPTERS, country_codes, currency_codes
from cintel.domain.records import Field, FieldKind, RecordFormat, RecordKind
from cintel.ingest.check_digits import container_is_valid, iban_is_valid, imo_is_valid
from cintel.ingest.problems import Problem
from cintel.settings import get_settings
from cintel.store.tables import RAW_KEPT, stored_columns

K = FieldKind
ROW = "_row"
PROBLEM_SCHEMA = {ROW: pl.Int64, "field": pl.String, "code": pl.String, "message": pl.String}
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
FORMULA = r"^[=@]|^[+\-][^0-9\s.,]"
TRUE_WORDS = {"true", "t", "yes", "y", "1"}
FALSE_WORDS = {"false", "f", "no", "n", "0"}


@dataclass
class Validated:
    clean: pl.DataFrame
    problems: pl.DataFrame


def _shown(expr: pl.Expr) -> pl.Expr:
    """The offending value as shown in a one-line message: control characters replaced, cut to 40 characters."""
    text = expr.cast(pl.String).str.replace_all(r"[\x00-\x1f\x7f]", "\ufffd")
    return pl.when(text.str.len_chars() > 40).then(text.str.slice(0, 40) + "…").otherwise(text)


class _Collector:
    """Gathers checks as expressions and runs them all in one pass over the chunk.

    Problems are rare, so messages are only computed for the few rows where a check fired.
    """

    def __init__(self) -> None:
        self.checks: list[tuple[pl.Expr, str, Problem, pl.Expr]] = []

    def add(self, mask: pl.Expr, field: str, code: Problem, message: pl.Expr | str) -> None:
        msg = message if isinstance(message, pl.Expr) else pl.lit(message)
        self.checks.append((mask.fill_null(False), field, code, msg))

    def run(self, frame: pl.DataFrame) -> pl.DataFrame:
        if not self.checks:
            return pl.DataFrame(schema=PROBLEM_SCHEMA)
        flags = [f"_check{i}" for i in range(len(self.checks))]
        flagged = frame.lazy().with_columns(
            mask.alias(flag) for flag, (mask, *_) in zip(flags, self.checks, strict=True)
        ).filter(pl.any_horizontal(flags)).collect()
        parts = [
            flagged.filter(pl.col(flag)).select(
                pl.col(ROW).cast(pl.Int64), pl.lit(field).alias("field"), pl.lit(code.value).alias("code"),
                message.cast(pl.String).alias("message"),
            )
            for flag, (_, field, code, message) in zip(flags, self.checks, strict=True)
            if flagged.height and flagged[flag].any()
        ]
        return pl.concat(parts) if parts else pl.DataFrame(schema=PROBLEM_SCHEMA)


def _text(frame: pl.DataFrame, name: str) -> pl.Expr:
    """The column as trimmed text with empty values as null."""
    col = pl.col(name)
    if frame.schema[name] != pl.String:
        col = col.cast(pl.String)
    col = col.str.strip_chars()
    return pl.when(col == "").then(None).otherwise(col)


def _in_set(expr: pl.Expr, values: frozenset[str]) -> pl.Expr:
    return expr.is_in(sorted(values))


def _standardised_text(expr: pl.Expr) -> pl.Expr:
    return expr.str.normalize("NFC").str.replace_all(r"\s+", " ").str.strip_chars()


def _hs_digits(expr: pl.Expr) -> pl.Expr:
    """Removes the separators of the written form 8517.12.00; anything else (a float like 85171200.0)
    stays as it is and fails the check instead of becoming another code."""
    grouped = expr.str.contains(r"^[0-9]{4}([.\s]?[0-9]{2}){1,3}$")
    return pl.when(grouped).then(expr.str.replace_all(r"[.\s]", "")).otherwise(expr)


def _locode_ok(expr: pl.Expr) -> pl.Expr:
    return expr.str.contains(r"^[A-Z]{2}[A-Z2-9]{3}$") & _in_set(expr.str.slice(0, 2), country_codes())


def _split_list(expr: pl.Expr, clean: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """A ';'-separated list with each element cleaned and empty elements dropped."""
    return expr.str.split(";").list.eval(clean(pl.element())).list.eval(
        pl.element().filter(pl.element().is_not_null() & (pl.element() != ""))
    )


def _standardised_entry(expr: pl.Expr) -> pl.Expr:
    """One entry of an ENTRY_LIST: standardised text without spaces around its ':' separators."""
    return _standardised_text(expr).str.replace_all(r" ?: ?", ":")


def entry_expected(f: Field) -> str:
    """What an entry of ``f`` must look like, for messages."""
    numbers = ", ".join(f.numeric_parts[:-1]) + " and " + f.numeric_parts[-1] if len(f.numeric_parts) > 1 \
        else "".join(f.numeric_parts)
    shape = f"{':'.join(p.upper() for p in f.parts)}, starting with the {f.parts[0]}"
    return f"{shape}, with {numbers} as numbers of 0 or more" if numbers else shape


def _bad_entry(entry: pl.Expr, f: Field) -> pl.Expr:
    """An entry without its first part (the type), or with a numeric part that is not a number >= 0."""
    parts = entry.str.splitn(":", len(f.parts))
    bad = entry.str.starts_with(":")
    for part in f.numeric_parts:
        value = parts.struct.field(f"field_{f.parts.index(part)}")
        number = value.cast(pl.Float64, strict=False)
        given = value.is_not_null() & (value != "")
        bad = bad | (given & (number.is_null() | ~number.is_finite() | (number < 0)).fill_null(True))
    return bad


def _number(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = frame.schema[name]
    if dtype.is_numeric():
        return pl.col(name).cast(pl.Float64)
    return _text(frame, name).cast(pl.Float64, strict=False)


def _check_field(frame: pl.DataFrame, f: Field, out: _Collector, today: date) -> list[pl.Expr]:
    """Checks one field; returns the expressions producing its standardised column(s)."""
    settings = get_settings()
    name = f.name
    text = _text(frame, name)
    shown = _shown(text)
    present = text.is_not_null()
    if not f.nullable:
        out.add(text.is_null(), name, Problem.MISSING_VALUE, f"{name} is required but empty")

    if f.kind in (K.ID, K.NAME, K.TEXT, K.LIST, K.ENTRY_LIST, K.CODE, K.EMAIL):
        out.add(text.str.contains(CONTROL), name, Problem.CONTROL_CHARACTER,
                f"{name} contains control characters; remove them")
    if f.kind in (K.ID, K.NAME, K.TEXT, K.LIST, K.ENTRY_LIST):
        out.add(text.str.contains(FORMULA), name, Problem.FORMULA_PREFIX,
                pl.format("{} '{}' starts like a spreadsheet formula; remove the leading sign", pl.lit(name),
                          shown))
    if f.kind in (K.ID, K.NAME, K.TEXT, K.LIST, K.ENTRY_LIST, K.EMAIL):
        out.add(text.str.len_chars() > f.max_length, name, Problem.TOO_LONG,
                pl.format("{} has {} characters; at most {} are allowed", pl.lit(name),
                          text.str.len_chars(), pl.lit(f.max_length)))

    if f.kind is K.HS_CODE and frame.schema[name].is_numeric():
        # A number loses an HS code's leading zeros (0101 becomes 101): never guess it back.
        out.add(present, name, Problem.INVALID_HS_CODE,
                pl.format("{} {} was stored as a number in the file, which loses leading zeros; "
                          "send HS codes as text", pl.lit(name), shown))

    if f.kind is K.ID:
        return [text.alias(name)]

    if f.kind is K.ENTRY_LIST:
        entries = _split_list(text, _standardised_entry)
        bad = entries.list.eval(pl.element().filter(_bad_entry(pl.element(), f))).list.join(";")
        out.add(present & (bad != ""), name, Problem.INVALID_ENTRY,
                pl.format("{} has '{}', which is not {}", pl.lit(name), _shown(bad), pl.lit(entry_expected(f))))
        std = entries.list.join(";").replace("", None)
        raw = pl.col(name).cast(pl.String)
        return [std.alias(name), pl.when(raw != std).then(raw).otherwise(None).alias(f"{name}_raw")]

    if f.kind in RAW_KEPT:
        std = _split_list(text, _standardised_text).list.join(";") if f.kind is K.LIST \
            else _standardised_text(text)
        raw = pl.col(name).cast(pl.String)
        return [std.alias(name), pl.when(raw != std).then(raw).otherwise(None).alias(f"{name}_raw")]

    if f.kind is K.CODE:
        assert f.codes is not None
        mapping = {c.upper(): c for c in f.codes.codes()}
        value = text.str.to_uppercase().replace_strict(mapping, default=None, return_dtype=pl.String)
        allowed = ", ".join(f.codes.codes())
        out.add(present & value.is_null(), name, Problem.INVALID_CODE,
                pl.format("{} '{}' is not one of: {}", pl.lit(name), shown, pl.lit(allowed)))
        return [value.alias(name)]

    if f.kind is K.DATE:
        dtype = frame.schema[name]
        if dtype == pl.Date:
            value = pl.col(name)
        elif isinstance(dtype, pl.Datetime):
            value = pl.col(name).dt.date()
        else:
            value = text.str.to_date("%Y-%m-%d", strict=False)
        out.add(present & value.is_null(), name, Problem.INVALID_DATE,
                pl.format("{} '{}' is not a date in the form YYYY-MM-DD", pl.lit(name), shown))
        out.add(value > pl.lit(today), name, Problem.DATE_IN_FUTURE,
                pl.format("{} {} is in the future", pl.lit(name), value))
        earliest = f.earliest or settings.min_date
        out.add(value < pl.lit(earliest), name, Problem.DATE_TOO_OLD,
                pl.format("{} {} is before {}", pl.lit(name), value, pl.lit(str(earliest))))
        return [value.alias(name)]

    if f.kind is K.DATETIME:
        dtype = frame.schema[name]
        if isinstance(dtype, pl.Datetime):
            value = pl.col(name).dt.replace_time_zone("UTC") if dtype.time_zone is None \
                else pl.col(name).dt.convert_time_zone("UTC")
        else:
            value = pl.coalesce(
                text.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="us")
                for fmt in ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f")
            )
        out.add(present & value.is_null(), name, Problem.INVALID_DATETIME,
                pl.format("{} '{}' is not an ISO 8601 time such as 2024-05-01T13:45:00Z", pl.lit(name), shown))
        # A day of slack absorbs clock skew between the sender and us.
        tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
        out.add(value > pl.lit(tomorrow), name, Problem.DATE_IN_FUTURE,
                pl.format("{} {} is in the future", pl.lit(name), value))
        out.add(value < pl.lit(datetime.combine(settings.min_date, datetime.min.time(), UTC)), name,
                Problem.DATE_TOO_OLD, pl.format("{} {} is too old", pl.lit(name), value))
        return [value.alias(name)]

    if f.kind in (K.INTEGER, K.DECIMAL, K.LATITUDE, K.LONGITUDE):
        value = _number(frame, name)
        out.add(present & value.is_null(), name, Problem.INVALID_NUMBER,
                pl.format("{} '{}' is not a number (use '.' as the decimal separator)", pl.lit(name), shown))
        finite = value.is_finite()
        out.add(value.is_not_null() & ~finite, name, Problem.NOT_FINITE,
                pl.format("{} '{}' is not a finite number", pl.lit(name), shown))
        ok = value.is_not_null() & finite
        if f.kind in (K.LATITUDE, K.LONGITUDE):
            limit = 90.0 if f.kind is K.LATITUDE else 180.0
            out.add(ok & (value.abs() > limit), name, Problem.INVALID_COORDINATE,
                    pl.format("{} {} is outside ±{}", pl.lit(name), value, pl.lit(limit)))
            return [value.alias(name)]
        if not f.signed:
            out.add(ok & (value < 0), name, Problem.NEGATIVE_VALUE,
                    pl.format("{} {} is negative", pl.lit(name), shown))
        out.add(ok & (value.abs() > settings.max_amount), name, Problem.VALUE_TOO_LARGE,
                pl.format("{} '{}' exceeds the largest plausible value {}", pl.lit(name), shown,
                          pl.lit(f"{settings.max_amount:g}")))
        if f.kind is K.INTEGER:
            out.add(ok & (value != value.round(0)), name, Problem.NOT_INTEGER,
                    pl.format("{} '{}' must be a whole number", pl.lit(name), shown))
            safe = pl.when(ok & (value.abs() <= settings.max_amount)).then(value).otherwise(None)
            return [safe.cast(pl.Int64).alias(name)]
        return [pl.when(finite).then(value).otherwise(None).alias(name)]

    if f.kind is K.BOOLEAN:
        low = text.str.to_lowercase()
        value = pl.when(low.is_in(list(TRUE_WORDS))).then(True).when(low.is_in(list(FALSE_WORDS))).then(False)
        out.add(present & value.is_null(), name, Problem.INVALID_BOOLEAN,
                pl.format("{} '{}' is not yes/no", pl.lit(name), shown))
        return [value.alias(name)]

    simple: dict[FieldKind, tuple[Callable[[pl.Expr], pl.Expr], Callable[[pl.Expr], pl.Expr], Problem, str]] = {
        K.COUNTRY: (lambda e: e.str.to_uppercase(), lambda e: _in_set(e, country_codes()),
                    Problem.INVALID_COUNTRY, "an ISO 3166 country code such as CN or NL"),
        K.CURRENCY: (lambda e: e.str.to_uppercase(), lambda e: _in_set(e, currency_codes()),
                     Problem.INVALID_CURRENCY, "an ISO 4217 currency code such as EUR or USD"),
        K.HS_CODE: (_hs_digits,
                    lambda e: e.str.contains(r"^[0-9]{6,10}$") & _in_set(e.str.slice(0, 2), HS_CHAPTERS),
                    Problem.INVALID_HS_CODE, "6 to 10 digits of an existing HS chapter, e.g. 85171200"),
        K.LOCODE: (lambda e: e.str.to_uppercase().str.replace_all(r"\s", ""), _locode_ok,
                   Problem.INVALID_LOCODE, "a UN/LOCODE such as CNSHA"),
        K.CONTAINER: (lambda e: e.str.to_uppercase().str.replace_all(r"[\s\-]", ""), container_is_valid,
                      Problem.INVALID_CONTAINER, "an ISO 6346 number such as MSCU1234566"),
        K.IMO: (lambda e: e.str.to_uppercase().str.replace_all(r"^IMO\s*", ""), imo_is_valid,
                Problem.INVALID_IMO, "a 7-digit IMO number with a correct check digit"),
        K.IBAN: (lambda e: e.str.to_uppercase().str.replace_all(r"\s", ""), iban_is_valid,
                 Problem.INVALID_IBAN, "an IBAN with a correct checksum"),
        K.EMAIL: (lambda e: e.str.to_lowercase(), lambda e: e.str.contains(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
                  Problem.INVALID_EMAIL, "an e-mail address"),
        K.PHONE: (lambda e: e.str.replace_all(r"[\s\-().]", ""), lambda e: e.str.contains(r"^\+?[0-9]{6,15}$"),
                  Problem.INVALID_PHONE, "a phone number with 6 to 15 digits"),
    }
    if f.kind in simple:
        clean, valid, problem, expected = simple[f.kind]
        value = clean(text)
        out.add(present & ~valid(value).fill_null(False), name, problem,
                pl.format("{} '{}' is not {}", pl.lit(name), shown, pl.lit(expected)))
        return [value.alias(name)]

    if f.kind in (K.LOCODE_LIST, K.CONTAINER_LIST):
        element_kind = K.LOCODE if f.kind is K.LOCODE_LIST else K.CONTAINER
        clean, valid, problem, expected = simple[element_kind]
        items = _split_list(text, clean)
        bad = items.list.eval(pl.element().filter(~valid(pl.element()))).list.join(";")
        out.add(present & (bad != ""), name, problem,
                pl.format("{} has '{}', which is not {}", pl.lit(name), _shown(bad), pl.lit(expected)))
        out.add(text.str.len_chars() > f.max_length, name, Problem.TOO_LONG,
                pl.format("{} has {} characters; at most {} are allowed", pl.lit(name),
                          text.str.len_chars(), pl.lit(f.max_length)))
        joined = items.list.join(";")
        return [pl.when(joined == "").then(None).otherwise(joined).alias(name)]

    raise AssertionError(f"unhandled field kind {f.kind}")


def _declaration_rules(out: _Collector, tolerance: float) -> None:
    """Cross-field rules of a declaration item."""
    c = pl.col
    out.add(c("importer_id").is_null() & c("importer_name").is_null(), "importer_name", Problem.MISSING_PARTY,
            "the declaration names no importer: give importer_id, importer_name or both")
    out.add(c("item_no") < 1, "item_no", Problem.NEGATIVE_VALUE, "item_no must be 1 or more")
    out.add(c("net_mass_kg") > c("gross_mass_kg"), "net_mass_kg", Problem.NET_ABOVE_GROSS,
            pl.format("net mass {} kg is greater than gross mass {} kg", c("net_mass_kg"), c("gross_mass_kg")))
    out.add(c("quantity").is_null() != c("quantity_unit").is_null(), "quantity_unit", Problem.UNIT_MISSING,
            "quantity and quantity_unit must be given together")
    in_kg = pl.when(c("quantity_unit") == "KGM").then(c("quantity")).when(c("quantity_unit") == "TNE") \
        .then(c("quantity") * 1000)
    gap = (in_kg - c("net_mass_kg")).abs() / pl.max_horizontal(c("net_mass_kg"), pl.lit(1.0))
    out.add(gap > tolerance, "quantity", Problem.UNIT_MASS_MISMATCH,
            pl.format("quantity {} {} disagrees with net mass {} kg", c("quantity"), c("quantity_unit"),
                      c("net_mass_kg")))
    out.add((c("quantity") == 0) & (c("invoice_value") > 0), "quantity", Problem.VALUE_WITHOUT_QUANTITY,
            pl.format("invoice value {} is declared for a quantity of 0", c("invoice_value")))


def _other_rules(kind: RecordKind, out: _Collector) -> None:
    c = pl.col
    if kind is RecordKind.EVENTS:
        out.add(c("container_number").is_null() & c("vessel_imo").is_null(), "container_number",
                Problem.MISSING_SUBJECT, "an event needs a container_number or a vessel_imo")
        out.add(c("latitude").is_null() != c("longitude").is_null(), "latitude", Problem.INVALID_COORDINATE,
                "latitude and longitude must be given together")
    elif kind is RecordKind.MANIFESTS:
        out.add(c("arrival_date") < c("loading_date"), "arrival_date", Problem.DATE_ORDER,
                pl.format("arrival {} is before loading {}", c("arrival_date"), c("loading_date")))


def validate(frame: pl.DataFrame, fmt: RecordFormat, today: date | None = None) -> Validated:
    """Checks and standardises every field of a chunk; see the module docstring."""
    today = today or date.today()
    for f in fmt.fields:
        if f.name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(f.name))
    out = _Collector()
    exprs: list[pl.Expr] = [pl.col(ROW)]
    per_value: list[Field] = []
    for f in fmt.fields:
        if f.kind in _PER_DISTINCT_VALUE and frame.schema[f.name] == pl.String:
            per_value.append(f)
        else:
            exprs.extend(_check_field(frame, f, out, today))
    std = frame.select(exprs)
    parts = [out.run(frame)]
    for f in per_value:
        columns, problems = _check_distinct(frame, f, today)
        std = std.hstack(columns)
        parts.append(problems)
    rules = _Collector()
    if fmt.kind is RecordKind.DECLARATIONS:
        _declaration_rules(rules, get_settings().unit_mass_tolerance)
    else:
        _other_rules(fmt.kind, rules)
    problems = _allow_planned_future(pl.concat([*parts, rules.run(std)]), std, fmt)
    return Validated(std.select(ROW, *stored_columns(fmt.fields)), problems)


def _allow_planned_future(problems: pl.DataFrame, std: pl.DataFrame, fmt: RecordFormat) -> pl.DataFrame:
    """Drops DATE_IN_FUTURE for the fields whose record says the date is planned or estimated (``future_when``)."""
    for f in fmt.fields:
        if f.future_when is None or problems.is_empty():
            continue
        other, values = f.future_when
        planned = std.filter(pl.col(other).is_in(list(values))).select(ROW)
        if planned.height:
            allowed = planned.with_columns(pl.lit(f.name).alias("field"),
                                           pl.lit(Problem.DATE_IN_FUTURE.value).alias("code"))
            problems = problems.join(allowed, on=[ROW, "field", "code"], how="anti")
    return problems


# Costly checks (regular expressions, Unicode normalisation, check digits) on columns whose values
# repeat a lot (names, vessels, containers of multi-item declarations) run once per distinct value.
_PER_DISTINCT_VALUE = frozenset({K.NAME, K.TEXT, K.LIST, K.ENTRY_LIST, K.LOCODE_LIST, K.CONTAINER_LIST, K.CONTAINER,
                                 K.IMO, K.IBAN, K.EMAIL, K.PHONE, K.DATETIME, K.DATE, K.CODE, K.COUNTRY, K.CURRENCY,
                                 K.HS_CODE, K.LOCODE})


def _check_distinct(frame: pl.DataFrame, f: Field, today: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Checks one field on its distinct values, then maps results back to every row."""
    distinct = frame.select(pl.col(f.name)).unique().with_row_index("_value", 0)
    local = _Collector()
    exprs = _check_field(distinct, f, local, today)
    names = [e.meta.output_name() for e in exprs]
    std_values = distinct.select(pl.col("_value"), pl.col(f.name).alias("_key"), *exprs)
    rows = frame.select(ROW, pl.col(f.name).alias("_key")).join(std_values, on="_key", how="left", nulls_equal=True,
                                                                maintain_order="left")
    value_problems = local.run(distinct.with_columns(pl.col("_value").cast(pl.Int64).alias(ROW)))
    problems = rows.select(ROW, pl.col("_value").cast(pl.Int64)).join(
        value_problems.rename({ROW: "_value"}), on="_value").select(list(PROBLEM_SCHEMA))
    return rows.select(names), problems
