"""The plan summary and the prod database-destroy refusal (pure), over `tofu show -json` shaped documents."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.infra_plan import refuse_database_destroy, summarize


def plan(*changes: tuple[str, str, list[str]]) -> dict:
    return {"format_version": "1.2", "resource_changes": [
        {"address": a, "type": t, "change": {"actions": acts}} for a, t, acts in changes]}


DB_REPLACED = plan(("module.aurora.aws_rds_cluster.this", "aws_rds_cluster", ["delete", "create"]),
                   ("module.aurora.aws_rds_cluster_parameter_group.this", "aws_rds_cluster_parameter_group", ["update"]),
                   ("aws_kms_alias.this", "aws_kms_alias", ["no-op"]),
                   ("module.api.aws_lambda_function.api", "aws_lambda_function", ["create"]),
                   ("module.api.aws_cloudwatch_log_group.old", "aws_cloudwatch_log_group", ["delete"]))


def test_counts_and_markdown():
    summary = summarize(DB_REPLACED)
    assert summary.line() == "1 to add, 1 to change, 1 to destroy, 1 to replace"
    md = summary.markdown("provision (dev): plan")
    rows = [line for line in md.splitlines() if line.startswith("| ") and "`" in line]
    assert rows == ["| delete | `module.api.aws_cloudwatch_log_group.old` |",
                    "| replace | `module.aurora.aws_rds_cluster.this` |",
                    "| create | `module.api.aws_lambda_function.api` |",
                    "| update | `module.aurora.aws_rds_cluster_parameter_group.this` |"]
    assert summarize(plan(("x", "terraform_data", ["no-op"]))).empty
    assert "No changes." in summarize(plan()).markdown("t")


def test_a_prod_plan_that_destroys_the_database_is_refused_unless_allowed():
    summary = summarize(DB_REPLACED)
    with pytest.raises(ConfigError, match=r"the plan for prod destroys the database \(module.aurora.aws_rds_cluster.this\)"):
        refuse_database_destroy(summary, "prod")
    refuse_database_destroy(summary, "prod", allow=True)
    refuse_database_destroy(summary, "dev")  # dev may be rebuilt
    refuse_database_destroy(summarize(plan(("module.api.aws_lambda_function.api", "aws_lambda_function",
                                            ["delete"]))), "prod")


def test_not_a_plan_is_one_line():
    with pytest.raises(ConfigError, match="not a terraform plan in JSON"):
        summarize({"resources": []})


def test_outputs_named_cdc_become_the_settings_the_flows_read():
    from pipeline.infra_plan import settings_from_outputs

    outputs = {"cdc_db_host": ("cdc-dev.cluster-x.eu-west-1.rds.amazonaws.com", False),
               "cdc_kafka_api_secret": ("s3cr3t", True), "cdc_raw_topic_partitions": (3, False),
               "cdc_api_db_host": (None, False), "kms_key_arn": ("arn:aws:kms:...", False)}
    assert settings_from_outputs(outputs) == [("CDC_DB_HOST", "cdc-dev.cluster-x.eu-west-1.rds.amazonaws.com", False),
                                              ("CDC_KAFKA_API_SECRET", "s3cr3t", True),
                                              ("CDC_RAW_TOPIC_PARTITIONS", "3", False)]


def test_apply_verdict_table():
    from pipeline.infra_plan import apply_verdict

    changes, nothing = summarize(DB_REPLACED), summarize(plan(("x", "terraform_data", ["no-op"])))
    assert apply_verdict(nothing, "prod", approved=False) == "no changes"
    assert apply_verdict(nothing, "dev", approved=True) == "no changes"
    assert apply_verdict(changes, "dev", approved=False) == "awaiting approval"
    assert apply_verdict(changes, "dev", approved=True) == "apply"
    with pytest.raises(ConfigError, match="destroys the database"):  # refused even when approved
        apply_verdict(changes, "prod", approved=True)
    assert apply_verdict(changes, "prod", approved=True, allow_database_destroy=True) == "apply"


def test_null_outputs_clear_their_setting():
    from pipeline.infra_plan import cleared_settings

    outputs = {"cdc_api_name": (None, False), "cdc_db_host": ("h", False), "producer_api_url": (None, False)}
    assert cleared_settings(outputs) == ["CDC_API_NAME"]
    # `tofu output -json` leaves null outputs out: a declared one that is absent is null
    assert cleared_settings({"cdc_db_host": ("h", False)}, {"cdc_db_host", "cdc_api_name", "kms_key_arn"}) == [
        "CDC_API_NAME"]
