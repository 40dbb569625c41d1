"""Comparison keys for party attributes: names, phones, e-mails, bank accounts, tax ids, IMO, addresses.

Every key function takes raw text as it appears in a declaration, returns a canonical string that
two spellings of the same value share, and returns ``None`` for empty or invalid input. None of
them raises on any ``str`` (or ``None``) input: hostile text (control characters, RTL marks, emoji,
mixed scripts, 10,000 characters) gives a key or ``None``, never an exception.

Names go through four steps:

1. ASCII transliteration with ``rigour.text.ascii_text`` (rigour's spellings for Cyrillic, Greek
   and other admitted scripts, ``normality`` for the rest), casefolding and tokenising with
   ``rigour``'s name normaliser, which drops punctuation and collapses whitespace.
2. A few phrase rewrites rigour's legal-form table does not unify (``_PRE_FORMS``: "company
   limited" and "co ltd" are one form in practice, so are "kabushiki kaisha" and "kk").
3. ``rigour.names.replace_org_types_compare``: the OpenSanctions organisation-type database
   rewrites legal forms to a short comparison form ("besloten vennootschap" -> "bv").
4. ``_POST_FORMS`` folds the limited-liability family ("coltd", "pvt ltd", "pte ltd", ...) into
   "ltd", because declarations spell these interchangeably for the same company.

``name_core`` then removes legal forms (rigour's ``remove_org_types`` plus a few trailing generic
words such as "co" and "corp"), leaving the distinctive part used for blocking and scoring.

``normalise_parties`` applies all of this to a Polars frame, computing each function once per
distinct value so that a million rows with a few hundred thousand distinct names take seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import phonenumbers
import polars as pl
from rigour.names import remove_org_types, replace_org_types_compare
from rigour.text import ascii_text, metaphone
from rigour.text.normalize import Normalize, normalize
from stdnum import get_cc_module
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as eu_vat

# Longest input looked at; beyond this a "name" is garbage and would only cost time.
MAX_INPUT_CHARS = 1_000
_NAME_FLAGS = Normalize.CASEFOLD | Normalize.NAME
_NOT_KEY = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")
# Control and format characters: C0/C1 controls, zero-width and bidirectional marks, BOM.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def _phrase_map(pairs: dict[str, str]) -> tuple[re.Pattern[str], dict[str, str]]:
    # Longest phrase first, so "company limited" wins over "company".
    alternatives = sorted(pairs, key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(" + "|".join(map(re.escape, alternatives)) + r")(?![a-z0-9])"), pairs


# Rewrites before rigour's table: spellings rigour keeps apart but declarations use for one form.
_PRE_FORMS = _phrase_map({
    "company limited": "co ltd", "co limited": "co ltd", "company ltd": "co ltd", "cia ltda": "co ltd",
    "private limited": "pvt ltd", "p ltd": "pvt ltd", "pvt limited": "pvt ltd",
    "kabushiki kaisha": "kk", "anonim sirketi": "as", "joint stock company": "jsc",
    "corporation": "corp", "incorporated": "inc", "fz e": "fze", "fz co": "fzco", "public limited company": "plc",
})
# Rewrites after rigour's table: the limited-liability family folded into one canonical form.
_POST_FORMS = _phrase_map({
    "coltd": "ltd", "co ltd": "ltd", "pvt ltd": "ltd", "pte ltd": "ltd", "pty ltd": "ltd", "private ltd": "ltd",
    "ltd sti": "ltd", "sdn bhd": "sdn bhd",
})
# Generic company words removed from the end of a name for its core (rigour keeps them: they are
# not legal forms, but "X Corp" and "X" are the same trader on a declaration).
_TRAILING_GENERIC = frozenset({"co", "corp", "company", "kk", "inc", "ltd", "llc", "plc", "sa", "ag", "nv", "bv"})


def _rewrite(text: str, table: tuple[re.Pattern[str], dict[str, str]]) -> str:
    pattern, pairs = table
    return pattern.sub(lambda m: pairs[m.group(1)], text)


def _ascii_tokens(raw: str | None) -> str | None:
    """Transliterated, casefolded, punctuation-free, single-spaced text; None if nothing is left."""
    if not isinstance(raw, str):
        return None
    text = raw[:MAX_INPUT_CHARS]
    # Control and format characters (RTL marks, zero-width joiners) carry no letters.
    text = _CONTROL.sub(" ", text)
    try:
        text = ascii_text(text)
        tokens = normalize(text, _NAME_FLAGS) or ""
    except Exception:
        return None
    tokens = _SPACES.sub(" ", _NOT_KEY.sub(" ", tokens.lower())).strip()
    return tokens or None


def _canonical_forms(text: str) -> str:
    out = _rewrite(text, _PRE_FORMS)
    out = replace_org_types_compare(out, normalize_flags=_NAME_FLAGS)
    out = _rewrite(_SPACES.sub(" ", out).strip(), _POST_FORMS)
    return _SPACES.sub(" ", _NOT_KEY.sub(" ", out)).strip()


@lru_cache(maxsize=200_000)
def name_key(raw: str | None) -> str | None:
    """Comparison key of a name: ASCII, casefolded, no punctuation, legal forms in canonical short form.

    >>> name_key("Acme Trading B.V.") == name_key("ACME TRADING Besloten Vennootschap")
    True
    """
    text = _ascii_tokens(raw)
    if text is None:
        return None
    # Twice at most: a rewrite can expose a form the first pass did not see; a fixed point makes
    # the key idempotent (name_key(name_key(x)) == name_key(x)).
    for _ in range(3):
        nxt = _canonical_forms(text)
        if nxt == text:
            break
        text = nxt
    return text or None


@lru_cache(maxsize=200_000)
def name_core(raw: str | None) -> str | None:
    """The distinctive part of a name: its key without legal forms (the key itself if nothing else is left)."""
    return _core_of_key(name_key(raw))


def _core_of_key(key: str | None) -> str | None:
    if key is None:
        return None
    core = _SPACES.sub(" ", remove_org_types(key, replacement=" ", normalize_flags=_NAME_FLAGS)).strip()
    tokens = core.split(" ") if core else []
    while len(tokens) > 1 and tokens[-1] in _TRAILING_GENERIC:
        tokens.pop()
    return " ".join(tokens) or key


def name_tokens(raw: str | None) -> list[str]:
    """Sorted unique tokens of the name's core (order-insensitive; used for blocking)."""
    core = name_core(raw)
    return sorted(set(core.split(" "))) if core else []


