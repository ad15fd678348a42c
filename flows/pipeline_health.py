"""pipeline-health: heal what can be healed, then state and a figure for every component; fails when unhealthy.

Scheduled per environment (prefect.yaml) and run by hand as `./run status` (read-only) or
`./run status --heal`. The table is published as the artifact `pipeline-health`; an unhealthy pipeline fails
the run with one line per problem (exit 1).
"""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.common import main, settings_for
from pipeline import health
from pipeline.errors import Unhealthy
from tasks.health import heal as heal_task
from tasks.health import read_health


@flow(name="pipeline-health", log_prints=True)
def pipeline_health(environment: str = "local", heal: bool = True) -> dict:
    cfg = settings_for(environment)
    thresholds = health.Thresholds()
    healed = heal_task(cfg, thresholds) if heal else []
    rows = read_health(cfg, thresholds)
    title = f"pipeline-health ({environment}, {cfg.delivery.name})"
    create_markdown_artifact(key="pipeline-health", markdown=health.markdown(title, rows, healed), description=title)
    width = max(len(r.component) for r in rows)
    print("\n".join([title] + [f"  {r.component:<{width}}  {r.state:<9}  {r.figure}" for r in rows]
                    + [f"  healed: {h}" for h in healed]))
    found = health.problems(rows)
    if found:
        raise Unhealthy(f"{environment}: {len(found)} problem{'s' if len(found) > 1 else ''}\n"
                        + "\n".join(f"- {p}" for p in found),
                        fix="./run status --heal, or see the rows above")
    return {"rows": [vars(r) for r in rows], "healed": healed}


def _arguments(parser) -> None:
    parser.add_argument("--heal", action=__import__("argparse").BooleanOptionalAction, default=True,
                        help="restart what is dead before reading (default); --no-heal only reads")


if __name__ == "__main__":
    main(pipeline_health, _arguments)
