// Package infratest checks the AWS deployment in infra/aws against the code
// it deploys, so that the two cannot drift apart unnoticed. It has no
// non-test code: its tests parse the Terraform with hashicorp/hcl (no
// terraform binary or provider needed) and compare it with the code:
//
//   - the three functions (runtime, handler, package, environment names
//     against the variables their configuration reads);
//   - the table (keys, index, TTL) against store/dynamostore's schema;
//   - the EventBridge rules against awsevent's pattern and awsbus's
//     source and detail-types;
//   - every role's statements against the code's declared permissions:
//     the cloud actions are generated into infra/aws/policies/*.json
//     (`go test ./shared/infratest -run TestPolicyFiles -update` rewrites
//     them), the table, bus and
//     secret actions come from the consumer interfaces that make the calls;
//   - the Function URL, the dead-letter queues and the Slack app manifest.
package infratest
