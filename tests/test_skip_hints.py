"""A test skipped for want of a server says which make target starts that server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import backends, test_distributed


@pytest.mark.parametrize(("get", "var", "target"), [
    (test_distributed.galera_urls, "MEMSTORE_TEST_GALERA_URLS", "`make services-cluster`"),
    (lambda: backends.require_env("MEMSTORE_TEST_POSTGRES_URL", "postgres"),
     "MEMSTORE_TEST_POSTGRES_URL", "`make services`"),
])
def test_the_skip_hint_names_the_make_target(get: Callable[[], object], var: str, target: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(backends, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        get()
    assert target in str(skipped.value) and var in str(skipped.value)
    if target != "`make services`":
        assert "`make services`" not in str(skipped.value)
