"""`./run filters ...`: the filter tool with the local Flink SQL Gateway as its checker when it runs.

`python -m filters` itself knows no server; here the local gateway is injected, so `validate` also has
Flink parse and plan the generated statements (DDL in a throw-away session, EXPLAIN of the statement set).
"""

from __future__ import annotations

import sys

import httpx

from environments.local.flink import LocalFlinkJobs
from filters.cli import main as filters_main
from stack.settings import local_ports, state_dir


class GatewayChecker:
    def __init__(self):
        ports = local_ports()
        self.url = f"http://127.0.0.1:{ports['sql_gateway']}"
        self.jobs = LocalFlinkJobs(self.url, f"http://127.0.0.1:{ports['flink']}", state_dir() / "flink", "127.0.0.1:0")

    def reachable(self) -> bool:
        try:
            return httpx.get(f"{self.url}/v1/info", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def explain(self, statements: list[str]) -> None:
        self.jobs.validate(statements)


if __name__ == "__main__":
    sys.exit(filters_main(checker=GatewayChecker()))
