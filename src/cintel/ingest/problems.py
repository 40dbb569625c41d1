"""What can be wrong with a file or a record, in words a clerk can act on."""

from __future__ import annotations

from cintel.domain.codes import CodeList
from cintel.errors import CintelError


class Problem(CodeList):
    """Error codes recorded in quarantine; the description says what to fix."""

    MISSING_VALUE = ("MISSING_VALUE", "A required value is empty")
    TOO_LONG = ("TOO_LONG", "The value is longer than the field allows")
    CONTROL_CHARACTER = ("CONTROL_CHARACTER", "The value contains invisible control characters")
    FORMULA_PREFIX = ("FORMULA_PREFIX", "The value starts like a spreadsheet formula (=, @, +, -)")
    INVALID_CODE = ("INVALID_CODE", "The value is not in the code list")
    INVALID_DATE = ("INVALID_DATE", "The date is not a valid YYYY-MM-DD date")
    INVALID_DATETIME = ("INVALID_DATETIME", "The time is not a valid ISO 8601 timestamp")
    DATE_IN_FUTURE = ("DATE_IN_FUTURE", "The date lies in the future")
    DATE_TOO_OLD = ("DATE_TOO_OLD", "The date lies before the earliest plausible date")
    INVALID_NUMBER = ("INVALID_NUMBER", "The value is not a number ('.' is the decimal separator)")
    NOT_FINITE = ("NOT_FINITE", "The number is NaN or infinite")
    NEGATIVE_VALUE = ("NEGATIVE_VALUE", "The number is negative")
    VALUE_TOO_LARGE = ("VALUE_TOO_LARGE", "The number is implausibly large")
    NOT_INTEGER = ("NOT_INTEGER", "The number must be a whole number")
    INVALID_COUNTRY = ("INVALID_COUNTRY", "Not an ISO 3166 alpha-2 country code")
    INVALID_CURRENCY = ("INVALID_CURRENCY", "Not an ISO 4217 currency code")
    INVALID_HS_CODE = ("INVALID_HS_CODE", "Not a 6 to 10 digit HS code of an existing chapter")
    INVALID_LOCODE = ("INVALID_LOCODE", "Not a UN/LOCODE (2-letter country + 3 letters or digits)")
    INVALID_CONTAINER = ("INVALID_CONTAINER", "Not an ISO 6346 container number with a correct check digit")
    INVALID_IMO = ("INVALID_IMO", "Not an IMO ship number with a correct check digit")
    INVALID_IBAN = ("INVALID_IBAN", "Not a valid IBAN")
    INVALID_EMAIL = ("INVALID_EMAIL", "Not an e-mail address")
    INVALID_PHONE = ("INVALID_PHONE", "Not a phone number (6 to 15 digits, optional leading +)")
    INVALID_COORDINATE = ("INVALID_COORDINATE", "Latitude or longitude out of range")
    INVALID_BOOLEAN = ("INVALID_BOOLEAN", "Not a yes/no value (true/false, yes/no, 1/0)")
    NET_ABOVE_GROSS = ("NET_ABOVE_GROSS", "Net mass is greater than gross mass")
    UNIT_MISSING = ("UNIT_MISSING", "A quantity is given without its unit, or a unit without quantity")
    UNIT_MASS_MISMATCH = ("UNIT_MASS_MISMATCH", "A quantity in kg or tonnes disagrees with the net mass")
    VALUE_WITHOUT_QUANTITY = ("VALUE_WITHOUT_QUANTITY", "A value is declared for zero goods")
    DATE_ORDER = ("DATE_ORDER", "Dates are in an impossible order")
    MISSING_SUBJECT = ("MISSING_SUBJECT", "The event names neither a container nor a vessel")
    MISSING_PARTY = ("MISSING_PARTY", "The declaration names its importer neither by identifier nor by name")
    INVALID_ENTRY = ("INVALID_ENTRY", "An entry of a list (duties, documents) lacks its type or has a part that "
                                      "is not a number where one is expected")
    INCONSISTENT_HEADER = ("INCONSISTENT_HEADER", "Items of one declaration disagree on a header field")
    DUPLICATE_KEY = ("DUPLICATE_KEY", "The same key appears more than once in the file")
    CONFLICTS_WITH_STORED = ("CONFLICTS_WITH_STORED", "A different record with the same key is already stored")
    SPLIT_DECLARATION = ("SPLIT_DECLARATION", "Items of the declaration are not contiguous in the file")
    DECLARATION_REJECTED = ("DECLARATION_REJECTED", "Another item of the same declaration was rejected")
    MALFORMED_ROW = ("MALFORMED_ROW", "The row cannot be read (wrong number of fields, bad JSON)")
    UNKNOWN_FIELD = ("UNKNOWN_FIELD", "The record has a field the format does not define")
    EDIFACT_ERROR = ("EDIFACT_ERROR", "The EDIFACT message cannot be mapped to a declaration")


class IngestError(CintelError):
    """A problem with a whole file (unreadable, wrong columns); the message is one actionable line."""
