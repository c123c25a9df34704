package infratest

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/driftwatch/driftwatch/shared/azbus"
	"github.com/driftwatch/driftwatch/shared/azevent"
	"github.com/driftwatch/driftwatch/shared/azfetch"
	"github.com/driftwatch/driftwatch/shared/azfunc"
	"github.com/driftwatch/driftwatch/shared/azremedy"
)

// azureDir is the Azure Terraform root module, relative to this package.
var azureDir = filepath.Join("..", "..", "infra", "azure")

// federatedRoles are the AWS roles other clouds' functions assume with a
// web identity (infra/aws azure.tf and gcp.tf), checked by
// TestAzureFederationRole and TestGCPFederationRole rather than as Lambda
// roles.
var federatedRoles = []string{"azure_function", "gcp_function"}

// azureConfigDirs are the directories (relative to the repository root) of
// the Go code that reads the Azure function's environment: the handler's
// HTTP layer, the federation to the posture table (awsfed.FromEnv), the
// variables every function shares (fnenv), the pipeline's wiring and the
// function's main. The test requires Terraform
// to set what they read, or notDeployed to say why not.
func azureConfigDirs() []string {
	return []string{"shared/azfunc", "shared/awsfed", "shared/fnenv", "shared/azdetector", "functions/azure"}
}

// Where make package-azure puts things, and where the platform finds them.
const (
	// azurePackageSuffix ends the package's path under var.artifacts_dir:
	// the handler is built for linux/amd64, the only architecture of the
	// Linux Consumption plan.
	azurePackageSuffix = "/azure-function/amd64/function.zip"
	// azureGovernancePath: run from package mounts the package read-only
	// at /home/site/wwwroot.
	azureGovernancePath = "/home/site/wwwroot/governance.yaml"
)

// References the Azure tests compare with, as refersTo reads them.
const (
	azIdentity       = "azurerm_user_assigned_identity.function"
	azPrincipal      = azIdentity + ".principal_id"
	azDeployer       = "data.azurerm_client_config.current.object_id"
	azTenant         = "data.azurerm_client_config.current.tenant_id"
	azSubscription   = "data.azurerm_subscription.current.id"
	azFunctionApp    = "azurerm_linux_function_app.driftwatch"
	azEventsAudience = "azuread_application_identifier_uri.events"
	azAWSAudience    = "azuread_application_identifier_uri.aws_federation"
)

// azureEnvSpec is the Azure function's app settings as the code defines
// them.
func azureEnvSpec() envSpec {
	return envSpec{
		owner: "the Azure function",
		env: map[string]string{
			"DRIFTWATCH_TABLE":              "var.aws_table_name",
			"DRIFTWATCH_AWS_REGION":         "var.aws_region",
			"DRIFTWATCH_AWS_ROLE_ARN":       "var.aws_role_arn",
			"DRIFTWATCH_AWS_TOKEN_AUDIENCE": azAWSAudience,
			"DRIFTWATCH_GOVERNANCE_FILE":    "local.governance_file",
			"DRIFTWATCH_ACCOUNTS":           "var.accounts",
			"DRIFTWATCH_DISABLED_RULES":     "var.disabled_rules",
			"DRIFTWATCH_LOG_LEVEL":          "var.log_level",
			// The actions act only in the watched subscription.
			"DRIFTWATCH_AZURE_SUBSCRIPTIONS": "var.subscription_id",
			// Automatic fixes are published to the remediation topic.
			"DRIFTWATCH_REMEDIATION_TOPIC":  "azurerm_eventgrid_topic.remediation.endpoint",
			"DRIFTWATCH_EVENTGRID_TENANT":   azTenant,
			"DRIFTWATCH_EVENTGRID_AUDIENCE": azEventsAudience,
			"SLACK_CHANNEL":                 "var.slack_channel",
			"SLACK_BOT_TOKEN":               "azurerm_key_vault_secret.slack_bot_token.versionless_id",
		},
		platform: map[string]string{
			// azidentity's managed identity credential: which identity.
			"AZURE_CLIENT_ID":                              azIdentity + ".client_id",
			"AzureWebJobsStorage__credential":              "",
			"AzureWebJobsStorage__clientId":                azIdentity + ".client_id",
			"WEBSITE_RUN_FROM_PACKAGE":                     "azurerm_storage_blob.package",
			"WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID": azIdentity + ".id",
			"APPLICATIONINSIGHTS_AUTHENTICATION_STRING":    azIdentity + ".client_id",
		},
		configDirs: azureConfigDirs(),
		notDeployed: map[string]string{
			"DRIFTWATCH_EVENTGRID_SECRET": "deliveries carry Event Grid's Entra token (eventgrid.tf); the shared secret is azfunc's alternative for deployments without Entra applications (and a secret in the webhook URL never expires)",
			"DRIFTWATCH_STORE_FILE":       "a local embedded store for make demo; Azure uses the DynamoDB table",
			"DRIFTWATCH_AWS_TOKEN_FILE":   "a file holding the web identity token, for local runs; Azure gets the token from the managed identity",
			"DRIFTWATCH_AWS_ENDPOINT_URL": "the AWS emulator for local runs",
			"DRIFTWATCH_ARM_ENDPOINT":     "the fake ARM for local runs; Azure uses the public cloud's endpoint",
			"DRIFTWATCH_RULES_DIR":        "custom rules are optional (the package has the built-in ones)",
			"SLACK_API_URL":               "the recording Slack server for local runs",
		},
		governancePath: azureGovernancePath,
		file:           "infra/azure/function.tf (and azureEnvSpec)",
	}
}

// secretSetting names the settings whose value is a credential: they must
// be Key Vault references.
var secretSetting = regexp.MustCompile(`(TOKEN|SECRET|PASSWORD|KEY|CONNECTION_STRING)$`)

