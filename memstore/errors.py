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
    """The ``Memory`` or ``AsyncMemory`` was closed; every call on it raises this, on every
    backend, before touching the database."""

    def __init__(self, kind: str = "Memory") -> None:
        super().__init__(f"this {kind} is closed; open a new one with memstore.connect()")
