"""EDIFACT CUSDEC declarations: the syntax layer and the streaming reader's entry points.

The reader turns an interchange (UNA, UNB, UNH..UNT messages, UNZ) into flat declaration rows,
one per item, with the field names of ``DECLARATIONS``. It never validates codes: values are
passed on as found, so the validator can say precisely what is wrong with them. Which segment
and qualifier feeds which column is documented in ``docs/cusdec.md``.

Layers, from the bytes up:

1. ``_sniff_charset`` reads the UNA/UNB header to learn the syntax character set (UNOC ->
   Latin-1, UNOW -> UTF-8, ...), then blocks are decoded incrementally (``_decode_declared``:
   UTF-8 bytes under a single-byte declaration are read as UTF-8, with a warning), and line
   breaks, which are layout, are removed.
2. ``_split_segments`` cuts the text into segments at each segment terminator that is not
   preceded by an odd number of release characters. Memory stays bounded: only the current
   segment is buffered, and an over-long one is skipped rather than collected.
3. ``_interchange_records`` groups segments into UNH..UNT messages and checks the envelope.
4. ``cusdec.message_records`` parses each segment of a message with pydifact, builds the message's
   segment-group tree (``cusdec_tree``) and maps it with the profile of its implementation guide
   (``cusdec_profile``, profiles in ``cusdec_profiles/*.toml``) to one record per item, or to one
   error record saying why it cannot be mapped.

``write_cusdec`` is the inverse, used by the simulator and the round-trip tests; it is in
``cusdec_write``, imported when first used (no import cycle), and re-exported here.
"""

from __future__ import annotations

import codecs
import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import polars as pl
from pydifact.control.characters import Characters
from pydifact.parser import Parser
from pydifact.segments import Segment, SegmentFactory
from pydifact.tokenizer import Tokenizer

__all__ = ["EdifactError", "EdifactRecord", "iter_cusdec", "read_cusdec", "write_cusdec"]

if TYPE_CHECKING:
    from cintel.ingest.cusdec import ProfileChoice

logger = logging.getLogger(__name__)

BLOCK_BYTES = 1 << 16  # bytes read per call; the reader never holds more than a block of undecoded input
MAX_SEGMENT_CHARS = 1 << 16  # the longest standard CUSDEC segment (FTX, 5 x 512) is far below this
MAX_MESSAGE_CHARS = 16 << 20  # a declaration of 999 items stays well under 1 MB; beyond this, reject

# UNB syntax identifier (ISO 9735 / UNCL 0001) -> Python codec. UNOA/UNOB are ASCII subsets; UNOL is
# ISO 8859-15; UNOW is UTF-8; UNOY is ISO 10646-1, sent as UTF-8; UNOX is ISO 2022 code extension,
# decoded with the widest ISO 2022 codec Python has (ISO-2022-JP-2: ASCII, Latin-1, Greek, Cyrillic
# via escapes, Japanese, Korean, Chinese), so a designation it lacks shows as undecodable bytes,
# a clear file error; KECA is the Korean set, EUC-KR.
CHARSETS: dict[str, str] = {
    "UNOA": "ascii", "UNOB": "ascii", "UNOC": "latin-1", "UNOD": "iso8859-2", "UNOE": "iso8859-5",
    "UNOF": "iso8859-7", "UNOG": "iso8859-3", "UNOH": "iso8859-4", "UNOI": "iso8859-6",
    "UNOJ": "iso8859-8", "UNOK": "iso8859-9", "UNOL": "iso8859-15", "UNOW": "utf-8", "UNOX": "iso2022_jp_2",
    "UNOY": "utf-8", "KECA": "euc_kr",
}
SINGLE_BYTE = frozenset(c for c in CHARSETS.values() if c == "ascii" or c == "latin-1" or c.startswith("iso8859"))

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
class Syntax:
    """Service characters of an interchange, from UNA or the defaults."""

    component: str = ":"
    data: str = "+"
    decimal: str = "."
    release: str | None = "?"
    terminator: str = "'"

    def characters(self) -> Characters:
        return _characters(self)


