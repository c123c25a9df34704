// Package lambdarun runs a built Lambda bootstrap binary locally: under the
// AWS Lambda Runtime Interface Emulator (aws-lambda-rie, the real emulator,
// used by make demo), or against a minimal in-process Runtime API (used by the
// benchmarks to time a cold start without the emulator's own start-up).
package lambdarun

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/driftwatch/driftwatch/shared/internal/procgroup"
)

// RIE is a running aws-lambda-rie with one function.
type RIE struct {
	url string
	cmd *exec.Cmd
}

// StartRIE runs bootstrap under the emulator at riePath with env added to the
// current environment. Output of the function (its JSON logs) goes to logw.
func StartRIE(ctx context.Context, riePath, bootstrap string, env []string, logw io.Writer) (*RIE, error) {
	invokePort, err := freePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(riePath,
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(invokePort),
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort),
		bootstrap)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logw, logw
	procgroup.Isolate(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", riePath, err)
	}
	r := &RIE{url: "http://127.0.0.1:" + strconv.Itoa(invokePort), cmd: cmd}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(invokePort), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return r, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			r.Close()
			return nil, fmt.Errorf("aws-lambda-rie did not listen: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Invoke sends one event and returns the function's response body. A
// function error comes back as a body with errorMessage and errorType.
func (r *RIE) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke: HTTP %d: %s", resp.StatusCode, body)
	}
	return body, nil
}

// Close stops the emulator, which stops the function.
func (r *RIE) Close() {
	if r == nil || r.cmd.Process == nil {
		return
	}
	procgroup.Stop(r.cmd, 5*time.Second)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
