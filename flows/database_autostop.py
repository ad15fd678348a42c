"""database-autostop (hourly on local, dev and staging; never on prod): stop the database after
`inactivity_hours` without a producer API request, pausing capture first.

When it keeps the database running it also resumes capture that an earlier auto-stop paused (a start on
demand outside database-autostart leaves it paused). Fail-safe: activity that cannot be read, a missing metric, a migration in progress or any state other than
`available` keeps the database running, and the artifact says why. The decision and every figure it used are
published as a markdown artifact on each run, whatever the verdict.
"""

from __future__ import annotations

from prefect import flow

from flows.common import main, settings_for
from pipeline.inactivity import DEFAULT_INACTIVITY_HOURS, refuse_protected
from tasks.database import decide_autostop, pause_capture_and_stop_database, publish_verdict, resume_capture


@flow(name="database-autostop", log_prints=True, timeout_seconds=1800)
def database_autostop(environment: str = "local", inactivity_hours: float = DEFAULT_INACTIVITY_HOURS,
                      dry_run: bool = False) -> dict:
    refuse_protected(environment)
    cfg = settings_for(environment)
    verdict = decide_autostop(cfg, inactivity_hours)
    steps = {}
    if verdict["action"] == "stop" and not dry_run:
        steps = pause_capture_and_stop_database(cfg)
    elif verdict["action"] == "stop":
        steps = {"dry run": "nothing changed"}
    elif verdict["action"] == "keep-running" and not dry_run:
        # a database started on demand outside database-autostart (the cloud API's StartDBCluster) leaves the
        # capture that auto-stop paused paused: resumed here at the latest
        steps = {"capture": resume_capture(cfg)["reason"]}
    publish_verdict("database-autostop", f"database-autostop ({environment})", verdict, steps)
    print(f"database-autostop ({environment}): {verdict['action']}"
          f"{' (dry run)' if dry_run and verdict['action'] == 'stop' else ''} — {verdict['reason']}")
    return {**verdict, "steps": steps, "dry_run": dry_run}


def _arguments(parser) -> None:
    parser.add_argument("--inactivity-hours", type=float, default=DEFAULT_INACTIVITY_HOURS)
    parser.add_argument("--dry-run", action="store_true", help="decide and publish the verdict, change nothing")


if __name__ == "__main__":
    main(database_autostop, _arguments)
