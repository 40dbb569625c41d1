"""Validation and standardisation of one record, for real-time scoring.

`validate.validate` is built for 100k-row chunks and costs ~100 ms on a single row. This module applies
the same field specifications, checks, problem codes, messages and standardisation to one record given
as a mapping of column to JSON value, in tens of microseconds. Values are first turned into the text a
JSON Lines file would give the batch validator (`read_jsonl._json_value`), so both see the same input;
tests prove the two agree on generated and simulated records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cintel.domain.records import DECLARATIONS, Field, FieldKind, RecordFormat, RecordKind
from cintel.ingest import scalar_ops as ops
from cintel.ingest.problems import Problem
from cintel.ingest.read_jsonl import _json_value
from cintel.ingest.rows import SURROGATE, printable
from cintel.ingest.scalar_kinds import SIMPLE, bad_entry, split_list, standardised_entry
from cintel.ingest.validate import CONTROL, FALSE_WORDS, FORMULA, TRUE_WORDS, entry_expected
from cintel.settings import Settings, get_settings
from cintel.store.tables import RAW_KEPT, stored_columns

K = FieldKind
# Kinds by check, as frozensets built once: an Enum member lookup costs more than the check itself.
_CONTROL_CHECKED = frozenset({K.ID, K.NAME, K.TEXT, K.LIST, K.ENTRY_LIST, K.CODE, K.EMAIL})
_FORMULA_CHECKED = frozenset({K.ID, K.NAME, K.TEXT, K.LIST, K.ENTRY_LIST})
_LENGTH_CHECKED = frozenset({K.ID, K.NAME, K.TEXT, K.LIST, K.ENTRY_LIST, K.EMAIL, K.LOCODE_LIST,
                             K.CONTAINER_LIST})
_NUMBERS = frozenset({K.INTEGER, K.DECIMAL, K.LATITUDE, K.LONGITUDE})
_COORDINATES = frozenset({K.LATITUDE, K.LONGITUDE})
_LISTS = frozenset({K.LOCODE_LIST, K.CONTAINER_LIST})
_ID, _LIST, _CODE, _DATE, _DATETIME, _BOOLEAN, _INTEGER, _LATITUDE, _ENTRY_LIST = (
    K.ID, K.LIST, K.CODE, K.DATE, K.DATETIME, K.BOOLEAN, K.INTEGER, K.LATITUDE, K.ENTRY_LIST)
_CONTROL = ops.rust_regex(CONTROL)
_FORMULA = ops.rust_regex(FORMULA)
@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with one field of the record, as the batch validator words it."""

    field: str
    code: Problem
    message: str
    row: int | None = None  # 1-based position of the item in validate_declaration's rows


@dataclass(frozen=True)
class RowResult:
    clean: dict[str, Any]  # stored columns (raw twins included), typed as the store holds them
    problems: list[RowProblem]  # empty when valid

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Context:
    today: date
    settings: Settings
    problems: list[RowProblem]

    def add(self, field: str, code: Problem, message: str) -> None:
        self.problems.append(RowProblem(field, code, message))


# ---------------------------------------------------------------- one field


