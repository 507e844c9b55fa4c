"""CockroachDB topology applied after migrations: regions, table localities, sharded ledgers.

Runs only on CockroachDB (the dialect returns nothing on PostgreSQL). Regions come from
STOCKROOM_REGIONS, either a map from our business regions (a row's `region`: EU, NA, APAC) to
the cluster's regions, "EU=europe-west1,NA=us-east1,APAC=asia-southeast1", or the older plain
list "us-east1,europe-west1,asia-southeast1" (each name then maps to itself). The first region
named is the primary region.

Where rows live (issue 13 item 1). `ALTER TABLE t SET LOCALITY REGIONAL BY ROW` alone adds a
hidden `crdb_region` column whose default is the gateway node's region, so a row would live
wherever the node that inserted it happened to be, not in its own region
(https://www.cockroachlabs.com/docs/stable/alter-table#crdb_region). Instead:

* customers and orders get a stored computed column `home_region` of type
  crdb_internal_region, derived from the row's own `region` through the map (a region not in
  the map is homed in the primary region), NOT VISIBLE so `SELECT *` is unchanged, and the
  table becomes `REGIONAL BY ROW AS home_region`. "You can specify any column definition you
  like for the REGIONAL BY ROW AS column, as long as the column is of type
  crdb_internal_region and is not nullable", with a computed CASE as the documented example
  (https://www.cockroachlabs.com/docs/stable/alter-table#set-the-table-locality-to-regional-by-row).
  An order whose region changes moves with it (the column is recomputed).
* order_lines and order_events have no region of their own, and a computed column can only
  read its own row, so they cannot be homed by their order's region without a `region`
  column that every writer (the order commands, the seed's COPY and batched INSERTs, the
  bench) would have to fill. They stay `REGIONAL BY TABLE IN PRIMARY REGION`, as before the
  locality step existed in effect: their changefeed keys and rows are unchanged, and an order
  placed far from the primary region pays one cross-region round trip for its lines and
  events (with SURVIVE REGION FAILURE every write pays one anyway). Homing them too is a
  follow-up: add the column (migration + writers), then list them in REGIONAL_BY_ROW.

What this does to keys. In a REGIONAL BY ROW table every index, the primary key included, is
partitioned by the region column, which becomes part of the primary key; a changefeed's key
and its `after`/`before` therefore carry it
(https://www.cockroachlabs.com/docs/stable/changefeeds-in-multi-region-deployments#run-changefeeds-on-regional-by-row-tables,
https://www.cockroachlabs.com/docs/stable/alter-table#indexes-on-regional-by-row-tables).
This holds whether the column is named in PRIMARY KEY or added implicitly, so no design keeps
the key `["<uuid>"]`. The contract (DESIGN.md section 4, changefeed/relay.py): the orders
topic's key is `[home_region, id]` and its rows carry `home_region`, from CockroachDB and from
the relay alike (the relay derives the same value with `home_region_of`); consumers take
identifiers from `after`/`before`, never from key positions.
"""

from __future__ import annotations

from dataclasses import dataclass

from queries.dialect import COCKROACH, Dialect, plain_ident, quote_literal

HOME_REGION_COLUMN = "home_region"
# Tables whose rows live in their own region: table -> the column the home is derived from.
REGIONAL_BY_ROW = {"customers": "region", "orders": "region"}
# Region-bound but without a region column of their own (see the module docstring).
REGIONAL_BY_TABLE = ("order_lines", "order_events")
# Read everywhere, written rarely.
GLOBAL = ("products", "locations")
# Time-ordered, append-only: spread the hot tail of inserts across ranges.
SHARDED_LEDGER_INDEXES = (
    ("stock_movements_created_idx", "stock_movements", ["created_at"]),
    ("order_events_created_idx", "order_events", ["created_at"]),
)


@dataclass(frozen=True)
class RegionMap:
    """Business region -> database region, in the order given; the first is the primary."""

    homes: tuple[tuple[str, str], ...] = ()

    @property
    def regions(self) -> list[str]:
        """The database's regions, each once, the primary first."""
        return list(dict.fromkeys(home for _, home in self.homes))

    @property
    def primary(self) -> str | None:
        return self.homes[0][1] if self.homes else None

    def home_of(self, business_region: str | None) -> str | None:
        """The home of a row whose region is business_region: its mapped region, else the
        primary region; with no map at all (PostgreSQL without STOCKROOM_REGIONS) the
        business region itself, so the relay's keys still have the regional shape."""
        if not self.homes:
            return business_region
        return dict(self.homes).get(business_region, self.primary)


def parse_region_map(value: str | None) -> RegionMap:
    """'EU=europe-west1,NA=us-east1' or the plain list 'us-east1,europe-west1'."""
    homes = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        business, _, home = item.partition("=")
        business, home = business.strip(), (home.strip() if _ else business.strip())
        if not business or not home:
            raise ValueError(f"STOCKROOM_REGIONS: {item!r} is not REGION or REGION=db-region")
        homes.append((business, home))
    return RegionMap(tuple(homes))


def parse_regions(value: str | None) -> list[str]:
    """The database regions STOCKROOM_REGIONS names, the primary first."""
    return parse_region_map(value).regions


def home_region_expression(source_column: str, region_map: RegionMap) -> str:
    """CASE <source> WHEN 'EU' THEN 'europe-west1' ... ELSE '<primary>' END."""
    whens = " ".join(f"WHEN {quote_literal(business)} THEN {quote_literal(home)}"
                     for business, home in region_map.homes)
    return (f"CASE {plain_ident(source_column)} {whens} "
            f"ELSE {quote_literal(region_map.primary)} END")


def home_region_statements(table: str, source_column: str, region_map: RegionMap) -> list[str]:
    """Add the computed home column (if missing) and make the table REGIONAL BY ROW AS it."""
    table = plain_ident(table)
    return [
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {HOME_REGION_COLUMN} "
        f"crdb_internal_region NOT VISIBLE NOT NULL "
        f"AS ({home_region_expression(source_column, region_map)}) STORED",
        Dialect(COCKROACH).regional_by_row_statement(table, HOME_REGION_COLUMN),
    ]


def topology_statements(dialect: Dialect, database: str,
                        regions: RegionMap | list[str]) -> list[str]:
    if not dialect.is_cockroach:
        return []
    region_map = regions if isinstance(regions, RegionMap) else RegionMap(
        tuple((r, r) for r in regions))
    statements = [
        dialect.index_statement(name, table, columns, hash_sharded=True)
        for name, table, columns in SHARDED_LEDGER_INDEXES
    ]
    names = region_map.regions
    if names:
        statements += dialect.multi_region_statements(
            database, names[0], names[1:], survive_region_failure=len(names) >= 3)
        statements += [dialect.global_table_statement(t) for t in GLOBAL]
        for table, source in REGIONAL_BY_ROW.items():
            statements += home_region_statements(table, source, region_map)
        statements += [dialect.regional_by_table_statement(t) for t in REGIONAL_BY_TABLE]
    return statements