@lru_cache(maxsize=200_000)
def name_phonetic(raw: str | None) -> str | None:
    """Metaphone codes (rigour) of the core's tokens, sorted and space-joined; None if no token has one."""
    return _phonetic_of_core(name_core(raw))


def _phonetic_of_core(core: str | None) -> str | None:
    if core is None:
        return None
    codes = {_metaphone(t) for t in core.split(" ") if t.isalpha()}
    codes.discard("")
    return " ".join(sorted(codes)) or None


def _metaphone(token: str) -> str:
    try:
        return metaphone(token)
    except Exception:
        return ""


def phone_e164(raw: str | None, country: str | None = None) -> str | None:
    """Phone number in E.164 (``+31104567890``); national formats need ``country`` (ISO alpha-2).

    A number counts when ``phonenumbers`` finds it *possible* (right length for its country code).
    Full validity against today's numbering plan is deliberately not required: plans change and a
    key must still join yesterday's numbers.
    """
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 64:
        return None
    region = country.upper() if isinstance(country, str) and len(country) == 2 else None
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
        if not phonenumbers.is_possible_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    except Exception:
        return None


_EMAIL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]{2,}$")


def email_key(raw: str | None) -> str | None:
    """Lower-cased, trimmed e-mail address with one '@' and a dotted domain (``mailto:`` dropped)."""
    if not isinstance(raw, str) or len(raw) > 320:
        return None
    text = raw.strip().lower().removeprefix("mailto:").strip("<> ")
    if text.count("@") != 1 or ".." in text:
        return None
    return text if _EMAIL.match(text) else None


def iban_key(raw: str | None) -> str | None:
    """IBAN in compact form (``NL91ABNA0417164300``) when its check digits and format are valid."""
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    try:
        return str(stdnum_iban.validate(raw))
    except Exception:
        return None


