"""Offline geography: ports by UN/LOCODE and country outlines, with no network."""

from __future__ import annotations

from cintel.movement.geography import countries_geojson, country_centre, port


def test_a_known_port_has_its_position() -> None:
    rotterdam = port("nlrtm")
    assert rotterdam is not None
    assert (rotterdam.name, rotterdam.country) == ("Rotterdam", "NL")
    assert 51 < rotterdam.latitude < 52.5
    assert 4 < rotterdam.longitude < 5


def test_unknown_or_hostile_locodes_have_no_port() -> None:
    assert port(None) is None
    assert port("ZZZZZ") is None
    assert port("<script>") is None


def test_every_country_outline_has_codes_and_a_centre_inside_it() -> None:
    features = countries_geojson()["features"]
    assert len(features) >= 170
    assert {"FR", "NO", "CN", "NL"} <= {f["properties"]["iso_a2"] for f in features}
    lat, lon = country_centre("nl") or (0.0, 0.0)
    assert 50.5 < lat < 53.7
    assert 3.3 < lon < 7.3
    assert country_centre("QQ") is None
