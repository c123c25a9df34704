// Package infratest checks the deployments in infra/aws, infra/azure and
// infra/gcp against the code they deploy, so that they cannot drift apart
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
//   - infra/aws's optional roles for the Azure and GCP functions (web
//     identity from their managed identity or service account: trust and
//     table access), and the interactivity function's remediation topics.
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
//
// For infra/gcp (gcp_test.go):
//
//   - the Cloud Run service (internal ingress, invoker check, its own
//     service account, scaling, timeout) and its environment against the
//     variables the GCP wiring reads (gcpConfigDirs), the Slack token only
//     as a Secret Manager reference;
//   - the Log Router sinks (the filter shared/gcpevent generates,
//     log-sink-filter.txt) and the push subscriptions to shared/gcpfunc's
//     routes, with OIDC tokens, acknowledgement deadlines, retries and
//     dead letters, the remediation one filtered on gcpbus's types;
//   - the custom roles against the code's declared permissions (gcpfetch,
//     gcpremedy: generated into infra/gcp/roles/*.json by
//     `go test ./shared/infratest -run TestGCPRoleFiles -update`), every
//     grant against the deployment's model, no public or basic role;
//   - the workload identity federation of the interactivity function.
package infratest
