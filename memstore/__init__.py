"""memstore: persistent memory for AI agents in the SQL database you already run."""

from .connect import connect, connect_async
from .errors import (
    BackendError,
    ClosedError,
    ConflictError,
    MemstoreError,
    NodeNotReadyError,
    NotFoundError,
    RetriesExhaustedError,
    SchemaError,
    ValidationError,
)
from .models import Chat, Content, Message, MessageItem, Role, Scope, WorkingMemory
from .recall import Embedder, SearchHit
from .store import AsyncMemory, Memory
from .validate import MAX_CONTENT_BYTES, MAX_INSTANT, MIN_INSTANT, now

__all__ = [
    "MAX_CONTENT_BYTES",
    "MAX_INSTANT",
    "MIN_INSTANT",
    "AsyncMemory",
    "BackendError",
    "Chat",
    "ClosedError",
    "ConflictError",
    "Content",
    "Embedder",
    "Memory",
    "MemstoreError",
    "Message",
    "MessageItem",
    "NodeNotReadyError",
    "NotFoundError",
    "RetriesExhaustedError",
    "Role",
    "SchemaError",
    "Scope",
    "SearchHit",
    "ValidationError",
    "WorkingMemory",
    "connect",
    "connect_async",
    "now",
]
__version__ = "0.1.0"
