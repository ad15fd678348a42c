"""`tofu fmt -check` on every terraform/ file: OpenTofu as built by scripts/setup.sh (no provider needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.paths import ROOT

TOFU = ROOT / ".state" / "bin" / "tofu"


def tofu(*args: str, cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    if not TOFU.exists():
        pytest.fail("OpenTofu is not installed: run scripts/setup.sh (./run tests does)", pytrace=False)
    config = tmp_path / "tofurc"
    config.write_text("")  # our own (empty) CLI configuration: nothing from the machine's
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    return subprocess.run([str(TOFU), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_every_terraform_file_is_formatted(tmp_path):
    files = sorted((ROOT / "terraform").rglob("*.tf")) + sorted((ROOT / "terraform").rglob("*.tfvars"))
    assert len(files) >= 20, files  # six modules and three environments
    proc = tofu("fmt", "-check", "-recursive", "-diff", "terraform", cwd=ROOT, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]


def test_fmt_check_fails_on_a_misformatted_file(tmp_path):
    work = tmp_path / "tf"
    shutil.copytree(ROOT / "terraform" / "modules" / "aurora", work)
    main = work / "main.tf"
    main.write_text(main.read_text().replace("  ", "    ", 1))
    proc = tofu("fmt", "-check", "-recursive", ".", cwd=work, tmp_path=tmp_path)
    assert proc.returncode != 0 and "main.tf" in proc.stdout
