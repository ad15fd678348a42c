"""Kafka Connect status bodies become one `ConnectorState`, whose failure is one line with the root cause."""

from environments.local.connect import connector_state


def test_failed_task_names_the_root_cause_in_one_line():
    state = connector_state({
        "name": "pg", "connector": {"state": "RUNNING"},
        "tasks": [{"id": 0, "state": "FAILED",
                   "trace": "org.apache.kafka.connect.errors.ConnectException: boom\n\tat x.y(Z.java:1)\n"
                            "Caused by: org.postgresql.util.PSQLException: FATAL: no pg_hba.conf entry\n"}],
    })
    line = state.failure()
    assert line == "connector 'pg' task 0 FAILED: PSQLException: FATAL: no pg_hba.conf entry"
    assert not state.running


def test_failed_connector_and_running_states():
    failed = connector_state({"name": "pg", "connector": {"state": "FAILED", "trace": "java.lang.IllegalStateException: x"},
                              "tasks": []})
    assert failed.failure() == "connector 'pg' FAILED: IllegalStateException: x"
    running = connector_state({"name": "pg", "connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]})
    assert running.failure() is None and running.running
    assert not connector_state({"name": "pg", "connector": {"state": "RUNNING"}, "tasks": []}).running
