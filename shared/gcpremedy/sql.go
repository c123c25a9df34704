package gcpremedy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/api/sqladmin/v1"

	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// sqlAPI is what the Cloud SQL actions call.
type sqlAPI interface {
	GetInstance(ctx context.Context, project, name string) (*sqladmin.DatabaseInstance, error)
	PatchInstance(ctx context.Context, project, name string, patch *sqladmin.DatabaseInstance) (*sqladmin.Operation, error)
	GetSQLOperation(ctx context.Context, project, operation string) (*sqladmin.Operation, error)
}

func instanceID(d *gcpres.SQLInstance) string {
	if d.ID == "" && d.Project != "" && d.Name != "" {
		return gcpres.SQLInstanceID(d.Project, d.Name)
	}
	return d.ID
}

func instanceLabel(d *gcpres.SQLInstance) string {
	return "Cloud SQL instance " + inProject(d.Name, d.Project)
}

// ipConfig returns the instance's IP configuration, empty when it has none.
func ipConfig(in *sqladmin.DatabaseInstance) sqladmin.IpConfiguration {
	if in == nil || in.Settings == nil || in.Settings.IpConfiguration == nil {
		return sqladmin.IpConfiguration{}
	}
	return *in.Settings.IpConfiguration
}

// patchIP patches settings.ipConfiguration with ipc (only its set, forced
// or nulled fields) and waits for the instance operation: the instance is
// changed only when the operation is DONE without error.
func patchIP(ctx context.Context, c sqlAPI, l loc, ipc *sqladmin.IpConfiguration, w waiting) error {
	op, err := c.PatchInstance(ctx, l.Project, l.Name, &sqladmin.DatabaseInstance{Settings: &sqladmin.Settings{IpConfiguration: ipc}})
	if err != nil {
		return err
	}
	return wait(ctx, w.every, w.timeout, op, sqlDone, func(ctx context.Context) (*sqladmin.Operation, error) {
		return c.GetSQLOperation(ctx, l.Project, op.Name)
	})
}

// sqlDone reports whether a Cloud SQL operation finished, and its error.
func sqlDone(op *sqladmin.Operation) (bool, error) {
	if op == nil {
		return false, fmt.Errorf("%w: the API returned no operation", ErrOperationFailed)
	}
	if op.Status != "DONE" {
		return false, nil
	}
	if op.Error != nil && len(op.Error.Errors) > 0 {
		e := op.Error.Errors[0]
		if e == nil {
			e = &sqladmin.OperationError{}
		}
		return true, &operationError{Kind: "Cloud SQL", Name: op.Name, Code: e.Code, Message: e.Message}
	}
	return true, nil
}

// authorizedNetwork is one authorized network Apply removed, as the
// snapshot keeps it: the entry as the API returned it and its index in the
// list, so that Undo puts it back where it was.
type authorizedNetwork struct {
	Name           string `json:"name,omitempty"`
	Value          string `json:"value"`
	ExpirationTime string `json:"expiration_time,omitempty"`
	Index          int    `json:"index"`
}

func (n authorizedNetwork) entry() *sqladmin.AclEntry {
	return &sqladmin.AclEntry{Kind: "sql#aclEntry", Name: n.Name, Value: n.Value, ExpirationTime: n.ExpirationTime}
}

// setAuthorizedNetworks replaces the instance's authorized networks with
// nets (an empty list is sent as [], which clears it).
func setAuthorizedNetworks(ctx context.Context, c sqlAPI, l loc, nets []*sqladmin.AclEntry, w waiting) error {
	return patchIP(ctx, c, l, &sqladmin.IpConfiguration{AuthorizedNetworks: nets, ForceSendFields: []string{"AuthorizedNetworks"}}, w)
}

