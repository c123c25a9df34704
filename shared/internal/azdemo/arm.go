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
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/driftwatch/driftwatch/shared/azremedy/armfake"
)

// ARM serves an armfake.Server (the SDK's fake servers over one in-memory
// subscription) over a local TLS server: the ARM SDK clients of another
// process reach it through their cloud configuration's Resource Manager
// endpoint (DRIFTWATCH_ARM_ENDPOINT for the Azure function). Requests
// without a bearer token are refused with 401, as ARM refuses them.
type ARM struct {
	Fake *armfake.Server
	srv  *httptest.Server
}

// ServeARM starts serving fake.
func ServeARM(fake *armfake.Server) *ARM {
	a := &ARM{Fake: fake}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	return a
}

// Endpoint is the Resource Manager endpoint (https://127.0.0.1:port).
func (a *ARM) Endpoint() string { return a.srv.URL }

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

func (a *ARM) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"code":"AuthenticationFailed","message":"Authentication failed. The 'Authorization' header is missing."}}`)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = "https", r.Host
	resp, err := a.Fake.Transport().Do(out)
	if err != nil {
		// The SDK's fake servers answer ARM's errors as Go errors carrying
		// the response they stand for.
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.RawResponse == nil {
			http.Error(w, "armfake: "+err.Error(), http.StatusInternalServerError)
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

// Server returns the ARM's TLS server (for WriteCA).
func (a *ARM) Server() *httptest.Server { return a.srv }

// TLSClient is an HTTP client trusting the fakes' certificate.
func TLSClient(srv *httptest.Server) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: CA(srv), MinVersion: tls.VersionTLS12}}}
}
