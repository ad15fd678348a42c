"""OpenTofu through python-terraform 0.10.1, with its known clashes with current CLIs worked around.

python-terraform was written for Terraform 0.11/0.12; against OpenTofu 1.10 (and Terraform >= 0.15) these of
its defaults fail, each seen here:

- `destroy()` always sends `-force`, removed from the CLI: "Failed to parse command-line flags". We call
  `cmd("destroy", auto_approve=IsFlagged)` instead.
- `apply()` sends `-auto-approve=false` unless `skip_plan=True`: with no terminal the CLI then fails
  "error asking for approval: EOF". We apply a saved plan file with `cmd("apply", <planfile>)`, which needs no
  approval and applies exactly what was planned.
- `plan()` sends `-detailed-exitcode` by default, so exit code 2 means "there are changes", not an error; we
  read it that way (0 no changes, 2 changes, 1 error).
- the methods take the configuration folder as a positional argument, which the CLI now refuses ("Too many
  command line arguments"); we never pass one: the working directory is the configuration.

The process environment is the caller's (python-terraform copies `os.environ`), plus our own empty CLI
configuration (`TF_CLI_CONFIG_FILE`), so that a machine's ~/.terraformrc, or a variable pointing at a missing
one, changes nothing. Variables go through python-terraform's temporary var file; none of ours is a secret
(terraform/ keeps secrets out of variables). Errors become one line: the CLI's first "Error:" summary with
its file:line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path

from python_terraform import IsFlagged, Terraform

from pipeline.errors import EnvironmentProblem, PipelineError
from pipeline.infra_plan import PlanSummary, summarize
from pipeline.paths import ROOT


class TerraformError(PipelineError):
    """OpenTofu refused a configuration or a command."""


def default_binary() -> Path:
    return Path(os.environ.get("CDC_TOFU", ROOT / ".state" / "bin" / "tofu"))


_ENV_LOCK = threading.Lock()
# python-terraform logs "error: b''" as a WARNING for every non-zero exit, including plan's 2 ("changes"); our
# own errors say what failed, in one line
logging.getLogger("python_terraform").setLevel(logging.ERROR)
_ERROR = re.compile(r"^[│ ]*Error: (.+)$")
_WHERE = re.compile(r"^[│ ]*on (\S+) line (\d+)")


def first_error(text: str) -> str:
    """The first diagnostic of the CLI's output as one line: `file:line: summary: detail`."""
    lines = [line.rstrip() for line in (text or "").splitlines()]
    for i, line in enumerate(lines):
        found = _ERROR.match(line)
        if not found:
            continue
        summary, where, detail = found.group(1).strip(), "", ""
        for nxt in lines[i + 1:i + 12]:
            if _ERROR.match(nxt):
                break
            w = _WHERE.match(nxt)
            if w and not where:
                where = f"{w.group(1)}:{w.group(2)}: "
                continue
            body = nxt.strip("│ ").strip()
            if body and not re.match(r"^\d+:", body) and not _WHERE.match(nxt) and not detail and where:
                detail = body
        return f"{where}{summary}" + (f": {detail}" if detail and detail != summary else "")
    tail = " ".join(" ".join(lines).split())
    return tail[-300:] or "no output"


class TofuWorkspace:
    """One configuration folder (e.g. terraform/envs/dev): init, plan, apply a saved plan, outputs, destroy."""

    PLAN_FILE = "cdc.tfplan"

    def __init__(self, workdir: Path, *, variables: dict | None = None, binary: Path | None = None,
                 state_dir: Path | None = None):
        self.workdir = Path(workdir)
        self.binary = Path(binary or default_binary())
        if not self.binary.exists():
            raise EnvironmentProblem(f"OpenTofu is not installed at {self.binary}",
                                     fix="run scripts/setup.sh (it builds OpenTofu once per machine)")
        self.cli_config = (state_dir or self.workdir / ".terraform") / "tofurc"
        self.tf = Terraform(working_dir=str(self.workdir), terraform_bin_path=str(self.binary),
                            variables=dict(variables or {}))

    def _run(self, what: str, command: str, *args, **options) -> tuple[int, str, str]:
        self.cli_config.parent.mkdir(parents=True, exist_ok=True)
        if not self.cli_config.exists():
            self.cli_config.write_text("")  # an empty CLI configuration of our own
        with _ENV_LOCK:  # python-terraform passes a copy of os.environ: set ours around the call
            saved = {k: os.environ.get(k) for k in ("TF_CLI_CONFIG_FILE", "TF_IN_AUTOMATION", "CHECKPOINT_DISABLE")}
            os.environ.update(TF_CLI_CONFIG_FILE=str(self.cli_config), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
            try:
                code, out, err = self.tf.cmd(command, *args, no_color=IsFlagged, **options)
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        if code not in (0, 2) or (code == 2 and command != "plan"):
            raise TerraformError(f"tofu {what} in {self.workdir.name}: {first_error(err or out)}")
        return code, out, err

    def init(self, backend_config: dict[str, str] | None = None, backend_file: str | None = None) -> None:
        """`tofu init`; backend settings (key=value pairs, or the user's backend.hcl) are given here, never
        written into the configuration."""
        options: dict = {"input": False}
        if backend_config:
            options["backend_config"] = dict(backend_config)
        elif backend_file:
            options["backend_config"] = [backend_file]  # a list: `-backend-config=<file>`
        self._run("init", "init", **options)

    def plan(self, destroy: bool = False) -> PlanSummary:
        """Plan into a saved plan file and summarise it (`tofu show -json`)."""
        options = {"input": False, "detailed_exitcode": IsFlagged, "out": self.PLAN_FILE,
                   "var": self.tf.variables or None}
        if destroy:
            options["destroy"] = IsFlagged
        self._run("plan", "plan", **options)
        _, out, _ = self._run("show", "show", self.PLAN_FILE, json=IsFlagged)
        return summarize(json.loads(out))

    def apply(self) -> None:
        """Apply the saved plan exactly (no approval prompt: the plan file is the approval)."""
        if not (self.workdir / self.PLAN_FILE).exists():
            raise TerraformError(f"tofu apply in {self.workdir.name}: no saved plan; plan first")
        self._run("apply", "apply", self.PLAN_FILE, input=False)
        (self.workdir / self.PLAN_FILE).unlink(missing_ok=True)

    def outputs(self) -> dict[str, tuple[object, bool]]:
        """Every output as (value, sensitive). Sensitive values are plain here: keep them out of logs."""
        _, out, _ = self._run("output", "output", json=IsFlagged)
        return {name: (o.get("value"), bool(o.get("sensitive"))) for name, o in json.loads(out or "{}").items()}

    def destroy(self) -> None:
        self._run("destroy", "destroy", input=False, auto_approve=IsFlagged, var=self.tf.variables or None)
