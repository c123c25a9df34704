# CloudTrail -> detector. CloudTrail delivers management events to the
# default bus of the Region the call was made in. The pattern is generated
# from the event table (shared/awsevent: `go test ./shared/awsevent` fails
# when eventbridge-pattern.json and the table diverge); it is a list because
# a pattern longer than EventBridge's limit is split per event source: one
# rule per entry.
locals {
  detector_patterns = jsondecode(file("${path.module}/eventbridge-pattern.json"))
}

resource "aws_cloudwatch_event_rule" "detector" {
  count = length(local.detector_patterns)

  name           = "${var.name_prefix}-detector-${count.index}"
  description    = "driftwatch: CloudTrail management events that change posture (eventbridge-pattern.json entry ${count.index})"
  event_bus_name = "default"
  event_pattern  = jsonencode(local.detector_patterns[count.index])
}

resource "aws_cloudwatch_event_target" "detector" {
  count = length(local.detector_patterns)

  rule           = aws_cloudwatch_event_rule.detector[count.index].name
  event_bus_name = "default"
  target_id      = "detector"
  arn            = aws_lambda_function.detector.arn

  # EventBridge retries a failed delivery for up to a day, then keeps the
  # event in the dead-letter queue.
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.detector_dlq.arn
  }
}

resource "aws_lambda_permission" "detector_events" {
  count = length(local.detector_patterns)

  statement_id  = "EventBridgeDetector${count.index}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.detector.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.detector[count.index].arn
}

# The custom bus remediation requests travel on: the interactivity function
# (approvals, undo, re-evaluation after an accepted risk) and the detector
# (auto mode) publish, the remediator consumes.
resource "aws_cloudwatch_event_bus" "driftwatch" {
  name = var.bus_name
}

resource "aws_cloudwatch_event_rule" "remediator" {
  name           = "${var.name_prefix}-remediator"
  description    = "driftwatch: approved remediations, undos and re-evaluations"
  event_bus_name = aws_cloudwatch_event_bus.driftwatch.name

  # shared/awsbus: Source and DetailTypes (the infra test compares).
  event_pattern = jsonencode({
    source        = ["driftwatch"]
    "detail-type" = ["ReevaluationRequested", "RemediationApproved", "RemediationUndoApproved"]
  })
}

resource "aws_cloudwatch_event_target" "remediator" {
  rule           = aws_cloudwatch_event_rule.remediator.name
  event_bus_name = aws_cloudwatch_event_bus.driftwatch.name
  target_id      = "remediator"
  arn            = aws_lambda_function.remediator.arn

  # An approval is stale after an hour: better a clear failure in the
  # dead-letter queue than a fix applied long after the click.
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 10
  }

  dead_letter_config {
    arn = aws_sqs_queue.remediator_dlq.arn
  }
}

resource "aws_lambda_permission" "remediator_events" {
  statement_id  = "EventBridgeRemediator"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.remediator.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.remediator.arn
}
