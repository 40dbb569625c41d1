"""EDIFACT CUSDEC declarations: a streaming reader and a writer for a documented subset.

The reader turns an interchange (UNA, UNB, UNH..UNT messages, UNZ) into flat declaration rows,
one per item, with the field names of ``DECLARATIONS``. It never validates codes: values are
passed on as found, so the validator can say precisely what is wrong with them. Which segment
and qualifier feeds which column is documented in ``docs/cusdec.md``.

Layers, from the bytes up:

1. ``_sniff_charset`` reads the UNA/UNB header to learn the syntax character set (UNOC ->
   Latin-1, UNOW -> UTF-8, ...), then blocks are decoded incrementally.
2. ``_split_segments`` cuts the text into segments at each segment terminator that is not
   preceded by an odd number of release characters. Memory stays bounded: only the current
   segment is buffered, and an over-long one is skipped rather than collected.
3. ``_interchange_records`` groups segments into UNH..UNT messages and checks the envelope.
4. ``_message_records`` parses each segment of a message with pydifact and maps the message
   to one record per item (LIN) or to one error record saying why it cannot be mapped.

``write_cusdec`` is the inverse, used by the simulator and the round-trip tests.
"""

from __future__ import annotations

import codecs
import logging
import math
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from itertools import chain
from pathlib import Path
from typing import BinaryIO

import polars as pl
from pydifact.control.characters import Characters
from pydifact.parser import Parser
from pydifact.segments import Segment, SegmentFactory
from pydifact.serializer import Serializer
from pydifact.tokenizer import Tokenizer

from cintel.domain.records import DECLARATIONS

__all__ = ["EdifactError", "EdifactRecord", "iter_cusdec", "read_cusdec", "write_cusdec"]

logger = logging.getLogger(__name__)

BLOCK_BYTES = 1 << 16  # bytes read per call; the reader never holds more than a block of undecoded input
MAX_SEGMENT_CHARS = 1 << 16  # the longest standard CUSDEC segment (FTX, 5 x 512) is far below this
MAX_MESSAGE_CHARS = 16 << 20  # a declaration of 999 items stays well under 1 MB; beyond this, reject

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in DECLARATIONS.fields)

# UNB syntax identifier -> Python codec. UNOA/UNOB are ASCII subsets; UNOY is ISO 10646 sent as UTF-8.
CHARSETS: dict[str, str] = {
    "UNOA": "ascii", "UNOB": "ascii", "UNOC": "latin-1", "UNOD": "iso8859-2", "UNOE": "iso8859-5",
    "UNOF": "iso8859-7", "UNOG": "iso8859-3", "UNOH": "iso8859-4", "UNOI": "iso8859-6",
    "UNOJ": "iso8859-8", "UNOK": "iso8859-9", "UNOW": "utf-8", "UNOY": "utf-8",
}

# BGM document name code (UNCL 1001) -> declaration type, used when BGM C002/1000 does not name it.
DOCUMENT_TYPES: dict[str, str] = {"929": "IM", "930": "IM", "830": "EX", "950": "TR"}
TYPE_DOCUMENTS: dict[str, str] = {"IM": "929", "EX": "830", "TR": "950"}

# Header LOC qualifiers (UNCL 3227), in order of preference.
LOC_FIELDS: dict[str, tuple[str, ...]] = {
    "office_code": ("22", "41"),  # customs office of clearance, else of entry
    "port_of_loading": ("9",),
    "port_of_discharge": ("11", "12"),
    "country_of_dispatch": ("35",),  # country of exportation/despatch
}
LOC_TRANSSHIPMENT = "13"
LOC_ORIGIN = "27"
NET_MASS = ("AAC",)  # MEA C502/6313 total net weight
GROSS_MASS = ("AAD", "G")  # total gross weight, gross weight
MASS_FACTORS: dict[str, Decimal] = {"KGM": Decimal(1), "TNE": Decimal(1000), "GRM": Decimal("0.001")}
MOA_FIELDS: dict[str, str] = {"38": "invoice_value", "40": "customs_value"}

_WS = " \t\r\n\x1a\ufeff"  # tolerated between segments: line breaks, DOS EOF, byte order mark
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of bytes the codec rejects
_NO_RELEASE = "\uffff"  # pydifact always has a release character; a Unicode noncharacter stands for none
_PARSER = Parser()
Element = str | list[str]


class EdifactError(ValueError):
    """The file as a whole cannot be read as an EDIFACT interchange; the message is one line."""


@dataclass(frozen=True)
class EdifactRecord:
    """One declaration item, or one message that could not be mapped.

    ``line`` is the 1-based number of the segment in the interchange (UNA counts as segment 1,
    so in a file with one segment per line it is the line number) where the item (LIN) or the
    problem starts. ``raw`` is the text of the whole message (UNH..UNT) as found.
    """

    line: int
    values: dict[str, str | None] | None
    error: tuple[str, str, str] | None
    raw: str


