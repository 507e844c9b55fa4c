"""Static catalogues the demo-data seed draws from: real cities, product families, names, streets.

Everything here is plain data; stack/seed.py turns it into rows. Strings contain no tab,
newline or backslash, so they go into COPY text format unescaped.
"""

from __future__ import annotations

from dataclasses import dataclass

from queries.vocabulary import LocationKind

REGIONS = ("EU", "NA", "APAC")

# Share of orders (and customers) per region.
REGION_SHARE = {"EU": 0.40, "NA": 0.35, "APAC": 0.25}

# Hours the region's shoppers are ahead of UTC (a rough centre of the region).
REGION_UTC_OFFSET = {"EU": 1, "NA": -5, "APAC": 8}


@dataclass(frozen=True)
class City:
    code: str
    name: str
    country: str
    lat: float
    lon: float


# Real cities with their coordinates, the first ones of each region are used first.
CITIES: dict[str, tuple[City, ...]] = {
    "EU": (
        City("BER", "Berlin", "DE", 52.5200, 13.4050),
        City("PAR", "Paris", "FR", 48.8566, 2.3522),
        City("MAD", "Madrid", "ES", 40.4168, -3.7038),
        City("MIL", "Milan", "IT", 45.4642, 9.1900),
        City("AMS", "Amsterdam", "NL", 52.3676, 4.9041),
        City("WAW", "Warsaw", "PL", 52.2297, 21.0122),
        City("VIE", "Vienna", "AT", 48.2082, 16.3738),
        City("STO", "Stockholm", "SE", 59.3293, 18.0686),
        City("HAM", "Hamburg", "DE", 53.5511, 9.9937),
        City("LYO", "Lyon", "FR", 45.7640, 4.8357),
        City("BCN", "Barcelona", "ES", 41.3851, 2.1734),
        City("PRG", "Prague", "CZ", 50.0755, 14.4378),
        City("DUB", "Dublin", "IE", 53.3498, -6.2603),
        City("CPH", "Copenhagen", "DK", 55.6761, 12.5683),
        City("BRU", "Brussels", "BE", 50.8503, 4.3517),
        City("MUC", "Munich", "DE", 48.1351, 11.5820),
        City("LIS", "Lisbon", "PT", 38.7223, -9.1393),
        City("ROM", "Rome", "IT", 41.9028, 12.4964),
    ),
    "NA": (
        City("NYC", "New York", "US", 40.7128, -74.0060),
        City("CHI", "Chicago", "US", 41.8781, -87.6298),
        City("LAX", "Los Angeles", "US", 34.0522, -118.2437),
        City("TOR", "Toronto", "CA", 43.6532, -79.3832),
        City("DAL", "Dallas", "US", 32.7767, -96.7970),
        City("ATL", "Atlanta", "US", 33.7490, -84.3880),
        City("SEA", "Seattle", "US", 47.6062, -122.3321),
        City("MEX", "Mexico City", "MX", 19.4326, -99.1332),
        City("HOU", "Houston", "US", 29.7604, -95.3698),
        City("VAN", "Vancouver", "CA", 49.2827, -123.1207),
        City("DEN", "Denver", "US", 39.7392, -104.9903),
        City("MIA", "Miami", "US", 25.7617, -80.1918),
        City("MTL", "Montreal", "CA", 45.5019, -73.5674),
        City("PHX", "Phoenix", "US", 33.4484, -112.0740),
        City("BOS", "Boston", "US", 42.3601, -71.0589),
        City("MEM", "Memphis", "US", 35.1495, -90.0490),
    ),
    "APAC": (
        City("SIN", "Singapore", "SG", 1.3521, 103.8198),
        City("TYO", "Tokyo", "JP", 35.6762, 139.6503),
        City("SYD", "Sydney", "AU", -33.8688, 151.2093),
        City("SHA", "Shanghai", "CN", 31.2304, 121.4737),
        City("SEL", "Seoul", "KR", 37.5665, 126.9780),
        City("BOM", "Mumbai", "IN", 19.0760, 72.8777),
        City("MEL", "Melbourne", "AU", -37.8136, 144.9631),
        City("OSA", "Osaka", "JP", 34.6937, 135.5023),
        City("BKK", "Bangkok", "TH", 13.7563, 100.5018),
        City("HKG", "Hong Kong", "HK", 22.3193, 114.1694),
        City("JKT", "Jakarta", "ID", -6.2088, 106.8456),
        City("AKL", "Auckland", "NZ", -36.8485, 174.7633),
        City("BLR", "Bengaluru", "IN", 12.9716, 77.5946),
        City("MNL", "Manila", "PH", 14.5995, 120.9842),
        City("KUL", "Kuala Lumpur", "MY", 3.1390, 101.6869),
    ),
}