def _compact_id(raw: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", ascii_text(raw[:128]).upper())


def tax_id_key(raw: str | None, country: str | None = None, *, strict: bool = False) -> str | None:
    """Compact EORI / VAT / registration number: upper-case letters and digits, canonical where stdnum knows it.

    When the value (or ``country`` + value) validates as an EU VAT number or under the country's
    stdnum VAT module, stdnum's compact form is returned (country prefix included for EU VAT).
    Otherwise the upper-cased alphanumerics are returned: an EORI is usually *not* a VAT number
    (German EORIs are customs numbers, Dutch ones an RSIN), so a failed VAT check does not prove
    the identifier wrong. ``strict=True`` returns None instead when a validator exists and fails.
    Fewer than 4 or more than 20 characters is never an identifier.
    """
    if not isinstance(raw, str):
        return None
    try:
        compact = _compact_id(raw)
    except Exception:
        return None
    if not 4 <= len(compact) <= 20:
        return None
    cc = country.lower() if isinstance(country, str) and len(country) == 2 and country.isalpha() else None
    prefix = compact[:2].lower() if compact[:2].isalpha() else None
    candidates = [compact] if prefix else ([cc.upper() + compact, compact] if cc else [compact])
    had_validator = False
    for value in candidates:
        head = value[:2].lower() if value[:2].isalpha() else None
        if head and head in eu_vat.MEMBER_STATES | {"el"}:
            had_validator = True
            if eu_vat.is_valid(value):
                return str(eu_vat.compact(value))
        module: Any = _vat_module(cc) if cc else None
        if cc is not None and module is not None:
            had_validator = True
            body = value[2:] if head == cc else value
            try:
                if module.is_valid(body):
                    return str(module.compact(body)) if head != cc else cc.upper() + str(module.compact(body))
            except Exception:  # noqa: S112 - a validator that chokes has not validated
                continue
    if strict and had_validator:
        return None
    return compact


@lru_cache(maxsize=512)
def _vat_module(cc: str) -> object | None:
    try:
        module = get_cc_module(cc, "vat")
    except Exception:
        return None
    return module if module is not None and hasattr(module, "is_valid") else None


def imo_key(raw: str | None) -> str | None:
    """IMO ship number as its 7 digits when the check digit holds ("IMO 9074729" -> "9074729")."""
    if not isinstance(raw, str) or len(raw) > 32:
        return None
    digits = re.sub(r"^\s*IMO[\s:.#-]*", "", raw.strip(), flags=re.IGNORECASE)
    digits = re.sub(r"[\s.-]", "", digits)
    if len(digits) != 7 or not digits.isascii() or not digits.isdigit():
        return None
    check = sum(int(d) * w for d, w in zip(digits[:6], range(7, 1, -1), strict=True)) % 10
    return digits if check == int(digits[6]) else None


# Address words written in full, abbreviated or in the local language, folded to one short form.
ADDRESS_ABBREVIATIONS: dict[str, str] = {
    "street": "st", "str": "st", "straat": "st", "strasse": "st", "stra": "st", "road": "rd", "avenue": "ave",
    "av": "ave", "avenida": "ave", "boulevard": "blvd", "weg": "wg", "way": "wy", "lane": "ln", "drive": "dr",
    "square": "sq", "plein": "pl", "place": "pl", "building": "bldg", "floor": "fl", "suite": "ste",
    "number": "no", "nr": "no", "industrial": "ind", "zone": "zn", "centre": "ctr", "center": "ctr",
    "north": "n", "south": "s", "east": "e", "west": "w", "noord": "n", "zuid": "s", "oost": "e",
    "postbus": "po box", "p o box": "po box", "pobox": "po box", "district": "dist", "park": "pk",
}
# Dutch compound street names end in a street word ("Havenstraat"); split it off so "Havenstr." agrees.
_NL_STREET_SUFFIX = re.compile(r"([a-z]{3,})(straat|str|weg|laan|plein|gracht|kade|singel|dijk)\b")
_ADDRESS_WORDS = _phrase_map(ADDRESS_ABBREVIATIONS)


def address_key(raw: str | None, country: str | None = None) -> str | None:
    """Comparison key of a postal address: ASCII, casefolded, no punctuation, common words abbreviated.

    House numbers and postcodes are kept. ``country`` is accepted for symmetry with the other keys
    and for Dutch street-suffix splitting ("Havenstraat 12" == "Havenstr. 12").
    """
    text = _ascii_tokens(raw)
    if text is None:
        return None
    if country is None or (isinstance(country, str) and country.upper() in {"NL", "BE"}):
        text = _NL_STREET_SUFFIX.sub(r"\1 \2", text)
        # "1151 XM" and "1151XM" are one Dutch postcode.
        text = re.sub(r"\b([1-9][0-9]{3}) ([a-z]{2})\b", r"\1\2", text)
    return _SPACES.sub(" ", _rewrite(text, _ADDRESS_WORDS)).strip() or None


_NL_POSTCODE = re.compile(r"\b([1-9][0-9]{3})\s?([A-Za-z]{2})\b")
_DIGIT_GROUP = re.compile(r"(?<![0-9A-Za-z-])([0-9]{4,6})(?![0-9A-Za-z-])")


def postcode(raw: str | None, country: str | None = None) -> str | None:
    """Best-effort postcode: Dutch "1234 AB" as "1234AB"; elsewhere the last group of 4-6 digits."""
    if not isinstance(raw, str) or not raw:
        return None
    text = raw[:MAX_INPUT_CHARS]
    cc = country.upper() if isinstance(country, str) else None
    if cc in (None, "NL"):
        nl = _NL_POSTCODE.findall(text)
        if nl:
            digits, letters = nl[-1]
            return f"{digits}{letters.upper()}"
        if cc == "NL":
            return None
    groups = [g for g in _DIGIT_GROUP.findall(text) if g.isascii()]
    return groups[-1] if groups else None


# ---------------------------------------------------------------------------------------------
# Frames

_NAME_OUTPUTS = ("name_key", "name_core", "name_tokens", "name_phonetic")


def _map_distinct(frame: pl.DataFrame, columns: list[str], fn: Callable[..., object], dtype: pl.DataType) -> pl.Series:
    """fn applied once per distinct combination of ``columns``, broadcast back to every row."""
    distinct = frame.select(columns).unique()
    values = [fn(*row) for row in distinct.iter_rows()]
    mapped = distinct.with_columns(pl.Series("__out", values, dtype=dtype))
    joined = frame.select(columns).with_row_index("__row").join(mapped, on=columns, how="left", nulls_equal=True)
    return joined.sort("__row")["__out"]


def _name_parts(raw: str | None) -> tuple[str | None, str | None, list[str], str | None]:
    # Each step once: the per-function caches are too small for a national register's distinct names.
    key = name_key.__wrapped__(raw)
    core = _core_of_key(key)
    return key, core, sorted(set(core.split(" "))) if core else [], _phonetic_of_core(core)


def normalise_parties(frame: pl.DataFrame) -> pl.DataFrame:
    """Add comparison keys to a frame of parties; raw columns stay untouched.

    Reads whichever of ``name, country, address, phone, email, iban, tax_id, imo`` are present and
    adds ``name_key, name_core, name_tokens (list[str]), name_phonetic, address_key, postcode,
    phone_key, email_key, iban_key, tax_id_key, imo_key`` (null where the input column is absent).
    Each key is computed once per distinct input value (with the country where it matters).
    """
    cols = set(frame.columns)
    if frame.height == 0:
        return frame.with_columns(
            *[pl.lit(None, dtype=pl.String).alias(c) for c in ("name_key", "name_core", "name_phonetic")],
            pl.lit(None, dtype=pl.List(pl.String)).alias("name_tokens"),
            *[pl.lit(None, dtype=pl.String).alias(c) for c in ("address_key", "postcode", "phone_key", "email_key",
                                                               "iban_key", "tax_id_key", "imo_key")],
        )
    country = "country" if "country" in cols else None
    work = frame.select(
        *[pl.col(c).cast(pl.String) for c in ("name", "address", "phone", "email", "iban", "tax_id", "imo")
          if c in cols],
        (pl.col("country").cast(pl.String) if country else pl.lit(None, dtype=pl.String)).alias("__country"),
    )
    out: dict[str, pl.Series] = {}
    none = pl.Series([None] * frame.height, dtype=pl.String)
    if "name" in cols:
        distinct = work.select("name").unique()
        parts = [_name_parts(v) for v in distinct["name"]]
        mapped = distinct.with_columns(
            pl.Series("name_key", [p[0] for p in parts], dtype=pl.String),
            pl.Series("name_core", [p[1] for p in parts], dtype=pl.String),
            pl.Series("name_tokens", [p[2] for p in parts], dtype=pl.List(pl.String)),
            pl.Series("name_phonetic", [p[3] for p in parts], dtype=pl.String),
        )
        joined = work.select("name").with_row_index("__row").join(mapped, on="name", how="left", nulls_equal=True)
        joined = joined.sort("__row")
        for c in _NAME_OUTPUTS:
            out[c] = joined[c]
    else:
        for c in _NAME_OUTPUTS:
            out[c] = pl.Series([None] * frame.height, dtype=pl.List(pl.String) if c == "name_tokens" else pl.String)
    with_country: list[tuple[str, str, Callable[..., object]]] = [
        ("address", "address_key", address_key), ("address", "postcode", postcode), ("phone", "phone_key", phone_e164),
        ("tax_id", "tax_id_key", tax_id_key),
    ]
    for src, dst, fn in with_country:
        out[dst] = _map_distinct(work, [src, "__country"], fn, pl.String()) if src in cols else none
    single: list[tuple[str, str, Callable[..., object]]] = [
        ("email", "email_key", email_key), ("iban", "iban_key", iban_key), ("imo", "imo_key", imo_key)]
    for src, dst, fn1 in single:
        out[dst] = _map_distinct(work, [src], fn1, pl.String()) if src in cols else none
    order = ["name_key", "name_core", "name_tokens", "name_phonetic", "address_key", "postcode", "phone_key",
             "email_key", "iban_key", "tax_id_key", "imo_key"]
    return frame.with_columns([out[c].alias(c) for c in order])


# ---------------------------------------------------------------------------------------------
# Resolution's comparison core: the name core with business words folded

# Words that declarations abbreviate, translate or transliterate for one company, folded to one short
# form for resolution (not for screening, whose part alignment handles abbreviations itself). "Elec."
# stands for electrical and electronics alike, so both fold to "elec"; Turkish and Vietnamese business
# words fold to the English ones that the same exporter's other declarations use.
BUSINESS_WORDS: dict[str, str] = {
    **dict.fromkeys(("electrical", "electric", "electronics", "electronic", "electr", "elect", "elec", "elektrik",
                     "elektronik", "dien tu"), "elec"),
    **dict.fromkeys(("technology", "technologies", "tech", "techn", "technik", "teknoloji", "cong nghe"), "tech"),
    **dict.fromkeys(("international", "intl", "int l", "intern", "inter national", "uluslararasi"), "intl"),
    **dict.fromkeys(("manufacturing", "manufacture", "manufacturer", "manufacturers", "mfg", "manuf", "mfrs"),
                    "mfg"),
    **dict.fromkeys(("industrial", "industry", "industries", "ind", "inds", "indus", "sanayi", "san", "cong nghiep"),
                    "ind"),
    **dict.fromkeys(("trading", "trade", "trdg", "treid", "treyd", "ticaret", "tic", "thuong mai", "handel",
                     "handelsgesellschaft"), "trading"),
    **dict.fromkeys(("machinery", "machine", "machines", "mach", "mchy", "makina", "maschinen"), "mach"),
    **dict.fromkeys(("equipment", "equipments", "equip", "eqpt"), "equip"),
    **dict.fromkeys(("products", "product", "prod", "prods"), "prod"),
    **dict.fromkeys(("import and export", "import export", "imp and exp", "imp exp", "i e", "imp ex", "xuat nhap khau",
                     "ithalat ihracat"), "imp exp"),
    **dict.fromkeys(("group", "grp", "holding"), "group"),
    **dict.fromkeys(("development", "dev", "devt"), "dev"),
    **dict.fromkeys(("engineering", "engg", "eng", "engr"), "eng"),
    **dict.fromkeys(("textile", "textiles", "tex", "tekstil", "det may"), "textile"),
    **dict.fromkeys(("garment", "garments", "gmt", "may mac"), "garment"),
    **dict.fromkeys(("chemical", "chemicals", "chem", "kimya"), "chem"),
    **dict.fromkeys(("pharmaceutical", "pharmaceuticals", "pharma", "pharm"), "pharma"),
    **dict.fromkeys(("enterprise", "enterprises", "ent"), "ent"),
    **dict.fromkeys(("factory", "fty", "fabrika"), "factory"),
    **dict.fromkeys(("logistics", "logistic", "lojistik"), "logistics"),
    **dict.fromkeys(("plastic", "plastics", "plastik"), "plastic"),
    **dict.fromkeys(("metal", "metals"), "metal"),
    **dict.fromkeys(("appliance", "appliances", "appl"), "appliance"),
    **dict.fromkeys(("and", "ve", "und", "et", "va", "the", "company", "limited", "cong ty", "tnhh", "co phan",
                     "sti", "tbk", "gmbhcokg", "gmbh co kg", "cokg", "co kg", "kg", "pt", "ooo", "zao", "oao", "ao",
                     "llc", "ltd", "co", "corp", "inc", "jsc"), ""),
}
_BUSINESS = _phrase_map(BUSINESS_WORDS)
_NUMBER = re.compile(r"[0-9]+")


def fold_core(core: str | None) -> str | None:
    """A name core with business words in one form ("ningbo haitian elec appliance" for "Electrical
    Appliance"), connectives and leftover legal words dropped, numbers split off their words ("no2" ->
    "no 2"); the core itself if folding leaves nothing."""
    if core is None:
        return None
    text = re.sub(r"([a-z])([0-9])", r"\1 \2", core)
    text = re.sub(r"([0-9])([a-z])", r"\1 \2", text)
    folded = _SPACES.sub(" ", _rewrite(text, _BUSINESS)).strip()
    return folded or core


def name_numbers(core: str | None) -> str | None:
    """The numbers in a name core, sorted and space-joined ("no 2 garment factory" -> "2"); None if none."""
    if core is None:
        return None
    numbers = sorted(set(_NUMBER.findall(core)))
    return " ".join(numbers) or None


# Words that tell a company's line of business, branch or unit: two names of one city that differ in
# one of these ("Haitian Trading" / "Haitian Textile", "... Ningbo Branch") are two companies, however
# alike the rest is. Folded forms (`fold_core`) plus the common lines declarations name; compounds ending
# in a line word ("kunststofftechnik", "metallbau") count too. A city or a stem word is not one of them:
# a record that drops the city is still the same company.
LINE_WORDS: frozenset[str] = frozenset({
    "elec", "tech", "mfg", "ind", "trading", "mach", "equip", "prod", "imp", "exp", "eng", "textile", "garment",
    "chem", "pharma", "logistics", "plastic", "metal", "appliance", "hardware", "furniture", "lighting", "steel",
    "furnitures", "precision", "food", "foods", "foodstuff", "gida", "auto", "automotive", "otomotiv", "mobilya",
    "export",
    "exports", "eksport", "overseas", "impex", "works", "building", "materials", "spare", "parts", "general",
    "snab", "grupp", "group", "wood", "paper", "glass", "ceramic", "ceramics", "rubber", "leather", "shoes",
    "footwear", "toys", "medical", "marine", "seafood", "agro", "mining", "energy", "cable", "packaging",
    "printing", "tools", "valves", "pumps", "bearings", "knitting", "dyeing", "weaving", "apparel", "fashion",
    "jewellery", "jewelry", "optical", "instruments", "sports", "stationery", "cosmetics", "fertilizer",
    "construction", "shipping", "freight", "fishery", "agricultural", "commodities", "resources", "petroleum",
    "oil", "gas", "power", "solar", "motor", "motors", "auto parts", "electrical", "furnishing", "handicraft",
    "crafts", "home", "kitchen", "sanitary", "textiles", "fabrics", "yarn", "cotton", "silk",
})
BRANCH_WORDS: frozenset[str] = frozenset({
    "branch", "north", "south", "east", "west", "second", "third", "unit", "division", "filiale", "zweigniederlassung",
    "sube", "chi nhanh", "filial",
})
_LINE_SUFFIXES = ("technik", "bau", "chemie", "handel")


def name_marks(core: str | None) -> tuple[list[str], str | None]:
    """The line-of-business words of a folded name core, sorted, and its branch words sorted and joined (None
    if none): "ningbo haitian textile export branch" -> (["export", "textile"], "branch")."""
    if not core:
        return [], None
    tokens = core.split(" ")
    # A plural is the same line ("exports", "furnitures"): marks are compared without a final s.
    lines = sorted({t[:-1] if len(t) > 4 and t.endswith("s") else t for t in tokens
                    if t in LINE_WORDS or (len(t) > 8 and t.endswith(_LINE_SUFFIXES))})
    branch = sorted({t for t in tokens if t in BRANCH_WORDS})
    return lines, (" ".join(branch) or None)


_SKELETON_DIGRAPHS = (("kh", "h"), ("ch", "c"), ("sh", "s"), ("zh", "j"), ("ph", "p"), ("gh", "g"), ("th", "t"))
_SKELETON_LETTERS = str.maketrans({"g": "k", "q": "k", "j": "c", "b": "p", "v": "p", "f": "p", "d": "t",
                                   **dict.fromkeys("aeiouyhw'", None)})


def name_skeleton(core: str | None) -> str | None:
    """A key that romanisations of one name share: per word, consonants only, with the pairs that
    romanisation schemes swap merged (g/k, j/ch, b/p, d/t, kh/h), words sorted ("samjin gwangmyong steel"
    and "samchin kwangmyong steel" -> "knkmnk smcn stl"). None when nothing is left."""
    if not core:
        return None
    words = []
    for token in core.split(" "):
        for a, b in _SKELETON_DIGRAPHS:
            token = token.replace(a, b)
        skeleton = token.translate(_SKELETON_LETTERS)
        if skeleton:
            words.append(skeleton)
    return " ".join(sorted(words)) or None
