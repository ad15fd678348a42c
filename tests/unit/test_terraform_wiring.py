"""terraform/: the wiring between environments and modules, checked without any provider (python-hcl2).

`tofu validate` needs the AWS and Confluent providers, which cannot be downloaded here, so the checks it
would make on names are made on the parsed files instead: every module argument is a declared variable,
every required variable is passed, every variable is used, every `module.X.Y` / `var.X` / `local.X`
reference resolves, secrets are sensitive and never set in a tfvars file. The environments' outputs are
checked against the CDC_* settings the flows read (environments/settings.py), the raw topic's JSON Schema
file against environments/confluent/schemas.py, and the connector files against connectors/variants.py.

python-hcl2 8.x returns block labels and string literals with their quotes (`'"aurora"'`, `'"x"'`) and
expressions as `'${...}'`; `_text` strips the quotes, `_refs` reads references out of every value.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import re
from pathlib import Path

import hcl2
import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULES = TERRAFORM / "modules"
ENVS = TERRAFORM / "envs"

MODULE_NAMES = ("aurora", "rds-proxy", "aurora-auto-stop", "aurora-auto-start", "producer-api", "confluent")
ENV_NAMES = ("dev", "staging", "prod")
#: the files every module and every environment has (environments add terraform.tfvars)
STANDARD_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
#: module-block arguments that are meta-arguments, not input variables
META_ARGUMENTS = {"source", "version", "count", "for_each", "depends_on", "providers"}
#: words that make an output or variable name a secret's (whole `_`-separated words)
SECRET_WORDS = {"password", "secret", "key", "token", "credentials"}
#: suffixes naming a secret's *identifier* (a Secrets Manager ARN, a KMS key's ARN), not the secret itself
IDENTIFIER_SUFFIXES = ("_arn", "_id", "_name")
#: optional CDC_* settings (CLOUD_OPTIONAL) that terraform knows and so outputs; the others are local paths
#: (CDC_RDS_CA_BUNDLE, CDC_KAFKA_SSL_CA_LOCATION) or test overrides (CDC_CONFLUENT_API_URL, CDC_AWS_ENDPOINT_URL)
TERRAFORM_OPTIONAL_SETTINGS = {
    "CDC_FLINK_URL", "CDC_DB_SECRET_ARN", "CDC_AURORA_AUTOSTART_FUNCTION", "CDC_API_NAME", "CDC_DB_PORT",
    "CDC_DB_NAME", "CDC_RAW_TOPIC_PARTITIONS", "CDC_CONNECTOR_VARIANT",
}

_VAR_REF = re.compile(r"(?<![\w.])var\.([A-Za-z_][\w-]*)")
_LOCAL_REF = re.compile(r"(?<![\w.])local\.([A-Za-z_][\w-]*)")
_MODULE_REF = re.compile(r"(?<![\w.])module\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.([A-Za-z_][\w-]*)")
_DATA_REF = re.compile(r"(?<![\w.])data\.((?:aws|confluent)_\w+)\.([A-Za-z_][\w-]*)")
_RESOURCE_REF = re.compile(r"(?<![\w.])((?:aws|confluent)_\w+)\.([A-Za-z_][\w-]*)")


# --- parsing helpers ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> dict:
    with path.open() as handle:
        return hcl2.load(handle)


def _text(value) -> str:
    """A label or a string literal without its quotes."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _strings(node):
    """Every string value under `node` (not python-hcl2's own `__...__` keys, i.e. not comments)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if not (isinstance(key, str) and key.startswith("__")):
                yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _refs(node, pattern: re.Pattern) -> set:
    found = set()
    for text in _strings(node):
        found.update(pattern.findall(text))
    return found


def _tf_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.tf"))


def _blocks(folder: Path, kind: str) -> dict[str, dict]:
    """Labelled top-level blocks of one kind (variable, output, module) across a folder's .tf files."""
    blocks: dict[str, dict] = {}
    for path in _tf_files(folder):
        for block in _parse(path).get(kind, []):
            for label, body in block.items():
                name = _text(label)
                assert name not in blocks, f"{folder.name}: {kind} {name!r} declared twice"
                blocks[name] = body
    return blocks


def _variables(folder: Path) -> dict[str, dict]:
    return _blocks(folder, "variable")


def _outputs(folder: Path) -> dict[str, dict]:
    return _blocks(folder, "output")


def _module_calls(folder: Path) -> dict[str, dict]:
    return _blocks(folder, "module")


def _locals(folder: Path) -> set[str]:
    names = set()
    for path in _tf_files(folder):
        for block in _parse(path).get("locals", []):
            names.update(k for k in block if not k.startswith("__"))
    return names