@dataclass(frozen=True)
class _Syntax:
    """Service characters of an interchange, from UNA or the defaults."""

    component: str = ":"
    data: str = "+"
    decimal: str = "."
    release: str | None = "?"
    terminator: str = "'"

    def characters(self) -> Characters:
        return _characters(self)


@cache
def _characters(syntax: _Syntax) -> Characters:
    release = syntax.release or _NO_RELEASE
    return Characters(  # type: ignore[no-untyped-call]
        syntax.component, syntax.data, syntax.decimal, release, " ", syntax.terminator)


@dataclass(frozen=True)
class _Seg:
    """A segment as cut from the text, before parsing."""

    ordinal: int
    tag: str
    content: str  # without leading white space and terminator
    raw: str  # verbatim, with the white space before it and its terminator
    complete: bool = True  # False: cut off by the end of the file
    oversized: int = 0  # length of an over-long segment, of which only the beginning is kept


# ---------------------------------------------------------------- reading: bytes to segments


def read_cusdec(path: Path, encoding: str | None = None) -> Iterator[EdifactRecord]:
    """Stream the declaration items of a CUSDEC interchange file, one record per item.

    The UNB character set decides the decoding unless ``encoding`` is given. Raises
    ``EdifactError`` when the file is not a readable interchange; a message that cannot be
    mapped becomes an error record instead, so the rest of the file is still read.
    """
    with Path(path).open("rb") as stream:
        yield from iter_cusdec(stream, encoding)


def iter_cusdec(stream: BinaryIO, encoding: str | None = None) -> Iterator[EdifactRecord]:
    """``read_cusdec`` on an open binary stream, read in blocks of ``BLOCK_BYTES``."""
    first = stream.read(BLOCK_BYTES)
    if first.startswith(codecs.BOM_UTF8) and encoding is None:
        first = first[len(codecs.BOM_UTF8):]
    codec = encoding
    charset = encoding or ""
    if codec is None:
        charset = _sniff_charset(first.decode("latin-1"))
        codec = CHARSETS[charset]
    blocks = chain([first], iter(lambda: stream.read(BLOCK_BYTES), b""))
    chunks = _decode(blocks, codec)
    head = ""
    for chunk in chunks:  # enough text to see UNA and the start of UNB
        head += chunk
        if len(head) >= 256:
            break
    syntax, consumed, _ = _header(head)
    segments = _split_segments(chain([head[consumed:]], chunks), syntax, 2 if consumed else 1)
    yield from _interchange_records(_checked(segments, charset, codec), syntax)


def _sniff_charset(head: str) -> str:
    """The UNB syntax identifier (UNOA, UNOC, ...) from the first block read as Latin-1."""
    _, _, charset = _header(head)
    if charset is None:
        raise EdifactError(f"UNB: the interchange header is not complete within the first {BLOCK_BYTES:,} bytes")
    if charset not in CHARSETS:
        raise EdifactError(f"UNB: character set {charset!r} is not supported (use one of "
                           f"{', '.join(sorted(CHARSETS))}, or give the encoding explicitly)")
    return charset


def _header(text: str) -> tuple[_Syntax, int, str | None]:
    """Service characters, characters taken by BOM/white space/UNA, and the UNB character set.

    Raises ``EdifactError`` unless the text starts with UNA or UNB.
    """
    body = text.lstrip(_WS)
    skipped = len(text) - len(body)
    if not body:
        raise EdifactError("the file is empty: no EDIFACT interchange (UNB segment) found")
    syntax, consumed = _Syntax(), 0
    if body.startswith("UNA"):
        syntax = _una(body[:9])
        consumed = skipped + 9
        body = body[9:]
        body = body.lstrip(_WS.replace(syntax.terminator, ""))
    if not body.startswith(f"UNB{syntax.data}"):
        where = "segment 2 (after UNA)" if consumed else "segment 1"
        found = body[:30].splitlines()[0] if body.strip() else "nothing"
        raise EdifactError(f"not an EDIFACT interchange: {where} should be the UNB header, "
                           f"but the file has {found!r}")
    element = body[4:]
    ends = [i for i in (element.find(c) for c in (syntax.component, syntax.data, syntax.terminator)) if i >= 0]
    return syntax, consumed, element[: min(ends)].strip().upper() if ends else None


def _una(una: str) -> _Syntax:
    """Service characters from a UNA service string advice, checked for sense."""
    if len(una) < 9:
        raise EdifactError("segment 1 (UNA): the service string advice is cut short (it needs 6 characters)")
    component, data, decimal, release, terminator = una[3], una[4], una[5], una[6], una[8]
    separators = [component, data, terminator] + ([release] if release != " " else [])
    if len(set(separators)) != len(separators):
        raise EdifactError(f"segment 1 (UNA): separators {una[3:9]!r} are not all different")
    if any(c.isalnum() or c.isspace() for c in separators):
        raise EdifactError(f"segment 1 (UNA): {una[3:9]!r} uses a letter, digit or space as a separator")
    if decimal not in ".,":
        raise EdifactError(f"segment 1 (UNA): decimal mark {decimal!r} must be '.' or ','")
    # A space as release character would release every following character; read it as "none".
    return _Syntax(component, data, decimal, None if release == " " else release, terminator)


