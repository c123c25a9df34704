module github.com/driftwatch/driftwatch/functions/aws

go 1.26

require github.com/driftwatch/driftwatch/shared v0.0.0

replace github.com/driftwatch/driftwatch/shared => ../../shared
