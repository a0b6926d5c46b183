"""Which installed distribution provides the ``memstore`` package.

memstore is distributed as ``memstore-sql``; the PyPI name ``memstore`` belongs to an
unrelated project that installs a package of the same import name. Installed in the same
environment, it overwrites this package's files (``memstore/__init__.py``), and
uninstalling it afterwards removes them. ``memstore --version`` and ``memstore doctor``
use this module to notice that and say how to recover.
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import re

DISTRIBUTION = "memstore-sql"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def version() -> str | None:
    """The installed ``memstore-sql``'s version from its metadata (not from
    ``memstore.__version__``, which another distribution may have overwritten)."""
    try:
        return md.version(DISTRIBUTION)
    except md.PackageNotFoundError:
        return None


def foreign() -> list[str]:
    """The other installed distributions that provide a top-level ``memstore`` package,
    or are named ``memstore``: the unrelated PyPI project, say."""
    names: set[str] = set()
    # a broken metadata directory elsewhere must not break the check
    with contextlib.suppress(Exception):
        names.update(_canonical(n) for n in md.packages_distributions().get("memstore", []))
    with contextlib.suppress(md.PackageNotFoundError):
        names.add(_canonical(md.distribution("memstore").metadata["Name"] or "memstore"))
    return sorted(names - {DISTRIBUTION})


def clash_message(names: list[str]) -> str:
    """What to tell the user when :func:`foreign` found something."""
    listed = " ".join(names)
    return (f"another distribution provides the 'memstore' package: {', '.join(names)} "
            f"(the PyPI name 'memstore' is an unrelated project; this one is "
            f"{DISTRIBUTION}), and it may have overwritten memstore's files. To recover: "
            f"pip uninstall {listed}, then reinstall {DISTRIBUTION}: "
            f"pip install --force-reinstall {DISTRIBUTION} (from a checkout: "
            f"pip install --force-reinstall .)")