def _decode(blocks: Iterable[bytes], codec: str) -> Iterator[str]:
    """Decode blocks incrementally; undecodable bytes become lone surrogates, reported per segment."""
    try:
        decoder = codecs.getincrementaldecoder(codec)(errors="surrogateescape")
    except LookupError:
        raise EdifactError(f"unknown encoding {codec!r}") from None
    try:
        for block in blocks:
            if text := decoder.decode(block):
                yield text
        if text := decoder.decode(b"", final=True):
            yield text
    except UnicodeDecodeError as exc:  # codecs that cannot escape (e.g. UTF-16 with an odd byte)
        raise EdifactError(f"the file cannot be decoded as {codec}: {exc.reason}") from None


def _checked(segments: Iterable[_Seg], charset: str, codec: str) -> Iterator[_Seg]:
    """Pass segments on, stopping at the first one that held bytes the character set lacks."""
    for seg in segments:
        if bad := _UNDECODABLE.search(seg.raw):
            byte = ord(bad.group()) - 0xDC00
            raise EdifactError(f"segment {seg.ordinal} ({seg.tag or '?'}): byte 0x{byte:02X} is not valid in "
                               f"character set {charset} ({codec}); the sender must declare the character "
                               "set actually used in UNB, or give the encoding explicitly")
        yield seg


def _split_segments(chunks: Iterable[str], syntax: _Syntax, ordinal: int) -> Iterator[_Seg]:
    """Cut text into segments at unreleased terminators, holding at most one segment in memory."""
    term, release = syntax.terminator, syntax.release
    ws = _WS.replace(term, "")
    buf, start, scanned = "", 0, 0  # buf[start:] is the open segment; buf[start:scanned] has no terminator
    head, skipped = "", 0  # an over-long segment: its kept beginning, and how much of it was consumed
    pending = ""  # raw text of empty segments ('' or trailing blanks), kept with the next segment

    def make(raw: str, complete: bool) -> _Seg | None:
        nonlocal pending, head, skipped, ordinal
        size = skipped + len(raw) - (len(head) - len(head.lstrip(ws))) - (1 if complete else 0)
        if skipped:  # keep the beginning and say what is missing, so quarantine shows the segment
            raw = f"{head}[... {size:,} characters in all, the rest not kept ...]" + (term if complete else "")
        content = (raw[:-1] if complete else raw).lstrip(ws)
        raw, pending = pending + raw, ""
        if not content:
            pending = raw
            return None
        ends = [i for i in (content.find(syntax.data), content.find(syntax.component)) if i >= 0]
        # The tag goes into messages: make a garbage "tag" printable, so every message stays one line.
        tag = "".join(c if c.isprintable() else "?" for c in content[: min(ends, default=len(content))][:8])
        seg = _Seg(ordinal, tag, content, raw, complete, size if skipped else 0)
        ordinal += 1
        head, skipped = "", 0
        return seg

    for chunk in chunks:
        buf = buf[start:] + chunk
        scanned -= start
        start = 0
        while (i := buf.find(term, scanned)) >= 0:
            if release is not None:
                k = i
                while k > start and buf[k - 1] == release:
                    k -= 1
                if (i - k) % 2:  # released terminator: part of the data
                    scanned = i + 1
                    continue
            raw = buf[start : i + 1]
            start = scanned = i + 1
            if seg := make(raw, True):
                yield seg
        scanned = len(buf)
        if len(buf) - start > MAX_SEGMENT_CHARS and not buf[start:].strip(ws):
            buf, start, scanned = "", 0, 0  # a long run of blank lines between segments: drop it
        elif len(buf) - start > MAX_SEGMENT_CHARS:
            # Over-long: keep its beginning once, then only the parity of trailing release characters,
            # which decides whether the next character is released.
            end = len(buf)
            while release is not None and end > start and buf[end - 1] == release:
                end -= 1
            if not skipped:
                head = buf[start : start + 200]
            tail = (release or "") * ((len(buf) - end) % 2)
            skipped += len(buf) - start - len(tail)
            buf, start, scanned = tail, 0, len(tail)
    if seg := make(buf[start:], False):
        yield seg


# ---------------------------------------------------------------- reading: envelope and messages