@cache
def _characters(syntax: Syntax) -> Characters:
    release = syntax.release or _NO_RELEASE
    return Characters(  # type: ignore[no-untyped-call]
        syntax.component, syntax.data, syntax.decimal, release, " ", syntax.terminator)


@dataclass(frozen=True)
class Seg:
    """A segment as cut from the text, before parsing."""

    ordinal: int
    tag: str
    content: str  # without leading white space and terminator
    raw: str  # verbatim, with the white space before it and its terminator
    complete: bool = True  # False: cut off by the end of the file
    oversized: int = 0  # length of an over-long segment, of which only the beginning is kept


# ---------------------------------------------------------------- reading: bytes to segments


def read_cusdec(path: Path, encoding: str | None = None, *, profile: str | None = None,
                profiles_dir: Path | None = None) -> Iterator[EdifactRecord]:
    """Stream the declaration items of a CUSDEC interchange file, one record per item.

    The UNB character set decides the decoding unless ``encoding`` is given. Each message is
    mapped by the profile its UNH association code names (else the default, generic one), or
    by ``profile`` when given; ``profiles_dir`` adds profiles (default: the setting
    ``CINTEL_CUSDEC_PROFILES``). Raises ``EdifactError`` when the file is not a readable
    interchange or the profile is unknown; a message that cannot be mapped becomes an error
    record instead, so the rest of the file is still read.
    """
    choice = profile_choice(profile, profiles_dir)
    with Path(path).open("rb") as stream:
        yield from iter_cusdec(stream, encoding, choice=choice)


def profile_choice(profile: str | None = None, profiles_dir: Path | None = None) -> ProfileChoice:
    """The profiles a read may use, checked: raises ``EdifactError`` for an unknown forced profile."""
    from cintel.ingest.cusdec import ProfileChoice
    from cintel.ingest.cusdec_profile import ProfileError, load_profiles

    if profiles_dir is None:
        from cintel.settings import get_settings

        profiles_dir = get_settings().cusdec_profiles
    profiles = load_profiles(profiles_dir)
    if profile is not None and profile not in profiles:
        raise ProfileError(f"unknown CUSDEC profile {profile!r}; known: {', '.join(sorted(profiles))}")
    return ProfileChoice(profiles, profile)


def iter_cusdec(stream: BinaryIO, encoding: str | None = None, *,
                choice: ProfileChoice | None = None) -> Iterator[EdifactRecord]:
    """``read_cusdec`` on an open binary stream, read in blocks of ``BLOCK_BYTES``."""
    choice = choice or profile_choice()
    first = stream.read(BLOCK_BYTES)
    if first.startswith(codecs.BOM_UTF8) and encoding is None:
        first = first[len(codecs.BOM_UTF8):]
    codec = encoding
    charset = encoding or ""
    if codec is None:
        charset = _sniff_charset(first.decode("latin-1"))
        codec = CHARSETS[charset]
    blocks = chain([first], iter(lambda: stream.read(BLOCK_BYTES), b""))
    state = {"charset": charset, "codec": codec}
    chunks = _decode_declared(blocks, codec, state) if encoding is None else _decode(blocks, codec)
    head = ""
    for chunk in chunks:  # enough text to see UNA and the start of UNB
        head += chunk
        if len(head) >= 256:
            break
    syntax, consumed, _ = _header(head)
    text: Iterator[str] = chain([head[consumed:]], chunks)
    if syntax.terminator not in "\r\n":  # line breaks are layout, never data: 80-column files read the same
        text = (chunk.replace("\r", "").replace("\n", "") for chunk in text)
    segments = _split_segments(text, syntax, 2 if consumed else 1)
    yield from _interchange_records(_checked(segments, state), syntax, choice)