def _check_field(f: Field, raw: str | None, out: _Context, clean: dict[str, Any]) -> None:
    """Scalar `validate._check_field`: records problems and writes the field's stored column(s) to clean."""
    name = f.name
    text = ops.strip(raw) if raw is not None else None
    if text == "":
        text = None
    if text is None:
        if not f.nullable:
            out.add(name, Problem.MISSING_VALUE, f"{name} is required but empty")
        clean[name] = None
        if f.kind in RAW_KEPT:
            clean[f"{name}_raw"] = None
        return
    kind = f.kind
    if kind in _CONTROL_CHECKED and _CONTROL.search(text):
        out.add(name, Problem.CONTROL_CHARACTER, f"{name} contains control characters; remove them")
    if kind in _FORMULA_CHECKED and _FORMULA.search(text):
        out.add(name, Problem.FORMULA_PREFIX,
                f"{name} '{ops.shown(text)}' starts like a spreadsheet formula; remove the leading sign")
    if kind in _LENGTH_CHECKED and len(text) > f.max_length:
        out.add(name, Problem.TOO_LONG, f"{name} has {len(text)} characters; at most {f.max_length} are allowed")

    if kind is _ID:
        clean[name] = text
    elif kind is _ENTRY_LIST:
        entries = split_list(text, standardised_entry)
        bad = ";".join(e for e in entries if bad_entry(e, f))
        if bad:
            out.add(name, Problem.INVALID_ENTRY, f"{name} has '{ops.shown(bad)}', which is not {entry_expected(f)}")
        std = ";".join(entries) or None
        clean[name] = std
        clean[f"{name}_raw"] = raw if raw != std else None
    elif kind in RAW_KEPT:
        std = ";".join(split_list(text, ops.standardised_text)) if kind is _LIST else ops.standardised_text(text)
        clean[name] = std
        clean[f"{name}_raw"] = raw if raw != std else None
    elif kind is _CODE:
        assert f.codes is not None
        value = _code_map(f.codes).get(text.upper())
        if value is None:
            out.add(name, Problem.INVALID_CODE,
                    f"{name} '{ops.shown(text)}' is not one of: {', '.join(f.codes.codes())}")
        clean[name] = value
    elif kind is _DATE:
        clean[name] = _check_date(f, text, out)
    elif kind is _DATETIME:
        clean[name] = _check_datetime(f, text, out)
    elif kind in _NUMBERS:
        clean[name] = _check_number(f, text, out)
    elif kind is _BOOLEAN:
        low = text.lower()
        flag = True if low in TRUE_WORDS else False if low in FALSE_WORDS else None
        if flag is None:
            out.add(name, Problem.INVALID_BOOLEAN, f"{name} '{ops.shown(text)}' is not yes/no")
        clean[name] = flag
    elif kind in SIMPLE:
        to_clean, valid, problem, expected = SIMPLE[kind]
        value = to_clean(text)
        if not valid(value):
            out.add(name, problem, f"{name} '{ops.shown(text)}' is not {expected}")
        clean[name] = value
    elif kind in _LISTS:
        to_clean, valid, problem, expected = SIMPLE[K.LOCODE if kind is K.LOCODE_LIST else K.CONTAINER]
        items = split_list(text, to_clean)
        bad = ";".join(v for v in items if not valid(v))
        if bad:
            out.add(name, problem, f"{name} has '{ops.shown(bad)}', which is not {expected}")
        clean[name] = ";".join(items) or None
    else:
        raise AssertionError(f"unhandled field kind {kind}")


_CODE_MAPS: dict[type, dict[str, str]] = {}


def _code_map(codes: type[Any]) -> dict[str, str]:
    mapping = _CODE_MAPS.get(codes)
    if mapping is None:
        mapping = _CODE_MAPS[codes] = {c.upper(): c for c in codes.codes()}
    return mapping


def _check_date(f: Field, text: str, out: _Context) -> date | None:
    name = f.name
    parsed = ops.parse_date(text)
    if parsed is None:
        out.add(name, Problem.INVALID_DATE, f"{name} '{ops.shown(text)}' is not a date in the form YYYY-MM-DD")
        return None
    days, written = parsed
    if days > ops.day_number(out.today):
        out.add(name, Problem.DATE_IN_FUTURE, f"{name} {written} is in the future")
    earliest = f.earliest or out.settings.min_date
    if days < ops.day_number(earliest):
        out.add(name, Problem.DATE_TOO_OLD, f"{name} {written} is before {earliest}")
    return ops.date_of(days)


def _check_datetime(f: Field, text: str, out: _Context) -> datetime | None:
    name = f.name
    parsed = ops.parse_datetime(text)
    if parsed is None:
        out.add(name, Problem.INVALID_DATETIME,
                f"{name} '{ops.shown(text)}' is not an ISO 8601 time such as 2024-05-01T13:45:00Z")
        return None
    us, written = parsed
    # A day of slack absorbs clock skew between the sender and us (as in validate._check_field).
    tomorrow = datetime.combine(out.today + timedelta(days=1), datetime.min.time(), UTC)
    if us > ops.micros(tomorrow):
        out.add(name, Problem.DATE_IN_FUTURE, f"{name} {written} is in the future")
    if us < ops.micros(datetime.combine(out.settings.min_date, datetime.min.time(), UTC)):
        out.add(name, Problem.DATE_TOO_OLD, f"{name} {written} is too old")
    return ops.datetime_of(us)


def _check_number(f: Field, text: str, out: _Context) -> float | int | None:
    name = f.name
    value = ops.to_float(text)
    if value is None:
        out.add(name, Problem.INVALID_NUMBER,
                f"{name} '{ops.shown(text)}' is not a number (use '.' as the decimal separator)")
        return None
    finite = value - value == 0.0  # false for NaN and ±inf, like is_finite()
    if not finite:
        out.add(name, Problem.NOT_FINITE, f"{name} '{ops.shown(text)}' is not a finite number")
    if f.kind in _COORDINATES:
        limit = 90.0 if f.kind is _LATITUDE else 180.0
        if finite and abs(value) > limit:
            out.add(name, Problem.INVALID_COORDINATE, f"{name} {ops.float_text(value)} is outside ±{limit}")
        return value  # the batch keeps NaN and infinities of coordinates as they are
    if not finite:
        return None
    max_amount = out.settings.max_amount
    if not f.signed and value < 0:
        out.add(name, Problem.NEGATIVE_VALUE, f"{name} {ops.shown(text)} is negative")
    if abs(value) > max_amount:
        out.add(name, Problem.VALUE_TOO_LARGE,
                f"{name} '{ops.shown(text)}' exceeds the largest plausible value {max_amount:g}")
    if f.kind is _INTEGER:
        if value != round(value):
            out.add(name, Problem.NOT_INTEGER, f"{name} '{ops.shown(text)}' must be a whole number")
        return int(value) if abs(value) <= max_amount else None  # cast(pl.Int64) truncates toward zero
    return value


