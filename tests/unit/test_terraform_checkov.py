"""checkov, offline, on terraform/: no failed check, every skip justified in the code (checkov 3.3.30 from its
own environment, installed by scripts/setup.sh)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pipeline.paths import ROOT

CHECKOV = ROOT / ".state" / "bin" / "checkov"


def checkov(folder: Path) -> dict:
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: run scripts/setup.sh (./run tests does)", pytrace=False)
    # offline: no guideline download (--skip-download, BC_SKIP_MAPPING) and no PyPI version check
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    proc = subprocess.run([str(CHECKOV), "-d", folder.name, "--framework", "terraform", "--compact",
                           "--skip-download", "-o", "json"], cwd=folder.parent, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.stdout.strip(), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    return (report[0] if isinstance(report, list) else report)


def test_no_failed_check_and_every_skip_justified():
    report = checkov(ROOT / "terraform")
    summary, results = report["summary"], report["results"]
    failed = [f"{r['check_id']} {r['file_path']}:{r['file_line_range'][0]} {r['resource']}"
              for r in results["failed_checks"]]
    assert failed == [] and summary["parsing_errors"] == 0, failed
    assert summary["passed"] > 250 and summary["resource_count"] > 70, summary  # it did look at the modules
    unjustified = [f"{r['check_id']} {r['file_path']}:{r['file_line_range'][0]}" for r in results["skipped_checks"]
                   if len((r["check_result"].get("suppress_comment") or "").strip()) < 20]
    assert unjustified == []
    print(f"checkov {summary['checkov_version']}: {summary['passed']} passed, {summary['failed']} failed, "
          f"{summary['skipped']} skipped (each justified)")


def test_checkov_fails_an_unencrypted_cluster(tmp_path):
    (tmp_path / "main.tf").write_text('resource "aws_rds_cluster" "plain" {\n  cluster_identifier = "x"\n'
                                      '  engine             = "aurora-postgresql"\n}\n')
    report = checkov(tmp_path)
    assert report["summary"]["failed"] > 0
    assert "CKV_AWS_96" in {r["check_id"] for r in report["results"]["failed_checks"]}  # storage not encrypted
