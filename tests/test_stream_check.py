"""The change-stream verifier against a real relay, PostgreSQL and Tansu: it passes on what the
relay wrote, and it names the key when a change never reached its topic."""

from __future__ import annotations

import json

from changefeed.encoding import hlc, parse_hlc
from changefeed.stream_check import DIFFERS, MISSING, STALE, check_stream, wait_until_caught_up
from queries.actor import SYSTEM
from queries.inventory import adjust_stock
from tests import factories
from tests.cdc_helpers import (
    RelayThread,
    TopicReader,
    produce,
    relay_config,
    unique_prefix,
)


def adjust(location_id: str, sku: str, qty: int) -> None:
    reason = "received" if qty > 0 else "damaged"
    adjust_stock(SYSTEM, location_id=location_id, sku=sku, qty=qty, reason=reason,
                 idempotency_key=None)


def test_the_relays_stream_passes_and_a_change_behind_its_back_is_named(world, kafka, slot):
    prefix = unique_prefix()
    with RelayThread(relay_config(world, kafka, prefix, slot)):
        assert wait_until_caught_up(world, slot, 60), "the relay did not start"
        adjust("WH-BER-1", "SKU-2", 5)
        adjust("ST-NYC-1", "SKU-1", -3)
        assert wait_until_caught_up(world, slot, 60), "the relay did not catch up"
        result = check_stream(world, kafka, prefix=prefix, timeout=60)
    assert result.ok, "\n".join(result.summary_lines())
    assert result.complete and not result.missing_topics
    stock = result.tables["stock"]
    assert (stock.rows, stock.keys, stock.lost) == (9, 9, 0)
    assert stock.messages >= 11  # the scan's 9 rows and both adjustments

    # The relay is stopped: these changes are committed but never published.
    adjust("WH-PAR-1", "SKU-3", -2)      # an existing row changes
    adjust("ST-NYC-1", "SKU-2", 4)       # another existing row
    factories.add_location("WH-TMP-1")
    adjust("WH-TMP-1", "SKU-1", 7)       # a new bin: a row with no message at all
    result = check_stream(world, kafka, prefix=prefix, timeout=60)
    assert not result.ok
    stock = result.tables["stock"]
    assert (stock.differs, stock.missing, stock.stale) == (2, 1, 0)
    assert result.lost == 3
    found = {(d.kind, d.key) for d in result.differences}
    assert found == {(DIFFERS, '["WH-PAR-1", "SKU-3"]'), (DIFFERS, '["ST-NYC-1", "SKU-2"]'),
                     (MISSING, '["WH-TMP-1", "SKU-1"]')}
    differs = next(d for d in result.differences if d.key == '["WH-PAR-1", "SKU-3"]')
    assert differs.row["on_hand"] == 98 and differs.message["on_hand"] == 100
    assert "on_hand 100 (message) vs 98 (row)" in differs.sentence()
    assert any("3 lost change(s)" in line for line in result.summary_lines())


def test_the_newest_message_decides_by_updated_and_a_vanished_row_is_stale(world, kafka, slot):
    prefix = unique_prefix()
    topic = prefix + "stock"
    with RelayThread(relay_config(world, kafka, prefix, slot)):
        assert wait_until_caught_up(world, slot, 60)
        reader = TopicReader(kafka, prefix)
        assert reader.read_until(lambda ms: len([m for m in ms if m.table == "stock"
                                                 and not m.is_resolved]) >= 9, 60)
        reader.close()
    scanned = {tuple(m.key): m for m in reader.changes("stock")}
    kept = scanned[("WH-BER-1", "SKU-1")]
    wall, logical = parse_hlc(kept.value["updated"])
    wrong = dict(kept.value["after"], on_hand=1)

    def message(key: list, after: dict | None, updated: str) -> tuple[bytes, bytes, int]:
        value = {"after": after, "before": None, "updated": updated}
        return json.dumps(key).encode(), json.dumps(value).encode(), kept.partition

    # An older message with other values, sent after the newer one, changes nothing; nor does a
    # duplicate with the same `updated`, nor a delete for a key that has no row.
    produce(kafka, topic, [
        message(kept.key, wrong, hlc(wall - 1, logical)),
        message(kept.key, wrong, hlc(wall, logical)),
        message(["WH-GONE-1", "SKU-1"], None, hlc(wall + 5)),
    ])
    result = check_stream(world, kafka, prefix=prefix, timeout=60)
    assert result.ok, "\n".join(result.summary_lines())
    assert result.tables["stock"].keys == 10

    # A newer message with other values, and a live row for a key whose row does not exist.
    ghost = dict(kept.value["after"], location_id="WH-GONE-2")
    produce(kafka, topic, [
        message(kept.key, wrong, hlc(wall, logical + 1)),
        message(["WH-GONE-2", "SKU-1"], ghost, hlc(wall + 5)),
    ])
    result = check_stream(world, kafka, prefix=prefix, timeout=60)
    found = {(d.kind, d.key) for d in result.differences}
    assert found == {(DIFFERS, '["WH-BER-1", "SKU-1"]'), (STALE, '["WH-GONE-2", "SKU-1"]')}
    assert (result.tables["stock"].differs, result.tables["stock"].stale) == (1, 1)
    assert not result.ok and result.lost == 2
