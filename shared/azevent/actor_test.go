package azevent

import (
	"encoding/json"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
)

func TestActor(t *testing.T) {
	const (
		upnURI  = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
		oidURI  = "http://schemas.microsoft.com/identity/claims/objectidentifier"
		nameURI = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
		portal  = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
		cli     = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
		pwsh    = "1950a258-227b-4e31-a9cf-717495945fc2"
		app     = "a1b2c3d4-0000-4000-8000-000000000001"
		oid     = "f409edeb-4d29-44b5-9763-ee9348ad91bb"
	)
	evidence := func(principalType string) any {
		return map[string]any{"action": "x", "evidence": map[string]any{"role": "Contributor", "principalType": principalType}}
	}
	cases := []struct {
		name    string
		claims  any
		authz   any
		request any
		want    change.Actor
	}{
		{name: "a user in the portal (docs activity-log sample claims)",
			claims:  map[string]any{upnURI: "rob@contoso.com", "name": "Rob Robertson", "appid": portal, oidURI: oid, "ipaddr": "111.111.1.111", "iat": "1234567890"},
			request: map[string]any{"clientIpAddress": "203.0.113.9", "method": "PUT"},
			want:    change.Actor{Principal: "rob@contoso.com", Type: TypeUser, Name: "Rob Robertson", SourceIP: "203.0.113.9", Via: ViaConsole}},
		{name: "a user of the CLI, v2 short claims, numeric iat, no httpRequest",
			claims: map[string]any{"upn": "ana@contoso.com", "azp": cli, "oid": oid, "iat": 1630306600, "ipaddr": "198.51.100.4", "idtyp": "user"},
			want:   change.Actor{Principal: "ana@contoso.com", Type: TypeUser, Name: "ana@contoso.com", SourceIP: "198.51.100.4", Via: ViaCLI}},
		{name: "a user of Azure PowerShell",
			claims: map[string]any{upnURI: "ops@contoso.com", "name": "Ops", "appid": pwsh},
			want:   change.Actor{Principal: "ops@contoso.com", Type: TypeUser, Name: "Ops", Via: ViaCLI}},
		{name: "a guest without UPN through an unknown app",
			claims: map[string]any{"name": "Guest", nameURI: "guest@example.com", "appid": app, oidURI: oid, "idtyp": "user"},
			want:   change.Actor{Principal: app, Type: TypeUser, Name: "Guest", Via: ViaUnknown}},
		{name: "a service principal (docs action sample claims) with evidence",
			claims: map[string]any{"appid": app, "appidacr": "2", oidURI: oid},
			authz:  evidence("ServicePrincipal"),
			want:   change.Actor{Principal: app, Type: TypeServicePrincipal, Via: ViaSDK}},
		{name: "a service principal known by idtyp",
			claims: map[string]any{"appid": app, "idtyp": "app", "name": "deployer"},
			want:   change.Actor{Principal: app, Type: TypeServicePrincipal, Name: "deployer", Via: ViaSDK}},
		{name: "an app-only token without idtyp or evidence",
			claims: map[string]any{"appid": app, oidURI: oid},
			want:   change.Actor{Principal: app, Type: TypeServicePrincipal, Via: ViaSDK}},
		{name: "a managed identity",
			claims: map[string]any{"appid": app, oidURI: oid, "xms_mirid": "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/driftwatch-fixer"},
			authz:  evidence("ServicePrincipal"),
			want:   change.Actor{Principal: app, Type: TypeManagedIdentity, Name: "driftwatch-fixer", Via: ViaSDK}},
		{name: "only an object id", claims: map[string]any{oidURI: oid},
			want: change.Actor{Principal: oid, Via: ViaUnknown}},
		{name: "a user known by the role assignment only",
			claims: map[string]any{"name": "Someone", oidURI: oid}, authz: evidence("User"),
			want: change.Actor{Principal: oid, Type: TypeUser, Name: "Someone", Via: ViaUnknown}},
		{name: "a group assignment says nothing of the caller",
			claims: map[string]any{"name": "Someone", oidURI: oid, "appid": app}, authz: evidence("Group"),
			want: change.Actor{Principal: app, Name: "Someone", Via: ViaUnknown}},
		{name: "claims of odd types",
			claims: map[string]any{upnURI: 7, "name": map[string]any{"x": 1}, "appid": true, "oid": []any{"a"}},
			want:   change.Actor{Principal: "7", Type: TypeUser, Name: "7", Via: ViaUnknown}},
		{name: "2017 placeholder strings", claims: "{azure_resource_manager_claims}", authz: "{azure_resource_manager_authorizations}", request: "{request-operation}",
			want: change.Actor{Via: ViaUnknown}},
		{name: "an httpRequest with an odd member keeps the address",
			claims:  map[string]any{upnURI: "a@b.c"},
			request: map[string]any{"method": 5, "clientIpAddress": "192.0.2.1", "url": []any{}},
			want:    change.Actor{Principal: "a@b.c", Type: TypeUser, Name: "a@b.c", SourceIP: "192.0.2.1", Via: ViaUnknown}},
		{name: "nothing", want: change.Actor{Via: ViaUnknown}},
	}
	raw := func(v any) json.RawMessage {
		if v == nil {
			return nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := actorOf(raw(tc.claims), raw(tc.authz), raw(tc.request)); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestClassifyVia(t *testing.T) {
	cases := []struct {
		appID, typ, want string
	}{
		{"c44b4083-3bb0-49c1-b47d-974e53cbdf3c", TypeUser, ViaConsole},
		{"04b07795-8ddb-461a-bbee-02f9e1bf7b46", TypeUser, ViaCLI},
		{"1950a258-227b-4e31-a9cf-717495945fc2", TypeUser, ViaCLI},
		// The docs activity-log sample's portal id, mistyped as published.
		{"c44b4083-3bq0-49c1-b47d-974e53cbdf3c", TypeUser, ViaUnknown},
		{"a1b2c3d4-0000-4000-8000-000000000001", TypeServicePrincipal, ViaSDK},
		{"a1b2c3d4-0000-4000-8000-000000000001", TypeManagedIdentity, ViaSDK},
		{"a1b2c3d4-0000-4000-8000-000000000001", TypeUser, ViaUnknown},
		{"", TypeServicePrincipal, ViaUnknown},
		{"", "", ViaUnknown},
	}
	for _, tc := range cases {
		if got := classifyVia(tc.appID, tc.typ); got != tc.want {
			t.Errorf("classifyVia(%q, %q) = %s, want %s", tc.appID, tc.typ, got, tc.want)
		}
	}
}
