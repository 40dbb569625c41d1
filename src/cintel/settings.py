"""Configuration, in one place: every setting is an environment variable prefixed CINTEL_."""

from __future__ import annotations

import ipaddress
from datetime import date
from functools import cache
from pathlib import Path

from pydantic import Field, field_validator
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
    cusdec_profiles: Path | None = Field(
        None, description="Directory of extra CUSDEC mapping profiles (*.toml, one per message implementation "
        "guide); a file named like a packaged profile replaces it. See docs/cusdec.md"
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

    web_host: str = Field("127.0.0.1", description="Address `cintel serve` listens on (loopback unless told)")
    web_port: int = Field(8000, ge=1, le=65535, description="Port `cintel serve` listens on")
    web_secure_cookies: bool = Field(
        True, description="Mark the session cookie Secure (sent over HTTPS only); turn off only for local HTTP tests"
    )
    web_session_hours: float = Field(
        8.0, gt=0, description="Absolute lifetime of a web session: sign in again after this many hours"
    )
    web_session_idle_minutes: float = Field(
        30.0, gt=0, description="A web session unused for this many minutes expires"
    )
    web_login_free_failures: int = Field(
        3, ge=1, description="Failed sign-ins for one username from one address before each further attempt "
        "from there must wait (the account stays open from every other address)"
    )
    web_login_delay_seconds: float = Field(
        2.0, gt=0, description="Wait after the first failure past web_login_free_failures; it doubles with each "
        "further failure for the same username and address"
    )
    web_login_max_delay_seconds: float = Field(
        300.0, gt=0, description="Longest wait between sign-in attempts for one username from one address"
    )
    web_login_address_max_failures: int = Field(
        50, ge=1, description="Failed sign-ins from one address, whatever the username, before that address is "
        "refused until the window has passed (password spraying)"
    )
    web_login_window_minutes: float = Field(
        15.0, gt=0, description="Failed sign-ins older than this are forgotten by the throttle"
    )
    web_trusted_proxies: str = Field(
        "", description="Comma-separated addresses or networks (CIDR) of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto headers are believed; empty: none, the client address is the "
        "connecting one"
    )

    @field_validator("web_trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"'{item}' is not an IP address or network") from None
        return value
    web_password_min_length: int = Field(12, ge=12, description="Shortest password accepted for a user account")
    password_hash_time_cost: int = Field(
        3, ge=1, description="argon2id iterations per password hash (RFC 9106 low-memory profile: 3); lower only "
        "for test suites, never in service"
    )
    password_hash_memory_kib: int = Field(
        65536, ge=8, description="argon2id memory per password hash, in KiB (RFC 9106 low-memory profile: 64 MiB); "
        "lower only for test suites, never in service"
    )
    resolution_u_sample_pairs: float = Field(
        2e6, ge=1e4, description="Random record pairs resolution trains its u probabilities on (Splink's "
        "max_pairs); fewer is faster and coarser on rare levels: lower only for test suites and small stores"
    )
    no_preference_codes: tuple[str, ...] = Field(
        ("100",), description="Preference codes (UCC DE 4/17 or national) that claim no tariff preference; any "
        "other code on an item is a preference claim"
    )
    origin_proof_document_types: tuple[str, ...] = Field(
        ("861", "865", "N954", "N864", "N865", "U164", "U162", "U167", "U168", "A001"),
        description="Document types that prove a preferential origin (UNCL 1001 861/865 certificates of origin, "
        "EU EUR.1 N954, Form A N864/N865, statements on origin U1xx); a preference claim with none is flagged"
    )
    relief_procedure_codes: tuple[str, ...] = Field(
        ("42", "63", "61"), description="Requested procedures that release goods with a tax relief open to abuse "
        "(EU 42/63 VAT-exempt onward supply, 61 re-importation); items under them are flagged"
    )


@cache
def get_settings() -> Settings:
    return Settings()
