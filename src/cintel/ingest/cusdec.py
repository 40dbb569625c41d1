"""EDIFACT CUSDEC messages to flat declaration rows: envelope checks, the tree, the profile.

Each UNH..UNT message, cut and checked by the syntax layer in ``edifact``, is parsed segment by
segment, checked (UNH type, UNT count and reference), built into its segment-group tree
(``cusdec_tree``) and mapped by the profile of its implementation guide (``cusdec_profile``) to
one flat declaration row per item, or to one error record saying why it cannot be mapped. Which
segment and qualifier feeds which column is documented in ``docs/cusdec.md`` and written in the
profiles. The writer is in ``cusdec_write``. Read and write through ``edifact``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cintel.ingest.cusdec_profile import FIELD_NAMES, MappingError, Profile, apply, choose
from cintel.ingest.cusdec_tree import Parsed, build_tree
from cintel.ingest.edifact import (
    MAX_SEGMENT_CHARS,
    EdifactRecord,
    Seg,
    Syntax,
    message_error,
    message_text,
    parse_segment,
)

__all__ = ["FIELD_NAMES", "ProfileChoice", "message_records"]


@dataclass(frozen=True)
class ProfileChoice:
    """The profiles known to a read, and the one forced by the user (``--profile``), if any."""

    profiles: dict[str, Profile]
    forced: str | None = None


def message_records(number: int, segs: list[Seg], syntax: Syntax, choice: ProfileChoice) -> list[EdifactRecord]:
    """The records of one complete UNH..UNT message: one per item, or one error."""
    parsed: list[Parsed] = []
    for seg in segs:
        if seg.oversized:
            return [message_error(number, segs, seg.ordinal, seg.tag, "EDIFACT_SEGMENT_TOO_LONG",
                                   f"segment {seg.ordinal} ({seg.tag}) has {seg.oversized:,} characters, more "
                                   f"than the {MAX_SEGMENT_CHARS:,} allowed (a missing segment terminator?)")]
        try:
            tag, elements = parse_segment(seg.content, syntax)
        except Exception as exc:  # pydifact raises several types (EDISyntaxError, ValueError, ...)
            return [message_error(number, segs, seg.ordinal, seg.tag or "?", "EDIFACT_SYNTAX",
                                   f"segment {seg.ordinal} cannot be read: {exc}")]
        parsed.append(Parsed(seg.ordinal, tag, elements))
    declaration = next((p.get(1) for p in parsed if p.tag == "BGM"), None)
    try:
        _check_envelope(parsed)
        profile = choose(choice.profiles, parsed[0], choice.forced)
        rows = _map(profile, parsed)
    except MappingError as exc:
        return [message_error(number, segs, exc.line, exc.where, exc.code, exc.text, declaration)]
    raw = message_text(segs)
    return [EdifactRecord(line, values, None, raw) for line, values in rows]


def _check_envelope(parsed: list[Parsed]) -> None:
    unh, unt = parsed[0], parsed[-1]
    kind = unh.get(1)
    if kind != "CUSDEC":
        raise MappingError(unh.ordinal, "UNH", "EDIFACT_UNSUPPORTED_MESSAGE",
                           f"the message is {kind or 'of no stated type'}, not CUSDEC; only customs "
                           "declarations are read from this file")
    if unt.get(0) != str(len(parsed)):
        raise MappingError(unt.ordinal, "UNT", "EDIFACT_SEGMENT_COUNT",
                           f"UNT says the message has {unt.get(0) or 'no'} segments, but it has {len(parsed)} "
                           "(UNH to UNT): segments were lost or added")
    if unt.get(1) != unh.get(0):
        raise MappingError(unt.ordinal, "UNT", "EDIFACT_REFERENCE_MISMATCH",
                           f"UNT reference {unt.get(1)!r} differs from UNH reference {unh.get(0)!r}")


def _map(profile: Profile, parsed: list[Parsed]) -> list[tuple[int, dict[str, str | None]]]:
    """Map a checked CUSDEC message to (segment number, flat row) per item; see docs/cusdec.md."""
    body = parsed[1:-1]
    tree = build_tree(body, profile.item_triggers)
    if not any(n.tag == "BGM" for n in tree.header.children):
        raise MappingError(parsed[0].ordinal, "BGM", "EDIFACT_MISSING_SEGMENT",
                           "no BGM segment before the first item, so the declaration number is unknown")
    if not tree.items:
        raise MappingError(parsed[0].ordinal, "|".join(profile.item_triggers), "EDIFACT_NO_ITEMS",
                           f"the declaration has no items (no {' or '.join(profile.item_triggers)} item "
                           f"segment in the detail section; profile {profile.name})")
    return apply(profile, tree)