// sqlRemovePublicAuthorizedNetwork removes from the instance's authorized
// networks the entries open to the whole Internet (0.0.0.0/0, ::/0) when
// the instance has a public IP address (without one, authorized networks
// admit nobody and the rule passes). Every other entry stays: the API
// replaces the whole list, so the action writes back the list it read less
// those entries, and waits for the instance operation. The snapshot keeps
// the removed entries with their positions; Undo puts back those missing.
func sqlRemovePublicAuthorizedNetwork(b *builder) (remediation.Action, error) {
	ops, perms := declare("GetInstance", "PatchInstance", "GetSQLOperation")
	c, err := newSQLClient(b, SQLRemovePublicAuthorizedNetwork, ops)
	if err != nil {
		return nil, err
	}
	w := b.waiting()
	return &action[gcpres.SQLInstance, []authorizedNetwork, sqlAPI]{
		name: SQLRemovePublicAuthorizedNetwork, resourceType: gcpres.TypeSQLInstance, perms: perms, opts: &b.opts, api: c,
		docID: instanceID,
		plan: func(d *gcpres.SQLInstance) (remediation.Plan, error) {
			var open []string
			for _, n := range d.AuthorizedNetworks {
				if gcpres.IsInternet(n.Value) {
					name := n.Name
					if name == "" {
						name = "unnamed"
					}
					open = append(open, name+" "+n.Value)
				}
			}
			switch {
			case len(open) == 0:
				return remediation.Plan{Noop: true, Change: instanceLabel(d) + " authorizes no network open to the whole Internet"}, nil
			case !d.IPv4Enabled:
				return remediation.Plan{Noop: true, Change: instanceLabel(d) + " has no public IP address, so its authorized networks admit nobody"}, nil
			}
			return remediation.Plan{Change: fmt.Sprintf("Remove %s open to the whole Internet from %s: %s (every other authorized network stays; clients outside them lose access to the public IP)",
				plural(len(open), "authorized network", "authorized networks"), instanceLabel(d), strings.Join(open, ", "))}, nil
		},
		apply: func(ctx context.Context, c sqlAPI, l loc) ([]authorizedNetwork, bool, error) {
			in, err := c.GetInstance(ctx, l.Project, l.Name)
			if err != nil {
				return nil, false, err
			}
			ipc := ipConfig(in)
			removed := []authorizedNetwork{}
			var kept []*sqladmin.AclEntry
			for i, n := range ipc.AuthorizedNetworks {
				if n == nil {
					continue
				}
				if gcpres.IsInternet(n.Value) {
					removed = append(removed, authorizedNetwork{Name: n.Name, Value: n.Value, ExpirationTime: n.ExpirationTime, Index: i})
					continue
				}
				kept = append(kept, n)
			}
			if len(removed) == 0 || !ipc.Ipv4Enabled {
				return []authorizedNetwork{}, false, nil
			}
			return removed, true, setAuthorizedNetworks(ctx, c, l, kept, w)
		},
		undo: func(ctx context.Context, c sqlAPI, l loc, removed []authorizedNetwork) error {
			in, err := c.GetInstance(ctx, l.Project, l.Name)
			if err != nil {
				return err
			}
			nets := slices.DeleteFunc(slices.Clone(ipConfig(in).AuthorizedNetworks), func(n *sqladmin.AclEntry) bool { return n == nil })
			changed := false
			for _, r := range removed {
				if slices.ContainsFunc(nets, func(n *sqladmin.AclEntry) bool { return n.Value == r.Value && n.Name == r.Name }) {
					continue
				}
				nets = slices.Insert(nets, min(max(r.Index, 0), len(nets)), r.entry())
				changed = true
			}
			if !changed {
				return nil
			}
			return setAuthorizedNetworks(ctx, c, l, nets, w)
		},
		check: func(removed []authorizedNetwork) error {
			for _, r := range removed {
				if !gcpres.IsInternet(r.Value) || r.Index < 0 {
					return fmt.Errorf("authorized network %q is not one this action removes", r.Value)
				}
			}
			return nil
		},
	}, nil
}

// The SSL modes of settings.ipConfiguration.sslMode.
const (
	sslUnspecified    = "SSL_MODE_UNSPECIFIED"
	sslAllow          = "ALLOW_UNENCRYPTED_AND_ENCRYPTED"
	sslEncryptedOnly  = "ENCRYPTED_ONLY"
	sslTrustedCertReq = "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
)

