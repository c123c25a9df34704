// Package infratest checks the deployments in infra/aws and infra/azure
// against the code they deploy, so that the two cannot drift apart
// unnoticed. It has no non-test code: its tests parse the Terraform with
// hashicorp/hcl (no terraform binary or provider needed) and compare it
// with the code. For infra/aws:
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
//   - the Function URL, the dead-letter queues and the Slack app manifest;
//   - infra/aws's optional role for the Azure function (web identity from
//     its managed identity: trust and table access).
//
// For infra/azure (azure_test.go):
//
//   - the function app (custom handler, user-assigned identity only, its
//     package) and its app settings against the variables the Azure wiring
//     reads (azureConfigDirs), credentials only as Key Vault references;
//   - the subscription's system topic and one event subscription per
//     filter shared/azevent generates (eventgrid-filter.json), delivering
//     to shared/azfunc's routes with Entra auth, retries and dead letters;
//   - the remediation topic (no keys) and its subscription to azbus's
//     event types;
//   - the function's custom role against the code's declared permissions
//     (azfetch, azremedy: generated into infra/azure/policies/function.json
//     by `go test ./shared/infratest -run TestAzurePolicyFile -update`),
//     and every role assignment against the deployment's model;
//   - the Key Vault, the Entra applications and the outputs.
package infratest
