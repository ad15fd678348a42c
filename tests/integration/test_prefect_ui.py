"""deploy-pipeline/local through the project's own Prefect server and worker, then its run in the real UI.

The session starts (or reuses) the server, work pool, deployments and worker with `scripts/prefect.sh up`,
runs `prefect deployment run 'deploy-pipeline/local'`, waits for the run to end, checks it Completed
through the API, then opens the Prefect UI in headless Chromium (driven over the DevTools protocol with
`websockets`, already a Prefect dependency) and reads the rendered page: the runs list and the flow run's
own page must both show the deploy-pipeline run as Completed. Screenshots land in test-output/.

Chromium is required: a missing browser is a failure, never a skip (scripts/setup.sh installs it).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "prefect.sh"
OUT = ROOT / "test-output"
SHOT_RUN = OUT / "prefect-ui-deploy-pipeline.png"
SHOT_LIST = OUT / "prefect-ui-runs.png"
DEPLOYMENT = "deploy-pipeline/local"
RUN_TIMEOUT = 600  # seconds for the flow run to reach a terminal state
UI_TIMEOUT = 90  # seconds for the UI to render what we look for
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # tests/conftest.py quiets Prefect for in-process flows; the server, worker and flow runs keep the
    # default INFO level so the run's logs in the UI are complete
    env.pop("PREFECT_LOGGING_LEVEL", None)
    return env


def _script(*args: str, timeout: float = 600, check: bool = True) -> str:
    proc = subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        pytest.fail(f"scripts/prefect.sh {' '.join(args)} exited {proc.returncode}:\n{out}", pytrace=False)
    return out


@pytest.fixture(scope="session")
def prefect_services(stack):
    """Server + work pool + deployments + worker; stops at the end only what was not already running."""
    before = _script("status", check=False)
    server_was_running = "server: healthy" in before
    worker_was_running = "worker: running" in before
    t0 = time.monotonic()
    print("\n" + _script("up").rstrip())
    print(f"prefect services ready in {time.monotonic() - t0:.1f}s")
    yield _script("ui-url").strip()
    if not worker_was_running:
        print(_script("stop", "worker", check=False).rstrip())
    if not server_was_running:
        print(_script("stop", "server", check=False).rstrip())


class Chromium:
    """Headless Chromium with one page, driven over the Chrome DevTools Protocol."""

    def __init__(self, width: int = 1600, height: int = 1000):
        binary = shutil.which("chromium")
        if not binary:
            pytest.fail("chromium is not installed (it drives the Prefect UI check); install it with "
                        "`apt-get install -y chromium` or run scripts/setup.sh", pytrace=False)
        # everything the browser writes (profile, temp files, crash database, log) stays in one temp folder
        self.root = Path(tempfile.mkdtemp(prefix="cdc-chromium-"))
        self.profile = self.root / "profile"  # a new, empty user data dir
        for sub in ("profile", "tmp", "config"):
            (self.root / sub).mkdir()
        self.log_path = self.root / "chromium.log"
        self._log = open(self.log_path, "wb")
        env = {**os.environ, "TMPDIR": str(self.root / "tmp"), "XDG_CONFIG_HOME": str(self.root / "config")}
        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log, env=env,
            start_new_session=True)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self._tail()
                self.close()
                pytest.fail(f"chromium did not open its DevTools port within 60 s: {tail}", pytrace=False)
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages = [t for t in httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json() if t["type"] == "page"]
        self.ws = connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
        self._id = 0
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=False)

    def _tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return ""

    def call(self, method: str, **params):
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:  # events are not enabled; skip any that arrive anyway
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, ok, timeout: float = UI_TIMEOUT):
        """Poll a page expression until ok(value); returns the last value either way."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value and ok(value):
                return value
            time.sleep(0.5)
        return value

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        if getattr(self, "ws", None):
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _run_logs(api: str, flow_run_id: str, limit: int = 30) -> str:
    rows = httpx.post(f"{api}/logs/filter", timeout=10, json={
        "logs": {"flow_run_id": {"any_": [flow_run_id]}}, "sort": "TIMESTAMP_DESC", "limit": limit}).json()
    return "\n".join(f"  {r['timestamp'][11:19]} {r['message'].splitlines()[0] if r['message'] else ''}"
                     for r in reversed(rows))


# the runs list: the row that links to our flow run, scrolled into view
ROW_JS = """(() => {
  const link = document.querySelector('a[href$="/runs/flow-run/%s"]');
  if (!link) return null;
  const row = link.closest('.flow-run-list-item') || link.parentElement.parentElement.parentElement;
  row.scrollIntoView({block: 'center'});
  const badge = row.querySelector('.state-badge');
  return {row: row.innerText, state: badge ? badge.innerText.trim() : null};
})()"""

# the flow run's page: its heading (name, state badge, flow) and the whole page's text (logs)
RUN_PAGE_JS = """(() => {
  const heading = document.querySelector('header.page-heading') || document.querySelector('header');
  if (!heading) return null;
  const badge = heading.querySelector('.state-badge');
  return {heading: heading.innerText, state: badge ? badge.innerText.trim() : null, text: document.body.innerText};
})()"""


