"""The `Connect` port on Confluent Cloud managed connectors (connect/v1).

Base URL `{api_url}/connect/v1/environments/{env}/clusters/{lkc}`, HTTP Basic with a Cloud API key.

"Unchanged" despite masked secrets
----------------------------------
Confluent returns every sensitive value masked (`****************`), so a deployed secret can never be
compared with ours, and nothing secret-derived can be stored server-side either (any extra config key is
sent to the connector, and an extra key holding a hash of the secrets would be stored in the clear).
The rule here is therefore:

    unchanged  <=>  every key that is neither masked nor server-added is equal on both sides
                    AND the caller says the secrets did not change since the last deploy.

The caller says so by passing `deployed_fingerprint`: the value `config_fingerprint(name, config)` had
when that config was last deployed, kept in the caller's own durable record (the rollout-store kind of
record). The fingerprint covers the WHOLE desired config, so a change of any secret — whichever keys the
server masks — makes it differ. It is a salted scrypt hash, so the record does not make a weak database
password cheap to guess. Without a fingerprint (or when it differs) a config whose non-secret keys are
equal is still PUT ("updated"): redeploying is safe, silently keeping a rotated secret out is not.
Configs without masked keys need no fingerprint.

Server-added keys ignored in the comparison are those the Terraform provider ignores (reference §1):
`cloud.environment, cloud.provider, connector.crn, kafka.endpoint, kafka.max.partition.validation.disable,
kafka.region, kafka.dedicated, schema.registry.url, valid.kafka.api.key, confluent.custom.plugin.type,
confluent.resource.connector.tier` and any `config.internal.*` key.

States follow Terraform's `waitForConnectorToProvision`: PROVISIONING and DEGRADED are pending, RUNNING is
the target, anything else is a failure carrying the connector's `trace`. Task states are free-form in
Confluent (its mocks show STOPPED tasks under a RUNNING connector), so "running" is the connector's state
plus "no task FAILED", not `ConnectorState.running`.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from urllib.parse import quote

from pydantic import SecretStr

from environments.http import RestClient, one_line, summarise
from pipeline.errors import ConfigError, ConnectorError
from pipeline.polling import poll_until
from pipeline.ports import ConnectorState, TaskState

API_URL = "https://api.confluent.cloud"
#: keys the server adds or manages, ignored when deciding "unchanged" (TF resource_connector.go)
SERVER_KEYS = frozenset({
    "cloud.environment", "cloud.provider", "connector.crn", "kafka.endpoint",
    "kafka.max.partition.validation.disable", "kafka.region", "kafka.dedicated", "schema.registry.url",
    "valid.kafka.api.key", "confluent.custom.plugin.type", "confluent.resource.connector.tier",
})
SERVER_KEY_PREFIXES = ("config.internal.",)
#: key names whose values are secrets even before the server has masked them (for scrubbing messages)
_SECRET_NAME = re.compile(r"(password|secret|api\.key|credentials|token|private\.key)", re.I)

PENDING = ("PROVISIONING", "DEGRADED")


def is_masked(value: object) -> bool:
    """TF's rule: a returned value of two or more `*` and nothing else is a masked secret."""
    return isinstance(value, str) and len(value) >= 2 and set(value) == {"*"}


def is_server_key(key: str) -> bool:
    return key in SERVER_KEYS or key.startswith(SERVER_KEY_PREFIXES)