# ---------------------------------------------------------------- cross-field rules


def _declaration_rules(c: dict[str, Any], out: _Context) -> None:
    """Scalar `validate._declaration_rules`; a None on either side of a comparison never fires (as null)."""
    tolerance = out.settings.unit_mass_tolerance
    if c["importer_id"] is None and c["importer_name"] is None:
        out.add("importer_name", Problem.MISSING_PARTY,
                "the declaration names no importer: give importer_id, importer_name or both")
    item_no, net, gross = c["item_no"], c["net_mass_kg"], c["gross_mass_kg"]
    quantity, unit, invoice = c["quantity"], c["quantity_unit"], c["invoice_value"]
    if item_no is not None and item_no < 1:
        out.add("item_no", Problem.NEGATIVE_VALUE, "item_no must be 1 or more")
    if net is not None and gross is not None and net > gross:
        out.add("net_mass_kg", Problem.NET_ABOVE_GROSS,
                f"net mass {ops.float_text(net)} kg is greater than gross mass {ops.float_text(gross)} kg")
    if (quantity is None) != (unit is None):
        out.add("quantity_unit", Problem.UNIT_MISSING, "quantity and quantity_unit must be given together")
    in_kg = None if quantity is None else quantity if unit == "KGM" else quantity * 1000 if unit == "TNE" else None
    if in_kg is not None and net is not None and abs(in_kg - net) / max(net, 1.0) > tolerance:
        out.add("quantity", Problem.UNIT_MASS_MISMATCH,
                f"quantity {ops.float_text(quantity)} {unit} disagrees with net mass {ops.float_text(net)} kg")
    if quantity == 0 and invoice is not None and invoice > 0:
        out.add("quantity", Problem.VALUE_WITHOUT_QUANTITY,
                f"invoice value {ops.float_text(invoice)} is declared for a quantity of 0")


def _other_rules(kind: RecordKind, c: dict[str, Any], out: _Context) -> None:
    """Scalar `validate._other_rules`."""
    if kind is RecordKind.EVENTS:
        if c["container_number"] is None and c["vessel_imo"] is None:
            out.add("container_number", Problem.MISSING_SUBJECT, "an event needs a container_number or a vessel_imo")
        if (c["latitude"] is None) != (c["longitude"] is None):
            out.add("latitude", Problem.INVALID_COORDINATE, "latitude and longitude must be given together")
    elif kind is RecordKind.MANIFESTS:
        arrival, loading = c["arrival_date"], c["loading_date"]
        if arrival is not None and loading is not None and arrival < loading:
            out.add("arrival_date", Problem.DATE_ORDER, f"arrival {arrival} is before loading {loading}")


# ---------------------------------------------------------------- records


def _text_of(name: str, value: object, out: _Context) -> tuple[bool, str | None]:
    """The value as the text a JSON Lines row gives the batch validator; (False, None) when it has none."""
    try:
        text = _json_value(value)
    except (ValueError, TypeError) as exc:
        reason = str(exc) if isinstance(value, dict | list) else \
            f"holds a {type(value).__name__}; expected text, a number or a list of them"
        out.add(name, Problem.MALFORMED_ROW, f"{name} {printable(reason)[:120]}")
        return False, None
    if text is not None and SURROGATE.search(text):
        out.add(name, Problem.MALFORMED_ROW, f"{name} holds half of a UTF-16 surrogate pair (\\ud800-\\udfff)")
        return False, None
    return True, text


@dataclass(frozen=True)
class _Layout:
    """What validate_row needs of a format, computed once: RecordFormat's properties rebuild on every access."""

    names: frozenset[str]
    columns: tuple[str, ...]
    headers: tuple[str, ...]


_LAYOUTS: dict[int, tuple[RecordFormat, _Layout]] = {}


def _layout(fmt: RecordFormat) -> _Layout:
    cached = _LAYOUTS.get(id(fmt))
    if cached is None or cached[0] is not fmt:
        headers = tuple(f.name for f in fmt.header_fields if f.name not in fmt.group)
        cached = _LAYOUTS[id(fmt)] = (fmt, _Layout(frozenset(fmt.field_map), tuple(stored_columns(fmt.fields)),
                                                   headers))
    return cached[1]


