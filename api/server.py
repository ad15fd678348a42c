"""The producer API as a supervised background process (for the integration tests and `./run bench api`):
`python -m api` under `stack.process.Engine` — own log, pid file, health check, stop by pid."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

from pipeline.paths import ROOT
from stack.process import Engine, port_open


class ApiServer(Engine):
    def __init__(self, home: Path, port: int, env: dict[str, str] | None = None, start_timeout: float = 30):
        super().__init__(name="producer-api", home=home, ports={"CDC_API_PORT": port}, start_timeout=start_timeout,
                         env={"PYTHONPATH": str(ROOT), **(env or {})})
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "api", "--port", str(self.port)]

    def healthy(self) -> bool:
        """Serving HTTP (whatever /health says about the database)."""
        if self.pid() is None or not port_open(self.port):
            return False
        try:
            with urllib.request.urlopen(f"{self.url}/openapi.json", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False
