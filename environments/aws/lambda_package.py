"""The Lambda deployment package terraform reads (`lambda_package_zip`): the producer API and the auto-start
function (api.lambda_handler, api.autostart_handler) with their dependencies, built for the Lambda's Linux.

- Dependencies: the exact versions of requirements.lock, as manylinux wheels for the function's architecture
  and Python (`pip install --target --platform ... --only-binary=:all:`), so a package built on any machine
  runs on Lambda. Our code: `api`, `environments`, `pipeline` (no `stack`: the function has no local engines).
- `certs/aws-db-ca-bundle.pem`: what the API verifies the database's certificate with (sslmode verify-full).
  The Amazon Root CAs (from certifi's Mozilla bundle) cover RDS Proxy, whose certificate AWS documents as
  issued under Amazon Root CA 1 (AWS knowledge center "rds-aurora-mysql-connect-proxy"; not verified here).
  Without the proxy the API reaches Aurora, signed by the RDS CAs: give their bundle (AWS's global-bundle.pem,
  the file CDC_RDS_CA_BUNDLE names for the flows) and it is appended.
- Reproducible: entries sorted, timestamps and modes fixed, no bytecode; the same inputs give the same bytes,
  so terraform's `source_code_hash` changes only when the code or a pin does. A build whose inputs are
  unchanged is skipped ("unchanged").
- Lambda's limits for a zip uploaded directly: 50 MB zipped, 250 MB unzipped; a larger package is refused.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ConfigError, EnvironmentProblem
from pipeline.paths import ROOT

OUR_PACKAGES = ("api", "environments", "pipeline")
#: what the two handlers import (checked by importing them from the package alone)
REQUIREMENTS = ("fastapi", "mangum", "psycopg", "psycopg-binary", "psycopg-pool", "pydantic", "prometheus-client",
                "boto3")
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
CA_BUNDLE = "certs/aws-db-ca-bundle.pem"
MAX_ZIPPED, MAX_UNZIPPED = 50 * 1024 * 1024, 250 * 1024 * 1024
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_pins(lock_text: str, names=REQUIREMENTS) -> list[str]:
    """`name==version` for each of `names`, as requirements.lock pins it (pure)."""
    pins = {}
    for line in lock_text.splitlines():
        found = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)", line.strip())
        if found:
            pins[_norm(found.group(1))] = f"{found.group(1)}=={found.group(2)}"
    missing = [n for n in names if _norm(n) not in pins]
    if missing:
        raise ConfigError(f"requirements.lock pins no version of {', '.join(missing)} (the Lambda package needs them)")
    return [pins[_norm(n)] for n in names]


def amazon_root_cas(mozilla_bundle: str) -> str:
    """The "Amazon Root CA n" certificates of a Mozilla-format bundle (certifi's cacert.pem), PEM (pure)."""
    blocks = re.findall(r'# Label: "(Amazon Root CA \d)"\n.*?(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)',
                        mozilla_bundle, re.S)
    if not blocks:
        raise ConfigError("no Amazon Root CA in the CA bundle given (expected certifi's cacert.pem)")
    return "".join(f"# {label}\n{pem}\n" for label, pem in blocks)


@dataclass(frozen=True)
class PackageResult:
    path: Path
    outcome: str  # built | unchanged
    sha256: str  # base64, as terraform's filebase64sha256
    zipped_mb: float
    unzipped_mb: float
    files: int
    rds_ca_bundle: bool

    def line(self) -> str:
        ca = "Amazon Root CAs + RDS CA bundle" if self.rds_ca_bundle else "Amazon Root CAs only (RDS Proxy)"
        return (f"{self.outcome}: {self.zipped_mb:.1f} MB zipped, {self.unzipped_mb:.1f} MB unzipped, {self.files} "
                f"files, {ca}, sha256 {self.sha256}")


def _sources(root: Path) -> list[Path]:
    return sorted(p for pkg in OUR_PACKAGES for p in (root / pkg).rglob("*.py") if "__pycache__" not in p.parts)


def _digest(root: Path, pins: list[str], architecture: str, python_version: str, ca_text: str) -> str:
    lock = (root / "requirements.lock").read_text()
    h = hashlib.sha256("\n".join([*pins, architecture, python_version, ca_text, lock]).encode())
    for path in _sources(root):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _file_sha256(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def _pip_install(target: Path, pins: list[str], architecture: str, python_version: str, lock: Path) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
               "--constraint", str(lock),  # their dependencies at the lock's versions too
               "--target", str(target), "--platform", PLATFORMS[architecture], "--implementation", "cp",
               "--python-version", python_version, "--only-binary=:all:", *pins]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()][-1:] or ["no output"]
        raise EnvironmentProblem(f"pip could not fetch the Lambda's wheels ({PLATFORMS[architecture]}, Python "
                                 f"{python_version}): {last[0].strip()}")