def _interchange_records(segments: Iterator[_Seg], syntax: _Syntax) -> Iterator[EdifactRecord]:
    """Group segments into UNH..UNT messages, check the envelope, map each message."""
    unb = next(segments, None)
    if unb is None or unb.tag != "UNB":  # _header checked the text; this guards odd separators
        raise EdifactError("not an EDIFACT interchange: it does not start with a UNB header")
    message: list[_Seg] = []
    size = messages = 0
    stray: list[_Seg] = []  # consecutive segments outside any message, reported together
    unz: _Seg | None = None

    def close(reason: str | None) -> Iterator[EdifactRecord]:
        nonlocal message, size
        if message:
            if reason is not None:
                yield _message_error(messages, message, message[0].ordinal, "UNT", "EDIFACT_TRUNCATED", reason)
            elif size > MAX_MESSAGE_CHARS:
                yield _message_error(messages, message, message[0].ordinal, "UNH", "EDIFACT_MESSAGE_TOO_LARGE",
                                     f"the message is longer than {MAX_MESSAGE_CHARS:,} characters; "
                                     "only its beginning is kept")
            else:
                yield from _message_records(messages, message, syntax)
        message, size = [], 0

    def flush_stray() -> Iterator[EdifactRecord]:
        if stray:
            tags = sorted({s.tag for s in stray})
            yield EdifactRecord(stray[0].ordinal, None, (
                stray[0].tag, "EDIFACT_OUTSIDE_MESSAGE",
                f"segments {stray[0].ordinal}-{stray[-1].ordinal} ({', '.join(tags)}) are outside any "
                "UNH..UNT message and were not read"), "".join(s.raw for s in stray).strip(_WS))
            stray.clear()

    for seg in segments:
        tag = seg.tag
        if message and tag in ("UNH", "UNZ", "UNB", "UNG", "UNE"):
            yield from close(f"the message ends without UNT: segment {seg.ordinal} is {tag}")
        if tag == "UNH":
            yield from flush_stray()
            messages += 1
            message, size = [seg], len(seg.raw)
        elif message:
            size += len(seg.raw)
            if size <= MAX_MESSAGE_CHARS:
                message.append(seg)
            if tag == "UNT":
                yield from close(None)
        elif tag in ("UNG", "UNE"):  # functional group envelope: nothing to map
            yield from flush_stray()
        elif tag == "UNZ":
            yield from flush_stray()
            unz = seg
        elif tag in ("UNA", "UNB"):
            raise EdifactError(f"segment {seg.ordinal}: a second interchange starts here; "
                               "send one interchange per file")
        else:
            stray.append(seg)
            if len(stray) >= 1000:  # keep memory bounded when a whole file is stray segments
                yield from flush_stray()
    if message:
        last = message[-1]
        yield from close(f"the file ends inside the message (last segment {last.ordinal}, {last.tag}): "
                         "the file is truncated")
    yield from flush_stray()
    _check_trailer(unb, unz, messages, syntax)


def _check_trailer(unb: _Seg, unz: _Seg | None, messages: int, syntax: _Syntax) -> None:
    """Log what is wrong with UNZ; every message was already read, so this is not fatal."""
    if unz is None or not unz.complete:
        logger.warning("EDIFACT interchange has no UNZ trailer: the file may be truncated after message %d",
                       messages)
        return
    try:
        _, trailer = _parse_segment(unz.content, syntax)
        _, header = _parse_segment(unb.content, syntax)
    except Exception:  # hostile input: any parser failure here only means "cannot check"
        logger.warning("EDIFACT UNZ at segment %d cannot be read", unz.ordinal)
        return
    if _get(trailer, 0) != str(messages):
        logger.warning("EDIFACT UNZ at segment %d counts %s messages, the file has %d",
                       unz.ordinal, _get(trailer, 0), messages)
    if _get(trailer, 1) != _get(header, 4):
        logger.warning("EDIFACT UNZ reference %r differs from UNB reference %r", _get(trailer, 1), _get(header, 4))


def _message_error(number: int, segs: list[_Seg], line: int, where: str, code: str,
                   text: str, declaration: str | None = None) -> EdifactRecord:
    label = f"message {number} (UNH at segment {segs[0].ordinal}"
    label += f", declaration {declaration})" if declaration else ")"
    text = " ".join(text.split())[:300]
    return EdifactRecord(line, None, (where, code, f"{label}: {text}"), _raw(segs))


def _raw(segs: list[_Seg]) -> str:
    return "".join(s.raw for s in segs).strip(_WS)


def _parse_segment(content: str, syntax: _Syntax) -> tuple[str, list[Element]]:
    """Tag and elements of one segment, by pydifact's tokenizer and segment factory."""
    tokens = Tokenizer().get_tokens(content + syntax.terminator, syntax.characters())
    raws = list(_PARSER.convert_tokens_to_raw_segments(tokens))
    if len(raws) != 1 or not raws[0] or not isinstance(raws[0][0], str):
        raise ValueError("the segment cannot be split into a tag and elements")
    name, *elements = raws[0]
    assert isinstance(name, str)
    with warnings.catch_warnings():  # pydifact warns about segments without elements; we judge those
        warnings.simplefilter("ignore")
        segment: Segment = SegmentFactory.create_segment(name, *elements, validate=False)
    return segment.tag, list(segment.elements)


