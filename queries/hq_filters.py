"""Headquarters' filters: the only place the Overview's filters become SQL.

One `HqFilters` value travels from the URL (st.query_params, so a view can be bookmarked and
shared) through the cached reads to these conditions; every tile, chart and table of the
Overview is read under the same conditions, so they always count the same things. The actor's
own region scope (queries/region_scope.py) is always applied on top: a filter can narrow what
someone sees, never widen it.

How each filter applies:
- region, country, location kind: to the location a stock row sits at; to the region an order
  belongs to (region), and to the location fulfilling it (country, kind);
- category, product search: to the product of a stock row; an order counts when one of its
  lines is such a product.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from queries.region_scope import region_condition
from queries.text_input import MAX_IDENTIFIER, MAX_SEARCH_TEXT, optional_text

MAX_MATCHED_SKUS = 500  # a product search narrows to at most this many SKUs (the first by SKU)


@dataclass(frozen=True)
class HqFilters:
    region: str | None = None
    country: str | None = None
    kind: str | None = None      # a LocationKind value
    category: str | None = None
    search: str | None = None    # SKU prefix, or words of the product's name

    @classmethod
    def from_params(cls, params) -> HqFilters:
        """From st.query_params (or any mapping); blanks are absent, over-long text refused."""
        values = {}
        for field in fields(cls):
            limit = MAX_SEARCH_TEXT if field.name == "search" else MAX_IDENTIFIER
            values[field.name] = optional_text(params.get(field.name), field.name, limit)
        return cls(**values)

    def as_params(self) -> dict[str, str]:
        """The filters that are set, for st.query_params."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    @property
    def any(self) -> bool:
        return bool(self.as_params())

    @property
    def narrows_products(self) -> bool:
        return bool(self.category or self.search)

    def file_label(self) -> str:
        """The filters in a file name: 'region-EU_category-Toys' ('all' when none is set)."""
        parts = [f"{name}-{file_safe(value)[:40]}" for name, value in self.as_params().items()]
        return "_".join(parts) or "all"


def file_safe(text: str) -> str:
    """Text fit for a file name: letters, digits, '-' and '.'; anything else becomes '-'."""
    return "".join(c if c.isalnum() or c in "-." else "-" for c in text)


def location_condition(actor, filters: HqFilters, alias: str = "l") -> tuple[str, dict]:
    """Locations the actor may see and the filters keep."""
    scope, params = region_condition(actor, f"{alias}.region")
    conditions = [scope]
    for name, column in (("region", "region"), ("country", "country"), ("kind", "kind")):
        value = getattr(filters, name)
        if value:
            conditions.append(f"{alias}.{column} = %(f_{name})s")
            params[f"f_{name}"] = value
    return " AND ".join(conditions), params


def product_condition(filters: HqFilters, alias: str = "p") -> tuple[str, dict]:
    """Products the filters keep (TRUE when none narrows them)."""
    conditions, params = ["TRUE"], {}
    if filters.category:
        conditions.append(f"{alias}.category = %(f_category)s")
        params["f_category"] = filters.category
    if filters.search:
        conditions.append(
            f"({alias}.sku ILIKE %(f_sku_prefix)s OR {alias}.name ILIKE %(f_name_words)s)")
        escaped = filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["f_sku_prefix"] = escaped + "%"
        params["f_name_words"] = "%" + "%".join(escaped.split()) + "%"
    return " AND ".join(conditions), params


def order_condition(actor, filters: HqFilters, alias: str = "o") -> tuple[str, dict]:
    """Orders the actor may see and the filters keep (see the module docstring)."""
    scope, params = region_condition(actor, f"{alias}.region")
    conditions = [scope]
    if filters.region:
        conditions.append(f"{alias}.region = %(f_region)s")
        params["f_region"] = filters.region
    if filters.country or filters.kind:
        where, location_params = location_condition(actor, HqFilters(
            country=filters.country, kind=filters.kind), alias="fl")
        conditions.append(f"""{alias}.fulfilment_location_id IN (
            SELECT fl.id FROM locations fl WHERE {where})""")
        params.update(location_params)
    if filters.narrows_products:
        where, product_params = product_condition(filters, alias="fp")
        conditions.append(f"""EXISTS (
            SELECT 1
              FROM order_lines fol
              JOIN products fp ON fp.sku = fol.sku
             WHERE fol.order_id = {alias}.id AND {where})""")
        params.update(product_params)
    return " AND ".join(conditions), params
