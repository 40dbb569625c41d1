"""Code lists of the canonical model.

Each list is an Enum whose members carry a description, so logic never compares bare
strings and every screen or report can say what a code means.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache

import pycountry


class CodeList(StrEnum):
    """A code with a human description; the value is the code as it appears in data."""

    description: str

    def __new__(cls, code: str, description: str = "") -> CodeList:
        member = str.__new__(cls, code)
        member._value_ = code
        member.description = description
        return member

    @classmethod
    def codes(cls) -> list[str]:
        return [m.value for m in cls]


class DeclarationType(CodeList):
    IMPORT = ("IM", "Import declaration")
    EXPORT = ("EX", "Export declaration")
    TRANSIT = ("TR", "Transit declaration")


class TransportMode(CodeList):
    """WCO / EU single-digit mode of transport at the border."""

    SEA = ("1", "Maritime transport")
    RAIL = ("2", "Rail transport")
    ROAD = ("3", "Road transport")
    AIR = ("4", "Air transport")
    POST = ("5", "Postal consignment")
    FIXED = ("7", "Fixed transport installations (pipelines, power lines)")
    INLAND_WATERWAY = ("8", "Inland waterway transport")
    OWN_PROPULSION = ("9", "Own propulsion")


class Channel(CodeList):
    GREEN = ("green", "Release without check")
    YELLOW = ("yellow", "Documentary check")
    RED = ("red", "Physical inspection")


class OutcomeType(CodeList):
    NO_FINDING = ("no_finding", "Inspected, nothing irregular found")
    UNDERVALUATION = ("undervaluation", "Customs value declared below the real transaction value")
    MISCLASSIFICATION = ("misclassification", "Goods declared under a wrong (usually lower-duty) HS heading")
    ORIGIN_MISDECLARATION = ("origin_misdeclaration", "False country of origin (e.g. to evade anti-dumping duty)")
    MISDECLARED_GOODS = ("misdeclared_goods", "Goods differ from the description or quantity declared")
    PROHIBITED_GOODS = ("prohibited_goods", "Prohibited or restricted goods found (narcotics, weapons, IPR)")
    DOCUMENTARY_IRREGULARITY = ("documentary_irregularity", "Missing or false supporting documents")

    @property
    def is_fraud(self) -> bool:
        return self is not OutcomeType.NO_FINDING


class TariffMeasure(CodeList):
    THIRD_COUNTRY = ("third_country", "Third-country (MFN) duty")
    ANTI_DUMPING = ("anti_dumping", "Anti-dumping or countervailing duty on goods of an origin")
    PREFERENTIAL = ("preferential", "Preferential (reduced) duty for goods of an origin")


class PartyRole(CodeList):
    IMPORTER = ("importer", "Importer / consignee of the declaration")
    EXPORTER = ("exporter", "Exporter / consignor")
    DECLARANT = ("declarant", "Declarant or customs broker")
    CARRIER = ("carrier", "Carrier")
    NOTIFY = ("notify", "Notify party of the bill of lading")
    SHIPPER = ("shipper", "Shipper on the bill of lading")
    CONSIGNEE = ("consignee", "Consignee of a declaration or a bill of lading")
    REPRESENTATIVE = ("representative", "Agent or customs representative lodging for the declarant")
    SELLER = ("seller", "Seller of the goods")
    BUYER = ("buyer", "Buyer of the goods")
    REGISTERED = ("registered", "The party's own entry in the trader register")
    DIRECTOR = ("director", "Director of a registered company")
    PAYER = ("payer", "Payer of a financial transaction")
    PAYEE = ("payee", "Payee of a financial transaction")
    SUBJECT = ("subject", "Subject named in an intelligence report")
    LISTED = ("listed", "Entry of a watch list")
    VESSEL = ("vessel", "Vessel that carried the goods")


class EntityType(CodeList):
    COMPANY = ("company", "Legal person")
    PERSON = ("person", "Natural person")
    VESSEL = ("vessel", "Ship identified by IMO number")
    UNKNOWN = ("unknown", "Not stated")


class EventType(CodeList):
    """DCSA-style equipment and transport event codes."""

    GATE_IN = ("GTIN", "Container gated in at a terminal")
    GATE_OUT = ("GTOT", "Container gated out of a terminal")
    LOAD = ("LOAD", "Container loaded on a vessel")
    DISCHARGE = ("DISC", "Container discharged from a vessel")
    STUFFING = ("STUF", "Container stuffed")
    STRIPPING = ("STRP", "Container stripped")
    DEPARTURE = ("DEPA", "Vessel departed a port")
    ARRIVAL = ("ARRI", "Vessel arrived at a port")
    POSITION = ("POSN", "Vessel position report (AIS)")
    INSPECTED = ("INSP", "Container inspected")
    CUSTOMS_SELECTED = ("CUSS", "Container selected for a customs check")
    CUSTOMS_INSPECTED = ("CUSI", "Container inspected by customs")
    CUSTOMS_RELEASED = ("CUSR", "Container released by customs")
    PICK_UP = ("PICK", "Container picked up (inland)")
    DROP_OFF = ("DROP", "Container dropped off (inland)")
    REMOVED = ("RMVD", "Container removed from a vessel before its destination (DCSA)")
    RESEALED = ("RSEA", "Container resealed")
    # DCSA shipment events: the state of a booking or transport document, no container or vessel of their own.
    RECEIVED = ("RECE", "Shipment document received")
    DRAFTED = ("DRFT", "Shipment document drafted")
    PENDING_APPROVAL = ("PENA", "Shipment document pending approval")
    PENDING_UPDATE = ("PENU", "Shipment document pending an update")
    PENDING_CONFIRMATION = ("PENC", "Booking pending confirmation")
    CONFIRMED = ("CONF", "Booking confirmed")
    REJECTED = ("REJE", "Shipment document rejected")
    APPROVED = ("APPR", "Shipment document approved")
    ISSUED = ("ISSU", "Transport document issued")
    SURRENDERED = ("SURR", "Transport document surrendered")
    SUBMITTED = ("SUBM", "Shipment document submitted")
    VOIDED = ("VOID", "Shipment document voided")
    REQUESTED = ("REQS", "Booking requested")
    COMPLETED = ("CMPL", "Booking completed")
    CANCELLED = ("CANC", "Booking cancelled")
    ON_HOLD = ("HOLD", "Shipment on hold")
    RELEASED = ("RELS", "Shipment released")


class SourceReliability(CodeList):
    """5x5x5 evaluation of an intelligence source."""

    A = ("A", "Always reliable")
    B = ("B", "Mostly reliable")
    C = ("C", "Sometimes reliable")
    D = ("D", "Unreliable")
    E = ("E", "Untested source")


class InfoCredibility(CodeList):
    """5x5x5 evaluation of a piece of information."""

    KNOWN_TRUE = ("1", "Known to be true without reservation")
    KNOWN_TO_SOURCE = ("2", "Known personally to the source but not to the officer")
    NOT_KNOWN = ("3", "Not personally known to the source but corroborated")
    UNCORROBORATED = ("4", "Cannot be judged")
    SUSPECTED_FALSE = ("5", "Suspected to be false or malicious")


class HandlingCode(CodeList):
    """Traffic Light Protocol 2.0, as used by STIX 2.1 marking definitions."""

    CLEAR = ("TLP:CLEAR", "Disclosure is not limited")
    GREEN = ("TLP:GREEN", "Limited disclosure, recipients can spread within their community")
    AMBER = ("TLP:AMBER", "Limited disclosure, recipients' organisation and its clients only")
    AMBER_STRICT = ("TLP:AMBER+STRICT", "Limited disclosure, recipients' organisation only")
    RED = ("TLP:RED", "For the eyes and ears of individual recipients only")


class QuantityUnit(CodeList):
    """UN/ECE Recommendation 20 units used for supplementary quantities."""

    KGM = ("KGM", "kilogram")
    TNE = ("TNE", "tonne")
    NAR = ("NAR", "number of articles")
    PCE = ("PCE", "piece")
    PR = ("PR", "pair")
    SET = ("SET", "set")
    LTR = ("LTR", "litre")
    MTR = ("MTR", "metre")
    MTK = ("MTK", "square metre")
    MTQ = ("MTQ", "cubic metre")


class Incoterm(CodeList):
    EXW = ("EXW", "Ex works")
    FCA = ("FCA", "Free carrier")
    CPT = ("CPT", "Carriage paid to")
    CIP = ("CIP", "Carriage and insurance paid to")
    DAP = ("DAP", "Delivered at place")
    DPU = ("DPU", "Delivered at place unloaded")
    DDP = ("DDP", "Delivered duty paid")
    FAS = ("FAS", "Free alongside ship")
    FOB = ("FOB", "Free on board")
    CFR = ("CFR", "Cost and freight")
    CIF = ("CIF", "Cost, insurance and freight")


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, plus 'XK' (Kosovo), used by the EU and WCO."""
    return frozenset({c.alpha_2 for c in pycountry.countries} | {"XK"})