# Kinds in the order a region's locations are opened: its first location is a distribution
# centre, then a warehouse, then stores; a factory every so often.
DC, WAREHOUSE, STORE, FACTORY = (LocationKind.DC, LocationKind.WAREHOUSE, LocationKind.STORE,
                                  LocationKind.FACTORY)
KIND_CYCLE = (DC, WAREHOUSE, STORE, STORE, FACTORY, WAREHOUSE, STORE, STORE, WAREHOUSE, STORE)
KIND_PREFIX = {DC: "DC", WAREHOUSE: "WH", STORE: "ST", FACTORY: "FA"}
# Relative stock depth per kind, and how much of the product's reorder point applies there.
KIND_STOCK_DEPTH = {DC: 6.0, WAREHOUSE: 4.0, FACTORY: 2.5, STORE: 1.0}
KIND_REORDER_FACTOR = {DC: 4, WAREHOUSE: 3, FACTORY: 2, STORE: 1}
# Which kinds fulfil customer orders, and how often.
FULFILMENT_WEIGHT = {DC: 4, WAREHOUSE: 3, STORE: 1}


# category -> (noun, typical price in whole currency units)
CATEGORIES: dict[str, tuple[tuple[str, float], ...]] = {
    "Power Tools": (
        ("Cordless Drill", 129), ("Impact Driver", 149), ("Angle Grinder", 89),
        ("Circular Saw", 169), ("Jigsaw", 99), ("Rotary Hammer", 229), ("Orbital Sander", 79),
        ("Heat Gun", 49),
    ),
    "Hand Tools": (
        ("Claw Hammer", 19), ("Screwdriver Set", 29), ("Adjustable Wrench", 17),
        ("Utility Knife", 9), ("Tape Measure", 12), ("Spirit Level", 24), ("Combination Pliers", 15),
        ("Socket Set", 59),
    ),
    "Fasteners": (
        ("Wood Screws 200pc", 8), ("Drywall Screws 500pc", 11), ("Hex Bolts 50pc", 9),
        ("Wall Plugs 100pc", 5), ("Washers 200pc", 4), ("Nails 1kg", 6), ("Cavity Anchors 25pc", 10),
        ("Blind Rivets 100pc", 7),
    ),
    "Electrical": (
        ("Extension Cord 10m", 19), ("Power Strip 6-Way", 24), ("Cable Reel 25m", 49),
        ("Wall Socket", 7), ("Light Switch", 6), ("Circuit Breaker", 19), ("Junction Box", 5),
        ("Cable Ties 100pc", 4),
    ),
    "Lighting": (
        ("LED Bulb E27", 6), ("LED Floodlight", 39), ("Desk Lamp", 35), ("Ceiling Light", 59),
        ("Work Light", 45), ("Headlamp", 22), ("LED Strip 5m", 29), ("Motion Sensor Light", 32),
    ),
    "Plumbing": (
        ("Pipe Wrench", 27), ("Basin Tap", 69), ("Shower Head", 39), ("PTFE Tape", 3),
        ("Compression Fitting", 6), ("Drain Unblocker", 9), ("Flexible Hose", 12), ("Ball Valve", 14),
    ),
    "Paint & Decor": (
        ("Interior Paint 5L", 44), ("Primer 2.5L", 24), ("Paint Roller Set", 16),
        ("Masking Tape", 5), ("Brush Set", 14), ("Wood Stain 750ml", 19), ("Wood Filler", 8),
        ("Wallpaper Paste", 9),
    ),
    "Garden": (
        ("Garden Hose 25m", 35), ("Pruning Shears", 24), ("Lawn Mower", 299), ("Leaf Rake", 19),
        ("Wheelbarrow", 89), ("Hedge Trimmer", 119), ("Sprinkler", 17), ("Planter", 29),
    ),
    "Safety": (
        ("Safety Glasses", 9), ("Work Gloves", 8), ("Ear Defenders", 19), ("Hard Hat", 21),
        ("Dust Mask FFP2 10pc", 14), ("Hi-Vis Vest", 7), ("First Aid Kit", 29), ("Safety Boots", 89),
    ),
    "Storage": (
        ("Tool Box", 39), ("Storage Bin 60L", 15), ("Shelving Unit", 79), ("Wall Rack", 34),
        ("Drawer Cabinet", 129), ("Pegboard", 25), ("Tool Bag", 45), ("Workbench", 189),
    ),
}

BRANDS = ("Atlas", "Nordline", "Ferro", "Kestrel", "Summit", "Orion", "Vela", "Basalt", "Tandem",
          "Granite")
MODIFIERS = ("Pro", "Compact", "XL", "Classic", "Heavy Duty", "Lite", "Plus", "Max", "Eco", "Studio")