def build_lambda_package(zip_path: Path, *, architecture: str = "x86_64", python_version: str = "3.11",
                         rds_ca_bundle: Path | None = None, root: Path = ROOT) -> PackageResult:
    """Build (or keep, when its inputs are unchanged) the package at `zip_path`."""
    if architecture not in PLATFORMS:
        raise ConfigError(f"lambda_architecture {architecture!r}: expected one of {', '.join(PLATFORMS)}")
    if rds_ca_bundle is not None and not Path(rds_ca_bundle).is_file():
        raise ConfigError(f"CDC_RDS_CA_BUNDLE: {rds_ca_bundle} does not exist (AWS's RDS CA bundle, global-bundle.pem)")
    import certifi

    ca_text = amazon_root_cas(Path(certifi.where()).read_text())
    if rds_ca_bundle is not None:
        ca_text += Path(rds_ca_bundle).read_text()
    pins = requirement_pins((root / "requirements.lock").read_text())
    digest = _digest(root, pins, architecture, python_version, ca_text)
    zip_path = Path(zip_path)
    stamp = zip_path.with_name(zip_path.name + ".inputs")
    if zip_path.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        with zipfile.ZipFile(zip_path) as z:
            infos = z.infolist()
        return PackageResult(zip_path, "unchanged", _file_sha256(zip_path), zip_path.stat().st_size / 2**20,
                             sum(i.file_size for i in infos) / 2**20, len(infos), rds_ca_bundle is not None)

    with tempfile.TemporaryDirectory(prefix="cdc-lambda-") as tmp:
        staging = Path(tmp) / "package"
        _pip_install(staging, pins, architecture, python_version, root / "requirements.lock")
        for path in _sources(root):
            target = staging / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        (staging / CA_BUNDLE).parent.mkdir(parents=True, exist_ok=True)
        (staging / CA_BUNDLE).write_text(ca_text)
        files = sorted(p for p in staging.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                       and p.relative_to(staging).parts[0] != "bin")
        unzipped = sum(p.stat().st_size for p in files)
        partial = Path(tmp) / "package.zip"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
            for path in files:
                info = zipfile.ZipInfo(str(path.relative_to(staging)), date_time=_FIXED_TIME)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, path.read_bytes())
        zipped = partial.stat().st_size
        if zipped > MAX_ZIPPED or unzipped > MAX_UNZIPPED:
            raise ConfigError(f"the Lambda package is {zipped / 2**20:.1f} MB zipped, {unzipped / 2**20:.1f} MB "
                              "unzipped: over Lambda's 50 MB / 250 MB for a direct upload")
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(partial), zip_path)
    stamp.write_text(digest + "\n")
    return PackageResult(zip_path, "built", _file_sha256(zip_path), zipped / 2**20, unzipped / 2**20, len(files),
                         rds_ca_bundle is not None)


def main() -> None:
    import argparse

    from pipeline.cli import UsageParser, run_cli

    parser = UsageParser(prog="python -m environments.aws.lambda_package", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / ".state" / "lambda" / "cdc-lambda.zip")
    parser.add_argument("--architecture", default="x86_64", choices=list(PLATFORMS))
    parser.add_argument("--python-version", default="3.11")
    parser.add_argument("--rds-ca-bundle", type=Path, default=None, help="AWS's RDS CA bundle (global-bundle.pem)")
    assert isinstance(parser, argparse.ArgumentParser)
    args = parser.parse_args()

    def body() -> int:
        print(build_lambda_package(args.out, architecture=args.architecture, python_version=args.python_version,
                                   rds_ca_bundle=args.rds_ca_bundle).line())
        return 0

    sys.exit(run_cli(body))


if __name__ == "__main__":
    main()