@cache
def currency_codes() -> frozenset[str]:
    """ISO 4217 alphabetic currency codes."""
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country is not None else code


# HS chapter 77 is reserved for future use; 98-99 are national chapters we do not accept.
HS_CHAPTERS: frozenset[str] = frozenset(f"{n:02d}" for n in range(1, 98) if n != 77)


def hs_levels(code: str) -> dict[str, str]:
    """Split an HS code into chapter, heading, subheading and national levels."""
    return {
        "chapter": code[:2],
        "heading": code[:4],
        "subheading": code[:6],
        "national": code[6:],
    }


class CaseStatus(CodeList):
    LEAD = ("lead", "A lead: something worth a look, not yet worked")
    OPEN = ("open", "Being worked by its assignee")
    INSPECTION = ("inspection", "Waiting for the inspection of a declaration in the case")
    CLOSED = ("closed", "Closed with an outcome")


class CaseItemKind(CodeList):
    DECLARATION = ("declaration", "A declaration, by id")
    ENTITY = ("entity", "A resolved party, by entity id")
    RING = ("ring", "A ring of companies from the network, by its member entity ids")
    CONTAINER = ("container", "A container, by ISO 6346 number")
    NOTE = ("note", "Free-text evidence written by an analyst")


class CaseEventKind(CodeList):
    CREATED = ("created", "The case was opened")
    NOTE = ("note", "A note was written")
    EVIDENCE = ("evidence", "Evidence was added")
    STATUS = ("status", "The status changed")
    ASSIGNED = ("assigned", "The case was assigned to someone")
    REOPENED = ("reopened", "A supervisor reopened the closed case, with a reason")


class EventClassifier(CodeList):
    """DCSA event classifier: whether an event happened or is only foreseen. Only ACT has happened."""

    PLANNED = ("PLN", "Planned: the schedule says it will happen")
    ESTIMATED = ("EST", "Estimated: the carrier's current forecast")
    ACTUAL = ("ACT", "Actual: it happened")


class EventCategory(CodeList):
    """DCSA event type: what an event is about."""

    SHIPMENT = ("SHIPMENT", "A booking or transport document changed state")
    TRANSPORT = ("TRANSPORT", "A vessel (or other means of transport) arrived or departed")
    EQUIPMENT = ("EQUIPMENT", "A container was moved or handled")


class EmptyIndicator(CodeList):
    """DCSA empty indicator of a container at an equipment event."""

    LADEN = ("LADEN", "The container holds cargo")
    EMPTY = ("EMPTY", "The container is empty")
