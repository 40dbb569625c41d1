"""A seeded evaluation set of foreign exporters known by name and country only (issue 12).

Not the simulator's name noise: names are built from per-country templates of real trading-company
naming (Chinese city + pinyin stem + line of business + "Co., Ltd."; Vietnamese "Công ty TNHH ...";
Turkish "... Sanayi ve Ticaret Ltd. Şti."; Indian "Pvt. Ltd."; German "GmbH"; Russian «ООО» in
Cyrillic and two romanisations; Arabic names in several transliterations; Korean in Revised and
McCune–Reischauer romanisation). Each true company emits 2–6 records, as declarations spell it:

- legal-form variants (Co., Ltd. / Company Limited / CO.,LTD / Ltd.), abbreviations (Elec., Tech.,
  Intl, Mfg., Ind., Imp. & Exp.), case, a typo, word order (city moved to the end, in brackets),
  transliteration and diacritics (stripped, folded, another romanisation, the native script),
  with or without the city, an address on some records;
- the facts that travel with it: the importers it ships to (drawn from a pool where a few importers
  buy from many exporters), its ports of loading (its city's) and its goods' HS chapters (its line's),
  each record seeing part of them.

How often each variant occurs is in ``RATES``, documented there. The rates describe declarations that copy
the exporter's name from its invoice or the carrier's manifest: the company's own spelling dominates, and a
record carries one or two variants, rarely a stack of them (a first version drew every variant at high rates
and made a naive matcher score far below what it scores on real exporter names).

Hard negatives: 5 % of the companies (``RATES["sibling_family"]``) have one sibling, sometimes two: distinct
companies in the same city with near-identical names, the same stem with another line of business
("Trading" / "Textile"), another number ("No. 2" / "No. 3 Garment Factory") or another branch ("East
Branch"). Siblings share the city's ports and, one time in four, an importer. The benchmark counts the
pairs of records of distinct siblings in the test split and how many each matcher merges. Two companies
whose names differ only in word order are never drawn: word order is a variant the set asks to resolve.

Records are split 60/20/20 into train, validation and test by *family* (a company with its siblings),
so that the hard negatives of the test split are all in it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class Country:
    code: str
    cities: dict[str, tuple[str, ...]]  # city -> ports of loading (UN/LOCODE)
    legal: tuple[str, ...]  # legal-form spellings of one form, as declarations give them


CN_SYLLABLES = ("hai", "tian", "hong", "xin", "jin", "long", "hua", "xing", "da", "yong", "sheng", "yu", "ming",
                "feng", "kai", "rui", "tai", "bao", "heng", "li", "fu", "de", "chang", "wei", "guang", "jia",
                "rong", "xiang", "qiang", "sen", "hao", "yuan", "cheng", "an", "zhong", "mei", "lian", "shun")
# Line of business -> (HS chapters, abbreviated spellings)
LINES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Electrical Appliance": (("85", "84"), ("Elec. Appliance", "Electric Appliances", "Elec Appl.")),
    "Electronics Technology": (("85",), ("Elec. Tech.", "Electronic Tech", "Electronics Tech.")),
    "Textile": (("52", "54", "60"), ("Textiles", "Tex.")),
    "Garment": (("61", "62"), ("Garments", "Gmt.")),
    "Machinery Manufacturing": (("84",), ("Mach. Mfg.", "Machinery Mfg", "Machine Manufacture")),
    "Plastic Products": (("39",), ("Plastics Prod.", "Plastic Prods")),
    "Hardware Products": (("73", "82"), ("Hardware Prod.", "Hardware Prods")),
    "Import & Export": (("94", "95", "63"), ("Imp. & Exp.", "Import and Export", "I/E", "Imp & Exp")),
    "Trading": (("94", "85", "39"), ("Trdg.", "Trade")),
    "Industrial": (("84", "73"), ("Ind.", "Industry")),
    "Chemical": (("28", "29", "38"), ("Chem.", "Chemicals")),
    "Lighting Technology": (("94", "85"), ("Lighting Tech.", "Lighting Tech")),
    "International Logistics": (("87", "40"), ("Intl Logistics", "Int'l Logistic")),
    "Furniture": (("94",), ("Furnitures",)),
}
CN = Country("CN", {"Ningbo": ("CNNGB",), "Shenzhen": ("CNSZX", "CNYTN"), "Guangzhou": ("CNCAN", "CNNSA"),
                    "Yiwu": ("CNNGB", "CNSHA"), "Xiamen": ("CNXMN",), "Qingdao": ("CNTAO",), "Dongguan": ("CNSZX",),
                    "Foshan": ("CNCAN",), "Hangzhou": ("CNNGB", "CNSHA"), "Tianjin": ("CNTSN",)},
             ("Co., Ltd.", "Company Limited", "CO.,LTD", "Co. Ltd", "Ltd.", "Co.,Ltd", "Limited", "Company Ltd."))
VN = Country("VN", {"Ho Chi Minh": ("VNSGN", "VNCLI"), "Hai Phong": ("VNHPH",), "Da Nang": ("VNDAD",),
                    "Binh Duong": ("VNSGN",)}, ("Co., Ltd.", "Company Limited", "CO.,LTD"))
VN_STEMS = ("Hoàng Phát", "Minh Long", "Thành Công", "Phú Thịnh", "Việt Tiến", "An Khang", "Tân Thuận", "Đại Dương",
            "Hưng Thịnh", "Quang Minh", "Trường Sơn", "Bảo Ngọc", "Sao Việt", "Kim Thành", "Nam Phong", "Đức Anh")
VN_LINES = (("Thương Mại", "Trading", ("94", "85")), ("Dệt May", "Textile", ("52", "61")),
            ("May Mặc", "Garment", ("61", "62")), ("Xuất Nhập Khẩu", "Import Export", ("09", "03", "94")),
            ("Điện Tử", "Electronics", ("85",)), ("Công Nghệ", "Technology", ("85", "84")))
TR = Country("TR", {"İstanbul": ("TRAMR", "TRHAY"), "İzmir": ("TRIZM", "TRALI"), "Bursa": ("TRGEM",),
                    "Mersin": ("TRMER",)},
             ("Sanayi ve Ticaret Ltd. Şti.", "San. ve Tic. Ltd. Şti.", "SAN. VE TIC. LTD. STI.",
              "Sanayi Ticaret Ltd Şti"))
TR_STEMS = ("Anadolu", "Yıldız", "Özkan", "Kılıç", "Güneş", "Ersoy", "Doğan", "Akdeniz", "Karadeniz", "Ege", "Çelik",
            "Öztürk", "Şahin", "Aydın", "Koç", "Ünal")
TR_LINES = (("Tekstil", ("52", "60")), ("Makina", ("84",)), ("Plastik", ("39",)), ("Kimya", ("38", "34")),
            ("Gıda", ("19", "20")), ("Elektrik", ("85",)), ("Otomotiv", ("87",)), ("Mobilya", ("94",)))
IN = Country("IN", {"Mumbai": ("INNSA",), "Chennai": ("INMAA",), "Tiruppur": ("INTUT", "INMAA"),
                    "Ahmedabad": ("INMUN",), "Ludhiana": ("INNSA", "INMUN")},
             ("Pvt. Ltd.", "Private Limited", "PVT LTD", "P. Ltd.", "Pvt Limited"))
IN_STEMS = ("Sharma", "Patel", "Gupta", "Agarwal", "Reddy", "Shree Balaji", "Sai Krishna", "Om Sai", "Mahalaxmi",
            "Ganesh", "Kaveri", "Sunrise", "Bharat", "Jai Hind", "Laxmi Narayan", "Vardhman")
IN_LINES = (("Exports", ("62", "63")), ("Textiles", ("52", "61")), ("Pharmaceuticals", ("30",)),
            ("Engineering Works", ("84", "73")), ("Chemicals", ("29", "32")), ("Industries", ("73", "39")),
            ("Overseas", ("09", "10")), ("Impex", ("71", "42")))
DE = Country("DE", {"Hamburg": ("DEHAM",), "Bremen": ("DEBRV",), "Stuttgart": ("DEHAM", "DEBRV"),
                    "München": ("DEHAM",)}, ("GmbH", "GmbH & Co. KG", "G.m.b.H."))
DE_STEMS = ("Müller", "Schäfer", "Köhler", "Weiß", "Groß", "Bäcker", "Schröder", "Krüger", "Hoffmann", "Becker",
            "Jäger", "Löwe", "Fuchs", "Vogt", "Brückner", "Hähnel")
DE_LINES = (("Maschinenbau", ("84",)), ("Elektrotechnik", ("85",)), ("Kunststofftechnik", ("39",)),
            ("Metallbau", ("73",)), ("Antriebstechnik", ("84", "85")), ("Feinchemie", ("29",)))
RU = Country("RU", {"Moskva": ("RUNVS", "RULED"), "Sankt-Peterburg": ("RULED",), "Novorossiysk": ("RUNVS",),
                    "Vladivostok": ("RUVVO",)}, ("ООО", "OOO", "LLC", "Limited Liability Company"))
RU_STEMS = ("Северсталь", "Технопром", "Энергомаш", "Уралхим", "Промснаб", "Спецтехника", "Агрохим", "Сибирьлес",
            "Металлинвест", "Волгахим", "Химпром", "Стройтех", "Дальрыба", "Евроцемент", "Жилстрой", "Южполимер")
RU_LINES = (("Трейд", ("72", "44")), ("Экспорт", ("31", "27")), ("Групп", ("72", "28")), ("Снаб", ("84", "73")))
# Cyrillic letters with the romanisations declarations use (GOST/ISO-like first, then the common others).
CYRILLIC: dict[str, tuple[str, ...]] = {
    "а": ("a",), "б": ("b",), "в": ("v",), "г": ("g",), "д": ("d",), "е": ("e", "ye"), "ё": ("e", "yo"),
    "ж": ("zh", "j"), "з": ("z",), "и": ("i",), "й": ("y", "i", "j"), "к": ("k",), "л": ("l",), "м": ("m",),
    "н": ("n",), "о": ("o",), "п": ("p",), "р": ("r",), "с": ("s",), "т": ("t",), "у": ("u",), "ф": ("f",),
    "х": ("kh", "h", "ch"), "ц": ("ts", "tz", "c"), "ч": ("ch", "tch"), "ш": ("sh",), "щ": ("shch", "sch"),
    "ъ": ("",), "ы": ("y",), "ь": ("", "'"), "э": ("e",), "ю": ("yu", "ju"), "я": ("ya", "ja"),
}
AE = Country("AE", {"Dubai": ("AEJEA", "AEDXB"), "Sharjah": ("AESHJ", "AEKLF"), "Ajman": ("AEAJM",)},
             ("L.L.C", "LLC", "L.L.C.", "FZE", "FZCO"))
# Arabic names: the spellings of one name in common transliterations.
AE_STEMS: tuple[tuple[str, ...], ...] = (
    ("Al Noor", "Al-Nour", "El Nour", "Alnoor"), ("Al Baraka", "Al Barakah", "Al-Barakat"),
    ("Mohammed Saeed", "Muhammad Said", "Mohamed Saeed"), ("Al Rashid", "Al Rasheed", "Al-Rashed"),
    ("Al Fajr", "Al Fajer", "Al-Fajir"), ("Al Qasim", "Al Kasim", "Al-Qassim"), ("Dar Al Salam", "Dar Es Salaam",
    "Dar Al-Salaam"), ("Al Hamd", "Al-Hamad", "El Hamd"), ("Al Yousuf", "Al Yusuf", "Al-Youssef"),
    ("Abdul Rahman", "Abdulrahman", "Abdel Rahman"), ("Al Khaleej", "Al Khalij", "Al-Khaleej"),
    ("Al Shams", "Al-Shams", "Ash Shams"), ("Bin Hamoodah", "Bin Hamouda", "Ben Hamouda"),
    ("Al Zahra", "Al Zahraa", "Az-Zahra"), ("Al Maktoum", "Al-Maktoum", "Al Maktum"),
    ("Al Jazira", "Al Jazeera", "Al-Jazirah"))
AE_LINES = (("General Trading", ("85", "84", "87")), ("Foodstuff Trading", ("04", "17", "10")),
            ("Building Materials Trading", ("68", "69", "72")), ("Auto Spare Parts Trading", ("87", "40")),
            ("Textiles Trading", ("52", "63")))
KR = Country("KR", {"Busan": ("KRPUS",), "Incheon": ("KRINC",), "Ulsan": ("KRUSN", "KRPUS")},
             ("Co., Ltd.", "Co., Ltd", "CO.,LTD", "Corp.", "Corporation"))
# Korean stems in Revised Romanisation and McCune–Reischauer (or a common company spelling).
KR_STEMS: tuple[tuple[str, str], ...] = (
    ("Daehan", "Taehan"), ("Hanil", "Hanil"), ("Samjin", "Samchin"), ("Dongbang", "Tongbang"), ("Geumho", "Kumho"),
    ("Seonjin", "Sonjin"), ("Jeil", "Cheil"), ("Hyeondae", "Hyondae"), ("Gukje", "Kukche"), ("Daeseong", "Taesong"),
    ("Sinheung", "Shinhung"), ("Bugyeong", "Pukyong"), ("Eunseong", "Unsong"), ("Jungang", "Chungang"),
    ("Gwangmyeong", "Kwangmyong"), ("Seoheung", "Sohung"))
KR_LINES = (("Precision", ("84", "90")), ("Chemical", ("29", "39")), ("Electronics", ("85",)),
            ("Industrial", ("84", "73")), ("Steel", ("72", "73")), ("Tech", ("85", "90")))
COUNTRIES = (CN, VN, TR, IN, DE, RU, AE, KR)
WEIGHTS = np.array([0.35, 0.1, 0.1, 0.1, 0.07, 0.1, 0.1, 0.08])
# How often each variant appears on one record, and how common hard negatives are. Declarations copy the
# exporter's name from its commercial invoice or the carrier's manifest, so one exporter is mostly spelt the
# way it spells itself; what varies is what clerks and systems do to that spelling (legal form, case,
# abbreviation, the city, the script). Rates per record unless stated:
RATES: dict[str, float] = {
    "no_legal_form": 0.15,   # legal form left out (free-text fields truncated or trimmed by the declarant)
    "abbreviation": 0.2,     # line of business abbreviated (Elec., Tech., Mfg., Imp. & Exp.): frequent on invoices
    "city_dropped": 0.1,     # Chinese city prefix left out; as often moved to the end in brackets
    "native_form": 0.2,      # Vietnamese "Công ty TNHH ..." or Russian «ООО ...» in place of the English name
    "own_spelling": 0.8,     # the company's own romanisation (Korean, Arabic, Russian); else one other scheme
    "typo": 0.04,            # one keying error: re-keyed names carry a few per cent of errors per field
    "sibling_family": 0.05,  # companies with a near-namesake in the same city (group companies, branches)
    "sibling_shares_importer": 0.25,  # a sibling selling to one of its namesake's importers
}
STREETS = ("Industrial Road", "Development Avenue", "Harbour Street", "Zone A Street", "Main Road", "Export Park Road")


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d").replace(
        "ı", "i").replace("İ", "I")) if not unicodedata.combining(c))


_OTHER_SCHEME = frozenset("хйцюяьщ")


def _romanise(text: str, rng: np.random.Generator, first: bool) -> str:
    """``text`` romanised: in the first scheme (GOST-like), or in the other common one, held for the whole name."""
    out = []
    scheme: dict[str, str] = {}
    for ch in text:
        options = CYRILLIC.get(ch.lower())
        if options is None:
            out.append(ch)
            continue
        if ch.lower() not in scheme:
            # The other scheme is one coherent system (kh -> h, y -> i, ts -> tz, ...), not a mix per letter.
            other = len(options) > 1 and ch.lower() in _OTHER_SCHEME
            scheme[ch.lower()] = options[1] if (other and not first) else options[0]
        value = scheme[ch.lower()]
        out.append(value.capitalize() if ch.isupper() else value)
    return "".join(out)


def _typo(text: str, rng: np.random.Generator) -> str:
    words = text.split(" ")
    candidates = [k for k, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return text
    k = candidates[int(rng.integers(0, len(candidates)))]
    w, i = words[k], int(rng.integers(1, len(words[k]) - 1))
    kind = int(rng.integers(0, 4))
    if kind == 0:
        w = w[:i] + w[i + 1:]
    elif kind == 1:
        w = w[:i] + w[i] + w[i:]
    elif kind == 2:
        w = w[:i - 1] + w[i] + w[i - 1] + w[i + 1:]
    else:
        w = w[:i] + "aeiou"[int(rng.integers(0, 5))] + w[i + 1:]
    words[k] = w
    return " ".join(words)


@dataclass
class _Company:
    country: Country
    city: str
    parts: dict[str, object]  # what the name is made of, per country template
    chapters: tuple[str, ...]
    importers: list[str]
    ports: tuple[str, ...]
    address: str
    family: int


def _cn_stem(rng: np.random.Generator) -> str:
    a, b = rng.choice(len(CN_SYLLABLES), 2, replace=False)
    return (CN_SYLLABLES[a] + CN_SYLLABLES[b]).capitalize()


def _base(country: Country, rng: np.random.Generator) -> tuple[str, dict[str, object], tuple[str, ...]]:
    """City, name parts and HS chapters of a new company of ``country``."""
    city = list(country.cities)[int(rng.integers(0, len(country.cities)))]
    code = country.code
    if code == "CN":
        line = list(LINES)[int(rng.integers(0, len(LINES)))]
        return city, {"stem": _cn_stem(rng), "line": line}, LINES[line][0]
    pools: dict[str, tuple[object, ...]] = {"VN": VN_STEMS, "TR": TR_STEMS, "IN": IN_STEMS, "DE": DE_STEMS,
                                            "RU": RU_STEMS, "AE": AE_STEMS, "KR": KR_STEMS}
    lines: dict[str, tuple[tuple[object, ...], ...]] = {"VN": VN_LINES, "TR": TR_LINES, "IN": IN_LINES,
                                                        "DE": DE_LINES, "RU": RU_LINES, "AE": AE_LINES, "KR": KR_LINES}
    stems, line_pool = pools[code], lines[code]
    # Two stem words (a family name and a place, two given names): few exporters of a country share both.
    picked = rng.choice(len(stems), 2, replace=False)
    stem = tuple(s if isinstance(s, tuple) else (s,) for s in (stems[int(k)] for k in picked))
    chosen: tuple[object, ...] = line_pool[int(rng.integers(0, len(line_pool)))]
    chapters = tuple(str(c) for c in chosen[-1])  # type: ignore[attr-defined]
    return city, {"stem": stem, "line": chosen}, chapters


def _stem(parts: dict[str, object], rng: np.random.Generator, first: bool | None = None) -> str:
    """One spelling of a two-word stem: each word in one of its transliterations (the first when ``first``)."""
    words = []
    for options in parts["stem"]:  # type: ignore[attr-defined]
        pick = 0 if first else (1 if first is False and len(options) > 1 else int(rng.integers(0, len(options))))
        words.append(options[pick])
    return " ".join(words)


def _sibling(company: _Company, rng: np.random.Generator, kind: int) -> dict[str, object]:
    """Name parts of a distinct company near-identical to ``company``: another line, number or branch."""
    parts = dict(company.parts)
    if kind == 0:  # another line of business
        if company.country.code == "CN":
            others = [line for line in LINES if line != parts["line"]]
            parts["line"] = others[int(rng.integers(0, len(others)))]
        else:
            _, fresh, _ = _base(company.country, rng)
            parts["line"] = fresh["line"]
            if parts["line"] == company.parts["line"]:
                parts["number"] = int(rng.integers(2, 9))
    elif kind == 1:  # another number
        parts["number"] = int(company.parts.get("number", 1)) + int(rng.integers(1, 4))  # type: ignore[call-overload]
    else:  # another branch
        parts["branch"] = str(rng.choice(["North", "South", "East", "West", "Export", "Second"]))
    return parts


def _name(company: _Company, parts: dict[str, object], rng: np.random.Generator, address: bool) -> str:
    """One spelling of the company's name, with the variants a declaration might carry."""
    c, code = company.country, company.country.code
    legal = c.legal[int(rng.integers(0, len(c.legal)))] if rng.random() < 1 - RATES["no_legal_form"] else ""
    city = company.city
    number = parts.get("number")
    branch = parts.get("branch")
    if code == "CN":
        line = str(parts["line"])
        if rng.random() < RATES["abbreviation"]:
            line = LINES[line][1][int(rng.integers(0, len(LINES[line][1])))]
        core = f"{parts['stem']} {line}"
        if number:
            gap = "" if rng.random() < 0.5 else " "
            core = f"{parts['stem']} No.{gap}{number} {line}"
        r = rng.random()
        cut = RATES["city_dropped"]
        name = f"{city} {core}" if r < 1 - 2 * cut else (f"{core} ({city})" if r < 1 - cut else core)
    elif code == "VN":
        vn, en = str(parts["line"][0]), str(parts["line"][1])  # type: ignore[index]
        stem = _stem(parts, rng)
        if number:
            stem = f"{stem} {number}"
        if rng.random() < RATES["native_form"]:
            name = f"Công ty TNHH {vn} {stem}"
            legal = ""
        else:
            name = f"{stem} {en}"
        if rng.random() < 0.6:
            name = _strip_accents(name)
    elif code == "TR":
        line = str(parts["line"][0])  # type: ignore[index]
        name = f"{_stem(parts, rng)} {line}" + (f" {number}" if number else "")
        if rng.random() < 0.2:
            legal = "A.Ş." if rng.random() < 0.5 else "A.S."
        if rng.random() < 0.5:
            name, legal = _strip_accents(name), _strip_accents(legal)
    elif code == "IN":
        name = f"{_stem(parts, rng)} {parts['line'][0]}" + (f" Unit {number}" if number else "")  # type: ignore[index]
    elif code == "DE":
        name = f"{_stem(parts, rng)} {parts['line'][0]}" + (f" {number}" if number else "")  # type: ignore[index]
        r = rng.random()
        if r < 0.3:
            name = name.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
        elif r < 0.5:
            name = _strip_accents(name.replace("ß", "ss"))
    elif code == "RU":
        stem = _stem(parts, rng)
        cyr = f"{stem}-{parts['line'][0]}" if rng.random() < 0.5 else f"{stem} {parts['line'][0]}"  # type: ignore[index]
        if number:
            cyr = f"{cyr} {number}"
        if rng.random() < RATES["native_form"]:
            name, legal = f"«{cyr}»", ("ООО" if legal else "")
            return (f"{legal} {name}".strip() + (f" {branch} Branch" if branch else ""))
        name = _romanise(cyr, rng, first=rng.random() < RATES["own_spelling"])
        legal = legal.replace("ООО", "OOO")
        if legal == "OOO":
            return f"OOO {name}" + (f" {branch} Branch" if branch else "")
    elif code == "AE":
        stem = _stem(parts, rng, first=rng.random() < RATES["own_spelling"])
        name = f"{stem} {parts['line'][0]}" + (f" {number}" if number else "")  # type: ignore[index]
    else:  # KR
        stem = _stem(parts, rng, first=rng.random() < RATES["own_spelling"])
        name = f"{stem} {parts['line'][0]}" + (f" {number}" if number else "")  # type: ignore[index]
    name = f"{name} {legal}".strip()
    if branch:
        name = f"{name} {branch} Branch"
    if rng.random() < RATES["typo"]:
        name = _typo(name, rng)
    r = rng.random()
    if r < 0.3:
        name = name.upper()
    elif r < 0.35:
        name = name.lower()
    del address
    return name