def _declared(folder: Path, kind: str) -> set[tuple[str, str]]:
    """(type, name) of every `resource` or `data` block of a folder."""
    found = set()
    for path in _tf_files(folder):
        for block in _parse(path).get(kind, []):
            for type_label, named in block.items():
                found.update((_text(type_label), _text(name)) for name in named if not name.startswith("__"))
    return found


def _body_without_variables(folder: Path) -> list:
    """Everything of a folder's .tf files except the variable blocks (whose validations name themselves)."""
    return [{k: v for k, v in _parse(p).items() if k != "variable"} for p in _tf_files(folder)]


def _module_dir(folder: Path, call: dict) -> Path:
    return (folder / _text(call["source"])).resolve()


def _is_secret_name(name: str) -> bool:
    return bool(SECRET_WORDS & set(name.split("_"))) and not name.endswith(IDENTIFIER_SUFFIXES)


def _tfvars(env: str) -> dict:
    return {k: v for k, v in _parse(ENVS / env / "terraform.tfvars").items() if not k.startswith("__")}


ALL_FOLDERS = [MODULES / m for m in MODULE_NAMES] + [ENVS / e for e in ENV_NAMES]
FOLDER_IDS = [f"modules/{m}" for m in MODULE_NAMES] + [f"envs/{e}" for e in ENV_NAMES]


# --- layout ---------------------------------------------------------------------------------------------


def test_the_modules_and_environments_are_the_issues_and_nothing_else():
    assert sorted(p.name for p in MODULES.iterdir() if p.is_dir()) == sorted(MODULE_NAMES)
    assert sorted(p.name for p in ENVS.iterdir() if p.is_dir()) == sorted(ENV_NAMES)


@pytest.mark.parametrize("folder", ALL_FOLDERS, ids=FOLDER_IDS)
def test_every_folder_has_the_standard_files_and_pins_its_providers(folder):
    for name in STANDARD_FILES:
        assert (folder / name).is_file(), f"{folder.relative_to(TERRAFORM)} lacks {name}"
    providers = {}
    for block in _parse(folder / "versions.tf")["terraform"]:
        assert block.get("required_version"), f"{folder.name}: no required_version"
        for entry in block.get("required_providers", []):
            providers.update({k: v for k, v in entry.items() if not k.startswith("__")})
    assert providers, f"{folder.name}: no required_providers"
    expected = {"aws": "hashicorp/aws", "confluent": "confluentinc/confluent"}
    for name, spec in providers.items():
        assert _text(spec["source"]) == expected[name]
        assert _text(spec["version"]).startswith("~> "), f"{folder.name}: {name} has no ~> version constraint"


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_environment_has_a_partial_s3_backend_and_its_tfvars(env):
    backends = [b for block in _parse(ENVS / env / "versions.tf")["terraform"] for b in block.get("backend", [])]
    assert [_text(label) for b in backends for label in b] == ["s3"]
    assert all(k.startswith("__") for b in backends for body in b.values() for k in body), \
        "the backend is given at init (-backend-config), never committed"
    assert (ENVS / env / "terraform.tfvars").is_file()


def test_the_three_environments_share_one_wiring():
    """They differ only in terraform.tfvars (and the backend given at init): a wiring change goes to all."""
    for name in STANDARD_FILES:
        texts = {env: (ENVS / env / name).read_text() for env in ENV_NAMES}
        assert len(set(texts.values())) == 1, f"envs/*/{name} differ; copy the change to every environment"


@pytest.mark.parametrize("env", ENV_NAMES)
def test_tfvars_set_the_environment_named_by_their_folder(env):
    assert _text(_tfvars(env)["environment"]) == env


# --- variables ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ALL_FOLDERS, ids=FOLDER_IDS)
def test_every_variable_has_a_description_and_a_type(folder):
    for name, body in _variables(folder).items():
        assert _text(body.get("description", "")), f"{folder.name}: variable {name} has no description"
        assert "type" in body, f"{folder.name}: variable {name} has no type"


@pytest.mark.parametrize("folder", ALL_FOLDERS, ids=FOLDER_IDS)
def test_every_declared_variable_is_used(folder):
    used = _refs(_body_without_variables(folder), _VAR_REF)
    unused = sorted(set(_variables(folder)) - used)
    assert not unused, f"{folder.relative_to(TERRAFORM)}: variables declared but never used: {unused}"