// TestAzureFunctionApp: one Linux function app running the custom
// handler, as the user-assigned identity only, from the package Terraform
// uploads, with the environment the code reads.
func TestAzureFunctionApp(t *testing.T) {
	m := loadModule(t, azureDir)
	for _, typ := range []string{"azurerm_windows_function_app", "azurerm_function_app_flex_consumption", "azurerm_linux_web_app", "azurerm_windows_web_app"} {
		if names := m.ofType(typ); len(names) > 0 {
			t.Errorf("%s %v: the function is the one azurerm_linux_function_app", typ, names)
		}
	}
	if got := m.ofType("azurerm_linux_function_app"); !slices.Equal(got, []string{"driftwatch"}) {
		t.Fatalf("function apps are %v, want [driftwatch]", got)
	}
	fn := m.resources[azFunctionApp]

	// The custom handler: FUNCTIONS_WORKER_RUNTIME=custom, host.json
	// starts `handler`.
	stack := nested(t, fn.Body, "site_config", "application_stack")
	if stack == nil || evalString(t, m, stack, "use_custom_runtime", nil) != "true" {
		t.Error(azFunctionApp + ": site_config.application_stack.use_custom_runtime must be true (the Go custom handler)")
	}
	if a := attr(fn.Body, "app_settings"); a != nil {
		if _, set := literalMap(t, azFunctionApp+": app_settings", a.Expr)["FUNCTIONS_WORKER_RUNTIME"]; set {
			t.Error(azFunctionApp + ": FUNCTIONS_WORKER_RUNTIME comes from use_custom_runtime, do not set it twice")
		}
	}
	if plan := m.resources["azurerm_service_plan.function"]; plan == nil || attr(fn.Body, "service_plan_id") == nil || !refersTo(attr(fn.Body, "service_plan_id").Expr, "azurerm_service_plan.function") {
		t.Error(azFunctionApp + " must run on azurerm_service_plan.function")
	} else {
		for name, want := range map[string]string{"os_type": "Linux", "sku_name": "Y1"} {
			if got := evalString(t, m, plan.Body, name, nil); got != want {
				t.Errorf("azurerm_service_plan.function: %s = %q, want %q (Linux Consumption: see function.tf)", name, got, want)
			}
		}
	}
	site := nested(t, fn.Body, "site_config")
	for _, c := range []struct {
		body       *hclsyntax.Body
		name, want string
		why        string
	}{
		{fn.Body, "functions_extension_version", "~4", "the Functions runtime custom handlers run on"},
		{fn.Body, "https_only", "true", "Event Grid delivers over HTTPS only; nothing else may"},
		{fn.Body, "ftp_publish_basic_authentication_enabled", "false", "no publishing credentials: the package comes from storage"},
		{fn.Body, "webdeploy_publish_basic_authentication_enabled", "false", "no publishing credentials: the package comes from storage"},
		{fn.Body, "storage_uses_managed_identity", "true", "the host's storage through the identity, never a key"},
		{fn.Body, "builtin_logging_enabled", "false", "logs go to Application Insights, not to the legacy storage dashboard"},
		{site, "minimum_tls_version", "1.2", "TLS 1.2 at least"},
		{site, "ftps_state", "Disabled", "no FTP at all"},
	} {
		if c.body == nil {
			continue
		}
		if got := evalString(t, m, c.body, c.name, nil); got != c.want {
			t.Errorf("%s: %s = %q, want %q (%s)", azFunctionApp, c.name, got, c.want, c.why)
		}
	}
	if attr(fn.Body, "storage_account_access_key") != nil {
		t.Error(azFunctionApp + ": storage_account_access_key puts a storage key in the app settings; the identity reads the storage")
	}

	// The identity: user-assigned only, also for Key Vault references.
	ids := blocks(fn.Body, "identity")
	if len(ids) != 1 || evalString(t, m, ids[0].Body, "type", nil) != "UserAssigned" ||
		attr(ids[0].Body, "identity_ids") == nil || !slices.Equal(refs(attr(ids[0].Body, "identity_ids").Expr), []string{azIdentity + ".id"}) {
		t.Errorf("%s: identity must be UserAssigned with exactly [%s.id]", azFunctionApp, azIdentity)
	}
	if a := attr(fn.Body, "key_vault_reference_identity_id"); a == nil || !refersTo(a.Expr, azIdentity+".id") {
		t.Errorf("%s: key_vault_reference_identity_id must be %s.id: the app has no other identity to resolve Key Vault references with", azFunctionApp, azIdentity)
	}

	// The package make package-azure builds, uploaded by Terraform; its
	// blob name carries its hash, so a new build restarts the function.
	blob := m.resources["azurerm_storage_blob.package"]
	if blob == nil {
		t.Fatal("azurerm_storage_blob.package is not declared")
	}
	if a := attr(blob.Body, "source"); a == nil || !slices.Equal(refs(a.Expr), []string{"local.package"}) {
		t.Error("azurerm_storage_blob.package: source must be local.package")
	} else if got := evalString(t, m, blob.Body, "source", nil); !strings.HasSuffix(got, azurePackageSuffix) {
		t.Errorf("azurerm_storage_blob.package: package %q does not end in %s, where make package-azure writes it", got, azurePackageSuffix)
	}
	if a := attr(blob.Body, "name"); a == nil || !callsOn(a.Expr, "filesha256", "local.package") {
		t.Error("azurerm_storage_blob.package: its name must contain filesha256(local.package), or a new build would not be run")
	}
	if a := attr(blob.Body, "storage_container_name"); a == nil || !refersTo(a.Expr, "azurerm_storage_container.package") {
		t.Error("azurerm_storage_blob.package must be in azurerm_storage_container.package")
	}

	a := attr(fn.Body, "app_settings")
	if a == nil {
		t.Fatal(azFunctionApp + " has no app_settings")
	}
	settings := literalMap(t, azFunctionApp+": app_settings", a.Expr)
	checkEnvMap(t, m, settings, azureEnvSpec())
	exact := map[string]string{
		"AzureWebJobsStorage__credential":           "managedidentity",
		"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "ClientId=<" + azIdentity + ".client_id>;Authorization=AAD",
		"WEBSITE_RUN_FROM_PACKAGE":                  "<azurerm_storage_blob.package.url>",
		// The audience Event Grid requests tokens for (its URI), and the
		// client id a v2.0 token would carry.
		"DRIFTWATCH_EVENTGRID_AUDIENCE": "<azuread_application_identifier_uri.events.identifier_uri>,<azuread_application.events.client_id>",
	}
	for name, want := range exact {
		if e, ok := settings[name]; ok {
			if ev, err := m.eval(e, nil); err != nil {
				t.Error(err)
			} else if got, _ := stringValue(ev.val); got != want {
				t.Errorf("%s of the Azure function is %q, want %q", name, got, want)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		if secretSetting.MatchString(name) {
			if _, ok := keyVaultReference(t, m, settings[name]); !ok {
				t.Errorf("%s of the Azure function is a credential: its value must be a Key Vault reference, never the value itself", name)
			}
		}
	}
}

// nested follows single nested blocks (site_config, then
// application_stack); nil when one is missing or repeated.
func nested(t *testing.T, body *hclsyntax.Body, path ...string) *hclsyntax.Body {
	t.Helper()
	for _, typ := range path {
		bs := blocks(body, typ)
		if len(bs) != 1 {
			t.Errorf("%s: want one %s block, have %d", body.SrcRange, typ, len(bs))
			return nil
		}
		body = bs[0].Body
	}
	return body
}

// callsOn reports whether expr calls function fn with an argument that
// references target.
func callsOn(expr hclsyntax.Expression, fn, target string) bool {
	found := false
	hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		if c, ok := n.(*hclsyntax.FunctionCallExpr); ok && c.Name == fn {
			for _, arg := range c.Args {
				if refersTo(arg, target) {
					found = true
				}
			}
		}
		return nil
	})
	return found
}

// kvReference is the app setting form of a Key Vault reference, with the
// secret's versionless URI (the latest version is used: a rotation needs
// no deployment).
var kvReference = regexp.MustCompile(`^@Microsoft\.KeyVault\(SecretUri=<azurerm_key_vault_secret\.([a-z0-9_]+)\.versionless_id>\)$`)

// keyVaultReference returns the Terraform name of the secret a setting
// references.
func keyVaultReference(t *testing.T, m *tfModule, e hcl.Expression) (string, bool) {
	t.Helper()
	ev, err := m.eval(e, nil)
	if err != nil {
		t.Error(err)
		return "", false
	}
	s, err := stringValue(ev.val)
	if err != nil {
		return "", false
	}
	sm := kvReference.FindStringSubmatch(s)
	if sm == nil {
		return "", false
	}
	return sm[1], true
}

