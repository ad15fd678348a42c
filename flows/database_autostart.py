"""database-autostart (run by the producer API when it cannot reach its database, or by hand): start a
stopped database, wait until it accepts connections, then resume the capture connector that
database-autostop paused.

stopped -> start; starting -> wait for it; available -> only the capture check; any other state (stopping,
modifying, failed, ...) -> reported, nothing done. Re-running converges: an available database with running
capture is left as it is.
"""

from __future__ import annotations

from prefect import flow

from flows.common import main, settings_for
from tasks.database import decide_autostart, publish_verdict, resume_capture, start_database, wait_database_accepting


@flow(name="database-autostart", log_prints=True, timeout_seconds=1800)
def database_autostart(environment: str = "local") -> dict:
    cfg = settings_for(environment)
    verdict = decide_autostart(cfg)
    steps: dict[str, str] = {}
    if verdict["action"] == "start":
        steps["start database"] = f"requested; state {start_database(cfg)}"
    if verdict["action"] in ("start", "wait", "ready"):
        steps["database accepting"] = f"after {wait_database_accepting(cfg)}s"
        steps["capture"] = resume_capture(cfg)["reason"]
    publish_verdict("database-autostart", f"database-autostart ({environment})", verdict, steps)
    print(f"database-autostart ({environment}): {verdict['action']} — {verdict['reason']}"
          + "".join(f"; {k}: {v}" for k, v in steps.items()))
    return {**verdict, "steps": steps}


if __name__ == "__main__":
    main(database_autostart)
