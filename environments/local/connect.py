"""The `Connect` port on an open-source Kafka Connect worker (REST API), plus the worker's secrets file.

Connect's own words reach the user: a rejected config names the offending field and Connect's message;
a FAILED task ends the wait with the first line of its trace. Secrets are `${file:...}` references that
Connect resolves through its FileConfigProvider, so its REST answers never hold them (MASKS_SECRETS False:
the stored config compares equal to ours).
"""

from __future__ import annotations

from pathlib import Path

import httpx

from environments.http import RestClient, api_message
from pipeline.errors import ConnectorError, TransientError
from pipeline.polling import poll_until
from pipeline.ports import ConnectorState, TaskState
from pipeline.traces import summarize_trace

PASSWORD_KEY = "database.password"


class LocalConnect:
    MASKS_SECRETS = False

    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.rest = RestClient(self.url, service="Kafka Connect", timeout=timeout)

    def close(self) -> None:
        self.rest.close()

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        resp = self.rest.request(method, path, **kwargs)  # unreachable and 5xx: transient
        if resp.status_code == 409:  # rebalance in progress: Connect asks to come back later
            raise TransientError(f"Kafka Connect is rebalancing ({path})")
        return resp

    def _ok(self, resp: httpx.Response, what: str) -> httpx.Response:
        if resp.status_code >= 400:
            raise ConnectorError(f"Kafka Connect refused to {what}: {_message(resp)}")
        return resp

    def validate(self, name: str, config: dict[str, str]) -> list[str]:
        """Connect's own validation (the plugin's checks, e.g. it connects to the database); 'field: message' each."""
        plugin = config["connector.class"].rsplit(".", 1)[-1]
        resp = self._ok(self._call("PUT", f"/connector-plugins/{plugin}/config/validate", json={**config, "name": name}),
                        f"validate {plugin}")
        errors = []
        for item in resp.json().get("configs", []):
            value = item.get("value") or {}
            for msg in value.get("errors", []):
                errors.append(f"{value.get('name')}: {' '.join(msg.split())}")
        return errors

    def config(self, name: str) -> dict[str, str] | None:
        resp = self._call("GET", f"/connectors/{name}/config")
        if resp.status_code == 404:
            return None
        return self._ok(resp, f"read connector {name!r}").json()

    def put_config(self, name: str, config: dict[str, str], *, deployed_fingerprint: str | None = None) -> str:
        """Create or update; returns 'created', 'updated' or 'unchanged' (no write, no task restart).

        Secrets are `${file:...}` references here, so the stored config is compared as it is."""
        current = self.config(name)
        if current is not None and {k: v for k, v in current.items() if k != "name"} == config:
            return "unchanged"
        resp = self._call("PUT", f"/connectors/{name}/config", json=config)
        if resp.status_code >= 400:
            raise ConnectorError(f"Kafka Connect rejected connector {name!r}: {_message(resp)}")
        return "created" if resp.status_code == 201 else "updated"

    def fingerprint(self, name: str, config: dict[str, str]) -> str:
        import hashlib
        import json

        return hashlib.sha256(json.dumps([name, config], sort_keys=True).encode()).hexdigest()

    def status(self, name: str) -> ConnectorState | None:
        resp = self._call("GET", f"/connectors/{name}/status")
        if resp.status_code == 404:
            return None
        return connector_state(self._ok(resp, f"read the status of {name!r}").json())

    def wait_running(self, name: str, timeout: float = 90.0) -> ConnectorState:
        last: list[ConnectorState | None] = [None]

        def running() -> ConnectorState | None:
            last[0] = state = self.status(name)
            if state is None:
                return None
            failure = state.failure()
            if failure:
                raise ConnectorError(failure, fix=f"GET {self.url}/connectors/{name}/status for the full trace")
            return state if state.running else None

        return poll_until(running, timeout=timeout, what=f"connector {name!r} RUNNING",
                          last=lambda: f"state {last[0].state if last[0] else 'unknown'}")

    def pause(self, name: str) -> None:
        """Stop capturing: when this returns, the connector writes nothing more (until `resume`).

        Uses Connect's STOP (KIP-875) rather than PAUSE: a paused task reports PAUSED while it still sends
        the batch it had polled (hundreds of records behind a busy table, seen in the migration test); a
        stopped connector has shut its tasks down, flushed their records and committed their offsets.
        """
        self._ok(self._call("PUT", f"/connectors/{name}/stop"), f"stop {name!r}")

        def stopped() -> bool:
            current = self.status(name)
            return current is not None and current.state == "STOPPED" and not current.tasks

        poll_until(stopped, timeout=60, what=f"connector {name!r} STOPPED")

    RESTARTS_FAILED_TASKS = True

    def restart_failed(self, name: str) -> None:
        """Restart the connector's FAILED instance and tasks only (KIP-745), leaving running ones alone."""
        self._ok(self._call("POST", f"/connectors/{name}/restart", params={"includeTasks": "true", "onlyFailed": "true"}),
                 f"restart the failed tasks of {name!r}")

    def resume(self, name: str) -> None:
        self._ok(self._call("PUT", f"/connectors/{name}/resume"), f"resume {name!r}")
        self.wait_running(name)

    def delete(self, name: str) -> bool:
        resp = self._call("DELETE", f"/connectors/{name}")
        if resp.status_code == 404:
            return False
        self._ok(resp, f"delete {name!r}")
        return True

    def create_with_offsets(self, name: str, config: dict[str, str], offsets: list[dict]) -> str:
        """Not needed locally: every local variant is the same connector (same name, slot and offsets)."""
        raise ConnectorError("locally a variant switch keeps the connector; creating one from offsets is not supported",
                             fix="switch the config of the existing connector (same name)")

    def offsets(self, name: str) -> list[dict]:
        resp = self._call("GET", f"/connectors/{name}/offsets")
        if resp.status_code == 404:
            return []
        return self._ok(resp, f"read the offsets of {name!r}").json().get("offsets", [])


def connector_state(body: dict) -> ConnectorState:
    connector = body.get("connector", {})
    tasks = tuple(TaskState(int(t.get("id", 0)), t.get("state", "UNKNOWN"),
                            summarize_trace(t.get("trace") or t.get("msg"))) for t in body.get("tasks", []))
    return ConnectorState(body.get("name", "?"), connector.get("state", "UNKNOWN"), tasks,
                          summarize_trace(connector.get("trace")))


def _message(resp: httpx.Response) -> str:
    return api_message(resp)


def write_connect_secrets(folder: Path, password: str) -> str:
    """The properties file Connect's FileConfigProvider reads (0600, under the git-ignored state folder)."""
    from stack.settings import write_secret_file

    return str(write_secret_file(folder / "connect-secrets.properties", f"{PASSWORD_KEY}={password}\n"))