// TestAzureSecrets: the Slack bot token lives in an RBAC-mode Key Vault
// with purge protection, its value never passes through Terraform, and the
// function reads it through a Key Vault reference.
func TestAzureSecrets(t *testing.T) {
	m := loadModule(t, azureDir)
	if got := m.ofType("azurerm_key_vault"); !slices.Equal(got, []string{"slack"}) {
		t.Fatalf("key vaults are %v, want [slack]", got)
	}
	kv := m.resources["azurerm_key_vault.slack"]
	for name, want := range map[string]string{
		"rbac_authorization_enabled": "true", // roles per secret, no access policies
		"purge_protection_enabled":   "true", // a deleted secret stays recoverable
		"soft_delete_retention_days": "90",
	} {
		if got := evalString(t, m, kv.Body, name, nil); got != want {
			t.Errorf("azurerm_key_vault.slack: %s = %s, want %s", name, got, want)
		}
	}
	if len(blocks(kv.Body, "access_policy")) > 0 || len(m.ofType("azurerm_key_vault_access_policy")) > 0 {
		t.Error("Key Vault access policies bypass RBAC: grant roles on the secrets instead")
	}

	fn := m.resources[azFunctionApp]
	if fn == nil || attr(fn.Body, "app_settings") == nil {
		t.Fatal(azFunctionApp + " has no app_settings")
	}
	referenced := map[string]bool{}
	for _, e := range literalMap(t, azFunctionApp+": app_settings", attr(fn.Body, "app_settings").Expr) {
		if name, ok := keyVaultReference(t, m, e); ok {
			referenced[name] = true
		}
	}
	secrets := m.ofType("azurerm_key_vault_secret")
	if len(secrets) == 0 {
		t.Error("no azurerm_key_vault_secret: the Slack bot token has nowhere to live")
	}
	for _, name := range secrets {
		key := "azurerm_key_vault_secret." + name
		s := m.resources[key]
		if a := attr(s.Body, "key_vault_id"); a == nil || !refersTo(a.Expr, "azurerm_key_vault.slack") {
			t.Errorf("%s is not in azurerm_key_vault.slack", key)
		}
		// value would be stored in the state, and so would every value
		// read back; value_wo with value_wo_version is neither.
		if attr(s.Body, "value") != nil {
			t.Errorf("%s: value puts the secret in the Terraform state: write a placeholder with value_wo and set the value with az keyvault secret set", key)
		}
		if attr(s.Body, "value_wo") == nil || attr(s.Body, "value_wo_version") == nil {
			t.Errorf("%s: want a write-only placeholder (value_wo and value_wo_version)", key)
		} else if len(refs(attr(s.Body, "value_wo").Expr)) > 0 {
			t.Errorf("%s: value_wo must be a literal placeholder, not a value passed in", key)
		}
		if ct := evalString(t, m, s.Body, "content_type", nil); !strings.Contains(ct, "az keyvault secret set") {
			t.Errorf("%s: content_type must say how to set the value", key)
		}
		if !referenced[name] {
			t.Errorf("%s is not read through a Key Vault reference app setting of the function", key)
		}
		delete(referenced, name)
	}
	for name := range referenced {
		t.Errorf("an app setting references azurerm_key_vault_secret.%s, which is not declared", name)
	}
	for name, b := range m.variables {
		if attr(b.Body, "sensitive") != nil || attr(b.Body, "ephemeral") != nil {
			t.Errorf("variable %s carries a secret value: secrets stay out of Terraform", name)
		}
	}
}

// azureFilters are the event subscription filters the code generates.
func azureFilters(t *testing.T) []azevent.SubscriptionFilter {
	t.Helper()
	filters, err := azevent.SubscriptionFilters(azevent.Table())
	if err != nil {
		t.Fatal(err)
	}
	return filters
}

// operatorType names an advanced_filter block type as ARM's operatorType
// does: string_in is StringIn.
func operatorType(block string) string {
	var sb strings.Builder
	for _, w := range strings.Split(block, "_") {
		if w != "" {
			sb.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return sb.String()
}

// countAt binds count.index.
func countAt(i int) map[string]cty.Value {
	return map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))})}
}

// advancedFilters evaluates an advanced_filter block (static and dynamic
// operator blocks) as ARM's advancedFilters, sorted, and returns the
// module files it read.
func advancedFilters(t *testing.T, m *tfModule, af *hclsyntax.Body, extra map[string]cty.Value) ([]azevent.AdvancedFilter, []string) {
	t.Helper()
	var out []azevent.AdvancedFilter
	var files []string
	one := func(typ string, body *hclsyntax.Body, ex map[string]cty.Value) {
		f := azevent.AdvancedFilter{OperatorType: operatorType(typ)}
		ka, va := attr(body, "key"), attr(body, "values")
		if ka == nil || va == nil {
			t.Errorf("%s: advanced filter %s needs key and values", body.SrcRange, typ)
			return
		}
		kv, err := m.eval(ka.Expr, ex)
		if err != nil {
			t.Fatal(err)
		}
		vv, err := m.eval(va.Expr, ex)
		if err != nil {
			t.Fatal(err)
		}
		f.Key, _ = stringValue(kv.val)
		if f.Values, err = stringList(vv.val); err != nil {
			t.Fatalf("%s: %v", va.SrcRange, err)
		}
		files = append(files, kv.files...)
		files = append(files, vv.files...)
		out = append(out, f)
	}
	for _, b := range af.Blocks {
		if b.Type != "dynamic" {
			one(b.Type, b.Body, extra)
			continue
		}
		typ := b.Labels[0]
		fe, content := attr(b.Body, "for_each"), blocks(b.Body, "content")
		if fe == nil || len(content) != 1 {
			t.Fatalf("%s: dynamic %s without for_each or content", b.DefRange(), typ)
		}
		ev, err := m.eval(fe.Expr, extra)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, ev.files...)
		if !ev.val.IsKnown() || !ev.val.CanIterateElements() {
			t.Fatalf("%s: for_each is not a known collection", fe.SrcRange)
		}
		for it := ev.val.ElementIterator(); it.Next(); {
			k, v := it.Element()
			ex := maps.Clone(extra)
			ex[typ] = cty.ObjectVal(map[string]cty.Value{"key": k, "value": v})
			one(typ, content[0].Body, ex)
		}
	}
	slices.SortFunc(out, func(a, b azevent.AdvancedFilter) int {
		return strings.Compare(a.OperatorType+" "+a.Key, b.OperatorType+" "+b.Key)
	})
	slices.Sort(files)
	return out, slices.Compact(files)
}

