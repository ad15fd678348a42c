import os

# Flows run against Prefect's ephemeral API in tests; no telemetry from a machine without internet, and
# no INFO lines at interpreter exit (Prefect logs "Stopping temporary server" after pytest closed stderr).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
