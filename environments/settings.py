"""Settings per environment kind: `local` (the engines of stack/) or `cloud` (Confluent Cloud + AWS Aurora).

One discriminated union on `kind`; `load_settings(name)` reads `CDC_*` variables and, when
CDC_SETTINGS_FROM_PREFECT=1 (the cloud deployments in prefect.yaml set it), falls back to Prefect: a
Variable `cdc_<environment>_<name>` for a plain value, a Secret block `cdc-<environment>-<name>` for a
secret (e.g. CDC_FLINK_API_SECRET on dev: block `cdc-dev-flink-api-secret`). Every missing value is named
in ONE line. Secrets are SecretStr:
they never appear in a repr, a log, a Prefect parameter display or an error.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError

from environments.aws.credentials import AwsSettings
from pipeline.base import StrictModel
from pipeline.database_settings import DatabaseSettings
from pipeline.delivery import DeliveryMode, delivery_mode
from pipeline.errors import ConfigError
from pipeline.kafka_connection import KafkaConnection

ENVIRONMENTS = ("local", "dev", "staging", "prod")
RAW_TOPIC = "raw-business-events"


class _Common(StrictModel):
    name: str
    database: DatabaseSettings
    kafka: KafkaConnection
    raw_topic: str = RAW_TOPIC
    raw_topic_partitions: int = 3
    #: which connector variant captures changes (connectors/variants.py)
    connector_variant: str = "local"
    #: CDC_DELIVERY_MODE: exactly-once or low-latency (pipeline/delivery.py)
    delivery_mode: Literal["exactly-once", "low-latency"] = "exactly-once"

    @property
    def delivery(self) -> DeliveryMode:
        return delivery_mode(self.delivery_mode)


class LocalSettings(_Common):
    kind: Literal["local"] = "local"
    connect_url: str = "http://127.0.0.1:28083"
    flink_rest_url: str = "http://127.0.0.1:28081"
    sql_gateway_url: str = "http://127.0.0.1:28090"
    #: the local broker's SASL_SSL listener (tests and cloud-shaped runs against a real broker)
    kafka_sasl: KafkaConnection | None = None

    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka.bootstrap_servers


class ConfluentSettings(StrictModel):
    organization_id: str
    environment_id: str
    kafka_cluster_id: str
    cloud_api_key: str  # managed Connect uses a Cloud API key
    cloud_api_secret: SecretStr
    flink_api_key: str
    flink_api_secret: SecretStr
    flink_region: str
    flink_cloud: str
    flink_compute_pool_id: str
    #: the Flink catalog and database: the Confluent environment's and Kafka cluster's display names
    flink_catalog: str
    flink_database: str
    schema_registry_url: str
    schema_registry_api_key: str
    schema_registry_api_secret: SecretStr
    #: base URLs, overridable for tests (documented hosts by default)
    api_url: str = "https://api.confluent.cloud"
    flink_url: str | None = None  # default https://flink.<region>.<cloud>.confluent.cloud

    def flink_base_url(self) -> str:
        return self.flink_url or f"https://flink.{self.flink_region}.{self.flink_cloud.lower()}.confluent.cloud"


class CloudSettings(_Common):
    kind: Literal["cloud"] = "cloud"
    confluent: ConfluentSettings
    aws: AwsSettings
    connector_variant: str = "v2-debezium"


Settings = Annotated[LocalSettings | CloudSettings, Field(discriminator="kind")]


# --- loading ------------------------------------------------------------------------------------------

#: cloud variable -> (section, field, secret?)
CLOUD_VARIABLES: dict[str, tuple[str, str, bool]] = {
    "CDC_CONFLUENT_ORG_ID": ("confluent", "organization_id", False),
    "CDC_CONFLUENT_ENV_ID": ("confluent", "environment_id", False),
    "CDC_CONFLUENT_KAFKA_CLUSTER_ID": ("confluent", "kafka_cluster_id", False),
    "CDC_CONFLUENT_CLOUD_API_KEY": ("confluent", "cloud_api_key", False),
    "CDC_CONFLUENT_CLOUD_API_SECRET": ("confluent", "cloud_api_secret", True),
    "CDC_FLINK_API_KEY": ("confluent", "flink_api_key", False),
    "CDC_FLINK_API_SECRET": ("confluent", "flink_api_secret", True),
    "CDC_FLINK_REGION": ("confluent", "flink_region", False),
    "CDC_FLINK_CLOUD": ("confluent", "flink_cloud", False),
    "CDC_FLINK_COMPUTE_POOL_ID": ("confluent", "flink_compute_pool_id", False),
    "CDC_FLINK_CATALOG": ("confluent", "flink_catalog", False),
    "CDC_FLINK_DATABASE": ("confluent", "flink_database", False),
    "CDC_SCHEMA_REGISTRY_URL": ("confluent", "schema_registry_url", False),
    "CDC_SCHEMA_REGISTRY_API_KEY": ("confluent", "schema_registry_api_key", False),
    "CDC_SCHEMA_REGISTRY_API_SECRET": ("confluent", "schema_registry_api_secret", True),
    "CDC_KAFKA_BOOTSTRAP": ("kafka", "bootstrap_servers", False),
    "CDC_KAFKA_API_KEY": ("kafka", "sasl_username", False),
    "CDC_KAFKA_API_SECRET": ("kafka", "sasl_password", True),
    "CDC_AWS_REGION": ("aws", "region", False),
    "CDC_AURORA_CLUSTER_ID": ("aws", "aurora_cluster_id", False),
    "CDC_DB_HOST": ("database", "host", False),  # the Aurora writer endpoint
    "CDC_DB_USER": ("database", "user", False),
}
#: optional cloud variables
CLOUD_OPTIONAL: dict[str, tuple[str, str]] = {
    "CDC_CONFLUENT_API_URL": ("confluent", "api_url"),
    "CDC_FLINK_URL": ("confluent", "flink_url"),
    "CDC_AWS_ENDPOINT_URL": ("aws", "endpoint_url"),
    "CDC_DB_SECRET_ARN": ("aws", "db_secret_arn"),
    "CDC_AURORA_AUTOSTART_FUNCTION": ("aws", "autostart_function"),
    "CDC_API_NAME": ("aws", "api_name"),
    "CDC_RDS_CA_BUNDLE": ("aws", "rds_ca_bundle"),
    "CDC_DB_PORT": ("database", "port"),
    "CDC_DB_NAME": ("database", "dbname"),
    "CDC_KAFKA_SSL_CA_LOCATION": ("kafka", "ssl_ca_location"),
    "CDC_RAW_TOPIC_PARTITIONS": ("", "raw_topic_partitions"),
    "CDC_CONNECTOR_VARIANT": ("", "connector_variant"),
    "CDC_DELIVERY_MODE": ("", "delivery_mode"),
}


def prefect_names(environment: str, variable: str) -> tuple[str, str]:
    """Where a setting is looked up in Prefect: (Variable name, Secret block name)."""
    base = variable.removeprefix("CDC_").lower()
    return f"cdc_{environment}_{base}", f"cdc-{environment}-{base.replace('_', '-')}"


def lookup_setting(environment: str, variable: str, secret: bool = False, environ=None) -> str | None:
    """One setting as the loader finds it: the process environment, then (CDC_SETTINGS_FROM_PREFECT=1) Prefect."""
    return _lookup(environment, variable, secret, os.environ if environ is None else environ)


def _lookup(environment: str, variable: str, secret: bool, environ) -> str | None:
    value = environ.get(variable)
    if value is not None and value.strip():
        return value.strip()
    if environ.get("CDC_SETTINGS_FROM_PREFECT") == "1":
        variable_name, block_name = prefect_names(environment, variable)
        return _prefect_secret(block_name) if secret else _prefect_variable(variable_name)
    return None


def _prefect_secret(block_name: str) -> str | None:
    """A Prefect Secret block's value, or None when there is no such block (or no Prefect API)."""
    try:
        from prefect.blocks.system import Secret

        return str(Secret.load(block_name).get())
    except Exception:  # a missing block is a missing value, reported with the others
        return None