// TestAzureEventSubscriptions: the subscription's system topic, and one
// event subscription per filter of eventgrid-filter.json (which
// shared/azevent generates from its operation table), delivering to the
// function's resource-events route with Entra auth, retries and dead
// letters.
func TestAzureEventSubscriptions(t *testing.T) {
	m := loadModule(t, azureDir)
	if got := m.ofType("azurerm_eventgrid_system_topic"); !slices.Equal(got, []string{"subscription"}) {
		t.Fatalf("system topics are %v, want [subscription]", got)
	}
	topic := m.resources["azurerm_eventgrid_system_topic.subscription"]
	if got := evalString(t, m, topic.Body, "topic_type", nil); got != "Microsoft.Resources.Subscriptions" {
		t.Errorf("the system topic's type is %q, want Microsoft.Resources.Subscriptions (the subscription's resource events)", got)
	}
	if a := attr(topic.Body, "source_resource_id"); a == nil || !slices.Equal(refs(a.Expr), []string{azSubscription}) {
		t.Errorf("the system topic's source must be the subscription (%s)", azSubscription)
	}
	if got := evalString(t, m, topic.Body, "location", nil); got != "global" {
		t.Errorf("the system topic's location is %q; a subscription's system topic is global", got)
	}

	filters := azureFilters(t)
	file, err := os.ReadFile(filepath.Join(azureDir, "eventgrid-filter.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want, err := azevent.MarshalFilters(filters); err != nil || !bytes.Equal(file, want) {
		t.Errorf("infra/azure/eventgrid-filter.json differs from azevent.SubscriptionFilters(azevent.Table()) (%v): regenerate it with shared/azevent's -update", err)
	}

	if got := m.ofType("azurerm_eventgrid_system_topic_event_subscription"); !slices.Equal(got, []string{"events"}) {
		t.Fatalf("system topic event subscriptions are %v, want [events]", got)
	}
	sub := m.resources["azurerm_eventgrid_system_topic_event_subscription.events"]
	if a := attr(sub.Body, "system_topic"); a == nil || !refersTo(a.Expr, "azurerm_eventgrid_system_topic.subscription") {
		t.Error("the events subscription must be on azurerm_eventgrid_system_topic.subscription")
	}
	if n := evalString(t, m, sub.Body, "count", nil); n != strconv.Itoa(len(filters)) {
		t.Fatalf("the events subscription: count = %s, want one per filter (%d)", n, len(filters))
	}
	for i, want := range filters {
		extra := countAt(i)
		a := attr(sub.Body, "included_event_types")
		if a == nil {
			t.Fatal("the events subscription has no included_event_types")
		}
		ev, err := m.eval(a.Expr, extra)
		if err != nil {
			t.Fatal(err)
		}
		types, err := stringList(ev.val)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ev.files, []string{"eventgrid-filter.json"}) {
			t.Errorf("event subscription %d: included_event_types reads %v, want exactly eventgrid-filter.json", i, ev.files)
		}
		if !slices.Equal(types, want.IncludedEventTypes) {
			t.Errorf("event subscription %d: included_event_types %v, want %v", i, types, want.IncludedEventTypes)
		}
		afs := blocks(sub.Body, "advanced_filter")
		if len(afs) != 1 {
			t.Fatalf("event subscription %d: want one advanced_filter block, have %d", i, len(afs))
		}
		got, files := advancedFilters(t, m, afs[0].Body, extra)
		if !slices.Equal(files, []string{"eventgrid-filter.json"}) {
			t.Errorf("event subscription %d: advanced filters read %v, want exactly eventgrid-filter.json", i, files)
		}
		wantAF := slices.Clone(want.AdvancedFilters)
		slices.SortFunc(wantAF, func(a, b azevent.AdvancedFilter) int {
			return strings.Compare(a.OperatorType+" "+a.Key, b.OperatorType+" "+b.Key)
		})
		if !reflect.DeepEqual(got, wantAF) {
			t.Errorf("event subscription %d: advanced filters\n%+v\nwant (every operator of eventgrid-filter.json must have its block)\n%+v", i, got, wantAF)
		}
	}
	checkDelivery(t, m, sub, azfunc.ResourceEventsPath, 30, 1440)
}

// checkDelivery: an event subscription delivers to the function's route
// over HTTPS with an Entra token for the events application (no secret in
// the URL), retries as the route needs, then dead-letters with its
// topic's identity.
func checkDelivery(t *testing.T, m *tfModule, sub *hclsyntax.Block, path string, attempts, ttl int) {
	t.Helper()
	key := sub.Labels[0] + "." + sub.Labels[1]
	if got := evalString(t, m, sub.Body, "event_delivery_schema", nil); got != "EventGridSchema" {
		t.Errorf("%s: event_delivery_schema %q, want EventGridSchema (its SubscriptionValidationEvent handshake)", key, got)
	}
	hooks := blocks(sub.Body, "webhook_endpoint")
	if len(hooks) != 1 {
		t.Fatalf("%s: want one webhook_endpoint, have %d", key, len(hooks))
	}
	hook := hooks[0].Body
	if got, want := evalString(t, m, hook, "url", nil), "https://<"+azFunctionApp+".default_hostname>"+path; got != want {
		t.Errorf("%s: delivers to %q, want %q (shared/azfunc's route)", key, got, want)
	}
	if a := attr(hook, "active_directory_tenant_id"); a == nil || !refersTo(a.Expr, azTenant) {
		t.Errorf("%s: webhook_endpoint.active_directory_tenant_id must be %s (Entra-authenticated delivery)", key, azTenant)
	}
	if a := attr(hook, "active_directory_app_id_or_uri"); a == nil || !refersTo(a.Expr, azEventsAudience) {
		t.Errorf("%s: webhook_endpoint.active_directory_app_id_or_uri must be %s, the audience the function verifies", key, azEventsAudience)
	}
	for _, p := range blocks(sub.Body, "delivery_property") {
		if s := attr(p.Body, "secret"); s != nil {
			t.Errorf("%s: a secret delivery property: deliveries authenticate with Entra", key)
		}
	}
	retry := nested(t, sub.Body, "retry_policy")
	if retry != nil {
		if got := evalString(t, m, retry, "max_delivery_attempts", nil); got != strconv.Itoa(attempts) {
			t.Errorf("%s: max_delivery_attempts = %s, want %d", key, got, attempts)
		}
		if got := evalString(t, m, retry, "event_time_to_live", nil); got != strconv.Itoa(ttl) {
			t.Errorf("%s: event_time_to_live = %s minutes, want %d", key, got, ttl)
		}
	}
	if id := nested(t, sub.Body, "dead_letter_identity"); id != nil && evalString(t, m, id, "type", nil) != "SystemAssigned" {
		t.Errorf("%s: dead-letters with the topic's system-assigned identity (the storage allows no keys)", key)
	}
	if dl := nested(t, sub.Body, "storage_blob_dead_letter_destination"); dl != nil {
		if a := attr(dl, "storage_account_id"); a == nil || !refersTo(a.Expr, "azurerm_storage_account.function") {
			t.Errorf("%s: dead letters must go to azurerm_storage_account.function", key)
		}
		if a := attr(dl, "storage_blob_container_name"); a == nil || !refersTo(a.Expr, "azurerm_storage_container.dead_letters") {
			t.Errorf("%s: dead letters must go to azurerm_storage_container.dead_letters", key)
		}
	}
}

