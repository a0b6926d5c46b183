"""One row format for every integration: AI SDK v5 UIMessage JSON.

A TypeScript ``@ai-sdk-tools/agents`` app parses every row's content as a UIMessage and
drops a chat's whole history when one row is plain text (``../shared/FRAMEWORKS.md`` §1).
So an integration stores each framework object as::

    {"id": "...", "role": "user" | "assistant" | "system",
     "parts": [{"type": "text", "text": "<the visible text>"}],   # [] when TS must not see it
     "metadata": {"memstore": {"framework": "openai-agents", "v": 1, "item": <the object>}}}

Decoding a row gives back, by what the row holds:

* a row an integration wrote: the exact original object (``Decoded.item``);
* a UIMessage a TS app wrote: its role and the text of its text parts (``Decoded.text``),
  and the UIMessage itself (``Decoded.ui``);
* plain text (a row of the plain API or of another program): that text with the row's role.

The framework's object must be JSON (dicts, lists, str, numbers, bool, None): each
integration turns its objects into JSON with the framework's own serializer first.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal, NamedTuple

from ..errors import MemstoreError, ValidationError
from ..models import Message, Role
from ..validate import NESTED_TOO_DEEPLY

FORMAT_VERSION = 1
KEY = "memstore"  # the metadata key that marks a row an integration wrote


class Decoded(NamedTuple):
    """What a row holds. A named tuple: one is built for every row an integration reads,
    and a frozen dataclass's ``__init__`` cost as much as the rest of decode but
    ``json.loads``."""

    kind: Literal["item", "ui", "text"]
    role: str
    plain: str | None = None  # kind "text": the content itself
    framework: str | None = None  # kind "item": who wrote it
    item: Any = None  # kind "item": the framework's object, as it was given to encode()
    ui: dict[str, Any] | None = None  # kinds "item" and "ui": the UIMessage

    @property
    def text(self) -> str:
        """The visible text (text parts joined by "\n"; "" when there is none). Joined
        only when asked: a row an integration wrote is read back from its item."""
        if self.ui is None:
            return self.plain or ""
        return "\n".join(p["text"] for p in self.ui.get("parts") or []
                         if isinstance(p, dict) and p.get("type") == "text"
                         and isinstance(p.get("text"), str))


def encode(framework: str, item: Any, *, role: Role, text: str | None,
           message_id: str | None = None) -> str:
    """The row content for ``item``: a UIMessage whose parts show ``text`` to a TS app
    (no parts when ``text`` is None: tool calls, tool results, reasoning) and whose
    metadata carries ``item`` exactly."""
    ui: dict[str, Any] = {
        "id": message_id or uuid.uuid4().hex,
        "role": role,
        "parts": [] if text is None else [{"type": "text", "text": text}],
        "metadata": {KEY: {"framework": framework, "v": FORMAT_VERSION, "item": item}},
    }
    try:
        return json.dumps(ui, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError("item", f"is not JSON the row can hold: {exc}") from None
    except RecursionError:
        raise ValidationError("item", NESTED_TOO_DEEPLY) from None


def ui_message(role: Role, text: str, *, message_id: str | None = None) -> str:
    """A plain text message as a UIMessage row, for plain-API users whose chats a TS
    agents app reads: ``mem.save_message(chat, "user", ui_message("user", "Hi"))``."""
    return json.dumps({"id": message_id or uuid.uuid4().hex, "role": role,
                       "parts": [{"type": "text", "text": text}]}, ensure_ascii=False)


def decode(role: str, content: str) -> Decoded:
    """What a row holds (see the module docstring)."""
    return _decoded(role, content, _ui(content))


def decode_for(framework: str, role: str, content: str) -> tuple[Any, Decoded | None]:
    """``(item, None)`` for a row ``framework`` wrote (its exact object), else
    ``(None, decode(role, content))``. An integration reads its own rows through this:
    the item comes straight from the parsed row, without building the ``Decoded`` that
    :func:`decode` would hand over only to be thrown away (0.5 µs a row, about half of
    the Python work besides parsing: 0.1 ms on a chat of 200)."""
    ui = _ui(content)
    if ui is not None:
        mark = _mark(ui)
        # A JSON value equal to a str is that str: no isinstance check needed here.
        if mark is not None and mark.get("framework") == framework:
            return mark["item"], None
    return None, _decoded(role, content, ui)


# -- rows written by anyone: what an integration can always read ---------------------------

_ROLE_OF = {"user": "user", "human": "user", "system": "system", "developer": "system",
            "assistant": "assistant"}


def row_role(role: object) -> Role:
    """A role column as one of the three row roles: ``human`` is ``user``, ``developer``
    is ``system``, anything else a foreign writer put there (``tool``, ``ai``, ``bogus``)
    is ``assistant``, as the integrations map framework roles (FRAMEWORKS.md §2)."""
    return _ROLE_OF.get(role, "assistant") if isinstance(role, str) else "assistant"  # type: ignore[return-value]


def row_fields(row: Message) -> tuple[Role, str]:
    """``(role, content)`` of a stored row as an integration reads them: the role mapped by
    :func:`row_role`; content that is not text (SQLite stores what it is given: a BLOB comes
    back as bytes) decoded as UTF-8, or one ``MemstoreError`` naming the row."""
    content = row.content
    role = row.role if row.role in _ROLES else row_role(row.role)
    if type(content) is str:
        return role, content  # type: ignore[return-value]
    if isinstance(content, (bytes, bytearray, memoryview)):
        try:
            return role, bytes(content).decode("utf-8")
        except UnicodeDecodeError:
            raise MemstoreError(f"message {row.id} of chat {row.chat_id!r}: its content is "
                                "a BLOB that is not UTF-8 text, which no integration can "
                                "read; fix or delete that row") from None
    raise MemstoreError(f"message {row.id} of chat {row.chat_id!r}: its content is "
                        f"{type(content).__name__}, not text; fix or delete that row")


def fallback(role: str, content: str) -> Decoded:
    """A row whose item its integration cannot load (damaged, hand-edited, from another
    version): read as a foreign row, its UIMessage's visible text, else its text."""
    ui = _ui(content)
    if ui is None:
        return Decoded("text", role, content)
    return Decoded("ui", ui["role"], ui=ui)