def _prefect_variable(name: str) -> str | None:
    try:
        from prefect.variables import Variable

        value = Variable.get(name, default=None)
    except Exception:  # no Prefect API: a missing value, reported with the others
        return None
    return None if value is None else str(value)


def is_secret_setting(variable: str, sensitive: bool = False) -> bool:
    """Whether the loader reads `variable` from a Secret block (else a Variable); unknown ones follow `sensitive`."""
    if variable in CLOUD_VARIABLES:
        return CLOUD_VARIABLES[variable][2]
    if variable in CLOUD_OPTIONAL:
        return False
    return variable == "CDC_DB_PASSWORD" or sensitive


def store_in_prefect(environment: str, variable: str, value: str | None, secret: bool) -> str:
    """Write a setting where the loader reads it (a Variable, or a Secret block for a secret); None removes it.
    Returns "written", "unchanged", "removed" or "absent". Never logs the value."""
    variable_name, block_name = prefect_names(environment, variable)
    current = _prefect_secret(block_name) if secret else _prefect_variable(variable_name)
    if value is None:
        if current is None:
            return "absent"
        if secret:
            from prefect.blocks.system import Secret

            Secret.delete(block_name)
        else:
            from prefect.variables import Variable

            Variable.unset(variable_name)
        return "removed"
    if current == value:
        return "unchanged"
    if secret:
        from prefect.blocks.system import Secret

        Secret(value=value).save(block_name, overwrite=True)
    else:
        from prefect.variables import Variable

        Variable.set(variable_name, value, overwrite=True)
    return "written"


