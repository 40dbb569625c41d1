"""Record definitions: the one description of every flat format cintel reads.

Each record kind is data: a list of fields with their kind (what values are valid), whether
the column must be present and may be empty, and, for declarations, whether the field belongs
to the declaration header or to an item. The validator, the store tables, the JSON schemas and
the documentation are all generated from these definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache

from cintel.domain.codes import (
    Channel,
    CodeList,
    DeclarationType,
    EmptyIndicator,
    EntityType,
    EventCategory,
    EventClassifier,
    EventType,
    HandlingCode,
    Incoterm,
    InfoCredibility,
    OutcomeType,
    PartyRole,
    QuantityUnit,
    SourceReliability,
    TariffMeasure,
    TransportMode,
)


class FieldKind(StrEnum):
    """What a field holds; decides how it is validated, standardised and stored."""

    ID = "id"  # identifier: trimmed, no control characters, compared verbatim
    NAME = "name"  # party name: whitespace and Unicode normalised, raw kept
    TEXT = "text"  # free text: whitespace and Unicode normalised, raw kept
    CODE = "code"  # one value of a code list (Field.codes)
    DATE = "date"  # ISO date YYYY-MM-DD, not in the future, not before 1990
    DATETIME = "datetime"  # ISO 8601 timestamp, stored in UTC
    INTEGER = "integer"
    DECIMAL = "decimal"  # finite, non-negative unless Field.signed
    COUNTRY = "country"  # ISO 3166-1 alpha-2
    CURRENCY = "currency"  # ISO 4217
    HS_CODE = "hs_code"  # 6 to 10 digits, valid HS chapter
    LOCODE = "locode"  # UN/LOCODE: country + 3 letters/digits
    LOCODE_LIST = "locode_list"  # ';'-separated UN/LOCODEs
    CONTAINER_LIST = "container_list"  # ';'-separated ISO 6346 numbers with check digit
    CONTAINER = "container"
    IMO = "imo"  # IMO ship number with check digit
    IBAN = "iban"
    EMAIL = "email"
    PHONE = "phone"  # E.164-like: '+' and 6-15 digits once spaces and punctuation are removed
    LATITUDE = "latitude"
    LONGITUDE = "longitude"
    BOOLEAN = "boolean"
    LIST = "list"  # ';'-separated free values (aliases, subject names)
    ENTRY_LIST = "entry_list"  # ';'-separated entries of ':'-separated parts (Field.parts), e.g. duties


class Level(StrEnum):
    HEADER = "header"
    ITEM = "item"


@dataclass(frozen=True)
class Field:
    name: str
    kind: FieldKind
    description: str
    required: bool = True  # column must be present in the file
    nullable: bool = False  # value may be empty
    codes: type[CodeList] | None = None
    max_length: int = 256
    signed: bool = False
    level: Level = Level.HEADER
    # Earliest plausible date; None means the store-wide setting (min_date). Dates of birth and
    # company registrations legitimately reach further back than any trade record.
    earliest: date | None = None
    # ENTRY_LIST only: the parts of each entry, in order, and which of them are amounts (DECIMAL).
    parts: tuple[str, ...] = ()
    numeric_parts: tuple[str, ...] = ()
    # A date or time that may lie in the future when another field of the record has one of these values
    # (a planned or estimated event): (field, values).
    future_when: tuple[str, tuple[str, ...]] | None = None


class RecordKind(StrEnum):
    DECLARATIONS = "declarations"
    PARTIES = "parties"
    MANIFESTS = "manifests"
    EVENTS = "events"
    INSPECTIONS = "inspections"
    INTEL_REPORTS = "intel_reports"
    FINANCIAL = "financial"
    WATCHLIST = "watchlist"
    TARIFF = "tariff"


@dataclass(frozen=True)
class RecordFormat:
    kind: RecordKind
    description: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    # Rows sharing the group key form one record that is stored or quarantined whole.
    group: tuple[str, ...] = ()
    table: str = ""
    item_table: str = ""

    def field(self, name: str) -> Field:
        return self.field_map[name]

    @property
    def field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @property
    def required_columns(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    @property
    def header_fields(self) -> list[Field]:
        return [f for f in self.fields if f.level is Level.HEADER]

    @property
    def item_fields(self) -> list[Field]:
        return [f for f in self.fields if f.level is Level.ITEM]


DOCUMENT_PARTS = ("type", "reference")
DUTY_PARTS = ("type", "base", "rate", "amount")

K = FieldKind
I = Level.ITEM  # noqa: E741  (short alias keeps the tables below readable)


def _opt(name: str, kind: FieldKind, description: str, **kw: object) -> Field:
    """An optional column that may be empty."""
    return Field(name, kind, description, required=False, nullable=True, **kw)  # type: ignore[arg-type]


DECLARATIONS = RecordFormat(
    kind=RecordKind.DECLARATIONS,
    description="Customs declarations, one row per declaration item; header fields repeat on every item",
    table="declarations",
    item_table="declaration_items",
    key=("declaration_id", "item_no"),
    group=("declaration_id",),
    fields=(
        Field("declaration_id", K.ID, "Declaration reference (MRN or national number)", max_length=64),
        Field("item_no", K.INTEGER, "Item number within the declaration, from 1", level=I),
        Field("declaration_date", K.DATE, "Date the declaration was lodged"),
        Field("declaration_type", K.CODE, "IM, EX or TR", codes=DeclarationType),
        Field("office_code", K.ID, "Customs office of lodgement", max_length=16),
        Field("importer_id", K.ID, "Importer's trader identifier (EORI, TIN)", nullable=True, max_length=64),
        Field("importer_name", K.NAME, "Importer's name as declared (a declaration names its importer by "
              "importer_id, importer_name or both)", nullable=True),
        Field("importer_country", K.COUNTRY, "Importer's country"),
        Field("exporter_name", K.NAME, "Exporter's (consignor's) name as declared", nullable=True),
        Field("exporter_country", K.COUNTRY, "Exporter's country", nullable=True),
        Field("declarant_id", K.ID, "Declarant or customs broker identifier", nullable=True, max_length=64),
        Field("country_of_origin", K.COUNTRY, "Country of origin of the goods", level=I),
        Field("country_of_dispatch", K.COUNTRY, "Country the goods were dispatched from"),
        Field("port_of_loading", K.LOCODE, "UN/LOCODE where goods were loaded", nullable=True),
        Field("port_of_discharge", K.LOCODE, "UN/LOCODE where goods were discharged", nullable=True),
        Field("transport_mode", K.CODE, "Mode of transport at the border (1 sea ... 5 post)", codes=TransportMode),
        Field("vessel_imo", K.IMO, "IMO number of the vessel (sea only)", nullable=True),
        Field("container_numbers", K.CONTAINER_LIST, "ISO 6346 numbers of the containers the item travels in, "
              "';'-separated (UCC DE 19 07, SAD box 31); the declaration's containers are the union of its items'",
              nullable=True, max_length=4096, level=I),
        Field("hs_code", K.HS_CODE, "Commodity code, 6 to 10 digits", level=I),
        Field("goods_description", K.TEXT, "Description of the goods", max_length=4096, level=I),
        Field("quantity", K.DECIMAL, "Supplementary quantity", nullable=True, level=I),
        Field("quantity_unit", K.CODE, "UN/ECE Rec. 20 unit of the quantity", nullable=True, codes=QuantityUnit,
              level=I),
        Field("net_mass_kg", K.DECIMAL, "Net mass in kilograms", level=I),
        Field("gross_mass_kg", K.DECIMAL, "Gross mass in kilograms", level=I),
        Field("invoice_currency", K.CURRENCY, "Currency of the invoice"),
        Field("invoice_value", K.DECIMAL, "Item price in the invoice currency", level=I),
        Field("customs_value", K.DECIMAL, "Customs value in national currency", level=I),
        Field("incoterm", K.CODE, "Incoterms 2020 delivery term", nullable=True, codes=Incoterm),
        _opt("importer_address", K.TEXT, "Importer's address", max_length=1024),
        _opt("exporter_id", K.ID, "Exporter's identifier", max_length=64),
        _opt("voyage", K.ID, "Voyage number", max_length=32),
        _opt("transshipment_ports", K.LOCODE_LIST, "UN/LOCODEs of transshipment, ';'-separated", max_length=512),
        _opt("bl_number", K.ID, "Bill of lading / air waybill number", max_length=64),
        _opt("country_of_destination", K.COUNTRY, "Country of destination of the goods (UCC DE 5/8)"),
        _opt("total_packages", K.INTEGER, "Total number of packages of the declaration (UCC DE 6/18)"),
        _opt("documents", K.ENTRY_LIST, "Documents produced for the whole declaration, 'TYPE:REFERENCE' entries, "
             "';'-separated (UNCL 1001 or national codes: 380 invoice, 861 certificate of origin, 911 licence)",
             max_length=4096, parts=DOCUMENT_PARTS),
        _opt("representative_id", K.ID, "Agent or customs representative's identifier (UCC DE 3/20)", max_length=64),
        _opt("representative_name", K.NAME, "Agent or customs representative's name (UCC DE 3/19)"),
        _opt("consignee_id", K.ID, "Consignee's identifier (UCC DE 3/10)", max_length=64),
        _opt("consignee_name", K.NAME, "Consignee's name (UCC DE 3/9)"),
        _opt("consignee_country", K.COUNTRY, "Consignee's country"),
        _opt("seller_id", K.ID, "Seller's identifier (UCC DE 3/25)", max_length=64),
        _opt("seller_name", K.NAME, "Seller's name (UCC DE 3/24)"),
        _opt("seller_country", K.COUNTRY, "Seller's country"),
        _opt("buyer_id", K.ID, "Buyer's identifier (UCC DE 3/27)", max_length=64),
        _opt("buyer_name", K.NAME, "Buyer's name (UCC DE 3/26)"),
        _opt("buyer_country", K.COUNTRY, "Buyer's country"),
        _opt("procedure_code", K.ID, "Requested customs procedure (UCC DE 1/10, first two digits, e.g. 40 release "
             "for free circulation, 42 with VAT-exempt onward supply; or the national code)", max_length=8, level=I),
        _opt("previous_procedure", K.ID, "Previous customs procedure (UCC DE 1/10, last two digits, e.g. 00 none, "
             "71 customs warehousing)", max_length=8, level=I),
        _opt("preference_code", K.ID, "Tariff preference claimed (UCC DE 4/17: 100 none, 2xx GSP, 3xx preferential "
             "agreement; or the national code)", max_length=8, level=I),
        _opt("duties", K.ENTRY_LIST, "Duties and taxes assessed on the item, 'TYPE:BASE:RATE:AMOUNT' entries, "
             "';'-separated, parts may be empty (e.g. 'A00:2250:0.12:270;B00:2520::504')", max_length=4096,
             level=I, parts=DUTY_PARTS, numeric_parts=("base", "rate", "amount")),
        _opt("item_documents", K.ENTRY_LIST, "Documents and certificates produced for the item, 'TYPE:REFERENCE' "
             "entries, ';'-separated (e.g. '861:CO-2025-0042;N935:INV-77')", max_length=4096, level=I,
             parts=DOCUMENT_PARTS),
        _opt("packages", K.INTEGER, "Number of packages of the item (UCC DE 6/10)", level=I),
        _opt("package_kind", K.ID, "Kind of packages, UN/ECE Rec. 21 code (CT carton, PK package, BX box)",
             max_length=8, level=I),
        _opt("package_marks", K.TEXT, "Shipping marks of the item's packages (UCC DE 6/11)", max_length=1024,
             level=I),
        _opt("warehouse_id", K.ID, "Warehouse (keeper) the goods are stored in, by identifier", max_length=64,
             level=I),
    ),
)

PARTIES = RecordFormat(
    kind=RecordKind.PARTIES,
    description="Trader register: parties with their identifiers and contact details",
    table="parties",
    key=("party_id",),
    fields=(
        Field("party_id", K.ID, "Identifier of the party in the source (EORI, TIN, register number)", max_length=64),
        Field("name", K.NAME, "Registered name"),
        Field("country", K.COUNTRY, "Country of establishment"),
        _opt("entity_type", K.CODE, "company or person", codes=EntityType),
        _opt("roles", K.LIST, "Roles seen (importer, exporter, declarant, ...), ';'-separated"),
        _opt("eori", K.ID, "EORI number", max_length=17),
        _opt("vat", K.ID, "VAT number", max_length=20),
        _opt("address", K.TEXT, "Postal address", max_length=1024),
        _opt("phone", K.PHONE, "Phone number"),
        _opt("email", K.EMAIL, "E-mail address", max_length=254),
        _opt("iban", K.IBAN, "Bank account (IBAN)"),
        _opt("directors", K.LIST, "Directors' names, ';'-separated", max_length=2048),
        _opt("registered_on", K.DATE, "Date of registration", earliest=date(1800, 1, 1)),
    ),
)

MANIFESTS = RecordFormat(
    kind=RecordKind.MANIFESTS,
    description="Cargo manifest lines: one row per bill of lading",
    table="manifests",
    key=("bl_number",),
    fields=(
        Field("bl_number", K.ID, "Bill of lading number", max_length=64),
        Field("vessel_imo", K.IMO, "IMO number of the vessel", nullable=True),
        Field("voyage", K.ID, "Voyage number", nullable=True, max_length=32),
        Field("carrier_name", K.NAME, "Carrier", nullable=True),
        Field("shipper_name", K.NAME, "Shipper"),
        Field("shipper_country", K.COUNTRY, "Shipper's country", nullable=True),
        Field("consignee_name", K.NAME, "Consignee"),
        Field("consignee_country", K.COUNTRY, "Consignee's country", nullable=True),
        _opt("notify_name", K.NAME, "Notify party"),
        Field("port_of_loading", K.LOCODE, "UN/LOCODE of loading"),
        Field("port_of_discharge", K.LOCODE, "UN/LOCODE of discharge"),
        _opt("transshipment_ports", K.LOCODE_LIST, "UN/LOCODEs of transshipment, ';'-separated", max_length=512),
        Field("container_numbers", K.CONTAINER_LIST, "ISO 6346 numbers, ';'-separated", nullable=True,
              max_length=4096),
        Field("goods_description", K.TEXT, "Goods as described on the B/L", max_length=4096),
        _opt("hs_code", K.HS_CODE, "Commodity code if given"),
        Field("gross_mass_kg", K.DECIMAL, "Gross mass in kilograms"),
        _opt("packages", K.INTEGER, "Number of packages"),
        Field("loading_date", K.DATE, "Date of loading"),
        _opt("arrival_date", K.DATE, "Expected or actual date of arrival"),
    ),
)

EVENTS = RecordFormat(
    kind=RecordKind.EVENTS,
    description="Container and vessel movement events (DCSA-style)",
    table="transport_events",
    key=("event_id",),
    fields=(
        Field("event_id", K.ID, "Unique event identifier", max_length=64),
        Field("event_type", K.CODE, "DCSA event code", codes=EventType),
        Field("event_time", K.DATETIME, "When the event happened, or is planned or estimated to happen (ISO 8601, "
              "UTC if no offset); only a planned or estimated event may lie in the future",
              future_when=("event_classifier", ("PLN", "EST"))),
        Field("container_number", K.CONTAINER, "Container (equipment events)", nullable=True),
        Field("vessel_imo", K.IMO, "Vessel (transport events, positions)", nullable=True),
        Field("locode", K.LOCODE, "UN/LOCODE of the place", nullable=True),
        _opt("latitude", K.LATITUDE, "WGS84 latitude"),
        _opt("longitude", K.LONGITUDE, "WGS84 longitude"),
        _opt("bl_number", K.ID, "Bill of lading the event relates to", max_length=64),
        _opt("voyage", K.ID, "Voyage number", max_length=32),
        # Empty when the source does not say: unknown, never taken for ACT. Only ACT events have happened.
        _opt("event_classifier", K.CODE, "PLN planned, EST estimated or ACT actual; empty if the source does not "
             "say (unknown, not taken as actual)", codes=EventClassifier),
        _opt("event_category", K.CODE, "DCSA event type: SHIPMENT, TRANSPORT or EQUIPMENT", codes=EventCategory),
        _opt("empty_indicator", K.CODE, "LADEN or EMPTY (equipment events)", codes=EmptyIndicator),
        _opt("facility_code", K.ID, "SMDG or BIC code of the terminal or depot", max_length=16),
        _opt("retracted_event_id", K.ID, "The earlier event this one retracts", max_length=64),
        _opt("document_reference", K.ENTRY_LIST, "Documents the event relates to, 'TYPE:REFERENCE' entries, "
             "';'-separated (DCSA BKG booking, TRD transport document)", max_length=1024, parts=DOCUMENT_PARTS),
    ),
)

INSPECTIONS = RecordFormat(
    kind=RecordKind.INSPECTIONS,
    description="Inspection results recorded by inspectors, one row per inspected declaration",
    table="inspections",
    key=("inspection_id",),
    fields=(
        Field("inspection_id", K.ID, "Inspection reference", max_length=64),
        Field("declaration_id", K.ID, "Declaration inspected", max_length=64),
        Field("inspection_date", K.DATE, "Date of the inspection"),
        Field("channel", K.CODE, "Channel of the check (yellow documentary, red physical)", codes=Channel),
        Field("outcome", K.CODE, "What the inspection established", codes=OutcomeType),
        _opt("findings", K.TEXT, "Inspector's findings", max_length=4096),
        _opt("additional_duty", K.DECIMAL, "Additional duty and taxes assessed, national currency"),
        _opt("seizure", K.BOOLEAN, "Goods seized"),
        _opt("seized_goods", K.TEXT, "What was seized", max_length=1024),
        _opt("inspector_id", K.ID, "Inspector", max_length=64),
        _opt("selection_reason", K.TEXT, "Why the declaration was selected (rule, random, ...)", max_length=256),
    ),
)

INTEL_REPORTS = RecordFormat(
    kind=RecordKind.INTEL_REPORTS,
    description="Intelligence reports graded with the 5x5x5 system and a TLP handling code",
    table="intel_reports",
    key=("report_id",),
    fields=(
        Field("report_id", K.ID, "Report reference", max_length=64),
        Field("report_date", K.DATE, "Date of the report"),
        Field("source", K.TEXT, "Originating source or agency", max_length=256),
        Field("source_reliability", K.CODE, "Source evaluation A-E", codes=SourceReliability),
        Field("info_credibility", K.CODE, "Information evaluation 1-5", codes=InfoCredibility),
        Field("handling_code", K.CODE, "TLP 2.0 handling code", codes=HandlingCode),
        Field("subject_entities", K.LIST, "Names of subjects (companies, persons, vessels), ';'-separated",
              max_length=4096),
        Field("text", K.TEXT, "Report text", max_length=65536),
    ),
)

FINANCIAL = RecordFormat(
    kind=RecordKind.FINANCIAL,
    description="Financial records: payments between parties",
    table="financial_records",
    key=("record_id",),
    fields=(
        Field("record_id", K.ID, "Transaction reference", max_length=64),
        Field("record_date", K.DATE, "Value date"),
        Field("payer_name", K.NAME, "Payer"),
        Field("payer_account", K.IBAN, "Payer's IBAN", nullable=True),
        Field("payee_name", K.NAME, "Payee"),
        Field("payee_account", K.IBAN, "Payee's IBAN", nullable=True),
        Field("amount", K.DECIMAL, "Amount"),
        Field("currency", K.CURRENCY, "Currency of the amount"),
        _opt("payer_country", K.COUNTRY, "Payer's country"),
        _opt("payee_country", K.COUNTRY, "Payee's country"),
        _opt("reference", K.TEXT, "Payment reference text", max_length=1024),
    ),
)

WATCHLIST = RecordFormat(
    kind=RecordKind.WATCHLIST,
    description="Watch-list entries (sanctions, wanted, high-risk) in a simple flat form",
    table="watchlist_entries",
    key=("list_name", "entry_id"),
    fields=(
        Field("list_name", K.ID, "Name of the list", max_length=128),
        Field("entry_id", K.ID, "Identifier of the entry within the list", max_length=128),
        Field("name", K.NAME, "Primary name"),
        Field("entity_type", K.CODE, "company, person or vessel", codes=EntityType),
        _opt("aliases", K.LIST, "Other names, ';'-separated", max_length=8192),
        _opt("country", K.COUNTRY, "Country"),
        _opt("birth_date", K.DATE, "Date of birth (persons)", earliest=date(1900, 1, 1)),
        _opt("imo", K.IMO, "IMO number (vessels)"),
        _opt("identifiers", K.LIST, "Registration or tax numbers, ';'-separated", max_length=2048),
        _opt("program", K.TEXT, "Sanctions programme(s) the entry is listed under, ';'-separated", max_length=1024),
        _opt("listed_on", K.DATE, "Date of listing (the earliest listing or start date of its sanctions)",
             earliest=date(1900, 1, 1)),
        _opt("list_version", K.ID, "Version or date of the list release", max_length=64),
        _opt("authority", K.TEXT, "Authority that listed the entry (e.g. 'Office of Foreign Assets Control'), "
             "';'-separated", max_length=1024),
        _opt("listed_until", K.ID, "End date of the listing, YYYY-MM-DD (may lie in the future); empty while "
             "any of its sanctions is open-ended", max_length=10),
        _opt("reason", K.TEXT, "Why the entry is listed, as the publisher states it", max_length=4096),
        _opt("topics", K.LIST, "What the entry is listed for (FtM topics: sanction, debarment, wanted, ...), "
             "';'-separated", max_length=512),
        _opt("source_url", K.TEXT, "Where the publisher documents the listing", max_length=1024),
    ),
)

TARIFF = RecordFormat(
    kind=RecordKind.TARIFF,
    description="Tariff measures: duty rates by HS code or prefix and, for some measures, origin",
    table="tariff_measures",
    key=("measure_id",),
    fields=(
        Field("measure_id", K.ID, "Measure reference", max_length=64),
        Field("hs_prefix", K.ID, "HS code or prefix (2 to 10 digits) the measure applies to", max_length=10),
        Field("measure_type", K.CODE, "Kind of measure", codes=TariffMeasure),
        Field("duty_rate", K.DECIMAL, "Ad valorem rate as a fraction of the customs value (0.12 = 12 %)"),
        _opt("origin", K.COUNTRY, "Origin the measure applies to; empty for all origins"),
        _opt("valid_from", K.DATE, "First day the measure applies"),
        _opt("valid_to", K.DATE, "Last day the measure applies"),
    ),
)

FORMATS: dict[RecordKind, RecordFormat] = {
    f.kind: f
    for f in (DECLARATIONS, PARTIES, MANIFESTS, EVENTS, INSPECTIONS, INTEL_REPORTS, FINANCIAL, WATCHLIST, TARIFF)
}


@cache
def record_format(kind: RecordKind | str) -> RecordFormat:
    return FORMATS[RecordKind(kind)]


def detect_kind(columns: list[str]) -> RecordKind | None:
    """The record kind whose required columns are all present, preferring the most specific."""
    present = set(columns)
    matches = [f for f in FORMATS.values() if set(f.required_columns) <= present]
    if not matches:
        return None
    return max(matches, key=lambda f: len(f.required_columns)).kind


@dataclass(frozen=True)
class PartyMention:
    """Where a record kind names a party: the role, and which source column gives each attribute.

    Attributes are those entity resolution compares: name, country, tax_id, address, phone, email,
    iban, imo; ``identifiers`` (filled from the ``identifiers`` columns) is every identifier given.
    ``listed`` names a ';'-separated column holding several parties (directors, report subjects);
    ``entity_type`` fixes the type where the role implies it, else the source's ``entity_type`` column
    gives it, else it is unknown.
    """

    kind: RecordKind
    role: PartyRole
    columns: dict[str, str]
    date: str
    entity_type: EntityType | None = None
    listed: str | None = None
    # Every identifier column of the mention (tax_id first), each ';'-separated: screening matches a
    # listed identifier against all of them (a register's VAT and EORI numbers, a list's INN or IMO).
    identifiers: tuple[str, ...] = ()


PARTY_MENTIONS: tuple[PartyMention, ...] = (
    PartyMention(RecordKind.PARTIES, PartyRole.REGISTERED,
                 {"name": "name", "country": "country", "tax_id": "party_id", "address": "address", "phone": "phone",
                  "email": "email", "iban": "iban"}, "registered_on", identifiers=("party_id", "eori", "vat")),
    PartyMention(RecordKind.PARTIES, PartyRole.DIRECTOR, {"country": "country"}, "registered_on",
                 EntityType.PERSON, listed="directors"),
    PartyMention(RecordKind.DECLARATIONS, PartyRole.IMPORTER,
                 {"tax_id": "importer_id", "name": "importer_name", "country": "importer_country",
                  "address": "importer_address"}, "declaration_date"),
    PartyMention(RecordKind.DECLARATIONS, PartyRole.EXPORTER,
                 {"tax_id": "exporter_id", "name": "exporter_name", "country": "exporter_country"}, "declaration_date"),
    PartyMention(RecordKind.DECLARATIONS, PartyRole.DECLARANT, {"tax_id": "declarant_id"}, "declaration_date"),
    PartyMention(RecordKind.DECLARATIONS, PartyRole.REPRESENTATIVE,
                 {"tax_id": "representative_id", "name": "representative_name"}, "declaration_date"),
    PartyMention(RecordKind.DECLARATIONS, PartyRole.CONSIGNEE,
                 {"tax_id": "consignee_id", "name": "consignee_name", "country": "consignee_country"},
                 "declaration_date"),
    PartyMention(RecordKind.DECLARATIONS, PartyRole.SELLER,
                 {"tax_id": "seller_id", "name": "seller_name", "country": "seller_country"}, "declaration_date"),
    PartyMention(RecordKind.DECLARATIONS, PartyRole.BUYER,
                 {"tax_id": "buyer_id", "name": "buyer_name", "country": "buyer_country"}, "declaration_date"),
    PartyMention(RecordKind.DECLARATIONS, PartyRole.VESSEL, {"imo": "vessel_imo"}, "declaration_date",
                 EntityType.VESSEL),
    PartyMention(RecordKind.MANIFESTS, PartyRole.SHIPPER, {"name": "shipper_name", "country": "shipper_country"},
                 "loading_date"),
    PartyMention(RecordKind.MANIFESTS, PartyRole.CONSIGNEE,
                 {"name": "consignee_name", "country": "consignee_country"}, "loading_date"),
    PartyMention(RecordKind.MANIFESTS, PartyRole.NOTIFY, {"name": "notify_name"}, "loading_date"),
    PartyMention(RecordKind.MANIFESTS, PartyRole.CARRIER, {"name": "carrier_name"}, "loading_date",
                 EntityType.COMPANY),
    PartyMention(RecordKind.MANIFESTS, PartyRole.VESSEL, {"imo": "vessel_imo"}, "loading_date", EntityType.VESSEL),
    PartyMention(RecordKind.FINANCIAL, PartyRole.PAYER,
                 {"name": "payer_name", "iban": "payer_account", "country": "payer_country"}, "record_date"),
    PartyMention(RecordKind.FINANCIAL, PartyRole.PAYEE,
                 {"name": "payee_name", "iban": "payee_account", "country": "payee_country"}, "record_date"),
    PartyMention(RecordKind.INTEL_REPORTS, PartyRole.SUBJECT, {}, "report_date", listed="subject_entities"),
    PartyMention(RecordKind.WATCHLIST, PartyRole.LISTED,
                 {"name": "name", "country": "country", "tax_id": "identifiers", "imo": "imo"}, "listed_on",
                 identifiers=("identifiers",)),
)
PARTY_ATTRIBUTES = ("name", "country", "tax_id", "address", "phone", "email", "iban", "imo", "identifiers")
"""What a party record holds; ``identifiers`` is every identifier the mention gives, ';'-joined, sorted."""
