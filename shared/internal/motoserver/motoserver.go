// Package motoserver starts a local moto_server (the AWS protocol emulator the
// project's machines provide) for tests, the demo and the benchmarks.
//
// moto cannot be installed by the project (PyPI is not reachable from the
// build machines), so a missing moto_server is a hard error, never a skip.
package motoserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/driftwatch/driftwatch/shared/internal/procgroup"
)

// Server is a running moto_server.
type Server struct {
	URL string
	cmd *exec.Cmd
}

// ErrMissing means moto_server is not on PATH.
var ErrMissing = errors.New("moto_server not found on PATH: it is preinstalled on the project's machines (see README, Requirements)")

// Start runs moto_server on a free loopback port and waits until it answers.
func Start(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrMissing
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	procgroup.Isolate(cmd)
	if os.Getenv("MOTO_LOG") == "" {
		cmd.Stdout, cmd.Stderr = nil, nil
	} else {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("moto_server did not answer on %s: %w", s.URL, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close stops the server and its process group.
func (s *Server) Close() {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	procgroup.Stop(s.cmd, 5*time.Second)
}

// Reset drops every resource in the emulator.
func (s *Server) Reset(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/moto-api/reset", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	resp.Body.Close()
	return nil
}

// Config returns an SDK configuration that talks to the server with static
// test credentials, in region. It retries only a request whose connection
// the emulator closed under it (moto's server drops kept-alive connections
// at its own pace); every error the emulator answers reaches the test as it
// is, with no retry.
func (s *Server) Config(region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(s.URL),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(closedConnection)}
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 10 * time.Millisecond, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// closedConnection reports a request that died with its connection.
func closedConnection(err error) aws.Ternary {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "use of closed network connection") ||
		strings.Contains(err.Error(), "connection reset by peer") {
		return aws.TrueTernary
	}
	return aws.FalseTernary
}

// StartTB starts a server for a test or benchmark and stops it at cleanup.
func StartTB(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start(context.Background())
	if err != nil {
		tb.Fatalf("moto_server: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// SerialClient returns an HTTP client for the emulator that sends one
// request at a time: moto's DynamoDB does not isolate concurrent
// transactions, which real DynamoDB does per request, so tests whose
// functions write concurrently serialise their requests to it (what they
// then observe is driftwatch's concurrency control, not the emulator's).
func SerialClient() *http.Client {
	return &http.Client{Transport: Serialize(awshttp.NewBuildableClient().GetTransport())}
}

// Serialize is SerialClient's transport over next (a transport with its
// own TLS settings, for a test that also reaches a local HTTPS fake).
func Serialize(next http.RoundTripper) http.RoundTripper {
	return &serialTransport{next: next}
}

type serialTransport struct {
	mu   sync.Mutex
	next http.RoundTripper
}

func (s *serialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next.RoundTrip(r)
}