def load_settings(environment: str | None = None, environ=None) -> LocalSettings | CloudSettings:
    environ = os.environ if environ is None else environ
    name = environment or environ.get("CDC_ENV", "local")
    if name not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {name!r}", fix=f"use one of {', '.join(ENVIRONMENTS)}")
    return load_local_settings(environ) if name == "local" else load_cloud_settings(name, environ)


def load_local_settings(environ=None) -> LocalSettings:
    from stack.settings import local_password, local_ports, state_dir

    environ = os.environ if environ is None else environ
    ports = local_ports()
    db = DatabaseSettings(host=environ.get("CDC_DB_HOST", "127.0.0.1"), port=ports["postgres"],
                          dbname=environ.get("CDC_DB_NAME", "cdc"), user=environ.get("CDC_DB_USER", "cdc"),
                          password=local_password())
    return LocalSettings(
        name="local", database=db,
        kafka=KafkaConnection(bootstrap_servers=f"127.0.0.1:{ports['kafka']}"),
        kafka_sasl=_local_sasl(state_dir(), ports["kafka_sasl"]),
        connect_url=f"http://127.0.0.1:{ports['connect']}",
        flink_rest_url=f"http://127.0.0.1:{ports['flink']}",
        sql_gateway_url=f"http://127.0.0.1:{ports['sql_gateway']}",
        connector_variant=environ.get("CDC_CONNECTOR_VARIANT", "local"),
        delivery_mode=delivery_mode(environ.get("CDC_DELIVERY_MODE")).name,
    )


def _local_sasl(state, port: int) -> KafkaConnection | None:
    """The local broker's SASL_SSL listener, once the stack has generated its user and certificate."""
    from stack.kafka import local_sasl_connection

    return local_sasl_connection(state / "kafka", port)


def load_cloud_settings(environment: str, environ=None) -> CloudSettings:
    environ = os.environ if environ is None else environ
    sections: dict[str, dict] = {"confluent": {}, "aws": {}, "database": {}, "kafka": {}, "": {}}
    missing = []
    for variable, (section, key, secret) in CLOUD_VARIABLES.items():
        value = _lookup(environment, variable, secret, environ)
        if value is None:
            missing.append(variable)
        else:
            sections[section][key] = value
    password = _lookup(environment, "CDC_DB_PASSWORD", True, environ)
    if password is None and _lookup(environment, "CDC_DB_SECRET_ARN", False, environ) is None:
        missing.append("CDC_DB_PASSWORD (or CDC_DB_SECRET_ARN)")
    if missing:
        raise ConfigError(f"environment {environment!r} is missing {len(missing)} setting(s): {', '.join(missing)}",
                          fix="set them in the worker's environment, or (with CDC_SETTINGS_FROM_PREFECT=1) as Prefect "
                              f"Variables cdc_{environment}_<name> / Secret blocks cdc-{environment}-<name> "
                              "(docs/environments.md)")
    for variable, (section, key) in CLOUD_OPTIONAL.items():
        value = _lookup(environment, variable, False, environ)
        if value is not None:
            sections[section][key] = value
    if "delivery_mode" in sections[""]:
        sections[""]["delivery_mode"] = delivery_mode(sections[""]["delivery_mode"]).name  # one line if unknown
    if password is not None:
        sections["database"]["password"] = password
    # Aurora is reached over TLS, verified against the RDS CA bundle (environments/aws/aurora.py says where)
    sections["database"]["sslmode"] = environ.get("CDC_DB_SSLMODE", "verify-full")
    if sections["aws"].get("rds_ca_bundle"):
        sections["database"]["sslrootcert"] = sections["aws"]["rds_ca_bundle"]
    kafka = KafkaConnection.sasl(sections["kafka"]["bootstrap_servers"], sections["kafka"]["sasl_username"],
                                 sections["kafka"]["sasl_password"], sections["kafka"].get("ssl_ca_location"))
    try:
        return CloudSettings(name=environment, database=DatabaseSettings(**sections["database"]), kafka=kafka,
                             confluent=ConfluentSettings(**sections["confluent"]), aws=AwsSettings(**sections["aws"]),
                             **sections[""])
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"environment {environment!r}: setting {where}: {first['msg']}") from None
