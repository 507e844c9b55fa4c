"""One rule turns a typed identifier into a UUID or a sentence."""

from __future__ import annotations

import uuid

import pytest

from queries.errors import NotFound
from queries.ids import parse_id


def test_a_uuid_with_spaces_or_capitals_is_read_as_itself():
    value = uuid.uuid4()
    assert parse_id(f"  {str(value).upper()} ", "order") == str(value)
    assert parse_id(value, "transfer") == str(value)


@pytest.mark.parametrize("value, shown", [("not-an-id", "'not-an-id'"), (None, "'None'"),
                                          ("x" * 100, repr("x" * 60))])
def test_anything_else_cannot_exist_and_the_sentence_quotes_at_most_60_characters(value, shown):
    with pytest.raises(NotFound) as refused:
        parse_id(value, "customer")
    assert str(refused.value) == f"There is no customer {shown}."