def config_fingerprint(name: str, config: dict[str, str]) -> str:
    """A salted scrypt hash of the whole config (secrets included); record it after a deploy."""
    payload = json.dumps({"name": name, "config": config}, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.scrypt(payload, salt=b"cdc-connector-config:" + name.encode(), n=2**14, r=8, p=1, dklen=16)
    return "scrypt1:" + digest.hex()


def comparable(config: dict[str, str], masked: Iterable[str]) -> dict[str, str]:
    """The part of a config that can be compared with what the server returns."""
    skip = set(masked)
    return {k: str(v) for k, v in config.items() if k not in skip and not is_server_key(k)}


class ConfluentConnect:
    """Managed connectors of one Kafka cluster."""

    MASKS_SECRETS = True

    def __init__(self, *, environment_id: str, cluster_id: str, api_key: str, api_secret: SecretStr,
                 key_variable: str = "CDC_CONFLUENT_CLOUD_API_KEY", api_url: str = API_URL,
                 timeout: float = 30.0, transport=None, poll_every: float = 5.0,
                 state_timeout: float = 600.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.environment_id = environment_id
        self.cluster_id = cluster_id
        self.http = RestClient(
            f"{api_url.rstrip('/')}/connect/v1/environments/{quote(environment_id, safe='')}"
            f"/clusters/{quote(cluster_id, safe='')}",
            service="Confluent Cloud Connect API", auth=(api_key, api_secret), key_variable=key_variable,
            credential="Cloud API key", timeout=timeout, transport=transport, sleep=sleep)
        self.poll_every = poll_every
        self.state_timeout = state_timeout
        self.sleep = sleep
        self.clock = clock

    def close(self) -> None:
        self.http.close()

    # --- config ------------------------------------------------------------------------------------------

    def config(self, name: str) -> dict[str, str] | None:
        """The stored config (secrets masked), or None when there is no such connector."""
        resp = self.http.get(f"/connectors/{_seg(name)}/config")
        if resp.status_code == 404:
            return None
        self.http.expect(resp, (200,), ConnectorError, f"Confluent Cloud could not read connector {name!r}")
        return self.http.json(resp, ConnectorError, f"reading connector {name!r}")

    def put_config(self, name: str, config: dict[str, str], *, deployed_fingerprint: str | None = None) -> str:
        """Create or update by `PUT /connectors/{name}/config`: created | updated | unchanged (nothing sent).

        See the module docstring for how "unchanged" is decided despite masked secrets.
        """
        desired = self._with_name(name, config)
        current = self.config(name)
        if current is not None and self._unchanged(name, desired, current, deployed_fingerprint):
            return "unchanged"
        resp = self.http.put(f"/connectors/{_seg(name)}/config", json=desired)
        # TF treats any status but 200 as an error here (its comment "APIF-2634")
        self.http.expect(resp, (200, 201), ConnectorError, f"Confluent Cloud rejected connector {name!r}")
        return "created" if current is None else "updated"

    def _unchanged(self, name: str, desired: dict[str, str], current: dict[str, str],
                   deployed_fingerprint: str | None) -> bool:
        masked = {k for k, v in current.items() if is_masked(v)}
        if not masked <= set(desired):  # a secret key was removed from our config
            return False
        if comparable(desired, masked) != comparable(current, masked):
            return False
        if not masked:
            return True
        return deployed_fingerprint is not None and deployed_fingerprint == config_fingerprint(name, desired)

    def fingerprint(self, name: str, config: dict[str, str]) -> str:
        """`config_fingerprint` of the config exactly as `put_config` sends it (record it after a deploy)."""
        return config_fingerprint(name, self._with_name(name, config))

    def create_with_offsets(self, name: str, config: dict[str, str], offsets: list[dict]) -> str:
        """`POST /connectors` with `offsets` (where a source connector starts): the migration's new connector.

        Returns "created"; a connector of that name must not exist yet.
        """
        for item in offsets:
            if not (isinstance(item, dict) and isinstance(item.get("partition"), dict)
                    and isinstance(item.get("offset"), dict)):
                raise ConfigError(f"offsets for connector {name!r} must be a list of "
                                  '{"partition": {...}, "offset": {...}} objects')
        desired = self._with_name(name, config)
        resp = self.http.post("/connectors", json={"name": name, "config": desired, "offsets": offsets})
        if resp.status_code == 409:
            self.http.fail(resp, ConnectorError, f"connector {name!r} already exists",
                           fix="delete it first, or update it with put_config")
        self.http.expect(resp, (200, 201), ConnectorError, f"Confluent Cloud rejected connector {name!r}")
        return "created"

    def validate(self, name: str, config: dict[str, str]) -> list[str]:
        """`PUT /connector-plugins/{plugin}/config/validate`: "field: message" for each problem found."""
        desired = self._with_name(name, config)
        plugin = desired.get("connector.class")
        if not plugin:
            raise ConfigError(f"connector {name!r} has no connector.class")
        resp = self.http.put(f"/connector-plugins/{_seg(plugin)}/config/validate", json=desired)
        self.http.expect(resp, (200,), ConnectorError, f"Confluent Cloud cannot validate {plugin}")
        body = self.http.json(resp, ConnectorError, f"validating {plugin}")
        errors = []
        for item in body.get("configs") or []:
            value = item.get("value") or {}
            for msg in value.get("errors") or []:
                errors.append(self.http.scrub(f"{value.get('name')}: {one_line(str(msg))}"))
        if not errors and int(body.get("error_count") or 0) > 0:
            errors.append(f"{plugin}: {body['error_count']} error(s) reported without details")
        return errors

    def _with_name(self, name: str, config: dict[str, str]) -> dict[str, str]:
        """All values as strings, `name` equal to the connector's name (required by connect/v1)."""
        if config.get("name", name) != name:
            raise ConfigError(f"connector config name {config['name']!r} differs from the connector name {name!r}")
        desired = {str(k): str(v) for k, v in config.items()}
        desired["name"] = name
        self.http.redact(v for k, v in desired.items() if _SECRET_NAME.search(k))
        return desired

    # --- state -------------------------------------------------------------------------------------------

    def status(self, name: str) -> ConnectorState | None:
        resp = self.http.get(f"/connectors/{_seg(name)}/status")
        if resp.status_code == 404:
            return None
        self.http.expect(resp, (200,), ConnectorError, f"Confluent Cloud could not read the status of {name!r}")
        return self._state(self.http.json(resp, ConnectorError, f"reading the status of {name!r}"), name)

    def _state(self, body: dict, name: str) -> ConnectorState:
        connector = body.get("connector") or {}
        tasks = tuple(TaskState(int(t.get("id", i)), str(t.get("state") or "UNKNOWN"), self._line(t.get("msg")))
                      for i, t in enumerate(body.get("tasks") or []))
        return ConnectorState(body.get("name") or name, str(connector.get("state") or "UNKNOWN"), tasks,
                              self._line(connector.get("trace")))

    def _line(self, text: object) -> str | None:
        if not text or not str(text).strip():
            return None
        return self.http.scrub(one_line(summarise(str(text))))

    def wait_running(self, name: str, timeout: float = 90.0) -> ConnectorState:
        """Terraform's rule: PROVISIONING/DEGRADED pending, RUNNING done, anything else fails with the trace."""
        return self._wait(name, "RUNNING", PENDING, timeout)

    def _wait(self, name: str, target: str, pending: tuple[str, ...], timeout: float) -> ConnectorState:
        last: list[ConnectorState | None] = [None]

        def check() -> ConnectorState | None:
            state = last[0] = self.status(name)
            if state is None or state.state in pending:
                return None
            failed = next((t for t in state.tasks if t.state == "FAILED"), None)
            if state.state == target and failed is None:
                return state
            if failed is not None and state.state != "FAILED":
                raise ConnectorError(f"connector {name!r} task {failed.id} FAILED: {failed.error or 'no message'}",
                                     fix="fix the cause, then redeploy (or pause and resume the connector)")
            raise ConnectorError(f"connector {name!r} is {state.state}, expected {target}: "
                                 f"{state.error or 'no trace'}",
                                 fix="read the connector's events in the Confluent Cloud console for details")

        return poll_until(check, timeout=timeout, every=self.poll_every, what=f"connector {name!r} {target}",
                          last=lambda: f"state {last[0].state if last[0] else 'not visible yet'}",
                          sleep=self.sleep, clock=self.clock)

    #: the Connect v1 API has no restart operation (its OpenAPI spec in confluentinc/ccloud-sdk-go-v2,
    #: connect/v1/api/openapi.yaml, lists pause and resume as the only lifecycle calls): pipeline-health
    #: reports a failed managed task with its error but cannot restart it
    RESTARTS_FAILED_TASKS = False

    def restart_failed(self, name: str) -> None:
        raise ConnectorError(f"Confluent Cloud's Connect API cannot restart the tasks of {name!r}",
                             fix="restart the connector in the Confluent Cloud console")

    def pause(self, name: str, timeout: float | None = None) -> None:
        """`PUT …/pause` (202, asynchronous), then wait until PAUSED. Already paused: nothing is sent."""
        current = self._existing(name)
        if current.state == "PAUSED":
            return
        resp = self.http.put(f"/connectors/{_seg(name)}/pause")
        self.http.expect(resp, (200, 202, 204), ConnectorError, f"Confluent Cloud did not pause {name!r}")
        self._wait(name, "PAUSED", ("RUNNING",) + PENDING, timeout or self.state_timeout)

    def resume(self, name: str, timeout: float | None = None) -> None:
        """`PUT …/resume` (202, asynchronous), then wait until RUNNING. Already running: nothing is sent."""
        current = self._existing(name)
        if current.state == "RUNNING":
            return
        resp = self.http.put(f"/connectors/{_seg(name)}/resume")
        self.http.expect(resp, (200, 202, 204), ConnectorError, f"Confluent Cloud did not resume {name!r}")
        self._wait(name, "RUNNING", ("PAUSED",) + PENDING, timeout or self.state_timeout)

    def _existing(self, name: str) -> ConnectorState:
        state = self.status(name)
        if state is None:
            raise ConnectorError(f"there is no connector {name!r} in cluster {self.cluster_id}",
                                 fix="register it first (register-connectors)")
        return state

    def delete(self, name: str) -> bool:
        """True when deleted, False when there was no such connector."""
        resp = self.http.delete(f"/connectors/{_seg(name)}")
        if resp.status_code == 404:
            return False
        self.http.expect(resp, (200, 202, 204), ConnectorError, f"Confluent Cloud did not delete {name!r}")
        return True

    def offsets(self, name: str) -> list[dict]:
        """`GET /connectors/{name}/offsets` (Preview in the spec): [{"partition": {...}, "offset": {...}}]."""
        resp = self.http.get(f"/connectors/{_seg(name)}/offsets")
        if resp.status_code == 404:
            self.http.fail(resp, ConnectorError, f"no offsets for connector {name!r}",
                           fix="check the connector exists in this cluster")
        self.http.expect(resp, (200,), ConnectorError, f"Confluent Cloud could not read the offsets of {name!r}")
        body = self.http.json(resp, ConnectorError, f"reading the offsets of {name!r}")
        return [{"partition": o.get("partition") or {}, "offset": o.get("offset") or {}}
                for o in body.get("offsets") or []]


def _seg(value: str) -> str:
    """One URL path segment."""
    return quote(str(value), safe="")