// TestAzureRemediationTopic: the custom topic remediation requests travel
// on (shared/azbus), Entra-only, and its subscription to the function's
// remediation route carrying exactly azbus's event types.
func TestAzureRemediationTopic(t *testing.T) {
	m := loadModule(t, azureDir)
	if got := m.ofType("azurerm_eventgrid_topic"); !slices.Equal(got, []string{"remediation"}) {
		t.Fatalf("custom topics are %v, want [remediation]", got)
	}
	topic := m.resources["azurerm_eventgrid_topic.remediation"]
	if got := evalString(t, m, topic.Body, "input_schema", nil); got != "EventGridSchema" {
		t.Errorf("azurerm_eventgrid_topic.remediation: input_schema %q, want EventGridSchema (azbus publishes Event Grid events)", got)
	}
	if got := evalString(t, m, topic.Body, "local_auth_enabled", nil); got != "false" {
		t.Error("azurerm_eventgrid_topic.remediation: local_auth_enabled must be false: publishers authenticate with Entra, no topic key exists")
	}
	if id := nested(t, topic.Body, "identity"); id != nil && evalString(t, m, id, "type", nil) != "SystemAssigned" {
		t.Error("azurerm_eventgrid_topic.remediation: it dead-letters with its system-assigned identity")
	}
	if got := m.ofType("azurerm_eventgrid_event_subscription"); !slices.Equal(got, []string{"remediation"}) {
		t.Fatalf("event subscriptions are %v, want [remediation]", got)
	}
	sub := m.resources["azurerm_eventgrid_event_subscription.remediation"]
	if a := attr(sub.Body, "scope"); a == nil || !slices.Equal(refs(a.Expr), []string{"azurerm_eventgrid_topic.remediation.id"}) {
		t.Error("azurerm_eventgrid_event_subscription.remediation must be on azurerm_eventgrid_topic.remediation")
	}
	a := attr(sub.Body, "included_event_types")
	if a == nil {
		t.Fatal("azurerm_eventgrid_event_subscription.remediation has no included_event_types")
	}
	ev, err := m.eval(a.Expr, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := stringList(ev.val)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := slices.Sorted(maps.Values(azbus.EventTypes)); !slices.Equal(got, want) {
		t.Errorf("the remediation subscription's event types are %v, want %v (azbus.EventTypes)", got, want)
	}
	// An approval is stale after an hour (as the AWS remediator's rule).
	checkDelivery(t, m, sub, azfunc.RemediationPath, 10, 60)
	if len(blocks(sub.Body, "advanced_filter")) > 0 || len(blocks(sub.Body, "subject_filter")) > 0 {
		t.Error("the remediation subscription filters on its event types only")
	}
}

// azurePolicyFile is the function's generated custom role actions,
// relative to infra/azure.
const azurePolicyFile = "policies/function.json"

// azureRoleSources are the code's declarations the function's custom role
// is generated from: the fetchers' reads and the remediation actions'
// writes (and the reads their pollers make).
func azureRoleSources() map[string]func() []string {
	return map[string]func() []string{
		"azfetch.Permissions":  azfetch.Permissions,
		"azremedy.Permissions": azremedy.Permissions,
	}
}

// azureFunctionActions is the union of azureRoleSources, sorted.
func azureFunctionActions(t *testing.T) []string {
	t.Helper()
	var out []string
	for name, perms := range azureRoleSources() {
		ps := perms()
		if len(ps) == 0 {
			t.Errorf("%s declares no permission", name)
		}
		out = append(out, ps...)
	}
	// RBAC compares actions case-insensitively: one spelling each.
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return slices.CompactFunc(out, strings.EqualFold)
}

// TestAzurePolicyFile: infra/azure/policies/function.json lists exactly
// the actions the code declares. -update rewrites it.
func TestAzurePolicyFile(t *testing.T) {
	actions := azureFunctionActions(t)
	for _, a := range actions {
		if strings.Contains(a, "*") || strings.Count(a, "/") < 2 {
			t.Errorf("declared action %q is a wildcard or malformed: declare exact actions", a)
		}
	}
	path := filepath.Join(azureDir, filepath.FromSlash(azurePolicyFile))
	body := marshalActions(actions)
	if *update {
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if got, err := os.ReadFile(path); err != nil {
		t.Errorf("infra/azure/%s: %v (generate it with: go test ./shared/infratest -run TestAzurePolicyFile -update)", azurePolicyFile, err)
	} else if !bytes.Equal(got, body) {
		var have []string
		_ = json.Unmarshal(got, &have)
		added, removed := diff(have, actions)
		t.Errorf("infra/azure/%s differs from the code (missing %v, not declared by the code %v); regenerate it with: go test ./shared/infratest -run TestAzurePolicyFile -update", azurePolicyFile, added, removed)
	}
	files, _ := filepath.Glob(filepath.Join(azureDir, "policies", "*"))
	for _, f := range files {
		if rel := "policies/" + filepath.Base(f); rel != azurePolicyFile {
			t.Errorf("infra/azure/%s belongs to no role: remove it", rel)
		}
	}
}

// azureGrant is one role assignment the deployment needs.
type azureGrant struct {
	// role is a built-in role's name, or the reference of a custom role
	// definition.
	role string
	// scope and principal are the references scope and principal_id must
	// come from.
	scope, principal string
}

// azureGrants is every role assignment of the deployment, by Terraform
// name: what the function's identity, the topics' identities, the AWS
// publisher and the deployer each hold, and on what.
func azureGrants() map[string]azureGrant {
	return map[string]azureGrant{
		// The function on the watched subscription: the generated role only.
		"function": {"azurerm_role_definition.function", azSubscription, azPrincipal},
		// Its own resources.
		"function_storage":         {"Storage Blob Data Owner", "azurerm_storage_account.function.id", azPrincipal},
		"function_slack_bot_token": {"Key Vault Secrets User", "azurerm_key_vault_secret.slack_bot_token.resource_versionless_id", azPrincipal},
		"function_telemetry":       {"Monitoring Metrics Publisher", "azurerm_application_insights.function.id", azPrincipal},
		// Automatic fixes: the function publishes to its remediation topic only.
		"function_remediation_publisher": {"EventGrid Data Sender", "azurerm_eventgrid_topic.remediation.id", azPrincipal},
		// Each topic dead-letters into the dead-letter container only.
		"subscription_topic_dead_letters": {"Storage Blob Data Contributor", "azurerm_storage_container.dead_letters.id", "azurerm_eventgrid_system_topic.subscription.identity"},
		"remediation_topic_dead_letters":  {"Storage Blob Data Contributor", "azurerm_storage_container.dead_letters.id", "azurerm_eventgrid_topic.remediation.identity"},
		// The AWS interactivity function publishes remediation requests.
		"remediation_publisher": {"EventGrid Data Sender", "azurerm_eventgrid_topic.remediation.id", "azuread_service_principal.remediation_publisher.object_id"},
		// Terraform's own data-plane writes.
		"deployer_package": {"Storage Blob Data Contributor", "azurerm_storage_container.package.id", azDeployer},
		"deployer_secrets": {"Key Vault Secrets Officer", "azurerm_key_vault.slack.id", azDeployer},
	}
}

// TestAzureRoles: the function's custom role holds exactly the generated
// actions, on the subscription, assigned to its identity only; every
// other role assignment is one the deployment needs, nothing broader.
func TestAzureRoles(t *testing.T) {
	m := loadModule(t, azureDir)
	if got := m.ofType("azurerm_role_definition"); !slices.Equal(got, []string{"function"}) {
		t.Fatalf("custom roles are %v, want [function]", got)
	}
	def := m.resources["azurerm_role_definition.function"]
	if a := attr(def.Body, "scope"); a == nil || !slices.Equal(refs(a.Expr), []string{azSubscription}) {
		t.Error("azurerm_role_definition.function: scope must be the subscription")
	}
	if a := attr(def.Body, "assignable_scopes"); a == nil || !slices.Equal(refs(a.Expr), []string{azSubscription}) {
		t.Error("azurerm_role_definition.function: assignable_scopes must be [the subscription]")
	}
	perms := blocks(def.Body, "permissions")
	if len(perms) != 1 {
		t.Fatalf("azurerm_role_definition.function: want one permissions block, have %d", len(perms))
	}
	for _, name := range []string{"not_actions", "data_actions", "not_data_actions"} {
		if attr(perms[0].Body, name) != nil {
			t.Errorf("azurerm_role_definition.function: %s: the role is exactly the generated actions", name)
		}
	}
	a := attr(perms[0].Body, "actions")
	if a == nil {
		t.Fatal("azurerm_role_definition.function has no actions")
	}
	ev, err := m.eval(a.Expr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ev.files, []string{azurePolicyFile}) {
		t.Errorf("the function's role reads %v, want exactly %s (generated from the code)", ev.files, azurePolicyFile)
	}
	actions, err := stringList(ev.val)
	if err != nil {
		t.Fatal(err)
	}
	if want := azureFunctionActions(t); !slices.Equal(actions, want) {
		added, removed := diff(actions, want)
		t.Errorf("the function's role: missing %v, not declared by the code %v", added, removed)
	}
	for _, act := range actions {
		if strings.Contains(act, "*") {
			t.Errorf("the function's role has the wildcard action %q", act)
		}
	}

	want := azureGrants()
	got := m.ofType("azurerm_role_assignment")
	if names := slices.Sorted(maps.Keys(want)); !slices.Equal(got, names) {
		t.Errorf("role assignments are %v, want %v (azureGrants)", got, names)
	}
	for _, name := range got {
		key := "azurerm_role_assignment." + name
		ra := m.resources[key]
		g, ok := want[name]
		if !ok {
			continue
		}
		builtin, custom := attr(ra.Body, "role_definition_name"), attr(ra.Body, "role_definition_id")
		switch {
		case strings.HasPrefix(g.role, "azurerm_role_definition."):
			if custom == nil || !refersTo(custom.Expr, g.role) || builtin != nil {
				t.Errorf("%s must assign %s", key, g.role)
			}
		case builtin == nil || custom != nil:
			t.Errorf("%s must assign the built-in role %q by name", key, g.role)
		default:
			if r := evalString(t, m, ra.Body, "role_definition_name", nil); r != g.role {
				t.Errorf("%s assigns %q, want %q", key, r, g.role)
			}
		}
		if s := attr(ra.Body, "scope"); s == nil || !slices.Equal(refs(s.Expr), []string{g.scope}) {
			t.Errorf("%s: scope must be %s", key, g.scope)
		}
		if p := attr(ra.Body, "principal_id"); p == nil || !refersTo(p.Expr, g.principal) {
			t.Errorf("%s: principal must be %s", key, g.principal)
		}
	}
	// The model itself: the function's identity publishes only to its
	// remediation topic (automatic fixes), and no one gets a role that
	// manages everything or grants roles.
	for name, g := range want {
		if g.principal == azPrincipal && g.role == "EventGrid Data Sender" && g.scope != "azurerm_eventgrid_topic.remediation.id" {
			t.Errorf("azureGrants %s: the function's identity publishes to the remediation topic only, not %s", name, g.scope)
		}
		switch g.role {
		case "Owner", "Contributor", "User Access Administrator", "Role Based Access Control Administrator":
			t.Errorf("azureGrants %s: %s is far broader than anything the code declares", name, g.role)
		}
	}
}

// TestAzureEntra: the three Entra applications have no credential of
// their own; the audiences issue v1 tokens only to the callers assigned
// their role; the remediation publisher trusts only the AWS interactivity
// role's tokens.
func TestAzureEntra(t *testing.T) {
	m := loadModule(t, azureDir)
	for _, typ := range []string{"azuread_application_password", "azuread_service_principal_password", "azuread_application_certificate", "azuread_service_principal_certificate"} {
		if names := m.ofType(typ); len(names) > 0 {
			t.Errorf("%s %v: no Entra application has a secret or certificate", typ, names)
		}
	}
	if got := m.ofType("azuread_application"); !slices.Equal(got, []string{"aws_federation", "events", "remediation_publisher"}) {
		t.Fatalf("Entra applications are %v, want [aws_federation events remediation_publisher]", got)
	}
	for _, c := range []struct{ app, role string }{
		{"events", azfunc.EventGridSubscriberRole}, // the role Event Grid requires, and azfunc checks
		{"aws_federation", "AssumeAwsPostureRole"},
	} {
		app := m.resources["azuread_application."+c.app]
		if api := nested(t, app.Body, "api"); api != nil && evalString(t, m, api, "requested_access_token_version", nil) != "1" {
			t.Errorf("azuread_application.%s: requested_access_token_version must be 1 (issuer https://sts.windows.net/<tenant>/, as the AWS OIDC provider and shared/azfunc expect)", c.app)
		}
		roles := blocks(app.Body, "app_role")
		if len(roles) != 1 || evalString(t, m, roles[0].Body, "value", nil) != c.role {
			t.Errorf("azuread_application.%s: want the one app role %s", c.app, c.role)
		}
		uri := m.resources["azuread_application_identifier_uri."+c.app]
		if uri == nil || attr(uri.Body, "application_id") == nil || !refersTo(attr(uri.Body, "application_id").Expr, "azuread_application."+c.app) {
			t.Errorf("azuread_application_identifier_uri.%s must name azuread_application.%s", c.app, c.app)
		} else if got := evalString(t, m, uri.Body, "identifier_uri", nil); got != "api://<azuread_application."+c.app+".client_id>" {
			t.Errorf("azuread_application_identifier_uri.%s is %q, want api://<client id>", c.app, got)
		}
		sp := m.resources["azuread_service_principal."+c.app]
		if sp == nil || evalString(t, m, sp.Body, "app_role_assignment_required", nil) != "true" {
			t.Errorf("azuread_service_principal.%s: app_role_assignment_required must be true: only assigned callers get tokens for it", c.app)
		}
	}
	if sp := m.resources["azuread_service_principal.eventgrid"]; sp == nil || evalString(t, m, sp.Body, "client_id", nil) != azfunc.EventGridAppID {
		t.Errorf("azuread_service_principal.eventgrid must be Microsoft.EventGrid (%s)", azfunc.EventGridAppID)
	}
	// Who may get a token for which audience.
	assignments := map[string][2]string{ // name -> principal, resource
		"eventgrid_delivers":  {"azuread_service_principal.eventgrid.object_id", "azuread_service_principal.events.object_id"},
		"deployer_subscribes": {"data.azuread_client_config.current.object_id", "azuread_service_principal.events.object_id"},
		"function_federates":  {azPrincipal, "azuread_service_principal.aws_federation.object_id"},
	}
	if got := m.ofType("azuread_app_role_assignment"); !slices.Equal(got, slices.Sorted(maps.Keys(assignments))) {
		t.Errorf("app role assignments are %v, want %v", got, slices.Sorted(maps.Keys(assignments)))
	}
	for name, w := range assignments {
		ra := m.resources["azuread_app_role_assignment."+name]
		if ra == nil {
			continue
		}
		if p := attr(ra.Body, "principal_object_id"); p == nil || !slices.Equal(refs(p.Expr), []string{w[0]}) {
			t.Errorf("azuread_app_role_assignment.%s: principal must be %s", name, w[0])
		}
		if r := attr(ra.Body, "resource_object_id"); r == nil || !slices.Equal(refs(r.Expr), []string{w[1]}) {
			t.Errorf("azuread_app_role_assignment.%s: resource must be %s", name, w[1])
		}
	}

	if got := m.ofType("azuread_application_federated_identity_credential"); !slices.Equal(got, []string{"remediation_publisher"}) {
		t.Fatalf("federated credentials are %v, want [remediation_publisher]", got)
	}
	fic := m.resources["azuread_application_federated_identity_credential.remediation_publisher"]
	for name, want := range map[string]string{
		"application_id": "azuread_application.remediation_publisher",
		"issuer":         "var.aws_outbound_issuer",
		"subject":        "var.aws_interactivity_role_arn",
	} {
		if a := attr(fic.Body, name); a == nil || len(refs(a.Expr)) != 1 || !refersTo(a.Expr, want) {
			t.Errorf("the remediation publisher's federated credential: %s must be %s", name, want)
		}
	}
	if a := attr(fic.Body, "audiences"); a == nil {
		t.Error("the remediation publisher's federated credential has no audiences")
	} else if ev, err := m.eval(a.Expr, nil); err != nil {
		t.Error(err)
	} else if got, _ := stringList(ev.val); !slices.Equal(got, []string{"api://AzureADTokenExchange"}) {
		t.Errorf("the remediation publisher's federated credential: audiences %v, want [api://AzureADTokenExchange] (Entra's token exchange audience)", got)
	}
}

// TestAzureOutputsAndVariables: the outputs the deployment steps need
// (README), and every input typed and documented.
func TestAzureOutputsAndVariables(t *testing.T) {
	m := loadModule(t, azureDir)
	for out, want := range map[string]string{
		"function_app_name":               azFunctionApp + ".name",
		"events_endpoint":                 "local.events_url",
		"remediation_topic_endpoint":      "azurerm_eventgrid_topic.remediation.endpoint",
		"identity_principal_id":           azPrincipal,
		"tenant_id":                       azTenant,
		"aws_token_audience":              azAWSAudience,
		"remediation_publisher_client_id": "azuread_application.remediation_publisher.client_id",
		"key_vault_name":                  "azurerm_key_vault.slack.name",
	} {
		o := m.outputs[out]
		if o == nil {
			t.Errorf("output %s is missing", out)
			continue
		}
		if a := attr(o.Body, "value"); a == nil || !refersTo(a.Expr, want) {
			t.Errorf("output %s must be %s", out, want)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.variables)) {
		b := m.variables[name]
		if attr(b.Body, "description") == nil {
			t.Errorf("variable %s has no description", name)
		}
		if attr(b.Body, "type") == nil {
			t.Errorf("variable %s has no type", name)
		}
	}
}

// TestAzureFederationRole: infra/aws's optional role for the Azure
// function: absent by default; once azure_function is set, trusting only
// that tenant's tokens for that audience and that identity, and granting
// the posture table only.
func TestAzureFederationRole(t *testing.T) {
	keys := []string{
		"aws_iam_openid_connect_provider.azure",
		"aws_iam_role.azure_function",
		"aws_iam_role_policy.azure_function",
	}
	dataKeys := []string{"aws_iam_policy_document.azure_function_assume", "aws_iam_policy_document.azure_function"}
	counts := func(m *tfModule) map[string]string {
		out := map[string]string{}
		for _, k := range keys {
			if b := m.resources[k]; b == nil {
				t.Fatalf("%s is not declared in infra/aws", k)
			} else {
				out[k] = evalString(t, m, b.Body, "count", nil)
			}
		}
		for _, k := range dataKeys {
			if b := m.data[k]; b == nil {
				t.Fatalf("data.%s is not declared in infra/aws", k)
			} else {
				out[k] = evalString(t, m, b.Body, "count", nil)
			}
		}
		return out
	}
	m := loadModule(t, infraDir)
	for k, n := range counts(m) {
		if n != "0" {
			t.Errorf("%s: count = %s by default, want 0 (no Azure trust until azure_function is set)", k, n)
		}
	}

	const (
		tenant    = "0f0e0d0c-0b0a-4909-8807-060504030201"
		audience  = "api://11111111-2222-4333-8444-555555555555"
		principal = "99999999-8888-4777-8666-555555555555"
	)
	m.withVars(map[string]cty.Value{"azure_function": cty.ObjectVal(map[string]cty.Value{
		"tenant_id": cty.StringVal(tenant), "audience": cty.StringVal(audience), "principal_id": cty.StringVal(principal),
	})})
	for k, n := range counts(m) {
		if n != "1" {
			t.Errorf("%s: count = %s with azure_function set, want 1", k, n)
		}
	}
	one := countAt(0)

	oidc := m.resources["aws_iam_openid_connect_provider.azure"]
	if got := evalString(t, m, oidc.Body, "url", one); got != "https://sts.windows.net/"+tenant+"/" {
		t.Errorf("the Azure OIDC provider is %q, want Entra's v1 issuer https://sts.windows.net/<tenant>/", got)
	}
	if a := attr(oidc.Body, "client_id_list"); a == nil {
		t.Error("the Azure OIDC provider has no client_id_list")
	} else if ev, err := m.eval(a.Expr, one); err != nil {
		t.Error(err)
	} else if got, _ := stringList(ev.val); !slices.Equal(got, []string{audience}) {
		t.Errorf("the Azure OIDC provider accepts audiences %v, want [%s]", got, audience)
	}

	role := m.resources["aws_iam_role.azure_function"]
	if a := attr(role.Body, "assume_role_policy"); a == nil || !refersTo(a.Expr, "data.aws_iam_policy_document.azure_function_assume") {
		t.Error("aws_iam_role.azure_function must trust data.aws_iam_policy_document.azure_function_assume")
	}
	if attr(role.Body, "managed_policy_arns") != nil || len(blocks(role.Body, "inline_policy")) > 0 {
		t.Error("aws_iam_role.azure_function: managed_policy_arns / inline_policy bypass the checked policy")
	}
	name := evalString(t, m, role.Body, "name", one)
	if o := m.outputs["azure_function_role_arn"]; o == nil {
		t.Error("output azure_function_role_arn is missing (infra/azure's aws_role_arn)")
	} else if got := evalString(t, m, o.Body, "value", nil); !strings.HasSuffix(got, ":role/"+name) {
		t.Errorf("output azure_function_role_arn is %q, which does not name the role %s", got, name)
	}
	for _, p := range m.ofType("aws_iam_role_policy_attachment") {
		if a := attr(m.resources["aws_iam_role_policy_attachment."+p].Body, "role"); a != nil && refersTo(a.Expr, "aws_iam_role.azure_function") {
			t.Errorf("aws_iam_role_policy_attachment.%s: the Azure function's role gets one checked inline policy only", p)
		}
	}

	trust := m.data["aws_iam_policy_document.azure_function_assume"]
	stmts := blocks(trust.Body, "statement")
	if len(stmts) != 1 || len(trust.Body.Blocks) != 1 {
		t.Fatal("the Azure function's trust policy must be one statement")
	}
	st := stmts[0].Body
	if ev, err := m.eval(attr(st, "actions").Expr, one); err != nil {
		t.Error(err)
	} else if got, _ := stringList(ev.val); !slices.Equal(got, []string{"sts:AssumeRoleWithWebIdentity"}) {
		t.Errorf("the Azure function's trust policy allows %v, want [sts:AssumeRoleWithWebIdentity]", got)
	}
	ps := blocks(st, "principals")
	if len(ps) != 1 || evalString(t, m, ps[0].Body, "type", one) != "Federated" || attr(ps[0].Body, "identifiers") == nil ||
		len(refs(attr(ps[0].Body, "identifiers").Expr)) != 1 || !refersTo(attr(ps[0].Body, "identifiers").Expr, "aws_iam_openid_connect_provider.azure") {
		t.Error("the Azure function's trust policy must name one principal: Federated, aws_iam_openid_connect_provider.azure")
	}
	conds := map[string][]string{}
	for _, c := range blocks(st, "condition") {
		if test := evalString(t, m, c.Body, "test", one); test != "StringEquals" {
			t.Errorf("the Azure function's trust condition uses %s, want StringEquals (exact values)", test)
		}
		ev, err := m.eval(attr(c.Body, "values").Expr, one)
		if err != nil {
			t.Fatal(err)
		}
		vals, _ := stringList(ev.val)
		conds[evalString(t, m, c.Body, "variable", one)] = vals
	}
	issuer := "sts.windows.net/" + tenant + "/"
	if want := map[string][]string{issuer + ":aud": {audience}, issuer + ":sub": {principal}}; !reflect.DeepEqual(conds, want) {
		t.Errorf("the Azure function's trust conditions are %v, want %v: the audience and the identity's principal id, both pinned", conds, want)
	}

	// Its policy: the posture table, as the Lambda roles have it, and
	// nothing else.
	pol := m.resources["aws_iam_role_policy.azure_function"]
	if a := attr(pol.Body, "role"); a == nil || !refersTo(a.Expr, "aws_iam_role.azure_function") {
		t.Error("aws_iam_role_policy.azure_function is not on aws_iam_role.azure_function")
	}
	if a := attr(pol.Body, "policy"); a == nil || !refersTo(a.Expr, "data.aws_iam_policy_document.azure_function") {
		t.Error("aws_iam_role_policy.azure_function must be data.aws_iam_policy_document.azure_function")
	}
	got := map[string][]string{}
	for _, b := range m.data["aws_iam_policy_document.azure_function"].Body.Blocks {
		if b.Type != "statement" {
			t.Fatalf("%s: only static statements are expected", b.DefRange())
		}
		s, err := m.policyStatement(b.Body, one)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.resources {
			got[r] = append(got[r], s.actions...)
		}
	}
	for r := range got {
		slices.Sort(got[r])
		got[r] = slices.Compact(got[r])
	}
	table := tableActions(t)
	want := map[string][]string{"<aws_dynamodb_table.posture.arn>": table}
	if slices.Contains(table, "dynamodb:Query") {
		want["<aws_dynamodb_table.posture.arn>/index/gsi1"] = []string{"dynamodb:Query"}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the Azure function's AWS policy grants %v, want %v (the posture store's calls only)", got, want)
	}

	// The names infra/aws's variable and outputs use are infra/azure's
	// outputs.
	az := loadModule(t, azureDir)
	for _, out := range []string{"tenant_id", "aws_token_audience", "identity_principal_id"} {
		if az.outputs[out] == nil {
			t.Errorf("infra/azure has no output %s, which infra/aws's azure_function documents", out)
		}
	}
	for _, v := range []string{"aws_role_arn", "aws_interactivity_role_arn"} {
		if az.variables[v] == nil {
			t.Errorf("infra/azure has no variable %s, which infra/aws's outputs feed", v)
		}
	}
	if m.outputs["interactivity_role_arn"] == nil {
		t.Error("infra/aws has no output interactivity_role_arn (infra/azure's aws_interactivity_role_arn)")
	}
}

// TestAzureFunctionPackage: what infra/azure assumes of the package
// functions/azure makes: the host starts `handler` with the original
// requests forwarded, under the route prefix of the event subscriptions'
// URLs, and the functions take no function key (the webhook URLs carry
// none: the handler checks Event Grid's Entra token itself).
func TestAzureFunctionPackage(t *testing.T) {
	dir := filepath.Join("..", "..", "functions", "azure")
	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
			EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
		} `json:"customHandler"`
		Extensions struct {
			HTTP struct {
				RoutePrefix *string `json:"routePrefix"`
			} `json:"http"`
		} `json:"extensions"`
	}
	readJSON(t, filepath.Join(dir, "host.json"), &host)
	if got := host.CustomHandler.Description.DefaultExecutablePath; got != "handler" {
		t.Errorf("functions/azure/host.json starts %q; the package's binary is handler", got)
	}
	if !host.CustomHandler.EnableForwardingHTTPRequest {
		t.Error("functions/azure/host.json: enableForwardingHttpRequest must be true: Event Grid's requests reach the handler as sent")
	}
	if p := host.Extensions.HTTP.RoutePrefix; p != nil && *p != "api" {
		t.Errorf("functions/azure/host.json: routePrefix %q, but the event subscriptions deliver under /api/", *p)
	}
	for _, path := range []string{azfunc.ResourceEventsPath, azfunc.RemediationPath} {
		name := strings.TrimPrefix(path, "/api/")
		var fn struct {
			Bindings []struct {
				Type      string   `json:"type"`
				AuthLevel string   `json:"authLevel"`
				Methods   []string `json:"methods"`
				Route     string   `json:"route"`
			} `json:"bindings"`
		}
		readJSON(t, filepath.Join(dir, name, "function.json"), &fn)
		triggers := 0
		for _, b := range fn.Bindings {
			if b.Type != "httpTrigger" {
				continue
			}
			triggers++
			if b.AuthLevel != "anonymous" {
				t.Errorf("functions/azure/%s: authLevel %q; the webhook URL carries no function key (Entra auth is the handler's)", name, b.AuthLevel)
			}
			if !slices.Contains(b.Methods, "post") {
				t.Errorf("functions/azure/%s: Event Grid POSTs, the trigger allows %v", name, b.Methods)
			}
			if b.Route != "" && b.Route != name {
				t.Errorf("functions/azure/%s: route %q, but the event subscription delivers to %s", name, b.Route, path)
			}
		}
		if triggers != 1 {
			t.Errorf("functions/azure/%s: want one httpTrigger, have %d", name, triggers)
		}
	}
}

// readJSON decodes a file, failing the test on any error.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