@dataclass(frozen=True)
class _Parsed:
    ordinal: int
    tag: str
    elements: list[Element]

    def get(self, i: int, j: int = 0) -> str | None:
        return _get(self.elements, i, j)

    def text(self, i: int, first: int = 0, last: int = 99) -> str | None:
        """Components first..last of element i joined without separator (long texts are cut in pieces)."""
        if i >= len(self.elements):
            return None
        element = self.elements[i]
        parts = element[first : last + 1] if isinstance(element, list) else [element][first : last + 1]
        return "".join(parts) or None


def _get(elements: list[Element], i: int, j: int = 0) -> str | None:
    if i >= len(elements):
        return None
    element = elements[i]
    if isinstance(element, list):
        return (element[j] if j < len(element) else "") or None
    return (element if j == 0 else "") or None


class _Unmappable(Exception):
    """Internal: a message cannot be mapped; carries the error record's parts."""

    def __init__(self, line: int, where: str, code: str, text: str) -> None:
        super().__init__(text)
        self.line, self.where, self.code, self.text = line, where, code, text


def _message_records(number: int, segs: list[_Seg], syntax: _Syntax) -> list[EdifactRecord]:
    """The records of one complete UNH..UNT message: one per item, or one error."""
    parsed: list[_Parsed] = []
    for seg in segs:
        if seg.oversized:
            return [_message_error(number, segs, seg.ordinal, seg.tag, "EDIFACT_SEGMENT_TOO_LONG",
                                   f"segment {seg.ordinal} ({seg.tag}) has {seg.oversized:,} characters, more "
                                   f"than the {MAX_SEGMENT_CHARS:,} allowed (a missing segment terminator?)")]
        try:
            tag, elements = _parse_segment(seg.content, syntax)
        except Exception as exc:  # pydifact raises several types (EDISyntaxError, ValueError, ...)
            return [_message_error(number, segs, seg.ordinal, seg.tag or "?", "EDIFACT_SYNTAX",
                                   f"segment {seg.ordinal} cannot be read: {exc}")]
        parsed.append(_Parsed(seg.ordinal, tag, elements))
    declaration = next((p.get(1) for p in parsed if p.tag == "BGM"), None)
    try:
        _check_envelope(parsed)
        rows = _map_cusdec(parsed)
    except _Unmappable as exc:
        return [_message_error(number, segs, exc.line, exc.where, exc.code, exc.text, declaration)]
    raw = _raw(segs)
    return [EdifactRecord(line, values, None, raw) for line, values in rows]


def _check_envelope(parsed: list[_Parsed]) -> None:
    unh, unt = parsed[0], parsed[-1]
    kind = unh.get(1)
    if kind != "CUSDEC":
        raise _Unmappable(unh.ordinal, "UNH", "EDIFACT_UNSUPPORTED_MESSAGE",
                          f"the message is {kind or 'of no stated type'}, not CUSDEC; only customs "
                          "declarations are read from this file")
    if unt.get(0) != str(len(parsed)):
        raise _Unmappable(unt.ordinal, "UNT", "EDIFACT_SEGMENT_COUNT",
                          f"UNT says the message has {unt.get(0) or 'no'} segments, but it has {len(parsed)} "
                          "(UNH to UNT): segments were lost or added")
    if unt.get(1) != unh.get(0):
        raise _Unmappable(unt.ordinal, "UNT", "EDIFACT_REFERENCE_MISMATCH",
                          f"UNT reference {unt.get(1)!r} differs from UNH reference {unh.get(0)!r}")


# ---------------------------------------------------------------- reading: CUSDEC to flat rows


def _map_cusdec(parsed: list[_Parsed]) -> list[tuple[int, dict[str, str | None]]]:
    """Map a checked CUSDEC message to (segment number, flat row) per item; see docs/cusdec.md."""
    body = parsed[1:-1]
    header, items = _sections(body)
    if not any(p.tag == "BGM" for p in header):
        raise _Unmappable(parsed[0].ordinal, "BGM", "EDIFACT_MISSING_SEGMENT",
                          "no BGM segment before the first item, so the declaration number is unknown")
    if not items:
        raise _Unmappable(parsed[0].ordinal, "LIN", "EDIFACT_NO_ITEMS",
                          "the declaration has no items (no LIN segment, nor CST after UNS+D)")
    head = _map_header(header)
    rows = []
    for start, segs in items:
        values = dict(head)
        values.update(_map_item(start, segs, head))
        rows.append((start.ordinal, values))
    return rows


