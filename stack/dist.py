"""Upstream distributions for the local engines, resolved once and cached under the state folder.

Jars come from Maven Central through `mvn dependency:copy-dependencies` on the pinned poms in
stack/maven/ (Maven's own ~/.m2 cache makes re-resolution cheap); Flink itself comes from the PyPI
wheels `apache-flink` + `apache-flink-libraries`, unpacked without their Python dependencies.
A stamp file holding the pom's hash makes every step idempotent and notices a changed pin.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from pipeline.errors import EnvironmentProblem
from pipeline.paths import ROOT
from stack.settings import state_dir

MAVEN_DIR = ROOT / "stack" / "maven"
FLINK_VERSION = "2.2.1"  # must match the Flink line of flink-sql-connector-kafka in stack/maven/flink/pom.xml

# Debezium's plugin folder must not carry Kafka's own APIs: Connect provides them to every plugin.
_EXCLUDES = {"debezium": ["-DexcludeGroupIds=org.apache.kafka", "-DexcludeArtifactIds=slf4j-api"]}


def _stamp_ok(folder: Path, key: str) -> bool:
    stamp = folder / ".stamp"
    return stamp.exists() and stamp.read_text() == key


def _write_stamp(folder: Path, key: str) -> None:
    (folder / ".stamp").write_text(key)


def require_tool(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise EnvironmentProblem(f"'{tool}' is not installed", fix=f"apt-get install -y {package} (or run ./run setup)")
    return path


def java_bin() -> str:
    """Java 17+ for every engine (Kafka 4 and Flink 2 need 17)."""
    java = require_tool("java", "openjdk-17-jre-headless")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    try:
        version = out.split('"')[1]
        major = int(version.split(".")[0])
    except (IndexError, ValueError):
        major = 0
    if major < 17:
        raise EnvironmentProblem(f"Java 17 or newer is needed, found: {out.splitlines()[0] if out else 'unknown'}",
                                 fix="apt-get install -y openjdk-17-jre-headless")
    return java


def jars(group: str) -> Path:
    """Folder of the jars for one pom in stack/maven/<group>/ (kafka, debezium, flink)."""
    pom = MAVEN_DIR / group / "pom.xml"
    out = connect_plugin_dir() / "debezium-connector-postgres" if group == "debezium" else state_dir() / "jars" / group
    key = hashlib.sha256(pom.read_bytes()).hexdigest()
    if _stamp_ok(out, key):
        return out
    mvn = require_tool("mvn", "maven")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cmd = [mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies", "-DincludeScope=runtime",
           f"-DoutputDirectory={out}", *_EXCLUDES.get(group, [])]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        detail = " ".join((proc.stdout + proc.stderr).split())[-400:]
        raise EnvironmentProblem(f"Maven could not resolve {pom.relative_to(ROOT)}: {detail}",
                                 fix="check the network to Maven Central and the pinned versions in that pom")
    _write_stamp(out, key)
    return out


def connect_plugin_dir() -> Path:
    """Kafka Connect's plugin.path: one sub-folder per plugin, each with its own class loader."""
    return state_dir() / "connect-plugins"


def flink_dist() -> Path:
    """The unpacked Flink distribution (bin/, conf/, lib/, opt/) from the pinned PyPI wheels."""
    target = state_dir() / "dist" / f"flink-{FLINK_VERSION}"
    key = FLINK_VERSION
    home = target / "pyflink"
    if _stamp_ok(target, key):
        return home
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
           f"apache-flink=={FLINK_VERSION}", f"apache-flink-libraries=={FLINK_VERSION}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EnvironmentProblem(f"pip could not fetch the Flink {FLINK_VERSION} wheels: {proc.stderr.strip()[-300:]}",
                                 fix="check access to the Python package index")
    _write_stamp(target, key)
    return home


def fetch_all() -> dict[str, Path]:
    return {"kafka": jars("kafka"), "debezium": jars("debezium"), "flink-extras": jars("flink"), "flink": flink_dist()}
