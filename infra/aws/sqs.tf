# Dead-letter queues: what failed after every retry is kept 14 days for
# inspection and redrive, never dropped. Two senders each: EventBridge (a
# delivery to the function failed) and Lambda itself (the function failed
# an asynchronous invocation after its retries), the latter with the
# function's role.
resource "aws_sqs_queue" "detector_dlq" {
  name                      = "${var.name_prefix}-detector-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue_policy" "detector_dlq" {
  queue_url = aws_sqs_queue.detector_dlq.id
  policy    = data.aws_iam_policy_document.detector_dlq.json
}

data "aws_iam_policy_document" "detector_dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.detector_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = aws_cloudwatch_event_rule.detector[*].arn
    }
  }
}

resource "aws_sqs_queue" "remediator_dlq" {
  name                      = "${var.name_prefix}-remediator-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue_policy" "remediator_dlq" {
  queue_url = aws_sqs_queue.remediator_dlq.id
  policy    = data.aws_iam_policy_document.remediator_dlq.json
}

data "aws_iam_policy_document" "remediator_dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.remediator_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.remediator.arn]
    }
  }
}