def test_deploy_pipeline_run_is_completed_in_the_prefect_ui(prefect_services):
    ui = prefect_services
    api = f"{ui}/api"
    if not shutil.which("chromium"):  # fail before spending a minute on the run
        pytest.fail("chromium is not installed (it drives the Prefect UI check); install it with "
                    "`apt-get install -y chromium` or run scripts/setup.sh", pytrace=False)

    # 1. the user's command: prefect deployment run 'deploy-pipeline/local'
    t0 = time.monotonic()
    out = _script("deployment", "run", DEPLOYMENT, timeout=120)
    match = re.search(r"UUID: ([0-9a-f-]{36})", out)
    assert match, f"no flow run id in the output of `prefect deployment run {DEPLOYMENT}`:\n{out}"
    run_id = match.group(1)

    # 2. poll the API until the run is terminal
    deadline = time.monotonic() + RUN_TIMEOUT
    state_type = None
    while time.monotonic() < deadline:
        run = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
        state_type = run["state_type"]
        if state_type in TERMINAL:
            break
        time.sleep(2)
    run_seconds = time.monotonic() - t0
    assert state_type in TERMINAL, (
        f"flow run {run['name']} still {run['state_name']} after {RUN_TIMEOUT}s "
        f"(is the worker polling? `./run prefect status`)\n{_run_logs(api, run_id)}")
    assert state_type == "COMPLETED", (
        f"flow run {run['name']} ended {run['state_name']}: {run['state']['message']}\n{_run_logs(api, run_id)}")
    flow = httpx.get(f"{api}/flows/{run['flow_id']}", timeout=10).json()
    assert flow["name"] == "deploy-pipeline"
    assert run["parameters"] == {"environment": "local"}
    name = run["name"]
    print(f"flow run {name} ({run_id}) Completed via the worker in {run_seconds:.1f}s "
          f"(run time {run['total_run_time']:.1f}s)")

    # 3. the real UI, rendered by headless Chromium
    t1 = time.monotonic()
    browser = Chromium()
    try:
        browser.goto(f"{ui}/runs")
        # the row's parts (flow name, state badge) render one by one: wait for all of them
        row = browser.wait_for(ROW_JS % run_id, lambda v: v["state"] == "Completed"
                               and "deploy-pipeline" in v["row"] and name in v["row"])
        time.sleep(0.5)  # let the scroll settle before the picture
        browser.screenshot(SHOT_LIST)  # also on failure: the picture shows what the UI rendered
        assert row, f"the runs page {ui}/runs does not list flow run {name} ({run_id}) after {UI_TIMEOUT}s"
        assert row["state"] == "Completed", f"the runs page shows {name} as {row['state']!r}:\n{row['row']}"
        assert "deploy-pipeline" in row["row"] and name in row["row"], \
            f"the runs page's row for {run_id} does not name deploy-pipeline / {name}:\n{row['row']}"

        browser.goto(f"{ui}/runs/flow-run/{run_id}")
        page = browser.wait_for(RUN_PAGE_JS, lambda v: v["state"] == "Completed" and name in v["heading"]
                                and "deploy-pipeline" in v["text"] and "Finished in state Completed" in v["text"])
        time.sleep(2)  # the subflow timeline is drawn on a canvas after its data arrives; only for the picture
        browser.screenshot(SHOT_RUN)
        assert page, f"the flow run page {ui}/runs/flow-run/{run_id} did not render within {UI_TIMEOUT}s"
        assert page["state"] == "Completed", f"the flow run page shows {page['state']!r}:\n{page['heading']}"
        assert name in page["heading"], page["heading"]
        assert "deploy-pipeline" in page["text"], "the flow run page does not name the flow deploy-pipeline"
        assert "Finished in state Completed" in page["text"], "the run's logs are not shown on its page"
    finally:
        browser.close()

    print(f"UI checked in {time.monotonic() - t1:.1f}s: {ui}/runs lists {name} as Completed; "
          f"{ui}/runs/flow-run/{run_id} shows it Completed")
    print(f"screenshot: {SHOT_RUN}")
    print(f"screenshot: {SHOT_LIST}")


def test_autostop_schedules_as_registered_on_the_server(prefect_services):
    """`prefect deploy --all` registered database-autostop hourly on local, dev and staging, and nothing for prod;
    the server's scheduler has runs queued at the top of the hour (read back from the server's API)."""
    api = f"{prefect_services}/api"
    registered = {}
    for env in ("local", "dev", "staging", "prod"):
        answer = httpx.get(f"{api}/deployments/name/database-autostop/{env}", timeout=10)
        if answer.status_code == 404:
            registered[env] = None
            continue
        answer.raise_for_status()
        deployment = answer.json()
        registered[env] = [(s["schedule"].get("cron"), s["schedule"].get("timezone"), s["active"])
                           for s in deployment["schedules"]]
        if env == "local":
            local_id = deployment["id"]
    print(f"database-autostop schedules on the server: {registered}")
    assert registered == {env: [("0 * * * *", "UTC", True)] for env in ("local", "dev", "staging")} | {"prod": None}

    def scheduled() -> list[str]:  # the server's scheduler service creates them on its next loop (every 60 s)
        runs = httpx.post(f"{api}/flow_runs/filter", timeout=10, json={
            "deployments": {"id": {"any_": [local_id]}}, "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
            "sort": "EXPECTED_START_TIME_ASC", "limit": 3}).json()
        return [r["expected_start_time"] for r in runs]

    deadline = time.monotonic() + 150
    while not (starts := scheduled()) and time.monotonic() < deadline:
        time.sleep(2)
    print(f"next scheduled database-autostop/local runs: {starts}")
    assert starts and all(s[14:19] == "00:00" for s in starts), starts  # HH:00:00 UTC
    start = httpx.get(f"{api}/deployments/name/database-autostart/local", timeout=10).json()
    assert start["schedules"] == []
