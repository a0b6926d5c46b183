"""The Hypothesis state machine of tests/test_properties.py on the 3-node Galera cluster:
one ``Memory`` (or ``AsyncMemory``) per node, each opened with ``?wsrep_sync_wait=1``
(read-your-writes), and every operation sent to a node that Hypothesis draws (the
``node`` and ``check_node`` arguments of each step, so a shrunk example shows where each
call went). The results and errors must be those of the reference model (tests/model.py),
exactly as on a single server; at the end every node must hold the whole expected state.

The cluster comes from ``$MEMSTORE_TEST_GALERA_URLS`` (``make services-cluster``): without
it the test is skipped locally and fails with ``CI=true``, as in tests/test_distributed.py.
The run works in a database of its own, whose tables every example empties first.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import closing
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

import memstore
from memstore.store import Clock
from tests.async_bridge import open_blocking
from tests.backend_mysql import TABLES
from tests.test_distributed import GALERA_RETRIES, galera_urls, query, raw_connect, with_database
from tests.test_properties import EXAMPLES_SCALE, MemstoreMachine

# Examples per API and run, 25 steps each: ~20-25 s per API on the 3-node test cluster
# (every write is a replicated commit; the final check reads the whole state on each node).
EXAMPLES = 150
NODES = 3


class Cluster:
    """This run's database on the cluster: a URL per node (read-your-writes on), and a
    connection to node 1 that empties the tables. Its DELETEs wait until node 1 has applied
    every earlier write (wsrep_sync_wait=15: all statements), so none survives even after
    an example that failed midway; they are replicated before they return, and the other
    nodes' reads wait for them (wsrep_sync_wait=1)."""

    def __init__(self, urls: list[str], database: str) -> None:
        self.urls = [f"{with_database(u, database)}&wsrep_sync_wait=1" for u in urls]
        self.database = database
        self.admin = raw_connect(urls[0], database)
        query(self.admin, "SET SESSION wsrep_sync_wait = 15")

    def empty(self) -> None:
        for table in TABLES:
            query(self.admin, f"DELETE FROM {table}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    urls = galera_urls()
    database = f"memstore_gp{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with closing(raw_connect(urls[0], None)) as conn:
        query(conn, f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
    try:
        c = Cluster(urls, database)
        try:
            with memstore.connect(c.urls[0]) as mem:
                mem.init_schema()
            yield c
        finally:
            c.admin.close()
    finally:
        with closing(raw_connect(urls[0], None)) as conn:
            query(conn, f"DROP DATABASE IF EXISTS {database}")


class GaleraMachine(MemstoreMachine):
    """MemstoreMachine with a store per Galera node; each step draws its node."""

    cluster: Cluster
    node_indexes = st.integers(0, NODES - 1)

    def open_mems(self) -> list[Any]:
        self.cluster.empty()
        mems: list[Any] = []
        try:
            for url in self.cluster.urls:
                if self.api == "sync":
                    mems.append(memstore.connect(url, clock=self.clock, retries=GALERA_RETRIES))
                else:
                    mems.append(open_blocking(partial(self.open_async, url), self.clock))
        except BaseException:
            for mem in mems:
                mem.close()
            raise
        return mems

    @staticmethod
    async def open_async(url: str, clock: Clock | None) -> memstore.AsyncMemory:
        return await memstore.connect_async(url, clock=clock, retries=GALERA_RETRIES)


@pytest.mark.parametrize("api", ["sync", "async"])
def test_galera_nodes_match_reference_model(cluster: Cluster, api: str) -> None:
    machine = type(f"GaleraMachine_{api}", (GaleraMachine,), {"cluster": cluster, "api": api})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=max(1, int(EXAMPLES * EXAMPLES_SCALE)), stateful_step_count=25,
        deadline=None, suppress_health_check=list(HealthCheck)))