def validate_row(row: Mapping[str, Any], fmt: RecordFormat, today: date | None = None, *,
                 ignore_extra_columns: bool = False) -> RowResult:
    """Checks and standardises one record exactly as ingest's `validate` does a chunk row; never raises.

    A missing column reads as empty, like a JSON Lines row. A column the format does not define is an
    UNKNOWN_FIELD problem unless ignore_extra_columns (ingest refuses them by default too).
    """
    out = _Context(today or date.today(), get_settings(), [])
    layout = _layout(fmt)
    if not ignore_extra_columns:
        unknown = [k for k in row if k not in layout.names]
        if unknown:
            shown = ", ".join(printable(repr(k))[:40] for k in unknown[:5])
            out.add(printable(unknown[0])[:64], Problem.UNKNOWN_FIELD, f"unknown field(s): {shown}")
    clean: dict[str, Any] = {}
    for f in fmt.fields:
        ok, text = _text_of(f.name, row.get(f.name), out)
        if ok:
            _check_field(f, text, out, clean)
        else:
            clean[f.name] = None
            if f.kind in RAW_KEPT:
                clean[f"{f.name}_raw"] = None
    if fmt.kind is RecordKind.DECLARATIONS:
        _declaration_rules(clean, out)
    else:
        _other_rules(fmt.kind, clean, out)
    planned = {f.name for f in fmt.fields if f.future_when and clean.get(f.future_when[0]) in f.future_when[1]}
    problems = [p for p in out.problems if not (p.code is Problem.DATE_IN_FUTURE and p.field in planned)]
    return RowResult({c: clean[c] for c in layout.columns}, problems)


def validate_rows(rows: Sequence[Mapping[str, Any]], fmt: RecordFormat, today: date | None = None, *,
                  ignore_extra_columns: bool = False) -> list[RowResult]:
    """`validate_row` for each record; no check across records (see validate_declaration)."""
    today = today or date.today()
    return [validate_row(r, fmt, today, ignore_extra_columns=ignore_extra_columns) for r in rows]


def _cross_row_problems(clean: Sequence[Mapping[str, Any]], fmt: RecordFormat) -> list[list[RowProblem]]:
    """Scalar `prepare._row_problems`: duplicate keys and items disagreeing on a header field, per row."""
    found: list[list[RowProblem]] = [[] for _ in clean]
    key = list(fmt.key)
    keys = [tuple(r[k] for k in key) for r in clean]
    for i, values in enumerate(keys):
        if all(v is not None for v in values) and keys.count(values) > 1:
            found[i].append(RowProblem(key[-1], Problem.DUPLICATE_KEY,
                                       f"{' + '.join(key)} {' / '.join(map(_polars_text, values))} "
                                       "appears more than once in the file"))
    if fmt.group:
        headers = _layout(fmt).headers
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, r in enumerate(clean):
            groups.setdefault(tuple(r[g] for g in fmt.group), []).append(i)
        for group, members in groups.items():
            varying = [h for h in headers if len({_hashable(clean[i][h]) for i in members}) > 1]
            if varying:
                message = f"items of declaration {_polars_text(group[0])} disagree on {', '.join(varying)}"
                for i in members:
                    found[i].append(RowProblem(varying[0], Problem.INCONSISTENT_HEADER, message))
    return found


def _hashable(value: Any) -> Any:
    # NaN != NaN, but n_unique counts all NaNs as one value; the type keeps 1 and 1.0 and True apart.
    return ("nan",) if isinstance(value, float) and value != value else (type(value).__name__, value)


def _polars_text(value: Any) -> str:
    """A value as `cast(pl.String)` writes it in a message."""
    if value is None:
        return ""
    return ops.float_text(value) if isinstance(value, float) else str(value)


def validate_declaration(rows: Sequence[Mapping[str, Any]], today: date | None = None, *,
                         ignore_extra_columns: bool = False) -> tuple[list[dict[str, Any]], list[RowProblem]]:
    """Checks one declaration's item rows: each row as ingest does, then the checks across its items
    (unique item numbers, header fields equal on every item). Returns the clean rows and every problem,
    each with `row` set to its item's 1-based position; no problems means the declaration is valid."""
    results = validate_rows(rows, DECLARATIONS, today, ignore_extra_columns=ignore_extra_columns)
    clean = [r.clean for r in results]
    across = _cross_row_problems(clean, DECLARATIONS)
    return clean, [replace(p, row=n) for n, (r, extra) in enumerate(zip(results, across, strict=True), start=1)
                   for p in (*r.problems, *extra)]