@pytest.mark.parametrize("folder", ALL_FOLDERS, ids=FOLDER_IDS)
def test_every_var_and_local_reference_is_declared(folder):
    everything = [_parse(p) for p in _tf_files(folder)]
    undeclared_vars = sorted(_refs(everything, _VAR_REF) - set(_variables(folder)))
    undeclared_locals = sorted(_refs(everything, _LOCAL_REF) - _locals(folder))
    assert not undeclared_vars, f"{folder.relative_to(TERRAFORM)}: var.{undeclared_vars} not declared"
    assert not undeclared_locals, f"{folder.relative_to(TERRAFORM)}: local.{undeclared_locals} not declared"


@pytest.mark.parametrize("folder", ALL_FOLDERS, ids=FOLDER_IDS)
def test_every_resource_and_data_reference_is_declared(folder):
    everything = [_parse(p) for p in _tf_files(folder)]
    resources, data = _declared(folder, "resource"), _declared(folder, "data")
    assert resources, f"{folder.name}: no resource found: python-hcl2's block shape changed"
    undeclared_data = sorted(_refs(everything, _DATA_REF) - data)
    undeclared = sorted(_refs(everything, _RESOURCE_REF) - resources)
    where = folder.relative_to(TERRAFORM)
    assert not undeclared_data, f"{where}: data sources referenced, not declared: {undeclared_data}"
    assert not undeclared, f"{where}: resources referenced, not declared: {undeclared}"
    unused_data = sorted(data - _refs(everything, _DATA_REF))
    assert not unused_data, f"{where}: data sources never used: {unused_data}"


@pytest.mark.parametrize("folder", ALL_FOLDERS, ids=FOLDER_IDS)
def test_secret_variables_are_sensitive_and_have_no_default_value(folder):
    for name, body in _variables(folder).items():
        if _is_secret_name(name):
            assert body.get("sensitive") is True, f"{folder.name}: variable {name} looks secret but is not sensitive"
        if body.get("sensitive") is True:
            assert body.get("default") is None, f"{folder.name}: sensitive variable {name} has a default value"


# --- module calls ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_module_call_passes_declared_variables_and_every_required_one(env):
    folder = ENVS / env
    calls = _module_calls(folder)
    assert {Path(_text(c["source"])).name for c in calls.values()} == set(MODULE_NAMES)
    for call_name, call in calls.items():
        module = _module_dir(folder, call)
        assert module.is_dir(), f"{env}: module {call_name} has no source folder {module}"
        declared = _variables(module)
        passed = {k for k in call if not k.startswith("__")} - META_ARGUMENTS
        unknown = sorted(passed - set(declared))
        assert not unknown, f"{env}: module {call_name} passes undeclared variables {unknown}"
        required = {name for name, body in declared.items() if "default" not in body}
        missing = sorted(required - passed)
        assert not missing, f"{env}: module {call_name} does not pass required variables {missing}"


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_module_output_reference_exists(env):
    folder = ENVS / env
    calls = _module_calls(folder)
    everything = [_parse(p) for p in _tf_files(folder)]
    refs = _refs(everything, _MODULE_REF)
    assert refs, "no module.X.Y reference found: the reference pattern no longer matches python-hcl2's output"
    for call_name, output in sorted(refs):
        assert call_name in calls, f"{env}: module.{call_name} is not a module call"
        outputs = _outputs(_module_dir(folder, calls[call_name]))
        assert output in outputs, f"{env}: module.{call_name}.{output} is not an output of {calls[call_name]['source']}"


# --- outputs and secrets --------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ALL_FOLDERS, ids=FOLDER_IDS)
def test_outputs_that_name_a_secret_are_sensitive(folder):
    for name, body in _outputs(folder).items():
        if _is_secret_name(name):
            assert body.get("sensitive") is True, f"{folder.relative_to(TERRAFORM)}: output {name} must be sensitive"


@pytest.mark.parametrize("folder", ALL_FOLDERS, ids=FOLDER_IDS)
def test_outputs_of_sensitive_values_are_sensitive(folder):
    """Terraform refuses an output that shows a sensitive variable or module output without `sensitive`."""
    sensitive_vars = {n for n, b in _variables(folder).items() if b.get("sensitive") is True}
    calls = _module_calls(folder)
    sensitive_outputs = {
        (call_name, out)
        for call_name, call in calls.items()
        for out, body in _outputs(_module_dir(folder, call)).items()
        if body.get("sensitive") is True
    }
    for name, body in _outputs(folder).items():
        value = body["value"]
        shown = (_refs(value, _VAR_REF) & sensitive_vars) | (_refs(value, _MODULE_REF) & sensitive_outputs)
        if shown:
            assert body.get("sensitive") is True, f"{folder.relative_to(TERRAFORM)}: output {name} shows {shown}"