def _sections(body: list[_Parsed]) -> tuple[list[_Parsed], list[tuple[_Parsed, list[_Parsed]]]]:
    """Header segments, and items as (item segment, its segments); UNS+S ends the items."""
    item_tag = "LIN" if any(p.tag == "LIN" for p in body) else "CST"
    header: list[_Parsed] = []
    items: list[tuple[_Parsed, list[_Parsed]]] = []
    detail = item_tag == "LIN"  # CST is an item only in the detail section (after UNS+D)
    for p in body:
        if p.tag == "UNS":
            if p.get(0) == "S":
                break
            detail = True
            continue
        if p.tag == item_tag and detail:
            items.append((p, []))
        elif items:
            items[-1][1].append(p)
        else:
            header.append(p)
    return header, items


def _map_header(header: list[_Parsed]) -> dict[str, str | None]:
    values: dict[str, str | None] = dict.fromkeys(FIELD_NAMES)
    by_tag: dict[str, list[_Parsed]] = {}
    for p in header:
        by_tag.setdefault(p.tag, []).append(p)

    bgm = by_tag["BGM"][0]
    values["declaration_id"] = bgm.get(1)
    code = bgm.get(0)
    values["declaration_type"] = bgm.get(0, 3) or DOCUMENT_TYPES.get(code or "", code)
    for dtm in by_tag.get("DTM", []):
        if dtm.get(0) == "137":
            values["declaration_date"] = _date(dtm.get(0, 1), dtm.get(0, 2))
            break

    locations: dict[str, list[str]] = {}
    for loc in by_tag.get("LOC", []):
        locations.setdefault(loc.get(0) or "", []).append(loc.get(1) or "")
    for name, qualifiers in LOC_FIELDS.items():
        values[name] = next((locations[q][0] or None for q in qualifiers if q in locations), None)
    if LOC_TRANSSHIPMENT in locations:
        values["transshipment_ports"] = ";".join(locations[LOC_TRANSSHIPMENT])
    values["country_of_origin"] = locations.get(LOC_ORIGIN, [""])[0] or None  # items may override

    parties: dict[str | None, _Parsed] = {}
    for nad in by_tag.get("NAD", []):
        parties.setdefault(nad.get(0), nad)
    for role, prefix in (("IM", "importer"), ("EX", "exporter"), ("DT", "declarant")):
        if (party := parties.get(role)) is None:
            continue
        values[f"{prefix}_id"] = party.get(1)
        if prefix == "declarant":
            continue
        values[f"{prefix}_name"] = party.text(3, 0, 4) or party.text(2, 0, 4)  # C080 party name, else C058
        values[f"{prefix}_country"] = party.get(8)
        if prefix == "importer":
            town = " ".join(filter(None, (party.get(7), party.get(5))))  # postcode city
            values["importer_address"] = ", ".join(filter(None, (party.text(4, 0, 3), town))) or None

    tdts = by_tag.get("TDT", [])
    if tdt := next((t for t in tdts if t.get(0) == "20"), tdts[0] if tdts else None):
        values["voyage"] = tdt.get(1)
        values["transport_mode"] = tdt.get(2)
        values["vessel_imo"] = tdt.get(7)
    containers = [eqd.get(1) or "" for eqd in by_tag.get("EQD", []) if eqd.get(0) == "CN"]
    values["container_numbers"] = ";".join(containers) if containers else None
    if cuxes := by_tag.get("CUX"):  # the C504 qualified 4 (invoicing currency), else the first one
        cux = cuxes[0]
        values["invoice_currency"] = next((cux.get(i, 1) for i in (0, 1) if cux.get(i, 2) == "4"), cux.get(0, 1))
    if tods := by_tag.get("TOD"):
        values["incoterm"] = tods[0].get(2) or tods[0].get(2, 3)
    references = {rff.get(0): rff.get(0, 1) for rff in reversed(by_tag.get("RFF", []))}
    values["bl_number"] = references.get("BM") or references.get("AWB")
    return values


