package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/lambdarun"
)

// buildBootstrap builds the function as make build does (static, no RPC,
// trimmed paths) but keeps its symbols for TestMethodDeadCodeEliminationStaysOn.
// It builds once per test run: a cold build compiles the whole SDK.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	bin, err := bootstrap()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// bootstrapDir is where bootstrap built the binary ("" until it runs).
var bootstrapDir string

var bootstrap = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "driftwatch-bootstrap-")
	if err != nil {
		return "", err
	}
	bootstrapDir = dir
	bin := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if bootstrapDir != "" {
		os.RemoveAll(bootstrapDir)
	}
	os.Exit(code)
}

// The built binary speaks the Lambda Runtime API: it starts, takes an event
// from /next and posts its answer. The events here need no AWS call (the
// store is the embedded one), so no emulator is involved; the whole path
// against the emulator is awsdetector's end-to-end test.
func TestBootstrapAnswersThroughTheRuntimeAPI(t *testing.T) {
	bin := buildBootstrap(t)
	env := []string{
		"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"DRIFTWATCH_STORE_FILE=" + filepath.Join(t.TempDir(), "posture.json"),
		"SLACK_BOT_TOKEN=xoxb-test", "SLACK_CHANNEL=C0TEST", "SLACK_API_URL=http://127.0.0.1:9/",
	}
	readOnly := `{"version":"0","id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":"123456789012",
		"region":"eu-west-1","detail":{"eventVersion":"1.09","eventID":"ro-1","eventName":"DescribeSecurityGroups","eventSource":"ec2.amazonaws.com",
		"eventType":"AwsApiCall","readOnly":true,"awsRegion":"eu-west-1","recipientAccountId":"123456789012","eventTime":"2026-12-04T10:00:00Z"}}`
	tests := []struct {
		name, event, reason string
	}{
		{"read-only call", readOnly, "read_only"},
		// Lambda only delivers valid JSON (it refuses anything else at
		// invoke), so the malformed case is JSON of no known shape.
		{"unknown shape", `{"hello": ["world"]}`, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			took, body, err := lambdarun.ColdStart(ctx, bin, env, []byte(tc.event), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var sum struct {
				Records int            `json:"records"`
				Dropped map[string]int `json:"dropped"`
			}
			if err := json.Unmarshal(body, &sum); err != nil {
				t.Fatalf("response %s: %v", body, err)
			}
			if sum.Records != 1 || sum.Dropped[tc.reason] != 1 {
				t.Fatalf("response = %s, want one %s drop", body, tc.reason)
			}
			t.Logf("process start to answer: %s", took)
		})
	}
}

// An invalid configuration stops the function at start with a JSON log line
// naming the problem (Lambda then reports an init error).
func TestBootstrapRefusesInvalidConfiguration(t *testing.T) {
	bin := buildBootstrap(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var logs strings.Builder
	_, _, err := lambdarun.ColdStart(ctx, bin, []string{"SLACK_CHANNEL=C0TEST"}, []byte(`{}`), &logs)
	if err == nil || !strings.Contains(err.Error(), "exited before answering") {
		t.Fatalf("error = %v, want the process to exit", err)
	}
	if !strings.Contains(logs.String(), `"msg":"invalid configuration"`) || !strings.Contains(logs.String(), "DRIFTWATCH_TABLE is required") {
		t.Fatalf("logs = %s", logs.String())
	}
}