@pytest.mark.parametrize("env", ENV_NAMES)
def test_tfvars_set_only_declared_variables_and_never_a_sensitive_one(env):
    declared = _variables(ENVS / env)
    values = _tfvars(env)
    assert not sorted(set(values) - set(declared)), f"{env}: terraform.tfvars sets undeclared variables"
    for name in values:
        assert declared[name].get("sensitive") is not True, f"{env}: sensitive {name} set in terraform.tfvars"
        assert not _is_secret_name(name), f"{env}: {name} looks secret: pass it as TF_VAR_{name}"


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_required_environment_variable_comes_from_tfvars_or_tf_var(env):
    """No default: set in terraform.tfvars, or sensitive (then it comes as TF_VAR_<name> from a secret store)."""
    values = _tfvars(env)
    for name, body in _variables(ENVS / env).items():
        if "default" not in body:
            assert name in values or body.get("sensitive") is True, f"{env}: {name} is set nowhere"


# --- terraform <-> the Python code ----------------------------------------------------------------------


def _settings_literal(name: str) -> dict:
    """A module-level dict literal of environments/settings.py, read without importing (no boto3 needed)."""
    tree = ast.parse((ROOT / "environments" / "settings.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"environments/settings.py has no {name}")


@pytest.mark.parametrize("env", ENV_NAMES)
def test_environment_outputs_map_onto_the_cdc_settings(env):
    cloud = _settings_literal("CLOUD_VARIABLES")
    optional = _settings_literal("CLOUD_OPTIONAL")
    assert TERRAFORM_OPTIONAL_SETTINGS <= set(optional)
    outputs = _outputs(ENVS / env)
    for setting in [*cloud, *sorted(TERRAFORM_OPTIONAL_SETTINGS)]:
        name = setting.lower()
        assert name in outputs, f"{env}: no output {name} for {setting}"
        assert _text(outputs[name]["description"]).startswith(setting)
        secret = cloud.get(setting, (None, None, False))[2]
        if secret:
            assert outputs[name].get("sensitive") is True, f"{env}: {name} carries a secret: sensitive = true"
    strays = sorted(n for n in outputs if n.startswith("cdc_") and n.upper() not in {*cloud, *optional}
                    and n != "cdc_api_db_host")
    assert not strays, f"{env}: outputs named like settings that do not exist: {strays}"


def test_the_raw_topic_schema_file_is_the_one_the_flows_register():
    spec = importlib.util.spec_from_file_location("_schemas", ROOT / "environments" / "confluent" / "schemas.py")
    schemas = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(schemas)
    committed = json.loads((MODULES / "confluent" / "schemas" / "raw-business-events-value.json").read_text())
    assert committed == schemas.raw_topic_json_schema(), \
        "regenerate terraform/modules/confluent/schemas/raw-business-events-value.json from raw_topic_json_schema()"


def _managed_variants() -> dict[str, str]:
    """connectors/variants.py: name -> seed_file of every `Variant(..., managed=True)`, read without importing."""
    tree = ast.parse((ROOT / "connectors" / "variants.py").read_text())
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Variant":
            kw = {k.arg: k.value for k in node.keywords}
            if isinstance(kw.get("managed"), ast.Constant) and kw["managed"].value is True:
                found[ast.literal_eval(kw["name"])] = ast.literal_eval(kw["seed_file"])
    return found


def test_the_confluent_module_knows_the_managed_connector_variants_and_their_files():
    connector_files = {}
    for block in _parse(MODULES / "confluent" / "main.tf").get("locals", []):
        if "connector_files" in block:
            connector_files = {_text(k): _text(v) for k, v in block["connector_files"].items()}
    assert connector_files == _managed_variants()
    variable = _variables(MODULES / "confluent")["connector_variant"]
    allowed = set(re.findall(r'"([a-z0-9-]+)"', variable["validation"][0]["condition"]))
    assert allowed == set(connector_files)
    # every ${env:NAME} placeholder of the files is filled by the module (connector_values) or sits under a
    # key the module drops (the Kafka credentials: the connector's service account; the password: config_sensitive)
    body = {k: v for block in _parse(MODULES / "confluent" / "main.tf")["locals"] for k, v in block.items()}
    filled = {m for key in body["connector_values"] for m in re.findall(r"\$\$\{env:([A-Z_]+)\}", key)}
    dropped = {_text(key) for key in body["connector_dropped_keys"]}
    assert filled and dropped, "the connector_values / connector_dropped_keys locals are not where this test looks"
    for file_name in connector_files.values():
        config = json.loads((ROOT / "connectors" / file_name).read_text())
        for key, value in config.items():
            for placeholder in re.findall(r"\$\{env:([A-Z_]+)\}", value):
                assert placeholder in filled or key in dropped, \
                    f"{file_name}: {key} = ${{env:{placeholder}}} is neither filled nor dropped by the confluent module"
