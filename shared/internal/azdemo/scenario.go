package azdemo

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"

	"github.com/driftwatch/driftwatch/shared/azres"
)

// The scenario's world: one subscription of one tenant, the web tier's NSG.
const (
	Subscription  = "3f9e2c41-7a5d-4b8e-a1c6-52d0e8b47a19"
	Tenant        = "0b5d6f7e-2c1a-4e3b-9d8f-7a6b5c4d3e2f"
	Location      = "westeurope"
	ResourceGroup = "rg-web"
	NSG           = "nsg-web"
	// HTTPSRule is the baseline's rule: HTTPS from the Internet, compliant.
	HTTPSRule = "allow-https-internet"
	// RDPRule is the drift: RDP from any source.
	RDPRule = "allow-rdp-anywhere"
	// RDPRuleID is the rule that alerts on it.
	RDPRuleID = "azure_nsg_no_inbound_rdp_from_internet"
	// RDPAction is the fix its alert offers.
	RDPAction = "azure_nsg_delete_internet_rule"
)

// The events of the scenario, in events/azure.
const (
	EventNSGCreated = "01-nsg-created.json"
	EventRDPOpened  = "02-rdp-opened.json"
)

// Env holds the ARM SDK clients the scenario's people use (the platform
// team's Terraform, Alice in the portal): plain SDK clients on the fake
// ARM, independent of the function's.
type Env struct {
	nsgs  *armnetwork.SecurityGroupsClient
	rules *armnetwork.SecurityRulesClient
}

// NewEnv returns the scenario's clients; opts point them at the fake ARM
// (ARM.ClientOptions, or a transport on an armfake.Server).
func NewEnv(cred azcore.TokenCredential, opts *arm.ClientOptions) (*Env, error) {
	nsgs, err := armnetwork.NewSecurityGroupsClient(Subscription, cred, opts)
	if err != nil {
		return nil, err
	}
	rules, err := armnetwork.NewSecurityRulesClient(Subscription, cred, opts)
	if err != nil {
		return nil, err
	}
	return &Env{nsgs: nsgs, rules: rules}, nil
}

// NSGID is the canonical ARM id of the scenario's NSG, as findings key it.
func NSGID() string {
	return azres.CanonicalID("/subscriptions/" + Subscription + "/resourceGroups/" + ResourceGroup +
		"/providers/Microsoft.Network/networkSecurityGroups/" + NSG)
}

// CreateBaseline creates the NSG allowing only HTTPS from the Internet, as
// the platform team's Terraform does (event 01).
func (e *Env) CreateBaseline(ctx context.Context) error {
	p, err := e.nsgs.BeginCreateOrUpdate(ctx, ResourceGroup, NSG, armnetwork.SecurityGroup{
		Location: to.Ptr(Location),
		Tags:     map[string]*string{"team": to.Ptr("web"), "managed-by": to.Ptr("terraform")},
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{
			inbound(HTTPSRule, 200, "Internet", "443"),
		}},
	}, nil)
	if err != nil {
		return fmt.Errorf("create NSG %s: %w", NSG, err)
	}
	if _, err := p.PollUntilDone(ctx, nil); err != nil {
		return fmt.Errorf("create NSG %s: %w", NSG, err)
	}
	return nil
}

// OpenRDP adds the rule allowing RDP from anywhere, as Alice does in the
// portal (event 02).
func (e *Env) OpenRDP(ctx context.Context) error {
	p, err := e.rules.BeginCreateOrUpdate(ctx, ResourceGroup, NSG, RDPRule, *inbound(RDPRule, 300, "*", "3389"), nil)
	if err != nil {
		return fmt.Errorf("create security rule %s: %w", RDPRule, err)
	}
	if _, err := p.PollUntilDone(ctx, nil); err != nil {
		return fmt.Errorf("create security rule %s: %w", RDPRule, err)
	}
	return nil
}

// RuleExists reports whether the NSG has the named rule.
func (e *Env) RuleExists(ctx context.Context, name string) (bool, error) {
	out, err := e.nsgs.Get(ctx, ResourceGroup, NSG, nil)
	if err != nil {
		return false, fmt.Errorf("read NSG %s: %w", NSG, err)
	}
	if out.Properties != nil {
		for _, r := range out.Properties.SecurityRules {
			if r != nil && r.Name != nil && *r.Name == name {
				return true, nil
			}
		}
	}
	return false, nil
}

func inbound(name string, priority int32, source, port string) *armnetwork.SecurityRule {
	return &armnetwork.SecurityRule{Name: to.Ptr(name), Properties: &armnetwork.SecurityRulePropertiesFormat{
		Priority: to.Ptr(priority), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound),
		Access: to.Ptr(armnetwork.SecurityRuleAccessAllow), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP),
		SourceAddressPrefix: to.Ptr(source), SourcePortRange: to.Ptr("*"),
		DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr(port),
	}}
}

var placeholder = regexp.MustCompile(`\$\{([A-Z_]+)\}`)

// Event reads events/azure/<name> from dir and fills in its ${VAR}
// placeholders: the scenario's names, fresh event and correlation ids, and
// now. A placeholder it does not know is an error.
func Event(dir, name string, now time.Time) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	vars := map[string]string{
		"SUBSCRIPTION": Subscription, "TENANT": Tenant, "RESOURCE_GROUP": ResourceGroup,
		"NSG": NSG, "RULE": RDPRule, "TIME": now.UTC().Format(time.RFC3339Nano),
		"EVENT_ID": uuid(), "CORRELATION_ID": uuid(),
	}
	var missing []string
	out := placeholder.ReplaceAllFunc(raw, func(m []byte) []byte {
		k := string(m[2 : len(m)-1])
		v, ok := vars[k]
		if !ok {
			missing = append(missing, k)
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: unknown placeholders %v", name, missing)
	}
	return out, nil
}

func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Deliver posts a delivery body to the resource-events webhook url (with
// its secret in the query) as Event Grid does, and returns the status and
// the answer.
func Deliver(ctx context.Context, c *http.Client, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("aeg-event-type", "Notification")
	req.Header.Set("aeg-subscription-name", "DRIFTWATCH-EVENTS")
	req.Header.Set("aeg-delivery-count", "0")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, answer, err
}