def _decode_declared(blocks: Iterable[bytes], codec: str, state: dict[str, str]) -> Iterator[str]:
    """Decode blocks in the declared codec, unless a single-byte set is declared over UTF-8 bytes.

    Everything before the first byte beyond ASCII reads the same in both, so the choice is made
    there: if the rest of that block is valid UTF-8, the file is UTF-8 whatever UNB says (a
    Latin-1 or ISO 8859 text that is also valid UTF-8 beyond ASCII practically never occurs; it
    would read as "Ã©"-style pairs), a warning is logged and nothing is stored garbled. Otherwise
    the declared set is used. ``state["codec"]`` tells ``_checked`` which codec was chosen.
    """
    if codec not in SINGLE_BYTE:
        yield from _decode(blocks, codec)
        return
    rest = iter(blocks)
    head = b""
    for block in rest:
        head += block
        if not head.isascii():
            break
        yield head.decode("ascii")
        head = b""
    if not head:
        return
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # may end inside a character
    except UnicodeDecodeError:
        pass
    else:
        logger.warning("EDIFACT UNB declares %s, but the bytes are UTF-8 with characters beyond ASCII: read as "
                       "UTF-8 so that no value is stored garbled; the sender should declare UNOW", state["charset"])
        codec = state["codec"] = "utf-8"
        state["charset"] += " (bytes found to be UTF-8)"
    yield from _decode(chain([head], rest), codec)


def _sniff_charset(head: str) -> str:
    """The UNB syntax identifier (UNOA, UNOC, ...) from the first block read as Latin-1."""
    _, _, charset = _header(head)
    if charset is None:
        raise EdifactError(f"UNB: the interchange header is not complete within the first {BLOCK_BYTES:,} bytes")
    if charset not in CHARSETS:
        raise EdifactError(f"UNB: character set {charset!r} is not supported (use one of "
                           f"{', '.join(sorted(CHARSETS))}, or give the encoding explicitly)")
    return charset


def _header(text: str) -> tuple[Syntax, int, str | None]:
    """Service characters, characters taken by BOM/white space/UNA, and the UNB character set.

    Raises ``EdifactError`` unless the text starts with UNA or UNB.
    """
    body = text.lstrip(_WS)
    skipped = len(text) - len(body)
    if not body:
        raise EdifactError("the file is empty: no EDIFACT interchange (UNB segment) found")
    syntax, consumed = Syntax(), 0
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


def _una(una: str) -> Syntax:
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
    return Syntax(component, data, decimal, None if release == " " else release, terminator)


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


def _checked(segments: Iterable[Seg], state: dict[str, str]) -> Iterator[Seg]:
    """Pass segments on, stopping at the first one that held bytes the character set lacks."""
    for seg in segments:
        charset, codec = state["charset"], state["codec"]
        if bad := _UNDECODABLE.search(seg.raw):
            byte = ord(bad.group()) - 0xDC00
            raise EdifactError(f"segment {seg.ordinal} ({seg.tag or '?'}): byte 0x{byte:02X} is not valid in "
                               f"character set {charset} ({codec}); the sender must declare the character "
                               "set actually used in UNB, or give the encoding explicitly")
        yield seg


def _split_segments(chunks: Iterable[str], syntax: Syntax, ordinal: int) -> Iterator[Seg]:
    """Cut text into segments at unreleased terminators, holding at most one segment in memory."""
    term, release = syntax.terminator, syntax.release
    ws = _WS.replace(term, "")
    buf, start, scanned = "", 0, 0  # buf[start:] is the open segment; buf[start:scanned] has no terminator
    head, skipped = "", 0  # an over-long segment: its kept beginning, and how much of it was consumed
    pending = ""  # raw text of empty segments ('' or trailing blanks), kept with the next segment

    def make(raw: str, complete: bool) -> Seg | None:
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
        seg = Seg(ordinal, tag, content, raw, complete, size if skipped else 0)
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


