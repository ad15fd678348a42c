# Auto-stop is the database-autostop Prefect flow (hourly, in prefect.yaml), not a Lambda: this module grants
# the worker that runs it (and database-autostart) what those flows call. They read the producer API's
# CloudWatch request count, stop the cluster only from `available` after a quiet window, and start it again.
# The fail-safe (no metric or any doubt: keep running) lives in the flow.

data "aws_iam_policy_document" "this" {
  statement {
    sid = "StopAndStartTheCluster"
    actions = [
      "rds:DescribeDBClusters",
      "rds:StopDBCluster",
      "rds:StartDBCluster",
    ]
    resources = [var.cluster_arn]
  }

  # CloudWatch metric reads have no resource-level permissions: "*" is the only resource they accept.
  statement {
    sid = "ReadApiActivity"
    actions = [
      "cloudwatch:GetMetricStatistics",
      "cloudwatch:ListMetrics",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "this" {
  name_prefix = "${var.name_prefix}-aurora-auto-stop-"
  description = "database-autostop / database-autostart flows (${var.environment}): stop and start one Aurora cluster, read the API's request count"
  policy      = data.aws_iam_policy_document.this.json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "worker" {
  for_each = var.worker_role_names

  role       = each.value
  policy_arn = aws_iam_policy.this.arn
}