def _map_item(start: _Parsed, segs: list[_Parsed], header: dict[str, str | None]) -> dict[str, str | None]:
    values: dict[str, str | None] = {"item_no": start.get(0)}
    if start.tag == "LIN":
        pias = [p for p in segs if p.tag == "PIA"]
        if not pias:
            raise _Unmappable(start.ordinal, "PIA", "EDIFACT_MISSING_SEGMENT",
                              f"item {start.get(0) or '?'} (LIN at segment {start.ordinal}) has no PIA segment "
                              "with the commodity code")
        codes = [(p.get(i), p.get(i, 1)) for p in pias for i in range(1, len(p.elements))]
        values["hs_code"] = next((c for c, q in codes if c and q == "HS"), None) or next(
            (c for c, _ in codes if c), None)
    else:
        values["hs_code"] = start.get(1)
    texts = [p.text(3, 0, 4) or "" for p in segs if p.tag == "FTX" and p.get(0) == "AAA"]
    texts = texts or [p.text(2, 3, 4) or "" for p in segs if p.tag == "IMD"]
    values["goods_description"] = "".join(texts) or None
    origin = next((p.get(1) for p in segs if p.tag == "LOC" and p.get(0) == LOC_ORIGIN), None)
    values["country_of_origin"] = origin or header["country_of_origin"]
    for p in segs:
        if p.tag == "MEA" and p.get(1) in NET_MASS + GROSS_MASS:
            name = "net_mass_kg" if p.get(1) in NET_MASS else "gross_mass_kg"
            values.setdefault(name, _kilograms(p))
        elif p.tag == "QTY" and "quantity" not in values:
            values["quantity"], values["quantity_unit"] = _number(p.get(0, 1)), p.get(0, 2)
        elif p.tag == "MOA" and (amount := MOA_FIELDS.get(p.get(0) or "")):
            values.setdefault(amount, _number(p.get(0, 1)))
            if amount == "invoice_value" and not header["invoice_currency"]:
                values.setdefault("invoice_currency", p.get(0, 2))
    return values


def _kilograms(mea: _Parsed) -> str | None:
    """A mass in kg: KGM (or no unit) as found, TNE and GRM converted exactly."""
    unit, value = mea.get(2) or "KGM", _number(mea.get(2, 1))
    if unit not in MASS_FACTORS:
        raise _Unmappable(mea.ordinal, "MEA", "EDIFACT_UNSUPPORTED_UNIT",
                          f"segment {mea.ordinal} gives a mass in {unit!r}; use KGM, TNE or GRM")
    if unit == "KGM" or value is None:
        return value
    try:
        return _plain(Decimal(value) * MASS_FACTORS[unit])
    except InvalidOperation:
        return value  # not a number: the validator reports it


def _number(value: str | None) -> str | None:
    """EDIFACT numbers have no thousands separator, so a comma can only be the decimal mark."""
    return value.replace(",", ".") if value else value


def _date(value: str | None, fmt: str | None) -> str | None:
    """CCYYMMDD (102) and its longer forms (203, 204) as YYYY-MM-DD; anything else as found."""
    lengths = {"102": 8, "203": 12, "204": 14}
    if value and fmt in lengths and len(value) == lengths[fmt] and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:8]}"
    return value


# ---------------------------------------------------------------- writing


def write_cusdec(items: pl.DataFrame, path: Path, *, prepared_at: datetime | None = None) -> None:
    """Write flat declaration rows as one CUSDEC D:96B interchange, one message per declaration.

    ``prepared_at`` stamps the interchange (UNB date and control reference); give it to get the
    same bytes for the same rows, e.g. from a seeded simulation. It defaults to now.

    Rows are grouped by ``declaration_id`` (they need not be contiguous); header fields are taken
    from the first row of each declaration. Missing columns are treated as empty. The file is
    UNOC (Latin-1) when every value fits, else UNOW (UTF-8).
    """
    if "declaration_id" not in items.columns:
        raise EdifactError("cannot write CUSDEC: the frame has no declaration_id column")
    groups: dict[str, list[dict[str, object]]] = {}
    latin1 = True
    columns = [c for c in FIELD_NAMES if c in items.columns]
    for n, row in enumerate(items.select(columns).iter_rows(named=True), start=1):
        key = _format(row["declaration_id"])
        if key is None:
            raise EdifactError(f"cannot write CUSDEC: row {n} has no declaration_id")
        groups.setdefault(key, []).append(row)
        latin1 = latin1 and all(not isinstance(v, str) or v.isascii() or _fits_latin1(v) for v in row.values())
    charset, version, codec = ("UNOC", "3", "latin-1") if latin1 else ("UNOW", "4", "utf-8")
    syntax = _Syntax()
    serializer = Serializer(syntax.characters())
    now = prepared_at or datetime.now(UTC)
    reference = now.strftime("%y%m%d%H%M%S")
    stamp = now.strftime("%y%m%d" if version == "3" else "%Y%m%d")
    envelope = [Segment("UNB", [charset, version], "CINTEL", "CUSTOMS", [stamp, now.strftime("%H%M")], reference)]
    try:
        with Path(path).open("w", encoding=codec, newline="") as out:
            out.write(serializer.serialize(envelope, with_una_header=True, break_lines=True))
            for number, (key, rows) in enumerate(groups.items(), start=1):
                segments = _declaration_segments(key, rows)
                message = [Segment("UNH", str(number), ["CUSDEC", "D", "96B", "UN"]), *segments]
                message.append(Segment("UNT", str(len(message) + 1), str(number)))
                out.write(serializer.serialize(message, with_una_header=False, break_lines=True))
            out.write(serializer.serialize([Segment("UNZ", str(len(groups)), reference)], with_una_header=False,
                                           break_lines=True))
    except UnicodeEncodeError as exc:
        raise EdifactError(f"cannot write CUSDEC: {exc.object[exc.start:exc.end]!r} cannot be encoded "
                           f"as {codec}") from None