def _decoded(role: str, content: str, ui: dict[str, Any] | None) -> Decoded:
    """``decode`` once the row is parsed (``ui``: ``_ui(content)``)."""
    if ui is None:
        return Decoded("text", role, content)
    mark = _mark(ui)
    if mark is not None:
        framework = mark.get("framework")
        if isinstance(framework, str):
            return Decoded("item", ui["role"], None, framework, mark["item"], ui)
    return Decoded("ui", ui["role"], ui=ui)  # one of the three roles, checked by _ui


def _mark(ui: dict[str, Any]) -> dict[str, Any] | None:
    """``metadata.memstore`` of a UIMessage when it is a dict that holds an item."""
    metadata = ui.get("metadata")
    if isinstance(metadata, dict):
        mark = metadata.get(KEY)
        if isinstance(mark, dict) and "item" in mark:
            return mark
    return None


# json.loads(s) is JSONDecoder().decode(s): a whitespace regex match before and after the
# value and two Python calls around the C scanner. _ui has checked that the row starts with
# "{" (no leading whitespace), so it calls raw_decode itself and checks what follows the
# value as decode does: the same result for a fifth less time per row (a row is parsed on
# every read; 1.25 -> 1.0 ms for the 200 rows of a chat).
_raw_decode = json.JSONDecoder().raw_decode
_JSON_SPACE = " \t\n\r"  # the whitespace json.loads allows after the value
_ROLES = ("user", "assistant", "system")


def _ui(content: str) -> dict[str, Any] | None:
    """The UIMessage in ``content``, or None when it is not one (plain text, other JSON)."""
    if not content.startswith("{"):
        return None
    try:
        value, end = _raw_decode(content)
    except (ValueError, RecursionError):  # nested too deeply to parse: a text row
        return None
    if end != len(content) and content[end:].strip(_JSON_SPACE):
        return None  # data after the value ("Extra data" to json.loads)
    if isinstance(value, dict) and isinstance(value.get("parts"), list) \
            and value.get("role") in _ROLES:
        return value
    return None
