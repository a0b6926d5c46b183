"""The fast row constructor must build exactly what the dataclass does."""

from dataclasses import FrozenInstanceError, fields
from datetime import datetime, timezone

import pytest

from memstore.models import Chat, Message, chat_from_row, message_from_row


def test_message_from_row_is_the_dataclass() -> None:
    values = (7, "chat", None, "user", "hi", datetime(2024, 1, 2, tzinfo=timezone.utc))
    built = message_from_row(*values)
    assert built == Message(*values)
    # every field set (a field added to Message but not to message_from_row fails here)
    assert tuple(getattr(built, f.name) for f in fields(Message)) == values
    with pytest.raises(FrozenInstanceError):
        built.id = 8  # type: ignore[misc]


def test_chat_from_row_is_the_dataclass() -> None:
    t = datetime(2024, 1, 2, tzinfo=timezone.utc)
    values = ("chat", "u", None, t, t, 3)
    built = chat_from_row(*values)
    assert built == Chat(*values)
    assert tuple(getattr(built, f.name) for f in fields(Chat)) == values
    with pytest.raises(FrozenInstanceError):
        built.title = "x"  # type: ignore[misc]