def _fits_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _declaration_segments(key: str, rows: list[dict[str, object]]) -> list[Segment]:
    """The body of one CUSDEC message (BGM..UNS+S) for the rows of one declaration."""
    first = rows[0]

    def v(name: str, row: dict[str, object] = first) -> str | None:
        return _format(row.get(name))

    out: list[Segment] = []

    def add(tag: str, *elements: Element | None) -> None:
        trimmed = [e if e is not None else "" for e in elements]
        while trimmed and trimmed[-1] in ("", []):
            trimmed.pop()
        with warnings.catch_warnings():  # pydifact warns about an empty LIN (no item number); write it anyway
            warnings.simplefilter("ignore", SyntaxWarning)
            out.append(Segment(tag, *trimmed))

    kind = v("declaration_type")
    add("BGM", [TYPE_DOCUMENTS.get(kind or "", ""), "", "", kind or ""], key, "9")
    if (when := first.get("declaration_date")) is not None:
        add("DTM", _dtm(when))
    for name, qualifiers in LOC_FIELDS.items():
        if value := v(name):
            add("LOC", qualifiers[0], value)
    for port in _parts(v("transshipment_ports")):
        add("LOC", LOC_TRANSSHIPMENT, port)
    if bl := v("bl_number"):
        add("RFF", ["BM", bl])
    for role, prefix in (("IM", "importer"), ("EX", "exporter")):
        if any(v(f"{prefix}_{f}") for f in ("id", "name", "country", "address")):
            names, street = _chunks(v(f"{prefix}_name"), 35, 5), _chunks(v(f"{prefix}_address"), 35, 4)
            add("NAD", role, v(f"{prefix}_id"), None, names, street, None, None, None, v(f"{prefix}_country"))
    if declarant := v("declarant_id"):
        add("NAD", "DT", declarant)
    if any(v(f) for f in ("voyage", "transport_mode", "vessel_imo")):
        imo = v("vessel_imo")
        add("TDT", "20", v("voyage"), v("transport_mode"), None, None, None, None, [imo, "146", "11"] if imo else None)
    for container in _parts(v("container_numbers")):
        add("EQD", "CN", container)
    if incoterm := v("incoterm"):
        add("TOD", "6", None, incoterm)
    if currency := v("invoice_currency"):
        add("CUX", ["2", currency, "4"])
    add("UNS", "D")
    for row in rows:
        add("LIN", v("item_no", row))
        add("PIA", "5", [v("hs_code", row) or "", "HS"])
        for piece in _chunks(v("goods_description", row), 512 * 5, None) or []:
            add("FTX", "AAA", None, None, _chunks(piece, 512, 5))
        if origin := v("country_of_origin", row):
            add("LOC", LOC_ORIGIN, origin)
        for qualifier, name in ((NET_MASS[0], "net_mass_kg"), (GROSS_MASS[0], "gross_mass_kg")):
            if (mass := v(name, row)) is not None:
                add("MEA", "AAE", qualifier, ["KGM", mass])
        if (quantity := v("quantity", row)) is not None or v("quantity_unit", row):
            add("QTY", ["47", quantity or "", v("quantity_unit", row) or ""])
        for qualifier, name in MOA_FIELDS.items():
            if (amount := v(name, row)) is not None:
                add("MOA", [qualifier, amount])
    add("UNS", "S")
    return out


def _format(value: object) -> str | None:
    """A cell as EDIFACT text: numbers in plain decimal notation, lossless; empty as None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EdifactError(f"cannot write CUSDEC: {value} is not a number EDIFACT can carry")
        return _plain(Decimal(repr(value)))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise EdifactError(f"cannot write CUSDEC: {value} is not a number EDIFACT can carry")
        return _plain(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value) or None


def _plain(number: Decimal) -> str:
    """Decimal notation without exponent (EDIFACT numbers have none), keeping every digit."""
    return format(number, "f")


def _dtm(value: object) -> list[str]:
    """DTM+137 composite: ISO dates as CCYYMMDD (format 102), anything else as found."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):  # not strftime: %Y does not pad years before 1000
        return ["137", f"{value.year:04d}{value.month:02d}{value.day:02d}", "102"]
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return ["137", text.replace("-", ""), "102"]
    return ["137", text]


def _parts(value: str | None) -> list[str]:
    return value.split(";") if value else []


def _chunks(text: str | None, size: int, limit: int | None) -> list[str] | None:
    """Cut text into pieces of ``size``; the last of ``limit`` pieces takes the rest."""
    if not text:
        return [] if limit is None else None
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    if limit is not None and len(pieces) > limit:
        pieces[limit - 1 :] = ["".join(pieces[limit - 1 :])]
    return pieces
