"""The Lambda package terraform reads: built for real (pip fetches the manylinux wheels of requirements.lock's
pins), reproducible, and importable on its own — both handlers import from the unzipped package in an
interpreter that sees nothing else (`-I -S`: no site-packages, no project folder)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from environments.aws.lambda_package import CA_BUNDLE, amazon_root_cas, build_lambda_package, requirement_pins
from pipeline.errors import ConfigError

pytestmark = pytest.mark.integration


def test_built_reproducible_and_importable_alone(tmp_path):
    out = tmp_path / "a" / "cdc-lambda.zip"
    first = build_lambda_package(out)
    assert first.outcome == "built" and first.zipped_mb < 50 and first.unzipped_mb < 250
    assert build_lambda_package(out).outcome == "unchanged"
    again = build_lambda_package(tmp_path / "b" / "cdc-lambda.zip")  # from nothing, elsewhere: the same bytes
    assert again.outcome == "built" and again.sha256 == first.sha256

    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert {"api/lambda_handler.py", "api/autostart_handler.py", "pipeline/errors.py", CA_BUNDLE} <= set(names)
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith(("stack/", "tests/"))]
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert z.read(CA_BUNDLE).decode().count("BEGIN CERTIFICATE") == 4  # Amazon Root CA 1-4
        z.extractall(tmp_path / "unzipped")
    probe = ("import sys; sys.path.insert(0, '.'); import api.lambda_handler, api.autostart_handler, psycopg; "
             "print(psycopg.pq.__impl__, 'prefect' in sys.modules)")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", probe], cwd=tmp_path / "unzipped",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["binary", "False"]


def test_an_rds_ca_bundle_is_appended_and_a_missing_one_named(tmp_path):
    with pytest.raises(ConfigError, match="CDC_RDS_CA_BUNDLE: .*missing.pem does not exist"):
        build_lambda_package(tmp_path / "x.zip", rds_ca_bundle=tmp_path / "missing.pem")
    with pytest.raises(ConfigError, match="lambda_architecture 'sparc'"):
        build_lambda_package(tmp_path / "x.zip", architecture="sparc")


def test_pins_and_roots_are_read_exactly():
    assert requirement_pins("a==1\nPsycopg_Binary==3.3.9 ; python_version>'3'\n", ("psycopg-binary", "a")) == [
        "Psycopg_Binary==3.3.9", "a==1"]
    with pytest.raises(ConfigError, match="pins no version of mangum"):
        requirement_pins("a==1\n", ("mangum",))
    with pytest.raises(ConfigError, match="no Amazon Root CA"):
        amazon_root_cas("# Label: \"Other\"\n-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")