def _interchange_records(segments: Iterator[Seg], syntax: Syntax, choice: ProfileChoice) -> Iterator[EdifactRecord]:
    """Group segments into UNH..UNT messages, check the envelope, map each message."""
    from cintel.ingest.cusdec import message_records  # cusdec builds on this module: imported on use

    unb = next(segments, None)
    if unb is None or unb.tag != "UNB":  # _header checked the text; this guards odd separators
        raise EdifactError("not an EDIFACT interchange: it does not start with a UNB header")
    message: list[Seg] = []
    size = messages = 0
    stray: list[Seg] = []  # consecutive segments outside any message, reported together
    unz: Seg | None = None

    def close(reason: str | None) -> Iterator[EdifactRecord]:
        nonlocal message, size
        if message:
            if reason is not None:
                yield message_error(messages, message, message[0].ordinal, "UNT", "EDIFACT_TRUNCATED", reason)
            elif size > MAX_MESSAGE_CHARS:
                yield message_error(messages, message, message[0].ordinal, "UNH", "EDIFACT_MESSAGE_TOO_LARGE",
                                     f"the message is longer than {MAX_MESSAGE_CHARS:,} characters; "
                                     "only its beginning is kept")
            else:
                yield from message_records(messages, message, syntax, choice)
        message, size = [], 0

    def flush_stray() -> Iterator[EdifactRecord]:
        if stray:
            tags = sorted({s.tag for s in stray})
            yield EdifactRecord(stray[0].ordinal, None, (
                stray[0].tag, "EDIFACT_OUTSIDE_MESSAGE",
                f"segments {stray[0].ordinal}-{stray[-1].ordinal} ({', '.join(tags)}) are outside any "
                "UNH..UNT message and were not read"), message_text(stray))
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


def _check_trailer(unb: Seg, unz: Seg | None, messages: int, syntax: Syntax) -> None:
    """Log what is wrong with UNZ; every message was already read, so this is not fatal."""
    if unz is None or not unz.complete:
        logger.warning("EDIFACT interchange has no UNZ trailer: the file may be truncated after message %d",
                       messages)
        return
    try:
        _, trailer = parse_segment(unz.content, syntax)
        _, header = parse_segment(unb.content, syntax)
    except Exception:  # hostile input: any parser failure here only means "cannot check"
        logger.warning("EDIFACT UNZ at segment %d cannot be read", unz.ordinal)
        return
    if element_value(trailer, 0) != str(messages):
        logger.warning("EDIFACT UNZ at segment %d counts %s messages, the file has %d",
                       unz.ordinal, element_value(trailer, 0), messages)
    if element_value(trailer, 1) != element_value(header, 4):
        logger.warning("EDIFACT UNZ reference %r differs from UNB reference %r",
                       element_value(trailer, 1), element_value(header, 4))


def message_error(number: int, segs: list[Seg], line: int, where: str, code: str,
                   text: str, declaration: str | None = None) -> EdifactRecord:
    label = f"message {number} (UNH at segment {segs[0].ordinal}"
    label += f", declaration {declaration})" if declaration else ")"
    text = " ".join(text.split())[:300]
    return EdifactRecord(line, None, (where, code, f"{label}: {text}"), message_text(segs))


def message_text(segs: list[Seg]) -> str:
    """The segments as found, one per line (line breaks in the file are layout, so they are not kept)."""
    return "\n".join(s.raw.strip(_WS) for s in segs if s.raw.strip(_WS))


def parse_segment(content: str, syntax: Syntax) -> tuple[str, list[Element]]:
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


def element_value(elements: list[Element], i: int, j: int = 0) -> str | None:
    if i >= len(elements):
        return None
    element = elements[i]
    if isinstance(element, list):
        return (element[j] if j < len(element) else "") or None
    return (element if j == 0 else "") or None


def write_cusdec(items: pl.DataFrame, path: Path, *, prepared_at: datetime | None = None) -> None:
    """Write flat declaration rows as one CUSDEC D:96B interchange: ``cusdec.write_cusdec``, which see.

    It is in ``cusdec``, which builds on this module, so it is imported on first use.
    """
    from cintel.ingest.cusdec_write import write_cusdec as write

    write(items, path, prepared_at=prepared_at)
