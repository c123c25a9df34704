# The posture table: resource state, findings, remediations, exceptions and
# the append-only audit log (single-table design, shared/store/dynamostore).
# Names and types must equal dynamostore's schema constants and TableInput;
# the infra test compares them.
resource "aws_dynamodb_table" "posture" {
  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  deletion_protection_enabled = var.table_deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "gsi1pk"
    type = "S"
  }

  attribute {
    name = "gsi1sk"
    type = "S"
  }

  # Open findings by severity; sparse (only open findings carry its keys).
  global_secondary_index {
    name            = "gsi1"
    hash_key        = "gsi1pk"
    range_key       = "gsi1sk"
    projection_type = "ALL"
  }

  # Event claims and rate-limit counters expire; remediations, exceptions
  # and audit entries carry no expiry.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  # The audit log is evidence: recoverable to any second of the last 35 days.
  point_in_time_recovery {
    enabled = true
  }

  # Encrypted with the AWS managed key (aws/dynamodb), whose use shows in
  # CloudTrail, rather than the default AWS owned key.
  server_side_encryption {
    enabled = true
  }
}
