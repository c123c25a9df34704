package azevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
)

// The documentation's storage account write (Event Grid schema): a real
// event shape with a user's claims and an httpRequest, placeholders for
// values. Cases edit it into the operations the corpus has no event of.
const docsWrite = "eventgrid-schema/docs_subscription-topic_ResourceWriteSuccess.json"

// corpusEvent returns the single event of an Event Grid schema corpus file,
// decoded for editing.
func corpusEvent(t *testing.T, file string) map[string]any {
	t.Helper()
	var evs []map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join(corpusDir(t), file)), &evs); err != nil || len(evs) != 1 {
		t.Fatalf("%s: %d events (%v)", file, len(evs), err)
	}
	return evs[0]
}

// activityRecord returns the operationName and resourceId of one record of
// panther's Activity Log fixtures (line numbers from 1), which hold real
// resource ids for operations the Event Grid samples lack.
func activityRecord(t *testing.T, line int) (op, resourceID string) {
	t.Helper()
	ins := jsonlInputs(t, filepath.Join(corpusDir(t), "activity-log", "panther_activity-log-records.jsonl"), "panther")
	if line < 1 || line > len(ins) {
		t.Fatalf("panther has %d records, no line %d", len(ins), line)
	}
	var rec struct {
		OperationName string `json:"operationName"`
		ResourceID    string `json:"resourceId"`
	}
	if err := json.Unmarshal(ins[line-1].raw, &rec); err != nil || rec.OperationName == "" || rec.ResourceID == "" {
		t.Fatalf("panther line %d: %v", line, err)
	}
	return rec.OperationName, rec.ResourceID
}

// eventTypeOf is the success event ARM raises for op. ARM raises none for
// a read; one delivered anyway (as an action) must still be dropped.
func eventTypeOf(op string) string {
	typ, err := successEventType(op)
	if err != nil {
		return azsystemevents.TypeResourceActionSuccess
	}
	return typ
}

// ref is the expected part of a resource reference.
type ref struct{ typ, id, name, account string }

const (
	pantherSub = "12345678-1234-1234-1234-123456789abc"
	pantherRG  = "/subscriptions/" + pantherSub + "/resourcegroups/myresourcegroup/providers/"
	docsSub    = "{subscription-id}"
	docsRG     = "/subscriptions/{subscription-id}/resourcegroups/{resource-group}/providers/"
)

// opCase normalizes the documentation's write event, unedited or carrying
// another operation: from an Activity Log record of the corpus (its
// operationName and resourceId), or, where the corpus has no record of the
// operation, from the resource id the case gives. Edits keep the event's
// envelope and claims and set eventType to the event the operation raises.
type opCase struct {
	label    string
	src      string // corpus file (default docsWrite)
	activity int    // panther line whose operation and resource id the event carries
	op, uri  string // set when the corpus has no record of the operation
	want     *ref
	drop     change.DropReason
}