FIRST_NAMES = {
    "EU": ("Anna", "Lukas", "Sofia", "Mateo", "Emma", "Jonas", "Chloe", "Luca", "Mia", "Hugo",
           "Lena", "Pablo", "Julia", "Oskar", "Clara", "Finn", "Elena", "Noah", "Marta", "Jan"),
    "NA": ("James", "Olivia", "Liam", "Ava", "Ethan", "Sophia", "Mason", "Isabella", "Logan",
           "Emily", "Lucas", "Harper", "Jackson", "Abigail", "Aiden", "Madison", "Carlos", "Chloe",
           "Daniel", "Grace"),
    "APAC": ("Hiroshi", "Mei", "Arjun", "Yuki", "Wei", "Priya", "Minjun", "Siti", "Kenji", "Ananya",
             "Jia", "Ravi", "Haruka", "Liam", "Aroha", "Nguyen", "Sakura", "Rahul", "Ji-woo", "Chloe"),
}
LAST_NAMES = {
    "EU": ("Müller", "Dubois", "García", "Rossi", "de Vries", "Nowak", "Schmidt", "Lindqvist",
           "Fischer", "Moreau", "Fernández", "Novák", "Murphy", "Jensen", "Peeters", "Weber",
           "Silva", "Romano", "Bauer", "Laurent"),
    "NA": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor",
           "Anderson", "Thomas", "Martin", "Tremblay", "Hernández", "Moore", "Clark", "Lewis",
           "Walker", "Young", "King"),
    "APAC": ("Tanaka", "Wang", "Sharma", "Kim", "Lee", "Suzuki", "Chen", "Patel", "Nguyen", "Wong",
             "Tan", "Santos", "Park", "Sato", "Liu", "Kumar", "Lim", "Taylor", "Ngata", "Ito"),
}
# Street names by country, so an address reads like one from that city.
STREETS = {
    "DE": ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee"),
    "FR": ("Rue de la Paix", "Avenue Victor Hugo", "Rue des Lilas", "Boulevard Voltaire"),
    "ES": ("Calle Mayor", "Gran Vía", "Calle del Sol", "Paseo del Prado"),
    "IT": ("Via Roma", "Corso Italia", "Via Garibaldi", "Via dei Mille"),
    "NL": ("Kerkstraat", "Dorpsstraat", "Prinsengracht", "Molenweg"),
    "PL": ("Ulica Długa", "Ulica Polna", "Aleje Jerozolimskie", "Ulica Lipowa"),
    "AT": ("Ringstraße", "Mariahilfer Straße", "Schulgasse", "Kirchengasse"),
    "SE": ("Storgatan", "Drottninggatan", "Kungsgatan", "Skolgatan"),
    "CZ": ("Národní", "Vodičkova", "Husova", "Školní"),
    "IE": ("Main Street", "Grafton Street", "Church Road", "Park Avenue"),
    "DK": ("Strøget", "Nørregade", "Vestergade", "Skolevej"),
    "BE": ("Rue Neuve", "Kerkstraat", "Avenue Louise", "Stationsstraat"),
    "PT": ("Rua Augusta", "Avenida da Liberdade", "Rua do Carmo", "Rua das Flores"),
    "US": ("Main Street", "Oak Avenue", "Maple Drive", "Elm Street", "Park Avenue", "Cedar Lane"),
    "CA": ("Queen Street", "King Street", "Rue Sainte-Catherine", "Maple Avenue"),
    "MX": ("Avenida Reforma", "Calle Madero", "Avenida Juárez", "Calle Hidalgo"),
    "SG": ("Orchard Road", "Bukit Timah Road", "Serangoon Road", "Tanjong Pagar Road"),
    "JP": ("Chuo-dori", "Omotesando", "Midosuji", "Meiji-dori"),
    "AU": ("George Street", "Collins Street", "Pitt Street", "Chapel Street"),
    "CN": ("Nanjing Road", "Huaihai Road", "Century Avenue", "Hengshan Road"),
    "KR": ("Gangnam-daero", "Sejong-daero", "Teheran-ro", "Itaewon-ro"),
    "IN": ("MG Road", "Marine Drive", "Linking Road", "Brigade Road"),
    "TH": ("Sukhumvit Road", "Silom Road", "Rama IV Road", "Ratchadamri Road"),
    "HK": ("Nathan Road", "Queen's Road", "Hennessy Road", "Canton Road"),
    "ID": ("Jalan Sudirman", "Jalan Thamrin", "Jalan Gatot Subroto", "Jalan Kemang Raya"),
    "NZ": ("Queen Street", "Ponsonby Road", "Karangahape Road", "Dominion Road"),
    "PH": ("Ayala Avenue", "Roxas Boulevard", "Taft Avenue", "Katipunan Avenue"),
    "MY": ("Jalan Bukit Bintang", "Jalan Ampang", "Jalan Tun Razak", "Jalan Sultan Ismail"),
}
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

HOLD_NOTES = ("Address check", "Payment review", "Customer asked to wait", "Fraud screening")
TRANSFER_NOTES = ("Replenishment", "Rebalancing", "Store restock", "Seasonal build-up")
