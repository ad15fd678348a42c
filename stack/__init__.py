"""The local stack: real PostgreSQL, Kafka (KRaft), Kafka Connect + Debezium and Flink + SQL Gateway,
started as plain processes from their upstream distributions (no Docker). See stack/README section in
the project README for ports, logs and memory caps."""