func TestOperations(t *testing.T) {
	storage := func(sub, prefix, name string) *ref {
		return &ref{azres.TypeStorageAccount, prefix + "microsoft.storage/storageaccounts/" + strings.ToLower(name), name, sub}
	}
	nsg := &ref{azres.TypeNSG, pantherRG + "microsoft.network/networksecuritygroups/mynsg", "mynsg", pantherSub}
	sqlServer := &ref{azres.TypeSQLServer, pantherRG + "microsoft.sql/servers/mysqlserver", "mysqlserver", pantherSub}
	const server = "/subscriptions/" + pantherSub + "/resourceGroups/myresourcegroup/providers/Microsoft.SQL/servers/mysqlserver"
	sqlDB := &ref{azres.TypeSQLDatabase, pantherRG + "microsoft.sql/servers/mysqlserver/databases/orders", "orders", pantherSub}
	vault := &ref{azres.TypeKeyVault, pantherRG + "microsoft.keyvault/vaults/mykeyvault", "mykeyvault", pantherSub}
	sub := &ref{azres.TypeSubscription, "/subscriptions/" + pantherSub, pantherSub, pantherSub}

	cases := []opCase{
		// Storage accounts.
		{label: "docs write, unedited", want: storage(docsSub, docsRG, "{storage-name}")},
		{label: "docs delete, unedited", src: "eventgrid-schema/docs_subscription-topic_ResourceDeleteSuccess.json",
			want: storage(docsSub, docsRG, "{storage-name}")},
		{label: "panther: Public Access Enabled", activity: 145, want: storage(pantherSub, pantherRG, "mystorageaccount")},
		{label: "panther: lower-case operation", activity: 146,
			want: storage(pantherSub, "/subscriptions/"+pantherSub+"/resourcegroups/prod-rg/providers/", "prodstorage")},
		{label: "panther: Storage Account Deleted", activity: 133, want: storage(pantherSub, pantherRG, "mystorageaccount")},
		{label: "panther: Storage Account Keys Listed", activity: 142, drop: change.ReasonReadOnly},
		{label: "panther: regenerateKey changes no setting a rule reads", activity: 146, op: "Microsoft.Storage/storageAccounts/regenerateKey/action",
			uri: "/subscriptions/" + pantherSub + "/resourceGroups/prod-rg/providers/Microsoft.Storage/storageAccounts/prodstorage", drop: change.ReasonUnsupported},
		{label: "panther: blob service settings are not evaluated", activity: 148, drop: change.ReasonUnsupported},
		{label: "docs action, unedited: listKeys", src: "eventgrid-schema/docs_subscription-topic_ResourceActionSuccess.json", drop: change.ReasonReadOnly},

		// Network security groups.
		{label: "panther: NSG Modified", activity: 88, want: nsg},
		{label: "panther: NSG Deleted Successfully", activity: 87, want: nsg},
		{label: "panther: Security Rule Created", activity: 89, want: nsg},
		{label: "panther: Security Rule Deleted", activity: 90, want: nsg},
		{label: "panther: NSG read", activity: 94, drop: change.ReasonReadOnly},
		{label: "panther: NSG Join Action", activity: 91, drop: change.ReasonUnsupported},
		{label: "edited: a security rule write naming the NSG itself", op: "Microsoft.Network/networkSecurityGroups/securityRules/write",
			uri:  "/subscriptions/" + pantherSub + "/resourceGroups/myresourcegroup/providers/Microsoft.Network/networkSecurityGroups/mynsg",
			drop: change.ReasonNoResource},

		// SQL servers and databases: the corpus has server writes and
		// deletes; children are edited under the same server.
		{label: "panther: SQL server write", activity: 132, want: sqlServer},
		{label: "panther: SQL Server Deleted Successfully", activity: 130, want: sqlServer},
		{label: "edited: firewall rule write", op: "Microsoft.Sql/servers/firewallRules/write", uri: server + "/firewallRules/AllowAll", want: sqlServer},
		{label: "edited: firewall rule delete", op: "Microsoft.Sql/servers/firewallRules/delete", uri: server + "/firewallRules/AllowAll", want: sqlServer},
		{label: "edited: auditing settings", op: "Microsoft.Sql/servers/auditingSettings/write", uri: server + "/auditingSettings/default", want: sqlServer},
		{label: "edited: extended auditing settings", op: "Microsoft.Sql/servers/extendedAuditingSettings/write", uri: server + "/extendedAuditingSettings/default", want: sqlServer},
		{label: "edited: database write", op: "Microsoft.Sql/servers/databases/write", uri: server + "/databases/orders", want: sqlDB},
		{label: "edited: database delete", op: "Microsoft.Sql/servers/databases/delete", uri: server + "/databases/orders", want: sqlDB},
		{label: "edited: TDE", op: "Microsoft.Sql/servers/databases/transparentDataEncryption/write", uri: server + "/databases/orders/transparentDataEncryption/current", want: sqlDB},

		// Key Vaults.
		{label: "panther: Key Vault write", activity: 49, want: vault},
		{label: "panther: Key Vault Deleted", activity: 47, want: vault},
		{label: "panther: secret data-plane write", activity: 63, drop: change.ReasonUnsupported},

		// Activity Log diagnostic settings: subscription scope only.
		{label: "edited: subscription diagnostic setting write", op: "Microsoft.Insights/diagnosticSettings/write",
			uri: "/subscriptions/" + pantherSub + "/providers/Microsoft.Insights/diagnosticSettings/to-workspace", want: sub},
		{label: "edited: subscription diagnostic setting delete", op: "Microsoft.Insights/diagnosticSettings/delete",
			uri: "/subscriptions/" + pantherSub + "/providers/microsoft.insights/diagnosticSettings/to-workspace", want: sub},
		{label: "panther: a storage account's diagnostic settings", activity: 31, drop: change.ReasonUnsupported},
		{label: "panther: a Key Vault's diagnostic settings, lower-case", activity: 32, drop: change.ReasonUnsupported},
		{label: "panther: a resource group id that is no scope", activity: 33, drop: change.ReasonUnsupported},

		// Tags written through the Tags API.
		{label: "edited: tags of a storage account", op: "Microsoft.Resources/tags/write",
			uri:  "/subscriptions/" + pantherSub + "/resourceGroups/myresourcegroup/providers/Microsoft.Storage/storageAccounts/mystorageaccount/providers/Microsoft.Resources/tags/default",
			want: storage(pantherSub, pantherRG, "mystorageaccount")},
		{label: "edited: tags of a Key Vault removed", op: "Microsoft.Resources/tags/delete",
			uri: "/subscriptions/" + pantherSub + "/resourceGroups/myresourcegroup/providers/Microsoft.KeyVault/vaults/mykeyvault/providers/Microsoft.Resources/tags/default", want: vault},
		{label: "edited: tags of a resource group", op: "Microsoft.Resources/tags/write",
			uri: "/subscriptions/" + pantherSub + "/resourceGroups/myresourcegroup/providers/Microsoft.Resources/tags/default", drop: change.ReasonUnsupported},

		// Operations outside the table.
		{label: "panther: resource group write", activity: 110, drop: change.ReasonUnsupported},
	}

	n := newNormalizer(t)
	tested := map[string]bool{}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%02d-%s", i, tc.label), func(t *testing.T) {
			src := tc.src
			if src == "" {
				src = docsWrite
			}
			ev := corpusEvent(t, src)
			data := ev["data"].(map[string]any)
			if tc.activity != 0 {
				op, uri := activityRecord(t, tc.activity)
				data["operationName"], data["resourceUri"] = op, uri
			}
			if tc.op != "" {
				data["operationName"], data["resourceUri"] = tc.op, tc.uri
			}
			if op, ok := data["operationName"].(string); ok && (tc.activity != 0 || tc.op != "") {
				ev["eventType"] = eventTypeOf(op)
				ev["subject"] = data["resourceUri"]
				data["authorization"].(map[string]any)["action"] = op
				data["authorization"].(map[string]any)["scope"] = data["resourceUri"]
			}
			raw, err := json.Marshal([]any{ev})
			if err != nil {
				t.Fatal(err)
			}
			d, err := n.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Results) != 1 {
				t.Fatalf("%d results", len(d.Results))
			}
			r := d.Results[0]
			if err := checkResult(r); err != nil {
				t.Fatal(err)
			}
			if tc.drop != "" {
				if reason, _ := change.DropReasonOf(r.Err); reason != tc.drop {
					t.Fatalf("got %s, want drop %s", describe(r), tc.drop)
				}
				return
			}
			if r.Err != nil {
				t.Fatalf("dropped: %v", r.Err)
			}
			c := r.Change
			got := ref{c.Resources[0].Type, c.Resources[0].ID, c.Resources[0].Name, c.Resources[0].Account}
			if got != *tc.want {
				t.Errorf("resource\n got %+v\nwant %+v", got, *tc.want)
			}
			op := data["operationName"].(string)
			if !strings.EqualFold(c.Operation, op) || c.Service != strings.Split(c.Operation, "/")[0] {
				t.Errorf("operation %q service %q, event's %q", c.Operation, c.Service, op)
			}
			if c.Account != tc.want.account || c.Time.IsZero() || c.Actor.Principal == "" {
				t.Errorf("change %+v", c)
			}
			tested[c.Operation] = true
		})
	}
	// Every row of the table has a case producing a Change.
	for _, m := range Table() {
		if !tested[m.Operation] {
			t.Errorf("no test case produces a change for %s", m.Operation)
		}
	}
}

