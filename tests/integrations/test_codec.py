"""The row codec's reads (``codec.decode`` / ``codec.decode_for``) against the plain
definition they speed up: ``json.loads`` of the row, then the UIMessage and marker checks.
Every row, well formed or not, must decode exactly as that definition says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memstore.integrations import codec

FW = "openai-agents"


def reference(role: str, content: str) -> codec.Decoded:
    """What a row holds, written the plain way (json.loads, each check spelled out)."""
    ui: Any = None
    if content.startswith("{"):
        try:
            ui = json.loads(content)
        except ValueError:
            ui = None
    if not (isinstance(ui, dict) and isinstance(ui.get("parts"), list)
            and ui.get("role") in ("user", "assistant", "system")):
        return codec.Decoded("text", role, content)
    metadata = ui.get("metadata")
    mark = metadata.get(codec.KEY) if isinstance(metadata, dict) else None
    if isinstance(mark, dict) and "item" in mark and isinstance(mark.get("framework"), str):
        return codec.Decoded("item", ui["role"], None, mark["framework"], mark["item"], ui)
    return codec.Decoded("ui", ui["role"], ui=ui)


def check(role: str, content: str) -> None:
    want = reference(role, content)
    assert codec.decode(role, content) == want
    mine = want.kind == "item" and want.framework == FW
    assert codec.decode_for(FW, role, content) == ((want.item, None) if mine else (None, want))


ITEM = codec.encode(FW, {"role": "user", "content": "hi"}, role="user", text="hi")
EDGES = [
    "", "plain text", "{", "{}", "[]", '"{"', "{not json", " " + ITEM, "\n" + ITEM,
    ITEM, ITEM + " ", ITEM + " \t\r\n", ITEM + "\u00a0", ITEM + "x", ITEM + " {}",
    ITEM + ITEM, '{"role": "user", "parts": []}', '{"role": "user", "parts": []}  ',
    '{"role": "user", "parts": []} 1', '{"role": "bogus", "parts": []}',
    '{"role": "user", "parts": {}}', '{"role": "user"}', '{"parts": []}',
    '{"role": "user", "parts": [], "role": "tool"}',  # duplicate keys: the last one wins
    '{"role": "user", "parts": [], "x": NaN, "y": -Infinity}',
    '{"role": "user", "parts": [], "metadata": []}',
    '{"role": "user", "parts": [], "metadata": {"memstore": 1}}',
    '{"role": "user", "parts": [], "metadata": {"memstore": {"framework": "x"}}}',
    '{"role": "user", "parts": [], "metadata": {"memstore": {"item": 1}}}',
    '{"role": "user", "parts": [], "metadata": {"memstore": {"item": 1, "framework": 2}}}',
    '{"role": "user", "parts": [], "metadata": {"memstore": {"item": null, '
    '"framework": "openai-agents"}}}',
    '{"role": "system", "parts": [], "metadata": {"memstore": {"item": [1], '
    '"framework": "langchain"}}}',
    '{"role": "user", "parts": [{"type": "text", "text": "a\\ud800"}]}',
    '{"role": "user", "parts": [{"type": "text", "text": "bad \\x escape"}]}',
    '{"role": "user", "parts": [{"type": "text", "text": "raw \n newline"}]}',
]


@pytest.mark.parametrize("content", EDGES)
def test_edge_rows_decode_as_json_loads_says(content: str) -> None:
    check("assistant", content)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8)
_rows = st.fixed_dictionaries(
    {}, optional={
        "id": st.text(), "role": st.sampled_from(["user", "assistant", "system", "tool", 1]),
        "parts": st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": st.text()}))
        | _json,
        "metadata": st.fixed_dictionaries({}, optional={
            codec.KEY: st.fixed_dictionaries({}, optional={
                "framework": st.sampled_from([FW, "langchain", 7]), "v": st.just(1),
                "item": _json}) | _json,
        }) | _json,
    })


@settings(max_examples=300, deadline=None)
@given(row=_rows, cut=st.integers(min_value=-3, max_value=0),
       suffix=st.sampled_from(["", " ", "\n\t", "x", "}", "\u2028", " 0"]))
def test_generated_rows_decode_as_json_loads_says(row: dict[str, Any], cut: int,
                                                   suffix: str) -> None:
    content = json.dumps(row, ensure_ascii=False)
    check("user", content[:len(content) + cut] + suffix)


DEEP_TEXT = '{"q":' + "[" * 1000 + "]" * 1000 + "}"  # 2 KB a user may well send as text


def test_json_nested_too_deeply_to_parse_is_a_text_row() -> None:
    # Was a raw RecursionError out of every integration's read.
    decoded = codec.decode("user", DEEP_TEXT)
    assert (decoded.kind, decoded.text) == ("text", DEEP_TEXT)
    assert codec.decode_for(FW, "user", DEEP_TEXT) == (None, decoded)
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(codec.ValidationError) as info:
        codec.encode(FW, deep, role="user", text=None)
    assert info.value.field == "item" and "nested too deeply" in info.value.reason


@pytest.mark.asyncio
async def test_a_deeply_nested_text_row_reads_as_text_through_agents_and_pydantic_ai(
        ) -> None:
    import memstore
    from memstore.integrations import pydantic_ai
    from memstore.integrations.openai_agents import MemstoreSession

    mem = await memstore.connect_async("memory://")
    try:
        await mem.save_message("c", "user", DEEP_TEXT)
        items = await MemstoreSession("c", mem).get_items()
        assert items == [{"role": "user", "content": DEEP_TEXT}]
        (request,) = await pydantic_ai.load_messages(mem, "c")
        assert request.parts[0].content == DEEP_TEXT  # type: ignore[union-attr]
    finally:
        await mem.aclose()
