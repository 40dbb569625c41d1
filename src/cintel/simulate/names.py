"""Names, addresses and contact details of the world's parties, built for whole arrays at once.

Company names follow the conventions of their country (legal form, Chinese city prefixes),
person names come from regional pools with the transliteration variants that make screening
hard, and addresses, phone numbers and e-mail domains look like the real thing.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# fmt: off
_SYLLABLES = ("Van", "Tor", "Mar", "Kel", "Bri", "Del", "Ster", "Nor", "Al", "Ber", "Cor", "Fen", "Gal", "Hol",
              "Lin", "Ro", "Sa", "Tri", "Ve", "Zan", "Ka", "Lu", "Mo", "Ne", "Pra", "Qui", "Ri", "Sol", "Ta",
              "Ul", "Vi", "Wes", "Xan", "Yor", "Dra", "Ori", "Pel", "Sten")
_ENDINGS = ("ex", "ia", "on", "ar", "is", "ico", "ora", "tec", "ent", "ius", "ana", "ero", "ix", "um", "ova")
_PREFIXES = ("", "", "", "", "Euro", "Trans", "Inter", "Nova", "Prime", "Golden", "Royal", "Blue", "Star",
             "Delta", "Orient", "Pacific", "Atlantic", "Sun", "Silver", "Green", "Global", "United", "First")
_CHINESE_CITIES = ("Ningbo", "Shenzhen", "Guangzhou", "Xiamen", "Yiwu", "Dongguan", "Shanghai", "Hangzhou",
                   "Qingdao", "Foshan", "Suzhou", "Tianjin", "Hong Kong", "Zhejiang", "Jiangsu")
_PINYIN = ("Hua", "Xin", "Da", "Tai", "Long", "Feng", "Sheng", "Jin", "Kang", "Rui", "Hong", "Yuan", "Mei",
           "Hai", "Tian", "Bao", "Heng", "Fu", "Li", "Cheng", "Xing", "Wei", "Jia", "An", "Yi", "Zhong")

LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "NL": ("B.V.", "B.V.", "B.V.", "N.V."), "GB": ("Ltd", "Limited", "PLC"), "US": ("Inc.", "LLC", "Corp."),
    "CA": ("Inc.", "Ltd."), "AU": ("Pty Ltd",), "NZ": ("Limited",), "CH": ("AG", "GmbH", "SA"),
    "NO": ("AS",), "TR": ("Ltd. Şti.", "A.Ş."), "IN": ("Pvt. Ltd.", "Private Limited", "Ltd."),
    "PK": ("Pvt. Ltd.",), "BD": ("Ltd.",), "LK": ("(Pvt) Ltd",), "VN": ("Co., Ltd.", "JSC"),
    "JP": ("Co., Ltd.", "K.K."), "KR": ("Co., Ltd.", "Corp."), "CN": ("Co., Ltd.",), "HK": ("Limited", "Co., Ltd."),
    "TW": ("Co., Ltd.", "Corp."), "TH": ("Co., Ltd.",), "MY": ("Sdn. Bhd.",), "SG": ("Pte. Ltd.",),
    "ID": ("Tbk", "Co., Ltd."), "PH": ("Inc.", "Corp."), "AE": ("LLC", "FZE", "FZCO"), "SA": ("LLC", "Co."),
    "BR": ("Ltda.", "S.A."), "AR": ("S.A.", "S.R.L."), "CL": ("S.A.", "Ltda."), "CO": ("S.A.S.", "Ltda."),
    "EC": ("S.A.", "Cía. Ltda."), "PE": ("S.A.C.", "S.A."), "CR": ("S.A.",), "MA": ("SARL", "S.A."),
    "EG": ("S.A.E.", "LLC"), "IL": ("Ltd.",), "ZA": ("(Pty) Ltd",), "KE": ("Ltd",), "NG": ("Ltd", "Nigeria Ltd"),
    "GH": ("Ltd",), "CI": ("SARL", "S.A."), "UA": ("LLC", "PJSC"), "RS": ("d.o.o.",),
}
# Spelling variants of legal forms seen on declarations and bills of lading.
LEGAL_FORM_VARIANTS: dict[str, tuple[str, ...]] = {
    "B.V.": ("BV", "B.V", "b.v.", "Besloten Vennootschap"), "N.V.": ("NV", "N.V"),
    "Co., Ltd.": ("Co Ltd", "Co. Ltd.", "Company Limited", "CO.,LTD", "Co.,Ltd"),
    "Ltd": ("Limited", "Ltd.", "LTD"), "Ltd.": ("Ltd", "Limited", "LTD."), "Limited": ("Ltd", "Ltd.", "LTD"),
    "Inc.": ("Inc", "Incorporated", "INC"), "LLC": ("L.L.C.", "Llc", "L.L.C"), "Corp.": ("Corporation", "Corp"),
    "GmbH": ("Gmbh", "G.m.b.H."), "AG": ("A.G.",), "Pvt. Ltd.": ("Pvt Ltd", "Private Limited", "(P) Ltd"),
    "Private Limited": ("Pvt. Ltd.", "Pvt Ltd"), "Sdn. Bhd.": ("Sdn Bhd", "SDN BHD", "Sendirian Berhad"),
    "Pte. Ltd.": ("Pte Ltd", "PTE LTD", "Private Limited"), "S.A.": ("SA", "S.A", "Sociedad Anónima"),
    "Ltda.": ("Ltda", "Limitada"), "A.Ş.": ("AS", "A.S.", "Anonim Şirketi"), "Ltd. Şti.": ("Ltd Sti", "Ltd. Sti."),
    "FZE": ("F.Z.E.", "FZ-E"), "FZCO": ("FZ CO", "F.Z.C.O."), "K.K.": ("Kabushiki Kaisha", "KK"),
    "JSC": ("J.S.C.", "Joint Stock Company"), "PLC": ("plc", "P.L.C."), "Pty Ltd": ("Pty. Ltd.", "PTY LTD"),
    "(Pty) Ltd": ("Pty Ltd", "(PTY) LTD"), "S.A.S.": ("SAS",), "SARL": ("S.A.R.L.", "Sarl"),
}

_PERSON_POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    # region: (given names, family names, family name first)
    "dutch": (("Jan", "Pieter", "Sanne", "Eva", "Mark", "Thomas", "Lisa", "Anna", "Daan", "Sophie", "Ruben",
               "Lars", "Emma", "Bram", "Fleur", "Johan", "Willem", "Maria", "Peter", "Kees"),
              ("de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder",
               "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit",
               "Dijkstra", "Vermeulen", "Kok", "Jacobs", "van den Berg"), False),
    "chinese": (("Wei", "Fang", "Min", "Jing", "Lei", "Jun", "Yan", "Hui", "Qiang", "Xiuying", "Hao", "Lan",
                 "Ming", "Tao", "Ping", "Chao", "Yong", "Jie"),
                ("Zhang", "Wang", "Li", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma",
                 "Zhu", "Hu", "Guo", "He", "Lin", "Luo", "Gao"), True),
    "east_asian": (("Hiroshi", "Yuki", "Kenji", "Akira", "Min-jun", "Ji-woo", "Seo-yeon", "Haruto", "Sakura"),
                   ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Kim", "Lee", "Park", "Choi", "Jung"), True),
    "southeast_asian": (("Anh", "Minh", "Thanh", "Hung", "Linh", "Siti", "Budi", "Arif", "Somchai", "Malee",
                         "Jose", "Maria"),
                        ("Nguyen", "Tran", "Pham", "Le", "Tan", "Lim", "Wong", "Santos", "Reyes", "Wijaya",
                         "Saputra", "Rahman"), False),
    "arabic_turkish": (("Mohammed", "Ahmed", "Ali", "Hassan", "Omar", "Yusuf", "Mustafa", "Mehmet", "Emre",
                        "Fatima", "Aisha", "Khalid", "Ibrahim", "Hamza", "Karim", "Said", "Tariq", "Zeynep",
                        "Burak", "Selim"),
                       ("Al-Farsi", "Haddad", "Yilmaz", "Kaya", "Demir", "Celik", "Sahin", "Aydin", "Mansour",
                        "Khalil", "Nasser", "Rahman", "Hussein", "Aziz", "El-Amin", "Ozturk"), False),
    "south_asian": (("Rahul", "Amit", "Priya", "Sanjay", "Anil", "Ravi", "Sunita", "Imran", "Arjun", "Deepak",
                     "Kavita", "Rajesh", "Nadia", "Farhan", "Vikram"),
                    ("Sharma", "Patel", "Singh", "Kumar", "Gupta", "Khan", "Reddy", "Shah", "Mehta", "Chowdhury",
                     "Iyer", "Hossain", "Malik", "Rao"), False),
    "slavic": (("Sergey", "Aleksandr", "Dmitry", "Olga", "Irina", "Andriy", "Natalia", "Mikhail", "Yuri", "Ivan",
                "Pavel", "Elena"),
               ("Ivanov", "Petrov", "Kovalenko", "Shevchenko", "Smirnov", "Popov", "Volkov", "Bondarenko",
                "Kuznetsov", "Morozov", "Novak", "Jovanović", "Petrović"), False),
    "hispanic": (("José", "Juan", "Carlos", "María", "Luis", "Ana", "Jorge", "Diego", "Camila", "Andrés",
                  "Valentina", "Fernando", "João", "Paulo"),
                 ("García", "Rodríguez", "Martínez", "López", "González", "Pérez", "Sánchez", "Ramírez", "Torres",
                  "Flores", "Vargas", "Castro", "Silva", "Santos"), False),
    "anglo": (("James", "John", "Sarah", "Michael", "David", "Emily", "Robert", "Jennifer", "William", "Olivia",
               "Grace", "Thabo", "Chinedu", "Kwame"),
              ("Smith", "Johnson", "Williams", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Miller",
               "Okafor", "Mensah", "Naidoo"), False),
}
# Romanisation variants of the same name (screening must treat them as one).
TRANSLITERATIONS: dict[str, str] = {
    "Mohammed": "Muhammad", "Ahmed": "Ahmad", "Yusuf": "Youssef", "Hassan": "Hasan", "Khalid": "Khaled",
    "Said": "Saeed", "Tariq": "Tarek", "Mehmet": "Mehmed", "Mustafa": "Moustafa", "Ibrahim": "Ebrahim",
    "Hussein": "Husayn", "Sergey": "Sergei", "Aleksandr": "Alexander", "Dmitry": "Dmitri", "Yuri": "Yury",
    "Andriy": "Andrii", "Mikhail": "Michail", "Ivanov": "Ivanoff", "Jovanović": "Jovanovic",
    "Petrović": "Petrovic", "Kovalenko": "Kowalenko", "Zhang": "Chang", "Wang": "Wong", "Chen": "Chan",
    "Zhou": "Chow", "Xu": "Hsu", "Li": "Lee", "Huang": "Hwang", "Nguyen": "Nguyễn", "García": "Garcia",
    "José": "Jose", "María": "Maria", "Şti.": "Sti.", "A.Ş.": "A.S.", "Celik": "Çelik", "Ozturk": "Öztürk",
}
_COUNTRY_PEOPLE: dict[str, str] = {
    "NL": "dutch", "CN": "chinese", "HK": "chinese", "TW": "chinese", "JP": "east_asian", "KR": "east_asian",
    "VN": "southeast_asian", "TH": "southeast_asian", "MY": "southeast_asian", "ID": "southeast_asian",
    "SG": "chinese", "PH": "southeast_asian", "IN": "south_asian", "BD": "south_asian", "PK": "south_asian",
    "LK": "south_asian", "AE": "arabic_turkish", "SA": "arabic_turkish", "TR": "arabic_turkish",
    "EG": "arabic_turkish", "MA": "arabic_turkish", "IL": "anglo", "UA": "slavic", "RS": "slavic",
    "BR": "hispanic", "AR": "hispanic", "CL": "hispanic", "EC": "hispanic", "CO": "hispanic", "PE": "hispanic",
    "CR": "hispanic",
}
_NL_STREETS = ("Kerkstraat", "Stationsweg", "Havenstraat", "Industrieweg", "Marconistraat", "Waalhaven Zuidzijde",
               "Europaweg", "Spaanse Polder", "Nieuwe Binnenweg", "Coolsingel", "Keizersgracht",
               "Prins Hendrikkade", "Schiedamseweg", "Vasteland", "Kanaalweg", "Transportweg", "Energieweg",
               "Handelsweg", "Distributieweg", "Columbusweg")
_NL_CITIES = (("Rotterdam", 30), ("Amsterdam", 10), ("Den Haag", 25), ("Utrecht", 35), ("Eindhoven", 56),
              ("Tilburg", 50), ("Venlo", 59), ("Breda", 48), ("Schiphol", 11), ("Almere", 13),
              ("Barendrecht", 29), ("Ridderkerk", 29), ("Moerdijk", 47), ("Vlissingen", 43), ("Zwolle", 80))
_FOREIGN_STREETS = ("Harbour Road", "Industrial Zone", "Free Zone", "Main Street", "Commerce Avenue",
                    "Export Processing Zone", "Port Road", "Technology Park", "Trade Centre", "Station Road",
                    "Logistics Park", "Central Avenue")
_CITIES: dict[str, tuple[str, ...]] = {
    "CN": ("Shenzhen", "Ningbo", "Guangzhou", "Yiwu", "Xiamen", "Shanghai", "Dongguan", "Qingdao", "Tianjin"),
    "HK": ("Kowloon", "Kwai Chung", "Wan Chai"), "TW": ("Taipei", "Taichung", "Kaohsiung"),
    "KR": ("Seoul", "Busan", "Incheon"), "JP": ("Tokyo", "Osaka", "Nagoya", "Yokohama"),
    "VN": ("Ho Chi Minh City", "Hanoi", "Haiphong", "Binh Duong"), "TH": ("Bangkok", "Chonburi"),
    "MY": ("Kuala Lumpur", "Port Klang", "Penang", "Johor Bahru"), "ID": ("Jakarta", "Surabaya", "Semarang"),
    "SG": ("Singapore",), "PH": ("Manila", "Cebu"), "IN": ("Mumbai", "Chennai", "Delhi", "Tiruppur", "Ludhiana"),
    "BD": ("Dhaka", "Chittagong", "Gazipur"), "PK": ("Karachi", "Lahore", "Sialkot", "Faisalabad"),
    "LK": ("Colombo",), "AE": ("Dubai", "Sharjah", "Jebel Ali", "Ajman"), "SA": ("Jeddah", "Riyadh", "Dammam"),
    "TR": ("Istanbul", "Izmir", "Bursa", "Mersin", "Gaziantep"), "EG": ("Cairo", "Alexandria", "Port Said"),
    "MA": ("Casablanca", "Tangier", "Agadir"), "IL": ("Tel Aviv", "Haifa"),
    "US": ("New York", "Houston", "Savannah", "Miami", "Chicago"), "CA": ("Montreal", "Toronto", "Halifax"),
    "BR": ("São Paulo", "Santos", "Curitiba", "Recife"), "AR": ("Buenos Aires", "Rosario"),
    "CL": ("Santiago", "Valparaíso"), "EC": ("Guayaquil", "Machala", "Quito"),
    "CO": ("Bogotá", "Cartagena", "Medellín"),
    "PE": ("Lima", "Callao"), "CR": ("San José", "Limón"), "ZA": ("Durban", "Cape Town", "Johannesburg"),
    "KE": ("Mombasa", "Nairobi"), "NG": ("Lagos", "Apapa", "Kano"), "GH": ("Tema", "Accra"), "CI": ("Abidjan",),
    "AU": ("Melbourne", "Sydney"), "NZ": ("Auckland", "Tauranga"), "GB": ("London", "Felixstowe", "Manchester"),
    "CH": ("Basel", "Zürich", "Geneva"), "NO": ("Oslo", "Bergen"), "UA": ("Odesa", "Kyiv"), "RS": ("Belgrade",),
}
CALLING_CODES: dict[str, str] = {
    "NL": "31", "CN": "86", "HK": "852", "TW": "886", "KR": "82", "JP": "81", "VN": "84", "TH": "66", "MY": "60",
    "ID": "62", "SG": "65", "PH": "63", "IN": "91", "BD": "880", "PK": "92", "LK": "94", "AE": "971", "SA": "966",
    "TR": "90", "EG": "20", "MA": "212", "IL": "972", "US": "1", "CA": "1", "BR": "55", "AR": "54", "CL": "56",
    "EC": "593", "CO": "57", "PE": "51", "CR": "506", "ZA": "27", "KE": "254", "NG": "234", "GH": "233",
    "CI": "225", "AU": "61", "NZ": "64", "GB": "44", "CH": "41", "NO": "47", "UA": "380", "RS": "381",
}
CARRIERS: tuple[tuple[str, str], ...] = (
    ("Nordstar Container Line", "NSL"), ("Atlas Ocean Lines", "ATL"), ("Orient Pacific Shipping", "OPS"),
    ("Meridian Maritime", "MER"), ("Blue Anchor Line", "BAL"), ("Sinoway Shipping", "SWS"),
    ("Hanseatic Box Lines", "HBL"), ("Golden Gate Carriers", "GGC"), ("Coral Sea Lines", "CSL"),
    ("Andes Reefer Line", "ARL"), ("Levant Express Shipping", "LEX"), ("Gulf Star Shipping", "GSS"),
)
VESSEL_WORDS = ("Star", "Pearl", "Horizon", "Spirit", "Trader", "Express", "Pioneer", "Voyager", "Harmony",
                "Fortune", "Glory", "Endeavour", "Aurora", "Phoenix", "Liberty", "Navigator", "Bridge", "Venture",
                "Meridian", "Zenith", "Crown", "Unity", "Resolve", "Dawn")
VESSEL_PREFIXES = ("Nord", "Atlas", "Orient", "Meridian", "Blue", "Sino", "Hansa", "Golden", "Coral", "Andes",
                   "Levant", "Gulf", "Ever", "Maris", "Cosco", "Baltic", "Asian", "Cape")
# fmt: on


def _pick(rng: np.random.Generator, values: tuple[str, ...] | np.ndarray, n: int) -> pl.Series:
    return pl.Series(np.asarray(values)[rng.integers(0, len(values), n)], dtype=pl.String)


def company_names(rng: np.random.Generator, countries: np.ndarray, industry: pl.Series) -> pl.DataFrame:
    """Registered company names for parties in the given countries, with their stem and legal form.

    Returns columns ``name``, ``stem`` (distinctive part, used for e-mail domains) and ``legal_form``.
    """
    n = len(countries)
    latin_stem = _pick(rng, _SYLLABLES, n) + _pick(rng, _ENDINGS, n).str.to_lowercase()
    prefix = _pick(rng, _PREFIXES, n)
    latin = pl.when(prefix == "").then(latin_stem).otherwise(prefix + " " + latin_stem)
    chinese = _pick(rng, _PINYIN, n) + _pick(rng, _PINYIN, n).str.to_lowercase()
    city = _pick(rng, _CHINESE_CITIES, n)
    is_chinese = np.isin(countries, ["CN", "HK", "TW"])
    legal = np.empty(n, dtype=object)
    for country in np.unique(countries):
        rows = np.flatnonzero(countries == country)
        forms = LEGAL_FORMS.get(str(country), ("Ltd.", "Co., Ltd.", "Inc."))
        legal[rows] = np.asarray(forms)[rng.integers(0, len(forms), len(rows))]
    frame = pl.DataFrame({"chinese": is_chinese, "latin_stem": latin_stem, "pinyin": chinese, "city": city,
                          "prefix": prefix, "industry": industry, "legal_form": legal.astype(str)})
    return frame.select(
        pl.when("chinese").then(pl.col("pinyin")).otherwise(latin).alias("stem"),
        pl.when("chinese")
        .then(pl.concat_str("city", "pinyin", "industry", "legal_form", separator=" "))
        .otherwise(pl.concat_str(latin, "industry", "legal_form", separator=" "))
        .alias("name"),
        "legal_form",
    )


def person_names(rng: np.random.Generator, countries: np.ndarray) -> pl.Series:
    """Full names of people living in the given countries, in their customary order."""
    n = len(countries)
    regions = np.array([_COUNTRY_PEOPLE.get(str(c), "anglo") for c in countries])
    out = np.empty(n, dtype=object)
    for region, (given, family, family_first) in _PERSON_POOLS.items():
        rows = np.flatnonzero(regions == region)
        if len(rows) == 0:
            continue
        g = np.asarray(given)[rng.integers(0, len(given), len(rows))]
        f = np.asarray(family)[rng.integers(0, len(family), len(rows))]
        out[rows] = np.char.add(np.char.add(f, " "), g) if family_first else np.char.add(np.char.add(g, " "), f)
    return pl.Series(out.astype(str), dtype=pl.String)


def addresses(rng: np.random.Generator, countries: np.ndarray) -> pl.Series:
    """Postal addresses: Dutch ones with real postcode areas, foreign ones in English form."""
    n = len(countries)
    number = pl.Series(rng.integers(1, 400, n)).cast(pl.String)
    nl_city = rng.integers(0, len(_NL_CITIES), n)
    postcode = (pl.Series(np.array([c[1] for c in _NL_CITIES])[nl_city] * 100 + rng.integers(0, 100, n))
                .cast(pl.String).str.zfill(4))
    letters = _pick(rng, tuple("ABCDEGHJKLMNPRSTVWXZ"), n) + _pick(rng, tuple("ABCDEGHJKLMNPRSTVWXZ"), n)
    nl = pl.concat_str([_pick(rng, _NL_STREETS, n), pl.lit(" "), number, pl.lit(", "), postcode, pl.lit(" "),
                        letters, pl.lit(" "), pl.Series(np.array([c[0] for c in _NL_CITIES])[nl_city])])
    city = np.empty(n, dtype=object)
    for country in np.unique(countries):
        rows = np.flatnonzero(countries == country)
        options = np.asarray(_CITIES.get(str(country), ("Capital City",)))
        city[rows] = options[rng.integers(0, len(options), len(rows))]
    foreign = pl.concat_str([number, pl.lit(" "), _pick(rng, _FOREIGN_STREETS, n), pl.lit(", "),
                             pl.Series(city.astype(str))])
    return pl.select(pl.when(pl.Series(countries == "NL")).then(nl).otherwise(foreign)).to_series()


def phones(rng: np.random.Generator, countries: np.ndarray) -> pl.Series:
    """International phone numbers: '+', calling code, area and subscriber number."""
    n = len(countries)
    code = pl.Series([CALLING_CODES.get(str(c), "1") for c in countries])
    area = pl.Series(rng.integers(10, 99, n)).cast(pl.String)
    subscriber = pl.Series(rng.integers(1_000_000, 9_999_999, n)).cast(pl.String)
    return pl.select(pl.concat_str([pl.lit("+"), code, pl.lit(" "), area, pl.lit(" "), subscriber])).to_series()


def emails(rng: np.random.Generator, stems: pl.Series, countries: np.ndarray) -> pl.Series:
    """Company e-mail addresses on a domain made from the company's name."""
    n = len(stems)
    tld = pl.Series(np.char.lower(countries.astype(str)))
    tld = pl.select(pl.when(pl.Series(rng.random(n) < 0.4)).then(pl.lit("com")).otherwise(tld)).to_series()
    local = _pick(rng, ("info", "sales", "trade", "admin", "export", "import", "office", "contact"), n)
    domain = stems.str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")
    return pl.select(pl.concat_str([local, pl.lit("@"), domain, pl.lit("."), tld])).to_series()


def vessel_names(rng: np.random.Generator, n: int) -> pl.Series:
    """Ship names such as 'Nord Horizon' or 'Atlas Trader II'."""
    suffix = _pick(rng, ("", "", "", "", " II", " III", " IV"), n)
    return _pick(rng, VESSEL_PREFIXES, n) + " " + _pick(rng, VESSEL_WORDS, n) + suffix