// TestPantherLines pins the Activity Log records TestOperations borrows,
// so that a reordered corpus fails loudly rather than testing another
// operation.
func TestPantherLines(t *testing.T) {
	for line, want := range map[int]string{
		31: "Microsoft.Insights/diagnosticSettings/delete", 32: "microsoft.insights/diagnosticsettings/delete",
		33: "Microsoft.Insights/diagnosticSettings/write", 47: "Microsoft.KeyVault/vaults/delete",
		49: "Microsoft.KeyVault/vaults/write", 63: "Microsoft.KeyVault/vaults/secrets/write",
		87: "Microsoft.Network/networkSecurityGroups/delete", 88: "Microsoft.Network/networkSecurityGroups/write",
		89: "Microsoft.Network/networkSecurityGroups/securityRules/write", 90: "Microsoft.Network/networkSecurityGroups/securityRules/delete",
		91: "Microsoft.Network/networkSecurityGroups/join/action", 94: "Microsoft.Network/networkSecurityGroups/read",
		110: "Microsoft.Resources/subscriptions/resourceGroups/write",
		130: "Microsoft.SQL/servers/delete", 132: "Microsoft.SQL/servers/write", 133: "Microsoft.Storage/storageAccounts/delete",
		142: "Microsoft.Storage/storageAccounts/listkeys/action", 145: "Microsoft.Storage/storageAccounts/write",
		146: "microsoft.storage/storageaccounts/write", 148: "Microsoft.Storage/storageAccounts/blobServices/write",
	} {
		if op, _ := activityRecord(t, line); op != want {
			t.Errorf("panther line %d is %s, want %s: the corpus changed", line, op, want)
		}
	}
}