def exporter_set(companies: int = 3_000, seed: int = 0) -> pl.DataFrame:
    """Records of ``companies`` true exporters (and their siblings): ``record_id, entity_type, name, country,
    address, importers, ports, hs_chapters, truth, family, split``."""
    rng = np.random.default_rng(seed)
    importer_pool = [f"id:NL{100000 + k}" for k in range(max(50, companies // 2))]
    popularity = 1.0 / np.arange(1, len(importer_pool) + 1) ** 0.8
    popularity /= popularity.sum()
    made: list[tuple[_Company, dict[str, object]]] = []
    used: set[str] = set()
    family = 0
    while len(made) < companies:
        country = COUNTRIES[int(rng.choice(len(COUNTRIES), p=WEIGHTS / WEIGHTS.sum()))]
        city, parts, chapters = _base(country, rng)
        stem = parts["stem"]
        words = " ".join(sorted(stem if isinstance(stem, str) else (str(w) for w in stem)))  # type: ignore[attr-defined]
        signature = f"{country.code}|{words}|{parts['line']}"
        # Two unrelated exporters with one name, or with one name in another word order (a variant the set
        # asks to resolve), are not what this set measures.
        if signature in used:
            continue
        used.add(signature)
        ports = country.cities[city]
        head = _Company(country, city, parts, chapters,
                        list(rng.choice(importer_pool, int(rng.integers(1, 7)), replace=False, p=popularity)),
                        ports, f"No. {int(rng.integers(1, 999))} {STREETS[int(rng.integers(0, len(STREETS)))]}, "
                        f"{city}", family)
        made.append((head, parts))
        if rng.random() < RATES["sibling_family"]:
            for k in range(1 if rng.random() < 0.75 else 2):
                importers = list(rng.choice(importer_pool, int(rng.integers(1, 6)), replace=False, p=popularity))
                if rng.random() < RATES["sibling_shares_importer"]:
                    importers[0] = head.importers[0]
                kind = int(rng.integers(0, 3))
                sib_parts = _sibling(head, rng, kind if k == 0 else (kind + 1) % 3)
                sib = _Company(country, city, sib_parts, head.chapters if kind else chapters, importers, ports,
                               f"No. {int(rng.integers(1, 999))} {STREETS[int(rng.integers(0, len(STREETS)))]}, "
                               f"{city}", family)
                made.append((sib, sib_parts))
        family += 1
    rows = []
    split_of = {f: s for f, s in zip(range(family), rng.choice(["train", "validation", "test"], family,
                                                              p=[0.6, 0.2, 0.2]), strict=True)}
    for truth, (company, parts) in enumerate(made):
        for _ in range(int(rng.integers(2, 7))):
            address = company.address if rng.random() < 0.3 else None
            if address is not None and rng.random() < 0.5:
                address = address.upper().replace("ROAD", "RD").replace("STREET", "ST.")
            seen_importers = sorted(set(rng.choice(company.importers, int(rng.integers(1, min(3, len(company.importers))
                                                                                      + 1)), replace=False)))
            seen_ports = sorted(set(rng.choice(company.ports, int(rng.integers(1, len(company.ports) + 1)))))
            seen_chapters = sorted(set(rng.choice(company.chapters, int(rng.integers(1, len(company.chapters) + 1)))))
            rows.append({"name": _name(company, parts, rng, address is not None), "country": company.country.code,
                         "address": address, "importers": seen_importers, "ports": seen_ports,
                         "hs_chapters": seen_chapters, "truth": truth, "family": company.family,
                         "split": split_of[company.family]})
    frame = pl.DataFrame(rows, schema={"name": pl.String, "country": pl.String, "address": pl.String,
                                       "importers": pl.List(pl.String), "ports": pl.List(pl.String),
                                       "hs_chapters": pl.List(pl.String), "truth": pl.Int64, "family": pl.Int64,
                                       "split": pl.String})
    return frame.with_row_index("n").select(
        pl.col("n").cast(pl.String).str.zfill(8).alias("record_id"), pl.lit("unknown").alias("entity_type"),
        pl.exclude("n"))
