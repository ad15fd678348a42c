from pipeline.replication import check_server_settings


def test_logical_settings_pass():
    assert check_server_settings({"wal_level": "logical", "max_replication_slots": "10", "max_wal_senders": "10"}) == []


def test_wal_level_replica_names_the_exact_fix():
    [problem] = check_server_settings({"wal_level": "replica", "max_replication_slots": "10", "max_wal_senders": "10"})
    assert problem.name == "wal_level" and problem.found == "replica"
    assert problem.fix() == "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL"


def test_zero_slots_and_senders_are_reported():
    problems = check_server_settings({"wal_level": "logical", "max_replication_slots": "0", "max_wal_senders": "x"})
    assert [p.name for p in problems] == ["max_replication_slots", "max_wal_senders"]
    assert "max_wal_senders = 10" in problems[1].fix()