// batchOf builds an Event Grid delivery from event objects.
func batchOf(t *testing.T, evs ...any) []byte {
	t.Helper()
	b, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeDelivery(t *testing.T) {
	n := newNormalizer(t)
	write := func() map[string]any { return corpusEvent(t, docsWrite) }
	withData := func(ev map[string]any, edit func(data map[string]any)) map[string]any {
		edit(ev["data"].(map[string]any))
		return ev
	}
	withType := func(ev map[string]any, typ string) map[string]any { ev["eventType"] = typ; return ev }
	validation := corpusEvent(t, "eventgrid-schema/docs_SubscriptionValidationEvent.json")
	ceWrite := readFile(t, filepath.Join(corpusDir(t), "cloudevents-derived", "derived_ResourceWriteSuccess.json"))
	var ceEvents []map[string]any
	if err := json.Unmarshal(ceWrite, &ceEvents); err != nil {
		t.Fatal(err)
	}
	ceSingle, err := json.Marshal(ceEvents[0])
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		body    []byte
		err     error    // sentinel of a rejected delivery
		schema  Schema   // of an accepted one
		outcome []string // per event: "change" or the drop reason
		detail  string   // substring of the first drop's detail
	}{
		{name: "empty body", body: nil, err: ErrNotDelivery},
		{name: "not JSON", body: []byte("<xml/>"), err: ErrNotDelivery},
		{name: "a JSON string", body: []byte(`"events"`), err: ErrNotDelivery},
		{name: "truncated array", body: readFile(t, filepath.Join(corpusDir(t), docsWrite))[:300], err: ErrNotDelivery},
		{name: "empty batch", body: []byte(` [] `), outcome: []string{}},
		{name: "an Event Hubs batch of Activity Log records", body: []byte(`{"records": []}`), err: ErrActivityLog},
		{name: "one object of no schema", body: []byte(`{"id": "1", "type": "x"}`), err: ErrNotDelivery},
		{name: "CloudEvents structured mode: one object", body: ceSingle, schema: SchemaCloudEvents, outcome: []string{"change"}},
		{name: "CloudEvents batch", body: ceWrite, schema: SchemaCloudEvents, outcome: []string{"change"}},
		{name: "mixed good and bad batch", schema: SchemaEventGrid,
			body: batchOf(t, write(), 42, map[string]any{"id": "x"}, withData(write(), func(d map[string]any) { d["operationName"] = 7 }),
				withType(write(), azsystemevents.TypeResourceWriteFailure), withData(write(), func(d map[string]any) { d["resourceUri"] = "storage" }), write()),
			outcome: []string{"change", "malformed", "malformed", "malformed", "failed", "no_resource", "change"},
			detail:  `an event is a JSON object, not "42"`},
		{name: "an event without id", schema: SchemaEventGrid,
			body:    batchOf(t, func() map[string]any { ev := write(); delete(ev, "id"); return ev }()),
			outcome: []string{"malformed"}, detail: "Event Grid event has no id"},
		{name: "an event without data", schema: SchemaEventGrid,
			body:    batchOf(t, func() map[string]any { ev := write(); delete(ev, "data"); return ev }()),
			outcome: []string{"malformed"}, detail: "Microsoft.Resources.ResourceWriteSuccess event has no data"},
		{name: "a bad eventTime", schema: SchemaEventGrid,
			body:    batchOf(t, func() map[string]any { ev := write(); ev["eventTime"] = "yesterday"; return ev }()),
			outcome: []string{"malformed"}, detail: `Event Grid event: eventTime "yesterday": is not an RFC 3339 time`},
		{name: "a CloudEvent in an Event Grid delivery", schema: SchemaEventGrid,
			body: []byte(`[` + string(mustJSON(t, write())) + `,` + string(ceSingle) + `]`), outcome: []string{"change", "malformed"},
			detail: "a CloudEventSchemaV1_0 event in a EventGridSchema delivery"},
		{name: "neither schema", body: batchOf(t, map[string]any{"id": "1", "type": "x"}),
			outcome: []string{"malformed"}, detail: "neither an Event Grid event (no eventType) nor a CloudEvent (no specversion)"},
		{name: "a CloudEvent with a numeric specversion", schema: SchemaCloudEvents,
			body:    batchOf(t, map[string]any{"id": "1", "source": "/subscriptions/s", "specversion": 1.0, "type": "x"}),
			outcome: []string{"malformed"}, detail: `specversion is 1, want "1.0"`},
		{name: "a CloudEvent without id", schema: SchemaCloudEvents,
			body:    batchOf(t, map[string]any{"source": "/subscriptions/s", "specversion": "1.0", "type": "x"}),
			outcome: []string{"malformed"}, detail: "required field 'id' was not present"},
		{name: "delete and action failures and cancellations", schema: SchemaEventGrid,
			body: batchOf(t, withType(write(), azsystemevents.TypeResourceDeleteFailure), withType(write(), azsystemevents.TypeResourceActionCancel),
				withType(write(), azsystemevents.TypeResourceWriteCancel)),
			outcome: []string{"failed", "failed", "failed"},
			detail:  "Microsoft.Resources.ResourceDeleteFailure Microsoft.Storage/storageAccounts/write did not succeed"},
		{name: "another service's event", schema: SchemaEventGrid, body: batchOf(t, withType(write(), "Microsoft.Storage.BlobCreated")),
			outcome: []string{"not_audit"}, detail: "event type Microsoft.Storage.BlobCreated is not an ARM resource event"},
		{name: "no operationName", schema: SchemaEventGrid, body: batchOf(t, withData(write(), func(d map[string]any) { delete(d, "operationName") })),
			outcome: []string{"malformed"}, detail: "has no data.operationName"},
		{name: "no resourceUri", schema: SchemaEventGrid, body: batchOf(t, withData(write(), func(d map[string]any) { delete(d, "resourceUri") })),
			outcome: []string{"no_resource"}, detail: "Microsoft.Storage/storageAccounts/write event has no data.resourceUri"},
		{name: "a resourceUri of another type", schema: SchemaEventGrid,
			body: batchOf(t, withData(write(), func(d map[string]any) {
				d["resourceUri"] = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
			})),
			outcome: []string{"no_resource"}, detail: "is a Microsoft.KeyVault/vaults, not a Microsoft.Storage/storageAccounts"},
		{name: "a tenant-level resource", schema: SchemaEventGrid,
			body: batchOf(t, withData(write(), func(d map[string]any) {
				d["resourceUri"] = "/providers/Microsoft.Storage/storageAccounts/sa"
			})),
			outcome: []string{"no_resource"}, detail: "is not in a subscription"},
		{name: "a validation handshake", schema: SchemaEventGrid, body: batchOf(t, validation), outcome: []string{"not_audit"}, detail: "subscription validation handshake"},
		{name: "a validation event without a code", schema: SchemaEventGrid,
			body:    batchOf(t, withData(corpusEvent(t, "eventgrid-schema/docs_SubscriptionValidationEvent.json"), func(d map[string]any) { delete(d, "validationCode") })),
			outcome: []string{"malformed"}, detail: "SubscriptionValidationEvent has no validationCode"},
		{name: "a subscription deleted", schema: SchemaEventGrid,
			body: batchOf(t, map[string]any{"id": "d1", "eventType": azsystemevents.TypeSubscriptionDeleted, "subject": "", "eventTime": "2024-01-01T00:00:00Z",
				"data": map[string]any{"eventSubscriptionId": "/subscriptions/s/providers/Microsoft.EventGrid/eventSubscriptions/driftwatch"}}),
			outcome: []string{"not_audit"}, detail: "event subscription /subscriptions/s/providers/Microsoft.EventGrid/eventSubscriptions/driftwatch was deleted"},
		{name: "a subscription deleted with a non-string id", schema: SchemaEventGrid,
			body:    batchOf(t, map[string]any{"id": "d1", "eventType": azsystemevents.TypeSubscriptionDeleted, "data": map[string]any{"eventSubscriptionId": 1}}),
			outcome: []string{"malformed"}, detail: "decode Microsoft.EventGrid.SubscriptionDeletedEvent data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := n.Decode(tc.body)
			if cerr := checkDelivery(d, err); cerr != nil {
				t.Fatal(cerr)
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Schema != tc.schema {
				t.Errorf("schema %q, want %q", d.Schema, tc.schema)
			}
			var got []string
			firstDetail := ""
			for _, r := range d.Results {
				reason, dropped := change.DropReasonOf(r.Err)
				if !dropped {
					got = append(got, "change")
					continue
				}
				got = append(got, string(reason))
				if firstDetail == "" {
					firstDetail = r.Err.Error()
				}
			}
			if got == nil {
				got = []string{}
			}
			if !reflect.DeepEqual(got, tc.outcome) {
				t.Errorf("outcomes %v, want %v", got, tc.outcome)
			}
			if !strings.Contains(firstDetail, tc.detail) {
				t.Errorf("detail %q, want it to contain %q", firstDetail, tc.detail)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChange checks every field of one Change against the documentation
// sample, and what the HTTP layer gets besides.
func TestChange(t *testing.T) {
	ev := corpusEvent(t, docsWrite)
	data := ev["data"].(map[string]any)
	data["correlationId"] = "7dd5a476-e052-40e2-99e4-bb9852dc1f86"
	data["httpRequest"] = map[string]any{"clientRequestId": "c1", "clientIpAddress": "203.0.113.7", "method": "PUT"}
	claims := data["claims"].(map[string]any)
	claims["appid"] = "C44B4083-3BB0-49C1-B47D-974E53CBDF3C" // the Azure portal, in upper case
	claims["iat"] = 1630306600                               // fails the SDK's typed claim map
	claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] = "alice@contoso.com"
	claims["name"] = "Alice Example"
	data["resourceUri"] = "/subscriptions/EA98974B-5D2A-4D98-A78A-382F3715D07E/resourceGroups/Prod/providers/Microsoft.Storage/storageAccounts/Logs01/"

	var typed azsystemevents.ResourceWriteSuccessEventData
	if err := json.Unmarshal(mustJSON(t, data), &typed); err == nil {
		t.Fatal("the SDK's typed data now accepts a numeric claim: the tolerant decoding may no longer be needed")
	}

	d, err := newNormalizer(t).Decode(batchOf(t, ev))
	if err != nil || len(d.Results) != 1 {
		t.Fatalf("%v %v", d, err)
	}
	r := d.Results[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	const sub = "ea98974b-5d2a-4d98-a78a-382f3715d07e"
	want := change.Change{
		EventID:   "4db48cba-50a2-455a-93b4-de41a3b5b7f6",
		Cloud:     change.Azure,
		Account:   sub,
		Service:   "Microsoft.Storage",
		Operation: "Microsoft.Storage/storageAccounts/write",
		Resources: []change.ResourceRef{{
			Cloud: change.Azure, Type: azres.TypeStorageAccount, Account: sub, Name: "Logs01",
			ID: "/subscriptions/" + sub + "/resourcegroups/prod/providers/microsoft.storage/storageaccounts/logs01",
		}},
		Actor: change.Actor{Principal: "alice@contoso.com", Type: TypeUser, Name: "Alice Example", SourceIP: "203.0.113.7", Via: ViaConsole},
		Time:  time.Date(2018, 7, 19, 18, 38, 4, 611735700, time.UTC),
	}
	if !reflect.DeepEqual(r.Change, want) {
		t.Errorf("change\n got %+v\nwant %+v", r.Change, want)
	}
	if r.CorrelationID != "7dd5a476-e052-40e2-99e4-bb9852dc1f86" || r.EventType != azsystemevents.TypeResourceWriteSuccess {
		t.Errorf("correlation %q type %q", r.CorrelationID, r.EventType)
	}
}

// TestLegacyStringFields: the 2017 samples carry authorization, claims and
// httpRequest as placeholder strings; a mapped operation still becomes a
// Change, with an empty actor.
func TestLegacyStringFields(t *testing.T) {
	ev := corpusEvent(t, "eventgrid-schema/sdk-net_ResourceWriteSuccess_legacy-string-fields.json")
	data := ev["data"].(map[string]any)
	if _, ok := data["claims"].(string); !ok {
		t.Fatal("the sample's claims are no longer a string")
	}
	data["operationName"] = "Microsoft.KeyVault/vaults/write"
	data["resourceUri"] = "/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.KeyVault/vaults/kv1"
	d, err := newNormalizer(t).Decode(batchOf(t, ev))
	if err != nil {
		t.Fatal(err)
	}
	r := d.Results[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.Change.Actor != (change.Actor{Via: ViaUnknown}) {
		t.Errorf("actor %+v", r.Change.Actor)
	}
	if r.Change.Resources[0].ID != "/subscriptions/{subscription-id}/resourcegroups/{resource-group}/providers/microsoft.keyvault/vaults/kv1" {
		t.Errorf("id %s", r.Change.Resources[0].ID)
	}
}

func TestValidation(t *testing.T) {
	n := newNormalizer(t)
	raw := readFile(t, filepath.Join(corpusDir(t), "eventgrid-schema", "docs_SubscriptionValidationEvent.json"))
	d, err := n.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	v := d.Validation
	if v == nil || v.Code != "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" || v.EventID != "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66" ||
		!strings.HasPrefix(v.URL, "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/estest/validate?") {
		t.Fatalf("validation %+v", v)
	}
	body, err := v.Response()
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != `{"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}` {
		t.Errorf("response %s", body)
	}
	// The same handshake as a CloudEvent is recognised too.
	ce := []byte(`{"specversion":"1.0","id":"v1","source":"/subscriptions/s","type":"` + azsystemevents.TypeSubscriptionValidation +
		`","data":{"validationCode":"c0de"}}`)
	if d, err := n.Decode(ce); err != nil || d.Validation == nil || d.Validation.Code != "c0de" {
		t.Errorf("CloudEvents handshake: %+v %v", d, err)
	}
}

func TestNewRejectsBadTables(t *testing.T) {
	row := func(op, typ string, target Target, kind Kind) []Mapping {
		return []Mapping{{Operation: op, Type: typ, Target: target, Kind: kind}}
	}
	cases := []struct {
		name  string
		table []Mapping
		want  string
	}{
		{"not an operation", row("storageAccounts", azres.TypeStorageAccount, TargetSelf, KindPosture), "not an ARM operation name"},
		{"empty segment", row("Microsoft.Storage//write", azres.TypeStorageAccount, TargetSelf, KindPosture), "not an ARM operation name"},
		{"read", row("Microsoft.Storage/storageAccounts/read", azres.TypeStorageAccount, TargetSelf, KindPosture), "read-only"},
		{"list action", row("Microsoft.Storage/storageAccounts/listKeys/action", azres.TypeStorageAccount, TargetSelf, KindPosture), "read-only"},
		{"unknown kind", row("Microsoft.Storage/storageAccounts/write", azres.TypeStorageAccount, TargetSelf, "drift"), `unknown kind "drift"`},
		{"unknown target", row("Microsoft.Storage/storageAccounts/write", azres.TypeStorageAccount, "sibling", KindPosture), `unknown target "sibling"`},
		{"unknown type", row("Microsoft.Web/sites/write", "Microsoft.Web/sites", TargetSelf, KindPosture), `unknown resource type "Microsoft.Web/sites"`},
		{"child mapped to itself", row("Microsoft.Network/networkSecurityGroups/securityRules/write", azres.TypeNSG, TargetSelf, KindPosture),
			"the self of a Microsoft.Network/networkSecurityGroups/securityRules is not a Microsoft.Network/networkSecurityGroups"},
		{"top-level type has no parent", row("Microsoft.Storage/storageAccounts/write", azres.TypeStorageAccount, TargetParent, KindPosture),
			"the parent of a Microsoft.Storage/storageAccounts is not a Microsoft.Storage/storageAccounts"},
		{"subscription target of another type", row("Microsoft.Insights/diagnosticSettings/write", azres.TypeKeyVault, TargetSubscription, KindPosture),
			"target subscription evaluates Microsoft.Resources/subscriptions"},
		{"self without a type", row("Microsoft.Storage/storageAccounts/write", "", TargetSelf, KindPosture), "target self needs a resource type"},
		{"duplicate, in another case", append(row("Microsoft.Storage/storageAccounts/write", azres.TypeStorageAccount, TargetSelf, KindPosture),
			row("microsoft.storage/storageaccounts/WRITE", azres.TypeStorageAccount, TargetSelf, KindPosture)...), "row 1 (microsoft.storage/storageaccounts/WRITE): duplicate operation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(&Options{Table: tc.table})
			if !errors.Is(err, ErrInvalidTable) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrInvalidTable containing %q", err, tc.want)
			}
		})
	}
}

// TestCustomTable: a Normalizer built from another table maps what that
// table says, here a blob container write to its storage account (a
// grandparent).
func TestCustomTable(t *testing.T) {
	table := []Mapping{{Operation: "Microsoft.Storage/storageAccounts/blobServices/containers/write",
		Type: azres.TypeStorageAccount, Target: TargetGrandparent, Kind: KindPosture}}
	n, err := New(&Options{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Operations(); !reflect.DeepEqual(got, table) {
		t.Errorf("operations %+v", got)
	}
	ev := corpusEvent(t, docsWrite)
	data := ev["data"].(map[string]any)
	data["operationName"] = "microsoft.storage/storageaccounts/blobservices/containers/write"
	data["resourceUri"] = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa1/blobServices/default/containers/public"
	d, err := n.Decode(batchOf(t, ev, corpusEvent(t, docsWrite)))
	if err != nil {
		t.Fatal(err)
	}
	if r := d.Results[0]; r.Err != nil || r.Change.Resources[0].ID != "/subscriptions/s1/resourcegroups/rg/providers/microsoft.storage/storageaccounts/sa1" ||
		r.Change.Operation != table[0].Operation {
		t.Errorf("container write: %s", describe(r))
	}
	if reason, _ := change.DropReasonOf(d.Results[1].Err); reason != change.ReasonUnsupported {
		t.Errorf("the built-in table's storage write under a custom table: %s", describe(d.Results[1]))
	}
}

func TestOperationsListsTheTable(t *testing.T) {
	ops := newNormalizer(t).Operations()
	if len(ops) != len(Table()) {
		t.Fatalf("%d operations, table has %d rows", len(ops), len(Table()))
	}
	for i := 1; i < len(ops); i++ {
		if strings.ToLower(ops[i-1].Operation) >= strings.ToLower(ops[i].Operation) {
			t.Errorf("not sorted: %s before %s", ops[i-1].Operation, ops[i].Operation)
		}
	}
}

func TestReadOnly(t *testing.T) {
	for op, want := range map[string]bool{
		"Microsoft.Storage/storageAccounts/read":                          true,
		"Microsoft.Storage/storageAccounts/listKeys/action":               true,
		"microsoft.storage/storageaccounts/listkeys/action":               true,
		"Microsoft.Storage/storageAccounts/listAccountSas/action":         true,
		"Microsoft.KeyVault/vaults/secrets/getSecret/action":              true,
		"Microsoft.Web/sites/config/list/action":                          true,
		"Microsoft.KeyVault/vaults/keys/read/action":                      true,
		"Microsoft.Storage/storageAccounts/regenerateKey/action":          false,
		"Microsoft.Compute/disks/beginGetAccess/action":                   false,
		"Microsoft.Storage/storageAccounts/write":                         false,
		"Microsoft.Network/networkSecurityGroups/securityRules/delete":    false,
		"Microsoft.Authorization/policies/auditIfNotExists/action":        false,
		"Microsoft.Network/networkSecurityGroups/listeners/write":         false, // "list" prefix of a type, not an action
		"Microsoft.Sql/servers/databases/transparentDataEncryption/write": false,
	} {
		_, verb, ok := splitOperation(op)
		if !ok {
			t.Fatalf("%s: not split", op)
		}
		if got := readOnly(verb, op); got != want {
			t.Errorf("readOnly(%s) = %v", op, got)
		}
	}
}

func TestDecodeNeverFailsOnOddBodies(t *testing.T) {
	n := newNormalizer(t)
	for i, body := range [][]byte{
		[]byte(`[null, true, [], "x", {}]`),
		[]byte(`{"specversion": null}`),
		[]byte(`[{"eventType": null, "id": null}]`),
		bytes.Repeat([]byte(`[`), 100),
		[]byte(`[{"eventType":"Microsoft.Resources.ResourceWriteSuccess","id":"1","data":"x"}]`),
	} {
		d, err := n.Decode(body)
		if cerr := checkDelivery(d, err); cerr != nil {
			t.Errorf("body %d: %v", i, cerr)
		}
	}
}