// requiresSSL is gcp_cloudsql_require_ssl's condition: sslMode
// ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED, or, with sslMode
// unset, the legacy requireSsl flag.
func requiresSSL(mode string, requireSSL bool) bool {
	switch mode {
	case sslEncryptedOnly, sslTrustedCertReq:
		return true
	case "", sslUnspecified:
		return requireSSL
	}
	return false
}

// sslBefore is gcp_sql_require_ssl's snapshot: the two settings as the API
// returned them.
type sslBefore struct {
	SSLMode    string `json:"ssl_mode"`
	RequireSSL bool   `json:"require_ssl"`
}

// sqlRequireSSL sets the instance's sslMode to ENCRYPTED_ONLY, and the
// legacy requireSsl flag to false when it was on, as Cloud SQL requires for
// that mode (the pair ENCRYPTED_ONLY/true is refused as conflicting). The
// client certificate is not required: that would lock out every client
// without one. The snapshot keeps both settings; Undo restores them while
// the instance still has what Apply set.
func sqlRequireSSL(b *builder) (remediation.Action, error) {
	ops, perms := declare("GetInstance", "PatchInstance", "GetSQLOperation")
	c, err := newSQLClient(b, SQLRequireSSL, ops)
	if err != nil {
		return nil, err
	}
	w := b.waiting()
	return &action[gcpres.SQLInstance, sslBefore, sqlAPI]{
		name: SQLRequireSSL, resourceType: gcpres.TypeSQLInstance, perms: perms, opts: &b.opts, api: c,
		docID: instanceID,
		plan: func(d *gcpres.SQLInstance) (remediation.Plan, error) {
			if requiresSSL(d.SSLMode, d.RequireSSL) {
				return remediation.Plan{Noop: true, Change: instanceLabel(d) + " already accepts only encrypted connections"}, nil
			}
			from := d.SSLMode
			if from == "" || from == sslUnspecified {
				from = "unset"
			}
			return remediation.Plan{Change: "Require SSL/TLS on " + instanceLabel(d) + " (sslMode: " + from + " -> " + sslEncryptedOnly +
				"); clients that connect without encryption are refused"}, nil
		},
		apply: func(ctx context.Context, c sqlAPI, l loc) (sslBefore, bool, error) {
			in, err := c.GetInstance(ctx, l.Project, l.Name)
			if err != nil {
				return sslBefore{}, false, err
			}
			ipc := ipConfig(in)
			before := sslBefore{SSLMode: ipc.SslMode, RequireSSL: ipc.RequireSsl}
			if requiresSSL(ipc.SslMode, ipc.RequireSsl) {
				return before, false, nil
			}
			patch := &sqladmin.IpConfiguration{SslMode: sslEncryptedOnly}
			if ipc.RequireSsl {
				patch.ForceSendFields = []string{"RequireSsl"}
			}
			return before, true, patchIP(ctx, c, l, patch, w)
		},
		undo: func(ctx context.Context, c sqlAPI, l loc, before sslBefore) error {
			in, err := c.GetInstance(ctx, l.Project, l.Name)
			if err != nil {
				return err
			}
			ipc := ipConfig(in)
			if ipc.SslMode != sslEncryptedOnly || ipc.RequireSsl {
				// Restored already, or changed since by someone else:
				// Undo must not overwrite a later decision.
				return nil
			}
			patch := &sqladmin.IpConfiguration{SslMode: before.SSLMode, RequireSsl: before.RequireSSL, ForceSendFields: []string{"RequireSsl"}}
			if before.SSLMode == "" {
				patch.NullFields = []string{"SslMode"}
			}
			return patchIP(ctx, c, l, patch, w)
		},
		check: func(before sslBefore) error {
			if requiresSSL(before.SSLMode, before.RequireSSL) {
				return fmt.Errorf("sslMode %q with requireSsl %v already requires SSL: Apply did not change it", before.SSLMode, before.RequireSSL)
			}
			if !slices.Contains([]string{"", sslUnspecified, sslAllow}, before.SSLMode) {
				return fmt.Errorf("sslMode %q is not a Cloud SQL SSL mode", before.SSLMode)
			}
			return nil
		},
	}, nil
}
