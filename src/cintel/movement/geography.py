"""Offline reference geography: seaport positions by UN/LOCODE (searoute's 3,962 ports) and country
outlines (Natural Earth 1:110m, public domain, shipped as package data). Nothing is fetched at run time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any


@dataclass(frozen=True)
class Port:
    locode: str
    name: str
    country: str
    latitude: float
    longitude: float


@cache
def _ports() -> dict[str, Port]:
    from searoute import setup_P

    found: dict[str, Port] = {}
    for (lon, lat), d in setup_P().nodes(data=True):
        code = d.get("port")
        if isinstance(code, str) and len(code) == 5 and code not in found:
            found[code] = Port(code, str(d.get("name") or code), code[:2], float(lat), float(lon))
    return found


def port(locode: str | None) -> Port | None:
    """The seaport with this UN/LOCODE, or None if it is unknown (or not a seaport)."""
    if not locode:
        return None
    return _ports().get(locode.strip().upper())


@cache
def countries_geojson() -> dict[str, Any]:
    """Country outlines as a GeoJSON FeatureCollection; properties: name, iso_a2, iso_a3."""
    text = files("cintel.movement").joinpath("data/countries_110m.geojson").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def country_centre(iso_a2: str | None) -> tuple[float, float] | None:
    """(latitude, longitude) of a point inside the country's largest outline, for placing it on a map."""
    if not iso_a2:
        return None
    return _centres().get(iso_a2.upper())


@cache
def _centres() -> dict[str, tuple[float, float]]:
    import shapely

    out: dict[str, tuple[float, float]] = {}
    for f in countries_geojson()["features"]:
        code = f["properties"].get("iso_a2")
        if code:
            point = shapely.geometry.shape(f["geometry"]).representative_point()
            out[code] = (round(point.y, 4), round(point.x, 4))
    return out
