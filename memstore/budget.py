"""History bounded by tokens: ``get_messages(chat_id, max_tokens=...)``.

**Turns.** A turn starts at a ``user`` row. The integrations store every tool call, tool
output and reasoning item as an ``assistant`` row and only what a person typed as a
``user`` row (FRAMEWORKS.md §2), and a TypeScript app keeps tool calls and results as parts
of its assistant UIMessages, so a cut at a turn start never separates a tool call from its
result. Rows before a chat's first ``user`` row form a turn of their own.

**The rule.** The newest whole turns whose token total fits ``max_tokens`` (and, with
``limit``, whose message count fits it), oldest first. The newest turn is always
returned whole, even when it alone is over the budget: a model needs the question it is
answering, and a cut inside it would hand the model a tool result without its call; the
caller sees the total and can compact the chat (or trim that turn) itself.

**Counting.** Each row is counted once, by the connection's token counter, over its
content as stored (for an integration's row: the framework item in its UIMessage, a
slight overestimate, the safe direction for a context window). The default counter needs
no dependency: UTF-8 bytes / 4, rounded up (about one token per 4 characters of English,
per CJK character a little under one). Pass ``token_counter=`` to ``connect`` for
tiktoken or a model's own tokenizer. Counts live in memstore's side table
``memstore_tokens`` (keyed by message id and counter name), filled before a budgeted read
for the rows of that chat that have none (an anti-join: rows a TS app wrote are counted
too), never on the write path.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from .adapters.base import Dialect
from .errors import ValidationError
from .models import Message
from .validate import callable_name

TokenCounter = Callable[[str], int]
# Rows per page of a budgeted read (newest first): a first page the size of a usual
# history, then larger ones, so a small budget reads about what it returns.
PAGES = (50, 200, 1000)
DEFAULT_COUNTER_NAME = "memstore-utf8-bytes/4"


def default_counter(text: str) -> int:
    """UTF-8 bytes / 4, rounded up (at least 1 for a non-empty text)."""
    return (len(text.encode("utf-8", "surrogatepass")) + 3) // 4


def counter_name(counter: TokenCounter | None, name: str | None) -> str:
    """The name counts are recorded under: ``name``, else the counter's ``name``
    attribute, else its qualified name; the default counter's own name without one."""
    if counter is None:
        return name or DEFAULT_COUNTER_NAME
    return callable_name("token_counter_name", counter, name, ("name",))


def count(counter: TokenCounter, text: str) -> int:
    """A counter's answer, checked: a non-negative int."""
    tokens = counter(text)
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
        raise ValidationError("token_counter", "must return a non-negative int; got "
                              f"{tokens!r}")
    return tokens


Plan = Generator[Any, Any, Any]


def budget_plan(dialect: Dialect, chat_id: str, user_id: str | None, max_tokens: int,
                limit: int | None, counter: TokenCounter, name: str) -> Plan:
    """The newest whole turns that fit (see the module docstring), oldest first. Rows read
    without a count are counted here and their counts stored after the read, so each row
    is counted once, and only rows a budgeted read reaches are ever counted."""
    taken: list[Message] = []  # newest first
    counted: list[tuple[int, str, int]] = []  # new counts to store
    total = 0
    fits = 0  # how many of ``taken`` (newest first) end at a turn start within the limits
    before: tuple[Any, int] | None = None
    pages = 0
    while True:
        size = PAGES[min(pages, len(PAGES) - 1)]
        pages += 1
        page = yield from dialect.budget_page(chat_id, user_id, name, before, size)
        done = len(page) < size
        for message, tokens, position in page:
            if tokens is None:
                tokens = count(counter, message.content)
                counted.append((message.id, message.chat_id, tokens))
            taken.append(message)
            total += tokens
            within = total <= max_tokens and (limit is None or len(taken) <= limit)
            if message.role == "user":
                if within or not fits:  # the newest turn is always whole
                    fits = len(taken)
                if not within:
                    done = True
                    break
            elif not within and fits:
                done = True  # more rows only add tokens: no older turn can fit
                break
            before = position
        else:
            if done and (not fits or (total <= max_tokens
                                      and (limit is None or len(taken) <= limit))):
                fits = len(taken)  # the chat's start ends a turn too
        if done:
            break
    if counted:
        yield from dialect.tokens_store(name, counted)
    return list(reversed(taken[:fits]))
