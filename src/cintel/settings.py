"""Configuration, in one place: every setting is an environment variable prefixed CINTEL_."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CINTEL_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///var/cintel.db",
        description="SQLAlchemy URL of the store: SQLite file (default, embedded) or postgresql+psycopg://...",
    )
    data_dir: Path = Field(Path("var"), description="Where the embedded store, demo world and exports live")
    benchmark_data_dir: Path = Field(Path("../shared/data"),
                                     description="Public benchmark data sets (kcs/ ...), read-only, never committed")
    ingest_chunk_rows: int = Field(
        100_000, ge=1, description="Rows validated and committed per transaction; bounds memory during ingest"
    )
    min_date: date = Field(date(1990, 1, 1), description="Dates before this are rejected as implausible")
    max_amount: float = Field(
        1e13, description="Largest value or mass accepted; larger numbers are treated as data errors"
    )
    unit_mass_tolerance: float = Field(
        0.05, description="Allowed relative gap between a KGM/TNE quantity and the net mass of an item"
    )
    sqlite_cache_mb: int = Field(256, ge=2, description="Page cache of each SQLite connection, in MiB")
    csv_field_limit: int = Field(
        64 * 1024 * 1024, description="Largest single CSV field read (bytes); larger ones stop the file"
    )

    entity_match_threshold: float = Field(
        0.9, gt=0, le=1, description="Match probability at which two party records are resolved to one entity"
    )
    entity_link_floor: float = Field(
        0.5, gt=0, le=1, description="Scored pairs below this probability are not kept (nor shown as near misses)"
    )
    screening_threshold: float = Field(
        0.70, gt=0, le=1, description="Watch-list screening score at which a party raises a hit"
    )
    screening_auto_list_score: float = Field(
        0.95, gt=0, le=1, description="Open screening hits this strong (an identifier or the exact name matched) "
        "count as listed without waiting for an analyst's disposition"
    )
    network_half_life_days: float = Field(
        180.0, gt=0, description="Age at which a seizure or listing weighs half as much in risk propagation"
    )


@cache
def get_settings() -> Settings:
    return Settings()
