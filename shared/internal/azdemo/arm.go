// Package azdemo is the Azure side of the local world the demo, the Azure
// end-to-end test and the end-to-end benchmark run in: the fake ARM served
// over HTTPS (so the real function binary reaches it as it reaches
// management.azure.com), a managed identity endpoint, the remediation
// custom topic, Event Grid's deliveries of the subscription's resource
// events, and the NSG scenario (events/azure) that drives all of them.
//
// Everything here stands in for an Azure service no emulator covers; each
// type says so and what it checks.
package azdemo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/driftwatch/driftwatch/shared/azremedy/armfake"
)

// ARM serves an armfake.Server (the SDK's fake servers over one in-memory
// subscription) over a local TLS server: the ARM SDK clients of another
// process reach it through their cloud configuration's Resource Manager
// endpoint (DRIFTWATCH_ARM_ENDPOINT for the Azure function). Requests
// without a bearer token are refused with 401, as ARM refuses them.
//
// The SDK's fake servers dispatch each request on the API name the SDK
// client puts in the request's context (runtime.CtxAPINameKey,
// "SecurityRulesClient.BeginDelete"), which does not travel over HTTP: the
// ARM puts it back, from the method and the ARM path (APIName), and for a
// fake poller's status read from the operation last started on its path.
type ARM struct {
	Fake *armfake.Server
	srv  *httptest.Server

	mu sync.Mutex
	// lro holds the API name of the long-running operation last started
	// on each path: its status reads (<path>/get/fake/status) name no
	// method of their own.
	lro map[string]string
}

// ServeARM starts serving fake.
func ServeARM(fake *armfake.Server) *ARM {
	a := &ARM{Fake: fake, lro: map[string]string{}}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	return a
}

// Endpoint is the Resource Manager endpoint (https://127.0.0.1:port).
func (a *ARM) Endpoint() string { return a.srv.URL }

// Server returns the ARM's TLS server (for WriteCA).
func (a *ARM) Server() *httptest.Server { return a.srv }

// Close stops the server.
func (a *ARM) Close() { a.srv.Close() }

// ClientOptions are ARM client options for this endpoint, trusting its
// certificate: for SDK clients in this process.
func (a *ARM) ClientOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud:     CloudConfig(a.Endpoint()),
		Transport: a.srv.Client(),
	}}
}

// CloudConfig is the public cloud with Resource Manager at endpoint.
func CloudConfig(endpoint string) cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: cloud.AzurePublic.ActiveDirectoryAuthorityHost,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {
			Endpoint: endpoint, Audience: cloud.AzurePublic.Services[cloud.ResourceManager].Audience,
		}},
	}
}

// fakeStatusSuffix ends the path of a fake poller's status reads.
const fakeStatusSuffix = "/get/fake/status"

func (a *ARM) serve(w http.ResponseWriter, r *http.Request) {
	armError := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		armError(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return
	}
	path := strings.ToLower(r.URL.Path)
	var name string
	if base, ok := strings.CutSuffix(path, fakeStatusSuffix); ok && r.Method == http.MethodGet {
		a.mu.Lock()
		name = a.lro[base]
		a.mu.Unlock()
	} else if n, ok := APIName(r.Method, r.URL.Path); ok {
		name = n
		if r.Method != http.MethodGet {
			a.mu.Lock()
			a.lro[path] = n
			a.mu.Unlock()
		}
	}
	if name == "" {
		armError(http.StatusNotFound, "NoRegisteredProviderFound", "azdemo: no fake API for "+r.Method+" "+r.URL.Path)
		return
	}
	out := r.Clone(context.WithValue(r.Context(), runtime.CtxAPINameKey{}, name))
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = "https", r.Host
	resp, err := a.Fake.Transport().Do(out)
	if err != nil {
		// The SDK's fake servers answer ARM's errors as Go errors carrying
		// the response they stand for.
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.RawResponse == nil {
			armError(http.StatusInternalServerError, "InternalServerError", "armfake: "+err.Error())
			return
		}
		resp = re.RawResponse
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// apis maps "<namespace>/<type>[/<child type>]" and whether the path
// names one resource (true) or the collection (false) to the SDK client and
// its method per HTTP method: every API armfake implements.
var apis = map[string]map[bool]map[string]string{
	"microsoft.storage/storageaccounts": {true: {
		http.MethodPut: "AccountsClient.BeginCreate", http.MethodGet: "AccountsClient.GetProperties",
		http.MethodPatch: "AccountsClient.Update", http.MethodDelete: "AccountsClient.Delete",
	}},
	"microsoft.network/networksecuritygroups": {true: {
		http.MethodPut: "SecurityGroupsClient.BeginCreateOrUpdate", http.MethodGet: "SecurityGroupsClient.Get",
		http.MethodDelete: "SecurityGroupsClient.BeginDelete",
	}},
	"microsoft.network/networksecuritygroups/securityrules": {
		true: {
			http.MethodPut: "SecurityRulesClient.BeginCreateOrUpdate", http.MethodGet: "SecurityRulesClient.Get",
			http.MethodDelete: "SecurityRulesClient.BeginDelete",
		},
		false: {http.MethodGet: "SecurityRulesClient.NewListPager"},
	},
	"microsoft.sql/servers": {true: {
		http.MethodPut: "ServersClient.BeginCreateOrUpdate", http.MethodGet: "ServersClient.Get",
	}},
	"microsoft.sql/servers/firewallrules": {
		true: {
			http.MethodPut: "FirewallRulesClient.CreateOrUpdate", http.MethodGet: "FirewallRulesClient.Get",
			http.MethodDelete: "FirewallRulesClient.Delete",
		},
		false: {http.MethodGet: "FirewallRulesClient.NewListByServerPager"},
	},
	"microsoft.sql/servers/auditingsettings": {true: {
		http.MethodPut: "ServerBlobAuditingPoliciesClient.BeginCreateOrUpdate", http.MethodGet: "ServerBlobAuditingPoliciesClient.Get",
	}},
	"microsoft.keyvault/vaults": {true: {
		http.MethodPut: "VaultsClient.BeginCreateOrUpdate", http.MethodGet: "VaultsClient.Get",
		http.MethodPatch: "VaultsClient.Update",
	}},
}

// APIName is the SDK API name of an ARM request: the provider namespace
// and resource types after the path's last "providers" segment, and the
// method. It knows the APIs armfake implements.
func APIName(method, path string) (string, bool) {
	segs := strings.Split(strings.Trim(strings.ToLower(path), "/"), "/")
	i := len(segs) - 1
	for i >= 0 && segs[i] != "providers" {
		i--
	}
	if i < 0 || i+2 >= len(segs) {
		return "", false
	}
	rest := segs[i+2:] // type, name, child type, child name…
	types := []string{segs[i+1]}
	for j := 0; j < len(rest); j += 2 {
		types = append(types, rest[j])
	}
	item := len(rest)%2 == 0
	name, ok := apis[strings.Join(types, "/")][item][method]
	return name, ok
}

// WriteCA writes the PEM certificate every httptest TLS server of this
// process presents (they share one) to path, for SSL_CERT_FILE of a child
// process that must trust the fakes.
func WriteCA(srv *httptest.Server, path string) error {
	cert := srv.Certificate()
	if cert == nil {
		return errors.New("azdemo: the server is not a TLS server")
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}

// CA returns the certificate pool a client needs to trust srv.
func CA(srv *httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return pool
}

// TLSClient is an HTTP client trusting the fakes' certificate.
func TLSClient(srv *httptest.Server) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: CA(srv), MinVersion: tls.VersionTLS12}}}
}
