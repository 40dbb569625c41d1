"""The goods catalogue of the synthetic world: what is traded, from where, at what price and duty.

Every product is an 8-digit Combined-Nomenclature-style code under a real HS chapter, with a
description, the unit its supplementary quantity is counted in, a log-normal unit price, the
origins it usually comes from (each with a price multiplier), the duty rate of its heading and,
for some, a lower-duty look-alike heading that fraudsters declare instead. Trading partners
carry their trade weight, invoice currencies, seaports (real UN/LOCODEs) and land routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from cintel.domain.codes import QuantityUnit, TariffMeasure, TransportMode

# The importing administration: a customs service of the Netherlands, national currency EUR.
IMPORTING_COUNTRY = "NL"
NATIONAL_CURRENCY = "EUR"
# Port of discharge -> customs office where the declaration is lodged.
DISCHARGE_PORTS: dict[str, tuple[float, str]] = {
    "NLRTM": (0.74, "NLRTM01"),
    "NLAMS": (0.10, "NLAMS01"),
    "NLVLI": (0.08, "NLVLI01"),
    "NLMOE": (0.08, "NLMOE01"),
}
# Offices for the modes without a seaport of discharge; air freight lands at Schiphol (Amsterdam).
MODE_OFFICES: dict[TransportMode, str] = {
    TransportMode.AIR: "NLSPL01",
    TransportMode.ROAD: "NLVNL01",
    TransportMode.RAIL: "NLVNO01",
    TransportMode.POST: "NLSPL05",
}
AIR_DISCHARGE_PORT = "NLAMS"


@dataclass(frozen=True)
class Partner:
    """A trading partner country as the world uses it."""

    code: str
    weight: float  # share of the importing country's trade
    currencies: tuple[str, ...]  # invoice currencies, most used first
    ports: tuple[str, ...]  # seaports of loading, busiest first
    land: bool = False  # reachable by road
    rail: bool = False  # China-Europe rail corridor
    region: str = ""
    price: float = 1.0  # price level of its exports relative to the catalogue price


# fmt: off
PARTNERS: tuple[Partner, ...] = (
    Partner("CN", 30.0, ("USD", "CNY", "EUR"), ("CNSHA", "CNNGB", "CNYTN", "CNSZX", "CNTAO", "CNXMN"),
            rail=True, region="east_asia", price=0.85),
    Partner("HK", 1.5, ("USD", "HKD"), ("HKHKG",), region="east_asia", price=0.95),
    Partner("TW", 2.0, ("USD",), ("TWKHH",), region="east_asia", price=1.05),
    Partner("KR", 3.0, ("USD", "KRW"), ("KRPUS",), region="east_asia", price=1.1),
    Partner("JP", 2.5, ("JPY", "USD"), ("JPTYO", "JPYOK"), region="east_asia", price=1.25),
    Partner("VN", 4.0, ("USD",), ("VNSGN", "VNHPH"), region="southeast_asia", price=0.9),
    Partner("TH", 2.0, ("USD", "THB"), ("THLCH",), region="southeast_asia", price=0.95),
    Partner("MY", 2.0, ("USD", "MYR"), ("MYPKG", "MYTPP"), region="southeast_asia", price=1.0),
    Partner("ID", 2.0, ("USD",), ("IDJKT", "IDSUB"), region="southeast_asia", price=0.9),
    Partner("SG", 1.0, ("USD", "SGD"), ("SGSIN",), region="southeast_asia", price=1.1),
    Partner("PH", 0.7, ("USD",), ("PHMNL",), region="southeast_asia", price=0.9),
    Partner("IN", 4.0, ("USD", "INR"), ("INNSA", "INMUN"), region="south_asia", price=0.85),
    Partner("BD", 2.0, ("USD",), ("BDCGP",), region="south_asia", price=0.75),
    Partner("PK", 1.0, ("USD",), ("PKKHI",), region="south_asia", price=0.8),
    Partner("LK", 0.6, ("USD",), ("LKCMB",), region="south_asia", price=0.9),
    Partner("AE", 1.5, ("USD", "AED"), ("AEJEA",), region="middle_east", price=1.05),
    Partner("SA", 1.0, ("USD",), ("SAJED",), region="middle_east", price=1.0),
    Partner("TR", 4.0, ("EUR", "USD", "TRY"), ("TRIST", "TRMER", "TRAMR"), land=True,
            region="mediterranean", price=0.95),
    Partner("EG", 0.8, ("USD", "EUR"), ("EGALY", "EGPSD"), region="mediterranean", price=0.85),
    Partner("MA", 1.0, ("EUR", "MAD"), ("MATNG", "MACAS"), region="mediterranean", price=0.9),
    Partner("IL", 0.6, ("USD", "ILS"), ("ILHFA", "ILASH"), region="mediterranean", price=1.2),
    Partner("US", 7.0, ("USD",), ("USNYC", "USSAV", "USHOU", "USORF"), region="north_america", price=1.3),
    Partner("CA", 1.0, ("CAD", "USD"), ("CAMTR", "CAHAL"), region="north_america", price=1.25),
    Partner("BR", 3.0, ("USD",), ("BRSSZ", "BRPNG", "BRRIG"), region="south_america", price=0.95),
    Partner("AR", 1.0, ("USD",), ("ARBUE",), region="south_america", price=0.95),
    Partner("CL", 0.7, ("USD",), ("CLSAI", "CLVAP"), region="south_america", price=1.0),
    Partner("EC", 0.8, ("USD",), ("ECGYE",), region="south_america", price=0.9),
    Partner("CO", 0.8, ("USD",), ("COCTG", "COBUN"), region="south_america", price=0.9),
    Partner("PE", 0.6, ("USD",), ("PECLL",), region="south_america", price=0.9),
    Partner("CR", 0.5, ("USD",), ("CRMOB", "CRLIO"), region="south_america", price=0.95),
    Partner("ZA", 1.0, ("USD", "ZAR"), ("ZADUR", "ZACPT"), region="africa", price=0.95),
    Partner("KE", 0.4, ("USD",), ("KEMBA",), region="africa", price=0.85),
    Partner("NG", 0.5, ("USD",), ("NGLOS", "NGAPP"), region="africa", price=0.85),
    Partner("GH", 0.4, ("USD",), ("GHTEM",), region="africa", price=0.85),
    Partner("CI", 0.4, ("EUR", "USD"), ("CIABJ",), region="africa", price=0.85),
    Partner("AU", 0.6, ("AUD", "USD"), ("AUMEL", "AUSYD"), region="oceania", price=1.2),
    Partner("NZ", 0.4, ("NZD", "USD"), ("NZAKL", "NZTRG"), region="oceania", price=1.2),
    Partner("GB", 6.0, ("GBP", "EUR"), ("GBFXT", "GBSOU", "GBLGP", "GBTIL"), land=True,
            region="europe", price=1.2),
    Partner("CH", 3.0, ("CHF", "EUR"), (), land=True, region="europe", price=1.4),
    Partner("NO", 2.0, ("NOK", "EUR"), ("NOOSL",), land=True, region="europe", price=1.3),
    Partner("UA", 0.8, ("USD", "EUR"), ("UAODS",), land=True, region="europe", price=0.8),
    Partner("RS", 0.4, ("EUR",), (), land=True, region="europe", price=0.85),
)
# fmt: on

# EUR per unit of each invoice currency (a fixed reference rate; the world has no FX history).
FX_TO_EUR: dict[str, float] = {
    "EUR": 1.0, "USD": 0.92, "CNY": 0.127, "HKD": 0.118, "KRW": 0.00069, "JPY": 0.0061, "THB": 0.026,
    "MYR": 0.195, "SGD": 0.68, "INR": 0.011, "AED": 0.25, "TRY": 0.028, "ILS": 0.25, "CAD": 0.68,
    "ZAR": 0.049, "AUD": 0.60, "NZD": 0.55, "GBP": 1.17, "CHF": 1.04, "NOK": 0.086, "MAD": 0.092,
}

# Main hubs where containers change ship, with the regions they feed.
HUBS: dict[str, tuple[str, ...]] = {
    "SGSIN": ("east_asia", "southeast_asia"),
    "MYTPP": ("east_asia", "southeast_asia"),
    "LKCMB": ("south_asia",),
    "AEJEA": ("south_asia", "middle_east"),
    "MATNG": ("africa", "south_america", "mediterranean"),
    "ESALG": ("africa", "south_america", "mediterranean"),
    "GRPIR": ("mediterranean", "middle_east"),
    "PAONX": ("south_america", "oceania"),
}


@dataclass(frozen=True)
class Product:
    """One traded product line."""

    hs_code: str
    description: str
    unit: QuantityUnit
    unit_kg: float  # net mass of one unit of quantity (1 for KGM)
    price_eur: float  # median price per unit of quantity, catalogue level
    popularity: float
    origins: str  # "CC:weight" pairs: where this product is usually bought
    sea_kg: float  # median net mass of a sea consignment line
    decoy: str = ""  # lower-duty heading declared by misclassifiers
    air: bool = False  # light and valuable enough to fly
    post: bool = False  # sold to consumers by parcel
    sigma: float = 0.25  # log-normal dispersion of unit prices among honest traders


KGM, PCE, PR, LTR = QuantityUnit.KGM, QuantityUnit.PCE, QuantityUnit.PR, QuantityUnit.LTR
# fmt: off
PRODUCTS: tuple[Product, ...] = (
    Product("85171300", "Smartphones", PCE, 0.25, 160.0, 3.0, "CN:8 VN:4 KR:1 IN:1", 3000, air=True, post=True),
    Product("84713000", "Portable computers (laptops)", PCE, 2.2, 420.0, 2.5, "CN:8 TW:1 VN:1", 6000, air=True),
    Product("85287299", "LCD television receivers", PCE, 12.0, 210.0, 1.5, "CN:6 TR:1 KR:1", 12000,
            decoy="85285291"),
    Product("85285291", "Monitors for automatic data-processing machines", PCE, 6.0, 140.0, 0.6, "CN:7 TW:2 KR:1",
            8000),
    Product("85076000", "Lithium-ion accumulators", KGM, 1.0, 18.0, 1.5, "CN:8 KR:2 JP:1", 9000, air=True),
    Product("85414300", "Photovoltaic modules, assembled", PCE, 22.0, 95.0, 1.5, "CN:9 VN:1 MY:1", 15000),
    Product("94054200", "LED lamps and lighting fittings", PCE, 0.6, 6.5, 1.5, "CN:9 VN:1", 7000, post=True),
    Product("85044095", "Static converters (power supplies)", PCE, 0.4, 7.0, 1.0, "CN:8 TW:1 VN:1", 5000,
            air=True, post=True),
    Product("85049099", "Parts of static converters", KGM, 1.0, 9.0, 0.3, "CN:8 TW:1", 5000),
    Product("84181020", "Combined refrigerator-freezers", PCE, 65.0, 230.0, 0.8, "TR:4 CN:4 KR:1", 14000),
    Product("84151090", "Air conditioning machines, split systems", PCE, 38.0, 260.0, 0.8, "CN:8 TH:2 MY:1", 12000),
    Product("85094000", "Food grinders, mixers and juice extractors", PCE, 3.5, 22.0, 0.7, "CN:9 TR:1", 8000,
            post=True),
    Product("87120030", "Bicycles, not motorised", PCE, 14.0, 95.0, 1.0, "CN:6 TW:3 VN:1", 8000),
    Product("87116010", "Electrically assisted bicycles", PCE, 24.0, 480.0, 1.0, "CN:7 TW:2 VN:1", 8000,
            decoy="87149990"),
    Product("87149990", "Parts and accessories of bicycles", KGM, 1.0, 6.0, 0.6, "CN:6 TW:3", 9000),
    Product("87032319", "Motor cars, spark-ignition, 1500-3000 cc", PCE, 1400.0, 21000.0, 0.8, "JP:4 KR:4 US:2 CN:2",
            28000, decoy="87089997"),
    Product("87089997", "Parts and accessories of motor vehicles", KGM, 1.0, 9.5, 1.5, "CN:4 JP:2 KR:2 TR:2 US:1",
            12000),
    Product("40111000", "New pneumatic tyres for motor cars", PCE, 9.0, 38.0, 1.0, "CN:5 KR:2 TH:2 JP:1 ID:1", 16000),
    Product("72085120", "Flat-rolled iron, hot-rolled, > 15 mm", KGM, 1.0, 0.62, 1.2, "CN:4 IN:3 TR:2 KR:1 UA:1", 24000,
            sigma=0.15),
    Product("73181590", "Screws and bolts of iron or steel", KGM, 1.0, 2.1, 1.2, "CN:6 TW:3 IN:1 VN:1", 18000,
            decoy="73182900"),
    Product("73182900", "Non-threaded articles of iron or steel (rivets, pins)", KGM, 1.0, 2.4, 0.3, "CN:6 TW:2",
            16000),
    Product("73041100", "Seamless line pipe of stainless steel", KGM, 1.0, 5.5, 0.6, "CN:5 IN:3 KR:1", 20000),
    Product("76061291", "Aluminium alloy plates and sheets", KGM, 1.0, 3.3, 0.8, "CN:5 TR:2 IN:1 AE:1", 22000),
    Product("69072100", "Ceramic tiles, water absorption <= 0.5 %", KGM, 1.0, 0.55, 1.0, "CN:5 IN:3 TR:2 EG:1",
            24000, sigma=0.2),
    Product("70091000", "Rear-view mirrors for vehicles", PCE, 0.5, 8.0, 0.3, "CN:8 TW:2", 4000),
    Product("94036010", "Wooden furniture for dining rooms and living rooms", PCE, 25.0, 75.0, 1.5,
            "CN:5 VN:4 ID:2 MY:1", 9000),
    Product("94017100", "Upholstered seats with metal frames", PCE, 18.0, 60.0, 1.0, "CN:7 VN:2 TR:1", 7000),
    Product("95030075", "Toys of plastics", KGM, 1.0, 7.5, 1.5, "CN:9 VN:1", 6000, post=True),
    Product("39269097", "Articles of plastics, n.e.s.", KGM, 1.0, 4.2, 1.5, "CN:6 TR:1 TH:1 VN:1", 9000, post=True),
    Product("61091000", "T-shirts and vests of cotton, knitted", PCE, 0.18, 2.6, 2.0, "BD:5 CN:3 TR:2 IN:2 PK:1 VN:1",
            4500, decoy="61099090", post=True),
    Product("61099090", "T-shirts of other textile materials", PCE, 0.18, 2.4, 0.4, "BD:4 CN:4 TR:2", 4500),
    Product("62034231", "Men's trousers of denim", PCE, 0.6, 7.5, 1.5, "BD:4 CN:3 TR:2 PK:2 VN:1", 5000, post=True),
    Product("61102091", "Jerseys and pullovers of cotton", PCE, 0.35, 6.0, 1.0, "CN:4 BD:3 TR:2 VN:1", 4000,
            post=True),
    Product("64039996", "Footwear with leather uppers", PR, 0.9, 14.0, 1.2, "CN:4 VN:4 IN:1 ID:1", 5000,
            decoy="64069090", post=True),
    Product("64069090", "Parts of footwear", KGM, 1.0, 6.5, 0.3, "CN:6 VN:3", 5000),
    Product("63026000", "Toilet linen and kitchen linen of terry towelling", KGM, 1.0, 5.2, 0.8, "PK:5 IN:3 TR:2 CN:1",
            7000),
    Product("52081200", "Woven fabrics of cotton, unbleached", KGM, 1.0, 3.8, 0.8, "CN:4 IN:3 PK:2 TR:1",
            12000),
    Product("42022210", "Handbags with outer surface of plastic sheeting", PCE, 0.6, 9.0, 0.8, "CN:8 IN:1 VN:1",
            3000, air=True, post=True),
    Product("91021100", "Wrist-watches, electrically operated", PCE, 0.08, 28.0, 0.4, "CN:6 HK:2 CH:2", 300,
            air=True, post=True, sigma=0.4),
    Product("71131900", "Articles of jewellery of precious metal", KGM, 1.0, 26000.0, 0.3, "IN:3 TR:3 TH:2 AE:1",
            30, air=True, sigma=0.35),
    Product("33049900", "Beauty and skin-care preparations", KGM, 1.0, 14.0, 1.0, "KR:3 US:2 CN:2 GB:1", 3000,
            air=True, post=True),
    Product("30049000", "Medicaments in measured doses", KGM, 1.0, 75.0, 1.0, "IN:4 CH:3 US:2 GB:1", 1500, air=True,
            sigma=0.4),
    Product("90183110", "Syringes of plastics", PCE, 0.01, 0.09, 0.6, "CN:6 IN:2 MY:1", 3000),
    Product("40151200", "Gloves of vulcanised rubber for medical use", PR, 0.01, 0.05, 0.8, "MY:6 TH:3 CN:2", 9000),
    Product("08039010", "Bananas, fresh", KGM, 1.0, 0.78, 2.0, "EC:5 CO:3 CR:3 PE:1", 20000, sigma=0.15),
    Product("08043000", "Pineapples, fresh", KGM, 1.0, 0.7, 0.8, "CR:7 EC:1 GH:1 CI:1", 18000, sigma=0.15),
    Product("08061010", "Table grapes, fresh", KGM, 1.0, 1.9, 0.8, "ZA:4 CL:3 PE:3 IN:1 EG:1", 17000),
    Product("08081080", "Apples, fresh", KGM, 1.0, 0.9, 0.6, "NZ:3 CL:3 ZA:2 AR:1", 19000),
    Product("09011100", "Coffee, not roasted, not decaffeinated", KGM, 1.0, 4.4, 1.0, "BR:5 VN:3 CO:2 PE:1",
            19000),
    Product("18010000", "Cocoa beans, raw", KGM, 1.0, 6.8, 0.8, "CI:6 GH:4 EC:1 NG:1", 22000),
    Product("15111090", "Crude palm oil", KGM, 1.0, 0.85, 0.8, "ID:6 MY:4", 26000, sigma=0.12),
    Product("12019000", "Soya beans", KGM, 1.0, 0.42, 0.8, "BR:6 US:3 AR:1", 26000, sigma=0.12),
    Product("03061792", "Shrimps and prawns, frozen", KGM, 1.0, 8.5, 1.0, "VN:3 IN:3 EC:3 BD:1 TH:1", 20000,
            decoy="03061799"),
    Product("03061799", "Other frozen shrimps and prawns", KGM, 1.0, 7.8, 0.2, "VN:3 IN:3 EC:3", 20000),
    Product("16041421", "Tuna in vegetable oil, prepared", KGM, 1.0, 4.6, 0.8, "TH:4 EC:3 PH:2 ID:1", 19000),
    Product("02023090", "Boneless beef, frozen", KGM, 1.0, 7.9, 0.6, "BR:4 AR:3 US:1 AU:1 NZ:1", 22000),
    Product("04069021", "Cheddar cheese", KGM, 1.0, 4.6, 0.4, "GB:6 NZ:2 AU:1", 18000),
    Product("20091200", "Orange juice, frozen concentrate", LTR, 1.05, 1.7, 0.6, "BR:8 US:1 MA:1", 22000),
    Product("22042109", "Wine in containers <= 2 litres", LTR, 1.3, 3.2, 0.8, "CL:3 ZA:3 AU:2 AR:2 US:1", 16000,
            sigma=0.4),
    Product("24022090", "Cigarettes containing tobacco", KGM, 1.0, 95.0, 0.3, "AE:3 CH:3 TR:2 GB:1", 6000,
            sigma=0.3),
    Product("24031990", "Smoking tobacco, other", KGM, 1.0, 28.0, 0.2, "AE:3 TR:3 IN:2", 6000),
    Product("27101943", "Gas oils (diesel), sulphur <= 0.001 %", KGM, 1.0, 0.72, 0.6, "SA:3 US:3 IN:2 AE:2 NO:1",
            30000, sigma=0.1),
    Product("44071190", "Sawn wood of pine", KGM, 1.0, 0.42, 0.6, "UA:3 BR:2 CL:2 RS:1", 22000, sigma=0.15),
    Product("48025590", "Uncoated paper, 40-150 g/m2, in rolls", KGM, 1.0, 0.95, 0.6, "BR:3 ID:3 CN:2 IN:1", 22000),
    Product("29419000", "Antibiotics", KGM, 1.0, 48.0, 0.5, "CN:6 IN:4", 2000, air=True),
    Product("84798997", "Machines and mechanical appliances, n.e.s.", KGM, 1.0, 16.0, 1.2, "CN:4 JP:2 US:2 CH:1 KR:1",
            9000),
    Product("82055980", "Hand tools, n.e.s.", KGM, 1.0, 4.8, 0.8, "CN:7 TW:2 IN:1", 9000, post=True),
    Product("96032100", "Toothbrushes", PCE, 0.02, 0.22, 0.5, "CN:8 IN:1", 4000, post=True),
    Product("90049010", "Sunglasses", PCE, 0.04, 2.2, 0.5, "CN:9", 1500, post=True, air=True),
    Product("95045000", "Video game consoles and machines", PCE, 3.5, 180.0, 0.6, "CN:7 VN:2 JP:1", 3500,
            air=True),
)
# fmt: on

# Third-country duty rates per HS heading (fraction of customs value); default applies elsewhere.
DEFAULT_DUTY = 0.035
DUTY_BY_HEADING: dict[str, float] = {
    "8517": 0.0, "8471": 0.0, "8528": 0.14, "8507": 0.027, "8541": 0.0, "9405": 0.047, "8504": 0.0,
    "8418": 0.019, "8415": 0.027, "8509": 0.022, "8712": 0.14, "8711": 0.06, "8714": 0.047, "8703": 0.10,
    "8708": 0.03, "4011": 0.045, "7208": 0.0, "7318": 0.037, "7304": 0.0, "7606": 0.075, "6907": 0.05,
    "7009": 0.04, "9403": 0.0, "9401": 0.0, "9503": 0.0, "3926": 0.065, "6109": 0.12, "6203": 0.12,
    "6110": 0.12, "6403": 0.08, "6406": 0.03, "6302": 0.12, "5208": 0.08, "4202": 0.097, "9102": 0.045,
    "7113": 0.025, "3304": 0.0, "3004": 0.0, "9018": 0.0, "4015": 0.0, "0803": 0.16, "0804": 0.058,
    "0806": 0.14, "0808": 0.09, "0901": 0.0, "1801": 0.0, "1511": 0.0, "1201": 0.0, "0306": 0.12,
    "1604": 0.24, "0202": 0.128, "0406": 0.17, "2009": 0.33, "2204": 0.13, "2402": 0.576, "2403": 0.746,
    "2710": 0.035, "4407": 0.0, "4802": 0.0, "2941": 0.0, "8479": 0.017, "8205": 0.037, "9603": 0.037,
    "9004": 0.029, "9504": 0.0,
}
# Narrower lines that carry a different rate from their heading (the misclassification decoys).
DUTY_BY_CODE: dict[str, float] = {"03061799": 0.04, "61099090": 0.06, "73182900": 0.0, "85285291": 0.0}

# Anti-dumping and countervailing duties by (code prefix, origin): what origin fraud evades.
ANTI_DUMPING: dict[tuple[str, str], float] = {
    ("8712", "CN"): 0.486, ("8711", "CN"): 0.794, ("731815", "CN"): 0.864, ("6907", "CN"): 0.691,
    ("8541", "CN"): 0.647, ("7606", "CN"): 0.193, ("7304", "CN"): 0.711, ("7208", "CN"): 0.353,
    ("4011", "CN"): 0.574, ("7009", "CN"): 0.305, ("2941", "CN"): 0.20, ("4015", "CN"): 0.37,
}
# Hubs fraudsters route anti-dumping goods through and declare as origin (real circumvention routes).
CIRCUMVENTION_COUNTRIES: tuple[str, ...] = ("MY", "VN", "TH", "ID", "TW", "LK", "IN", "TR")

# Goods used to hide prohibited goods, with the routes they travel and what they hide.
CONCEALMENT_COVERS: dict[str, tuple[tuple[str, ...], str]] = {
    "08039010": (("EC", "CO", "CR", "PE", "BR"), "Cocaine hidden in banana boxes"),
    "08043000": (("CR", "EC", "CO"), "Cocaine hidden in pineapple cartons"),
    "18010000": (("CI", "GH", "NG"), "Cocaine in cocoa bean sacks"),
    "94036010": (("CN", "VN", "AE"), "Counterfeit cigarettes behind furniture"),
    "69072100": (("CN", "AE", "TR"), "Counterfeit cigarettes in tile pallets"),
    "95030075": (("CN", "HK", "TR"), "Counterfeit branded watches and handbags (IPR)"),
    "61091000": (("CN", "TR", "BD"), "Counterfeit branded sportswear (IPR)"),
}

# Words a company in a product's line of business puts in its name, by HS chapter.
INDUSTRY_WORDS: dict[str, tuple[str, ...]] = {
    "85": ("Electronics", "Tech", "Digital", "Electric"), "84": ("Machinery", "Industrial", "Appliances"),
    "87": ("Motors", "Cycles", "Auto Parts", "Mobility"), "72": ("Steel", "Metals"), "73": ("Steel", "Fasteners"),
    "76": ("Aluminium", "Metals"), "69": ("Ceramics", "Tiles"), "94": ("Furniture", "Home", "Lighting"),
    "95": ("Toys", "Games"), "61": ("Textiles", "Garments", "Fashion", "Apparel"), "62": ("Apparel", "Denim"),
    "64": ("Footwear", "Shoes"), "63": ("Textiles", "Home Textiles"), "52": ("Textiles", "Cotton"),
    "08": ("Fruit", "Fresh Produce", "Agro"), "09": ("Coffee", "Commodities"), "18": ("Cocoa", "Commodities"),
    "03": ("Seafood", "Fisheries"), "16": ("Foods", "Seafood"), "02": ("Meat", "Foods"), "04": ("Dairy", "Foods"),
    "20": ("Juices", "Foods"), "22": ("Wines", "Beverages"), "24": ("Tobacco", "Trading"),
    "27": ("Energy", "Petroleum"),
    "30": ("Pharma", "Healthcare"), "29": ("Chemicals", "Pharma"), "33": ("Cosmetics", "Beauty"),
}
GENERIC_INDUSTRY_WORDS: tuple[str, ...] = ("Trading", "Import Export", "International", "Global", "Logistics",
                                           "Commerce", "Supply", "Industries")


@dataclass(frozen=True)
class Catalogue:
    """The catalogue as arrays indexed by product number, ready for vectorised sampling."""

    hs_code: np.ndarray  # str
    description: np.ndarray
    unit: np.ndarray
    unit_kg: np.ndarray
    price_eur: np.ndarray
    sigma: np.ndarray
    popularity: np.ndarray  # probabilities, sum 1
    sea_kg: np.ndarray
    air: np.ndarray  # bool
    post: np.ndarray
    decoy: np.ndarray  # product index of the decoy, -1 if none
    duty: np.ndarray  # duty rate of the product's own code
    origin_weights: np.ndarray  # (n_products, n_partners): where each product comes from
    partner_codes: np.ndarray  # partner index -> country code

    def __len__(self) -> int:
        return len(self.hs_code)


def duty_rate(hs_code: str) -> float:
    """Third-country duty rate of an HS code, before any anti-dumping duty."""
    return DUTY_BY_CODE.get(hs_code, DUTY_BY_HEADING.get(hs_code[:4], DEFAULT_DUTY))


def anti_dumping_matrix(hs_codes: np.ndarray, partner_codes: np.ndarray) -> np.ndarray:
    """Anti-dumping rate for every (product, partner) pair."""
    out = np.zeros((len(hs_codes), len(partner_codes)))
    for (prefix, origin), rate in ANTI_DUMPING.items():
        rows = np.flatnonzero(np.char.startswith(hs_codes.astype(str), prefix))
        cols = np.flatnonzero(partner_codes == origin)
        out[np.ix_(rows, cols)] = rate
    return out


def tariff_frame() -> pl.DataFrame:
    """The tariff the administration publishes, columns as TARIFF: chapter defaults, heading and
    line rates, and anti-dumping duties by origin. The longest matching prefix gives ``duty_rate``."""
    rows: list[tuple[str, str, str, float, str | None]] = []
    for chapter in sorted({p.hs_code[:2] for p in PRODUCTS}):
        rows.append((f"TC-{chapter}", chapter, TariffMeasure.THIRD_COUNTRY.value, DEFAULT_DUTY, None))
    for prefix, rate in {**DUTY_BY_HEADING, **DUTY_BY_CODE}.items():
        rows.append((f"TC-{prefix}", prefix, TariffMeasure.THIRD_COUNTRY.value, rate, None))
    for (prefix, origin), rate in ANTI_DUMPING.items():
        rows.append((f"AD-{prefix}-{origin}", prefix, TariffMeasure.ANTI_DUMPING.value, rate, origin))
    schema = {"measure_id": pl.String, "hs_prefix": pl.String, "measure_type": pl.String, "duty_rate": pl.Float64,
              "origin": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row").with_columns(
        valid_from=pl.lit(None, pl.Date), valid_to=pl.lit(None, pl.Date))


@cache
def catalogue() -> Catalogue:
    """The world's catalogue (built once; it does not depend on the seed)."""
    partner_codes = np.array([p.code for p in PARTNERS])
    partner_index = {c: i for i, c in enumerate(partner_codes)}
    hs = np.array([p.hs_code for p in PRODUCTS])
    by_code = {code: i for i, code in enumerate(hs)}
    weights = np.zeros((len(PRODUCTS), len(PARTNERS)))
    for row, product in enumerate(PRODUCTS):
        for pair in product.origins.split():
            code, weight = pair.split(":")
            if code in partner_index:  # origins outside the partner list are simply not traded here
                weights[row, partner_index[code]] = float(weight)
    weights /= weights.sum(axis=1, keepdims=True)
    popularity = np.array([p.popularity for p in PRODUCTS])
    return Catalogue(
        hs_code=hs,
        description=np.array([p.description for p in PRODUCTS]),
        unit=np.array([p.unit.value for p in PRODUCTS]),
        unit_kg=np.array([p.unit_kg for p in PRODUCTS]),
        price_eur=np.array([p.price_eur for p in PRODUCTS]),
        sigma=np.array([p.sigma for p in PRODUCTS]),
        popularity=popularity / popularity.sum(),
        sea_kg=np.array([p.sea_kg for p in PRODUCTS]),
        air=np.array([p.air for p in PRODUCTS]),
        post=np.array([p.post for p in PRODUCTS]),
        decoy=np.array([by_code.get(p.decoy, -1) for p in PRODUCTS]),
        duty=np.array([duty_rate(code) for code in hs]),
        origin_weights=weights,
        partner_codes=partner_codes,
    )


def industry_words(hs_code: str) -> tuple[str, ...]:
    """Words a company trading this product would use in its name."""
    return INDUSTRY_WORDS.get(hs_code[:2], GENERIC_INDUSTRY_WORDS)
