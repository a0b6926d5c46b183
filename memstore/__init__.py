"""memstore: persistent memory for AI agents in the SQL database you already run."""

from .connect import connect
from .errors import BackendError, MemstoreError, NotFoundError, SchemaError, ValidationError
from .models import Chat, Message, WorkingMemory
from .store import Memory
from .validate import MAX_CONTENT_BYTES, MAX_INSTANT, MIN_INSTANT

__all__ = [
    "MAX_CONTENT_BYTES",
    "MAX_INSTANT",
    "MIN_INSTANT",
    "BackendError",
    "Chat",
    "Memory",
    "MemstoreError",
    "Message",
    "NotFoundError",
    "SchemaError",
    "ValidationError",
    "WorkingMemory",
    "connect",
]
__version__ = "0.1.0"
