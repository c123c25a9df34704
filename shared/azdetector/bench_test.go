package azdetector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"

	"github.com/driftwatch/driftwatch/shared/azdetector"
	"github.com/driftwatch/driftwatch/shared/azevent"
	"github.com/driftwatch/driftwatch/shared/azfunc"
	"github.com/driftwatch/driftwatch/shared/azremedy/armfake"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/azdemo"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store/memstore"
)

// benchWorld is the Azure function's HTTP layer and drift pipeline in this
// process: the ARM reads go to armfake through the SDK's in-process fake
// transports, the posture to an in-memory store, Slack to a recorder on
// loopback. It is azdetector.New with an in-memory store in place of
// DynamoDB (the file-backed store of DRIFTWATCH_STORE_FILE rewrites and
// syncs its whole file on every write, which is not what is measured).
type benchWorld struct {
	srv    http.Handler
	arm    *armfake.Server
	nsgs   *armnetwork.SecurityGroupsClient
	slack  *slackrec.Recorder
	events string
}

func newBenchWorld(b *testing.B) *benchWorld {
	b.Helper()
	w := &benchWorld{arm: armfake.New(azdemo.Subscription, nil), slack: slackrec.Start(), events: filepath.Join("..", "..", "events", "azure")}
	b.Cleanup(w.slack.Close)
	cred := &azfake.TokenCredential{}
	var err error
	if w.nsgs, err = armnetwork.NewSecurityGroupsClient(azdemo.Subscription, cred, &arm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: w.arm.Transport()}}); err != nil {
		b.Fatal(err)
	}
	gov := filepath.Join(b.TempDir(), "governance.yaml")
	if err := os.WriteFile(gov, []byte(governance), 0o644); err != nil {
		b.Fatal(err)
	}

	c, err := azdetector.ConfigFromEnv(func(k string) string {
		return map[string]string{
			"DRIFTWATCH_STORE_FILE":          "unused: Deps.Store",
			"SLACK_CHANNEL":                  channel,
			"SLACK_BOT_TOKEN":                "xoxb-bench-not-a-secret",
			"SLACK_API_URL":                  w.slack.URL() + "/",
			"DRIFTWATCH_ACCOUNTS":            `{"` + azdemo.Subscription + `": {"name": "web-prod", "environment": "prod"}}`,
			"DRIFTWATCH_AZURE_SUBSCRIPTIONS": azdemo.Subscription,
			"DRIFTWATCH_GOVERNANCE_FILE":     gov,
		}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	f, err := azdetector.New(b.Context(), c, azdetector.Deps{Credential: cred, Transports: w.arm.Transports(), Store: memstore.New()})
	if err != nil {
		b.Fatal(err)
	}
	det := f.Detector
	norm, err := azevent.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	auth, err := azfunc.NewSharedSecret([]string{secret}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if w.srv, err = azfunc.New(azfunc.Config{Normalizer: norm, Processor: det, ResourceAuth: auth}, nil); err != nil {
		b.Fatal(err)
	}
	return w
}

// deliver serves one delivery as the Functions host forwards it.
func (w *benchWorld) deliver(b *testing.B, body []byte) azfunc.Summary {
	req := httptest.NewRequest(http.MethodPost, azfunc.ResourceEventsPath+"?code="+secret, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("aeg-event-type", "Notification")
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	var sum azfunc.Summary
	if err := json.Unmarshal(rec.Body.Bytes(), &sum); err != nil {
		b.Fatalf("summary %s: %v", rec.Body, err)
	}
	return sum
}

// rewrite returns the RDP event (events/azure) turned into another ARM
// operation on another resource: the subscription topic's events differ in
// nothing else.
func rewrite(b *testing.B, body []byte, eventType, op, resource string) []byte {
	b.Helper()
	var evs []map[string]any
	if err := json.Unmarshal(body, &evs); err != nil {
		b.Fatal(err)
	}
	for _, ev := range evs {
		data := ev["data"].(map[string]any)
		ev["eventType"], ev["subject"] = eventType, resource
		data["operationName"], data["resourceUri"] = op, resource
		data["authorization"].(map[string]any)["action"] = op
		data["authorization"].(map[string]any)["scope"] = resource
	}
	out, err := json.Marshal(evs)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkDeliveryIrrelevant is the handler's cost for an event the
// subscription topic delivers that no rule can be affected by: the
// delivery authenticated, read, normalized and dropped, the answer
// written. read-only: a listKeys action (the most frequent kind);
// unsupported: a write of a resource type no rule covers.
func BenchmarkDeliveryIrrelevant(b *testing.B) {
	w := newBenchWorld(b)
	rdp, err := azdemo.Event(w.events, azdemo.EventRDPOpened, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	rg := "/subscriptions/" + azdemo.Subscription + "/resourceGroups/" + azdemo.ResourceGroup
	for _, bc := range []struct {
		name, eventType, op, resource, reason string
	}{
		{"read-only", "Microsoft.Resources.ResourceActionSuccess", "Microsoft.Storage/storageAccounts/listKeys/action",
			rg + "/providers/Microsoft.Storage/storageAccounts/stwebprod", string(change.ReasonReadOnly)},
		{"unsupported", "Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/virtualMachines/write",
			rg + "/providers/Microsoft.Compute/virtualMachines/vm-web-1", string(change.ReasonUnsupported)},
	} {
		body := rewrite(b, rdp, bc.eventType, bc.op, bc.resource)
		b.Run(bc.name, func(b *testing.B) {
			if sum := w.deliver(b, body); sum.Dropped[bc.reason] != 1 || sum.Processed != 0 {
				b.Fatalf("summary %+v, want the event dropped as %s", sum, bc.reason)
			}
			b.ReportAllocs()
			for b.Loop() {
				w.deliver(b, body)
			}
		})
	}
	if n := len(w.slack.Calls()); n != 0 {
		b.Fatalf("irrelevant events made %d Slack calls", n)
	}
}

// BenchmarkDeliveryDrift is the handler's cost for a drifting event: an
// NSG securityRules/write delivery (Alice's RDP rule, events/azure) through
// the HTTP layer, the NSG re-read from ARM (armfake in process), the Azure
// rules evaluated, the posture and the finding stored (in memory), the fix
// planned, and the alert posted to Slack (a recorder on loopback). Each
// iteration is a new NSG opened to RDP, created outside the timer, so that
// every delivery is a drift that posts a new alert.
func BenchmarkDeliveryDrift(b *testing.B) {
	w := newBenchWorld(b)
	ctx := context.Background()
	tmpl, err := os.ReadFile(filepath.Join(w.events, azdemo.EventRDPOpened))
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	next := func() []byte {
		i++
		name := "nsg-bench-" + strconv.Itoa(i)
		p, err := w.nsgs.BeginCreateOrUpdate(ctx, azdemo.ResourceGroup, name, armnetwork.SecurityGroup{
			Location: to.Ptr(azdemo.Location),
			Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{{
				Name: to.Ptr(azdemo.RDPRule), Properties: &armnetwork.SecurityRulePropertiesFormat{
					Priority: to.Ptr[int32](300), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound),
					Access: to.Ptr(armnetwork.SecurityRuleAccessAllow), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP),
					SourceAddressPrefix: to.Ptr("*"), SourcePortRange: to.Ptr("*"),
					DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr("3389"),
				},
			}}},
		}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.PollUntilDone(ctx, nil); err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, azdemo.EventRDPOpened), bytes.ReplaceAll(tmpl, []byte("${NSG}"), []byte(name)), 0o644); err != nil {
			b.Fatal(err)
		}
		body, err := azdemo.Event(dir, azdemo.EventRDPOpened, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		return body
	}
	check := func(sum azfunc.Summary) {
		if sum.Processed != 1 || sum.Drifted != 1 || sum.Notified != 1 || sum.Failed != 0 {
			b.Fatalf("summary %+v, want one drift notified", sum)
		}
	}
	check(w.deliver(b, next()))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		body := next()
		b.StartTimer()
		check(w.deliver(b, body))
	}
	b.StopTimer()
	alerts := 0
	for _, m := range w.slack.Messages() {
		if m.ThreadTS == "" && strings.Contains(string(m.Blocks), "nsg-bench-") {
			alerts++
		}
	}
	if alerts != i {
		b.Fatalf("%d alerts for %d drifts", alerts, i)
	}
}
