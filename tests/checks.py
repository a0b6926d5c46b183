"""Checks that several dialects' tests make the same way."""

from __future__ import annotations

import pytest

import memstore


def failing_batch_leaves_nothing(mem: memstore.Memory) -> None:
    """On a database that refuses the content 'boom' (a trigger the caller set up): a batch
    whose last message is 'boom' raises BackendError and writes nothing, not even the chat
    row, and the same Memory then works."""
    with pytest.raises(memstore.BackendError, match="boom refused"):
        mem.save_messages("c", [{"role": "user", "content": str(i)} for i in range(5)]
                          + [{"role": "user", "content": "boom"}])
    assert mem.get_messages("c") == [] and mem.get_chat("c") is None
    mem.save_message("c", "user", "works again")
    assert len(mem.get_messages("c")) == 1
