"""CUSDEC profiles: chosen by UNH or --profile, added as files without code, read in group context;
the tree builder and the syntax layer survive what senders do."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cintel.ingest.cusdec_profile import ProfileError, load_profiles
from cintel.ingest.cusdec_tree import Parsed, build_tree
from cintel.ingest.edifact import EdifactError, EdifactRecord, iter_cusdec, read_cusdec
from cintel.ingest.problems import IngestError
from cintel.ingest.read_cusdec import CusdecReader
from cintel.ingest.rows import ReadOptions

HEADER = "UNA:+.? '\nUNB+UNOC:3+SENDER+RECIPIENT+240131:0930+1'\n"


def message(body: list[str], kind: str = "CUSDEC:D:96B:UN") -> str:
    segments = ["UNH+1+" + kind, *body]
    return "\n".join(f"{s}'" for s in [*segments, f"UNT+{len(segments) + 1}+1"]) + "\n"


def read(body: list[str], kind: str = "CUSDEC:D:96B:UN", **kw: object) -> list[EdifactRecord]:
    path = Path(kw.pop("tmp")) / "m.edi"  # type: ignore[arg-type]
    path.write_text(HEADER + message(body, kind) + "UNZ+1+1'\n", encoding="latin-1")
    return list(read_cusdec(path, **kw))  # type: ignore[arg-type]


def one(records: list[EdifactRecord]) -> dict[str, str | None]:
    [record] = records
    assert record.error is None, record.error
    assert record.values is not None
    return record.values


AU_EXPORT = ["BGM+830:::EXPORT DECLARATION+AUEX0001+9", "DTM+137:20240301:102", "LOC+42+AUSYD",
             "LOC+28+NZ", "MEA+WT+AAD+KGM:120", "MOA+39:5000:AUD", "RFF+ABO:X1", "DTM+137:19990101:102",
             "NAD+EX+ABN123++AUSSIE EXPORTS PTY LTD+++++AU", "NAD+CN+++KIWI IMPORTS LTD+++++NZ",
             "NAD+AG+BROKER9", "NAD+MS+SENDERX", "UNS+D", "CST+1", "RFF+HS:8471300000",
             "FTX+AAA+++LAPTOPS", "LOC+27+CN", "MEA+WT+AAC+KGM:100", "MOA+123:4800", "UNS+S"]


def test_a_d99b_export_maps_by_the_generic_profile(tmp_path: Path) -> None:
    v = one(read(AU_EXPORT, "CUSDEC:D:99B:UN", tmp=tmp_path))

    assert v["declaration_type"] == "EX"  # BGM 830, although the national name says otherwise
    assert v["declaration_date"] == "2024-03-01"  # the header DTM, not the one under RFF
    assert (v["office_code"], v["country_of_destination"]) == ("AUSYD", "NZ")
    assert (v["hs_code"], v["net_mass_kg"], v["gross_mass_kg"]) == ("8471300000", "100", "120")
    assert (v["invoice_value"], v["invoice_currency"], v["customs_value"]) == ("5000", "AUD", "4800")
    assert (v["exporter_id"], v["exporter_name"], v["exporter_country"]) == ("ABN123", "AUSSIE EXPORTS PTY LTD",
                                                                              "AU")
    assert (v["consignee_name"], v["consignee_country"], v["representative_id"]) == ("KIWI IMPORTS LTD", "NZ",
                                                                                     "BROKER9")
    assert "SENDERX" not in {x for x in v.values() if x}  # the message sender is provenance, not a party


def test_importer_country_implied_by_an_eu_office_code(tmp_path: Path) -> None:
    v = one(read(["BGM+929+D1+9", "LOC+22+NL000396", "NAD+IM+NL1", "UNS+D", "LIN+1", "PIA+5+847130:HS",
                  "UNS+S"], tmp=tmp_path))

    assert v["importer_country"] == "NL"


def test_header_totals_are_not_item_values_when_there_are_several_items(tmp_path: Path) -> None:
    records = read(["BGM+929+D1+9", "MEA+AAE+AAD+KGM:500", "EQD+CN+MSCU1234565", "UNS+D", "CST+1+847130",
                    "CST+2+847150", "SGP+TGHU1234567", "UNS+S"], tmp=tmp_path)

    assert [r.values and r.values["gross_mass_kg"] for r in records] == [None, None]
    # header equipment is the default of an item that names none; SGP names the item's own
    assert [r.values and r.values["container_numbers"] for r in records] == ["MSCU1234565", "TGHU1234567"]


def test_unknown_forced_profile_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(EdifactError, match=r"^unknown CUSDEC profile 'nope'; known: cintel, generic, sars$"):
        read(AU_EXPORT, tmp=tmp_path, profile="nope")
    path = tmp_path / "m.edi"
    with pytest.raises(IngestError, match="unknown CUSDEC profile 'nope'"):
        CusdecReader(path, ReadOptions(profile="nope"))


def test_a_forced_profile_wins_over_the_association_code(tmp_path: Path) -> None:
    body = ["BGM+929+D1+9", "UNS+D", "CST+1+847130", "UNS+S"]

    assert one(read(body, "CUSDEC:D:96B:UN:ZZZ01", tmp=tmp_path))["importer_country"] == "ZA"
    assert one(read(body, "CUSDEC:D:96B:UN:ZZZ01", tmp=tmp_path, profile="generic"))["importer_country"] is None


def test_a_profile_file_in_the_settings_directory_needs_no_code(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "profiles"
    extra.mkdir()
    (extra / "xland.toml").write_text('''
title = "X-land customs guide"
extends = "generic"
association = ["XL01"]
country = "XL"
importer_country_implied_by = ["administration"]

[[rule]]
field = "office_code"
path = "LOC"
where = { "1.1" = "ZZZ" }
at = "2.1"
''', encoding="utf-8")
    monkeypatch.setenv("CINTEL_CUSDEC_PROFILES", str(extra))
    from cintel.settings import get_settings

    get_settings.cache_clear()
    try:
        v = one(read(["BGM+929+D1+9", "LOC+ZZZ+XL-OFFICE-7", "UNS+D", "CST+1+847130", "UNS+S"],
                     "CUSDEC:D:96B:UN:XL01", tmp=tmp_path))
    finally:
        get_settings.cache_clear()
    assert (v["office_code"], v["importer_country"]) == ("XL-OFFICE-7", "XL")


@pytest.mark.parametrize(("text", "expected"), [
    ('[[rule]]\nfield = "no_such_field"\npath = "LOC"\nat = "2.1"\n', "field 'no_such_field' is not a declaration"),
    ('[[rule]]\nfield = "office_code"\npath = "LOC"\nat = "two"\n', "position 'two' is not"),
    ('[[rule]]\nfield = "office_code"\npath = "LOC"\n', "the rule needs 'at' or 'parts'"),
    ('extends = "missing"\n', "extends unknown profile 'missing'"),
    ('colour = "red"\n', "unknown key(s) colour"),
    ("this is not toml", "not valid TOML"),
])
def test_a_broken_profile_file_is_one_clear_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")

    with pytest.raises(ProfileError) as caught:
        load_profiles(tmp_path)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_wrong_profile_gives_error_records_not_a_traceback(tmp_path: Path) -> None:
    [record] = read(["BGM+929+D1+9", "UNS+D", "LIN+1", "PIA+5+847130:HS", "UNS+S"], tmp=tmp_path, profile="sars")

    assert record.values is not None  # LIN items are still items under SARS: mapped, values as found


def test_utf8_bytes_under_a_latin1_declaration_are_read_as_utf8_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "m.edi"
    text = HEADER + message(["BGM+929+D1+9", "NAD+IM+X1++ŁÓDŹ TRADING", "UNS+D", "CST+1+847130", "UNS+S"])
    path.write_bytes((text + "UNZ+1+1'").encode("utf-8"))

    with caplog.at_level(logging.WARNING):
        [record] = read_cusdec(path)
    assert record.values is not None
    assert record.values["importer_name"] == "ŁÓDŹ TRADING"  # not "Å\x81Ã\x93DÅ¹"
    assert "declares UNOC, but the bytes are UTF-8" in caplog.text


def test_latin1_bytes_under_unoc_stay_latin1(tmp_path: Path) -> None:
    path = tmp_path / "m.edi"
    text = HEADER + message(["BGM+929+D1+9", "NAD+IM+X1++MÜLLER GMBH", "UNS+D", "CST+1+847130", "UNS+S"])
    path.write_bytes((text + "UNZ+1+1'").encode("latin-1"))

    [record] = read_cusdec(path)
    assert record.values is not None
    assert record.values["importer_name"] == "MÜLLER GMBH"


@pytest.mark.parametrize(("charset", "codec"), [("UNOL", "iso8859-15"), ("KECA", "euc_kr"),
                                                ("UNOX", "iso2022_jp_2"), ("UNOY", "utf-8")])
def test_every_syntax_identifier_decodes(tmp_path: Path, charset: str, codec: str) -> None:
    name = {"UNOL": "CAFÉ €", "KECA": "한국무역", "UNOX": "東京商事", "UNOY": "ŁÓDŹ"}[charset]
    text = HEADER.replace("UNOC", charset) + message(["BGM+929+D1+9", f"NAD+IM+X1++{name}", "UNS+D",
                                                      "CST+1+847130", "UNS+S"])
    path = tmp_path / "m.edi"
    path.write_bytes((text + "UNZ+1+1'").encode(codec))

    [record] = read_cusdec(path)
    assert record.values is not None
    assert record.values["importer_name"] == name


def test_line_breaks_inside_segments_are_not_data(tmp_path: Path) -> None:
    body = ["BGM+929+D1+9", "NAD+IM+X1++ACME TRA\r\nDING", "UNS+D", "CST+1+84\n7130", "UNS+S"]

    v = one(read(body, tmp=tmp_path))
    assert (v["importer_name"], v["hs_code"]) == ("ACME TRADING", "847130")


TAGS = st.sampled_from(["BGM", "CST", "LOC", "DTM", "RFF", "NAD", "TAX", "MOA", "DOC", "PAC", "PCI", "LIN",
                        "PIA", "UNS", "SGP", "EQD", "GIS", "ZZZ", "UNT"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(TAGS, st.sampled_from(["", "D", "S", "137", "HS"])), max_size=300))
def test_the_tree_builder_keeps_every_segment_and_never_fails(segments: list[tuple[str, str]]) -> None:
    body = [Parsed(n, tag, [q]) for n, (tag, q) in enumerate(segments, start=2)]

    tree = build_tree(body)

    kept = [node.seg.ordinal for root in (tree.header, *tree.items, tree.summary) for node in root.walk()
            if node.seg is not None]
    assert sorted(kept) == [p.ordinal for p in body if p.tag != "UNS"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["BGM+929+D1+9", "UNS+D", "UNS+S", "CST+1+847130", "LIN+1", "PIA+5+X:HS",
                                 "RFF+HS:1", "DTM+137:2024", "TAX+1+VAT", "MOA+161:1", "MEA+AAE+AAD+XXX:1",
                                 "NAD+IM", "PAC+9999999999999999999999", "DOC+380", "SGP+A", "MOA+38:x,y"]),
                max_size=60))
def test_hostile_messages_only_give_records(body: list[str]) -> None:
    import io

    data = (HEADER + message(body) + "UNZ+1+1'").encode("latin-1")
    for record in iter_cusdec(io.BytesIO(data)):
        assert (record.values is None) != (record.error is None)
