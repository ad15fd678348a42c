"""Kafka Connect REST client: validate, create-or-update (PUT), wait until RUNNING.

Connect's own words reach the user: a rejected config names the offending field and Connect's
message; a FAILED task ends the wait with the first line of its trace.
"""

from __future__ import annotations

import time

import httpx

from pipeline.errors import ConnectorError, TransientError


class ConnectClient:
    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout)

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            resp = self.http.request(method, path, **kwargs)
        except httpx.TransportError as err:
            raise TransientError(f"Kafka Connect at {self.url} is unreachable ({type(err).__name__})",
                                 fix="start it (python -m stack up)") from None
        if resp.status_code == 409:  # rebalance in progress: Connect asks to come back later
            raise TransientError(f"Kafka Connect is rebalancing ({path})")
        return resp

    def validate(self, name: str, config: dict[str, str]) -> list[str]:
        """Connect's own validation (the plugin's checks, e.g. it connects to the database); 'field: message' each."""
        plugin = config["connector.class"].rsplit(".", 1)[-1]
        resp = self._call("PUT", f"/connector-plugins/{plugin}/config/validate", json={**config, "name": name})
        if resp.status_code >= 400:
            raise ConnectorError(f"Kafka Connect cannot validate {plugin}: {_message(resp)}")
        body = resp.json()
        errors = []
        for item in body.get("configs", []):
            value = item.get("value") or {}
            for msg in value.get("errors", []):
                errors.append(f"{value.get('name')}: {' '.join(msg.split())}")
        return errors

    def current_config(self, name: str) -> dict[str, str] | None:
        resp = self._call("GET", f"/connectors/{name}/config")
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.json()

    def put_config(self, name: str, config: dict[str, str]) -> str:
        """Create or update; returns 'created', 'updated' or 'unchanged' (no write, no task restart)."""
        current = self.current_config(name)
        if current is not None and {k: v for k, v in current.items() if k != "name"} == config:
            return "unchanged"
        resp = self._call("PUT", f"/connectors/{name}/config", json=config)
        if resp.status_code >= 400:
            raise ConnectorError(f"Kafka Connect rejected connector {name!r}: {_message(resp)}")
        return "created" if resp.status_code == 201 else "updated"

    def status(self, name: str) -> dict | None:
        resp = self._call("GET", f"/connectors/{name}/status")
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.json()

    def wait_running(self, name: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.status(name)
            except TransientError:
                last = None
            if last:
                failure = failed_summary(last)
                if failure:
                    raise ConnectorError(failure, fix=f"GET {self.url}/connectors/{name}/status for the full trace")
                tasks = last.get("tasks", [])
                if last["connector"]["state"] == "RUNNING" and tasks and all(t["state"] == "RUNNING" for t in tasks):
                    return last
            time.sleep(0.5)
        state = last["connector"]["state"] if last else "unknown"
        raise TransientError(f"connector {name!r} not RUNNING after {timeout:.0f}s (state {state})")

    def delete(self, name: str) -> bool:
        resp = self._call("DELETE", f"/connectors/{name}")
        return resp.status_code in (200, 204)


def failed_summary(status: dict) -> str | None:
    """One line for the first FAILED connector or task, from the first line of its trace."""
    name = status.get("name", "?")
    entries = [("connector", status.get("connector", {}))] + [(f"task {t.get('id')}", t) for t in status.get("tasks", [])]
    for what, entry in entries:
        if entry.get("state") == "FAILED":
            trace = (entry.get("trace") or "no trace").strip().splitlines()
            first = trace[0] if trace else "no trace"
            cause = next((line.strip() for line in trace if line.strip().startswith("Caused by:")), "")
            detail = first + (f" ({cause})" if cause and cause not in first else "")
            return f"connector {name!r} {what} FAILED: {' '.join(detail.split())[:500]}"
    return None


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        return " ".join(str(body.get("message", body)).split())[:600]
    except ValueError:
        return resp.text[:300]
