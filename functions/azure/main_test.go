package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/azfunc"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// The configuration errors stop the handler before it listens, with the
// variable named.
func TestRunConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"no port", map[string]string{}, "FUNCTIONS_CUSTOMHANDLER_PORT is not set: the Functions host sets it (set it to run the handler on its own)"},
		{"no tenant", map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": "7071"}, "DRIFTWATCH_EVENTGRID_TENANT is not set: the Entra tenant issuing Event Grid's delivery tokens"},
		{"no audience", map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": "7071", "DRIFTWATCH_EVENTGRID_TENANT": "72f988bf-86f1-41af-91ab-2d7cd011db47"},
			"DRIFTWATCH_EVENTGRID_AUDIENCE is not set: the webhook application's ID URI or client id"},
	}
	for _, tt := range tests {
		err := run(t.Context(), func(k string) string { return tt.env[k] }, slog.New(slog.DiscardHandler))
		if err == nil || err.Error() != tt.wantErr {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

// serve answers the handshake and deliveries on its listener and, when
// its context ends, stops accepting but lets the delivery in flight
// finish.
func TestServe(t *testing.T) {
	auth, err := azfunc.NewSharedSecret([]string{"a-secret-of-the-test-delivery"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	slow := &slowExecutor{started: make(chan struct{}), release: make(chan struct{})}
	srv, err := azfunc.New(azfunc.Config{Executor: slow, RemediationAuth: auth}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, srv, slog.New(slog.DiscardHandler)) }()

	req, err := http.NewRequest(http.MethodOptions, base+azfunc.RemediationPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("WebHook-Request-Origin", "eventgrid.azure.net")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("WebHook-Allowed-Origin") != "eventgrid.azure.net" {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}

	// A delivery in flight when the stop signal comes.
	body := `[{"id":"e1","eventType":"Driftwatch.ReevaluationRequested","subject":"/subscriptions/s/resourcegroups/rg/providers/microsoft.storage/storageaccounts/a","eventTime":"2026-12-04T10:00:00Z","dataVersion":"1.0",` +
		`"data":{"op":"reevaluate","key":{"cloud":"azure","account":"s","resource_id":"/subscriptions/s/resourcegroups/rg/providers/microsoft.storage/storageaccounts/a"},"resource_type":"Microsoft.Storage/storageAccounts","by":"Bob","at":"2026-12-04T10:00:00Z"}}]`
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post(base+azfunc.RemediationPath+"?code=a-secret-of-the-test-delivery", "application/json", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-slow.started
	cancel()
	// Stopped accepting: a new connection is refused once Shutdown has
	// closed the listener.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts after the stop signal")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(slow.release)
	if status := <-answered; status != http.StatusOK {
		t.Errorf("the delivery in flight got %d, want 200", status)
	}
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}

// slowExecutor holds its first request until released.
type slowExecutor struct {
	started, release chan struct{}
	once             sync.Once
}

func (s *slowExecutor) Handle(ctx context.Context, req remediation.Request) error {
	s.once.Do(func() { close(s.started) })
	<-s.release
	return nil
}

// host.json and the function.json files say what shared/azfunc assumes:
// the handler binary, forwarded requests, the /api/ prefix, and exactly
// the two functions, anonymous (the handler authenticates), for POST and
// OPTIONS, at their default routes.
func TestFunctionMetadata(t *testing.T) {
	var host struct {
		Version       string `json:"version"`
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
	readStrict(t, "host.json", &host)
	switch {
	case host.Version != "2.0":
		t.Errorf("host.json version %q", host.Version)
	case host.CustomHandler.Description.DefaultExecutablePath != "handler":
		t.Errorf("host.json starts %q, want handler", host.CustomHandler.Description.DefaultExecutablePath)
	case !host.CustomHandler.EnableForwardingHTTPRequest:
		t.Error("host.json does not forward the HTTP requests")
	case host.Extensions.HTTP.RoutePrefix == nil || *host.Extensions.HTTP.RoutePrefix != "api":
		t.Error(`host.json must pin the route prefix "api" (azfunc's paths)`)
	}

	var functions []string
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(e.Name(), "function.json")); e.IsDir() && err == nil {
			functions = append(functions, e.Name())
		}
	}
	if want := []string{azfunc.RemediationFunction, azfunc.ResourceEventsFunction}; !slices.Equal(functions, want) {
		t.Errorf("functions %v, want %v", functions, want)
	}
	for _, fn := range functions {
		var meta struct {
			Bindings []struct {
				Type      string   `json:"type"`
				Direction string   `json:"direction"`
				Name      string   `json:"name"`
				AuthLevel string   `json:"authLevel"`
				Methods   []string `json:"methods"`
				Route     *string  `json:"route"`
			} `json:"bindings"`
		}
		readStrict(t, filepath.Join(fn, "function.json"), &meta)
		if len(meta.Bindings) != 2 {
			t.Errorf("%s: %d bindings, want the HTTP trigger and the HTTP output", fn, len(meta.Bindings))
			continue
		}
		in, out := meta.Bindings[0], meta.Bindings[1]
		methods := slices.Sorted(slices.Values(in.Methods))
		if in.Type != "httpTrigger" || in.Direction != "in" || in.AuthLevel != "anonymous" || !slices.Equal(methods, []string{"options", "post"}) || in.Route != nil {
			t.Errorf("%s: trigger %+v", fn, in)
		}
		if out.Type != "http" || out.Direction != "out" {
			t.Errorf("%s: output %+v", fn, out)
		}
	}
}

// readStrict decodes a JSON file, refusing unknown fields.
func readStrict(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
