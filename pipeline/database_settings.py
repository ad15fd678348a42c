"""How the database that holds business_events is reached: the local PostgreSQL or Aurora (with TLS)."""

from __future__ import annotations

from pydantic import SecretStr

from pipeline.base import StrictModel
from pipeline.errors import ConfigError


class DatabaseSettings(StrictModel):
    host: str = "127.0.0.1"
    port: int = 25432
    dbname: str = "cdc"
    user: str = "cdc"
    password: SecretStr | None = None  # None: resolved by the factory (e.g. from AWS Secrets Manager)
    slot_name: str = "business_events_cdc_slot"
    publication: str = "business_events_publication"
    #: TLS for Aurora: verify-full against the RDS CA bundle; locally loopback without TLS
    sslmode: str | None = None
    sslrootcert: str | None = None

    def where(self) -> str:
        return f"{self.host}:{self.port}/{self.dbname}"

    def conninfo(self, **overrides) -> dict:
        """Keyword arguments for psycopg.connect (a dict, so the password never lands in a DSN string)."""
        if self.password is None:
            raise ConfigError("no database password", fix="set CDC_DB_PASSWORD or CDC_DB_SECRET_ARN")
        params = {"host": self.host, "port": self.port, "dbname": self.dbname, "user": self.user,
                  "password": self.password.get_secret_value(), "connect_timeout": 5,
                  "application_name": "cdc-pipeline"}
        if self.sslmode:
            params["sslmode"] = self.sslmode
        if self.sslrootcert:
            params["sslrootcert"] = self.sslrootcert
        params.update(overrides)
        return params
