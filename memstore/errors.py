"""The memstore exception tree. Every message a user sees is built here.

    MemstoreError
      ValidationError   bad input, raised before any SQL runs
      NotFoundError     a row the call needs does not exist
      SchemaError       tables or columns missing or wrong; says how to fix it
      BackendError      a driver error, wrapped; the original is ``__cause__``
"""

from __future__ import annotations


class MemstoreError(Exception):
    """Base class of every error memstore raises on purpose."""


class ValidationError(MemstoreError, ValueError):
    """Bad input. ``field`` names the argument; nothing was written."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class NotFoundError(MemstoreError, LookupError):
    """A row the operation needs does not exist."""


class SchemaError(MemstoreError):
    """The database lacks memstore's tables or columns, or they have the wrong shape."""

    @classmethod
    def missing_table(cls, table: str, dialect: str) -> SchemaError:
        return cls(
            f"table {table!r} does not exist; create the tables with "
            f"`memstore init URL` or `Memory.init_schema()` "
            f"(or run `memstore schema {dialect}` and apply it yourself)"
        )

    @classmethod
    def missing_column(cls, detail: str) -> SchemaError:
        return cls(
            f"{detail}; the table does not have memstore's columns. Compare it with "
            f"`memstore schema DIALECT` and check it with `memstore doctor URL`"
        )


class BackendError(MemstoreError):
    """The database or its driver failed. The driver's exception is ``__cause__``."""

    def __init__(self, message: str, *, dialect: str = "") -> None:
        self.dialect = dialect
        super().__init__(f"{dialect}: {message}" if dialect else message)


class ClosedError(MemstoreError):
    """The ``Memory`` or ``AsyncMemory`` (or an integration object) was closed; every call
    on it raises this, on every backend, before touching the database. ``kind`` names the
    closed object, ``remedy`` what to do instead (by default: open a new one)."""

    def __init__(self, kind: str = "Memory", remedy: str | None = None) -> None:
        if remedy is None:
            remedy = ("open a new one with memstore.connect_async()" if kind == "AsyncMemory"
                      else "open a new one with memstore.connect()")
        self.kind = kind
        super().__init__(f"this {kind} is closed; {remedy}")


class ConflictError(BackendError):
    """The database rolled the transaction back because of a conflict with another one:
    a deadlock, a Galera certification failure (MySQL/MariaDB 1213), a lock wait timeout
    (1205), a PostgreSQL serialization failure or deadlock (40001, 40P01). Inside your own
    transaction memstore raises it at once (the whole transaction is gone; retry it
    yourself); a call in memstore's own transaction is retried first (see
    RetriesExhaustedError)."""

    # True when the transaction that failed was memstore's own (not joined to the
    # caller's): the call changed nothing and may run again. Set by the runner.
    own_transaction: bool = False


class RetriesExhaustedError(ConflictError):
    """A call in memstore's own transaction kept conflicting with other transactions
    through every retry (by default for 5 seconds; ``connect(..., retries=,
    retry_deadline=)``). Nothing of it was written. Under this much contention, send one
    chat's writes to one node, or retry later."""


class NodeNotReadyError(BackendError):
    """The server cannot take this call now: a Galera node cut off from its cluster
    (1047 WSREP has not yet prepared node for application use), a PostgreSQL standby or
    read-only transaction (25006), a server starting up or shutting down (57P03). Nothing
    was written; send the call to another node (a load balancer should fail over)."""
