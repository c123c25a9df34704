package lambdarun

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/driftwatch/driftwatch/shared/internal/procgroup"
)

// ColdStart measures a cold start of a bootstrap binary: from the process
// start to the response of its first invocation. It serves the Lambda
// Runtime API itself (the three endpoints aws-lambda-go's runtime loop uses:
// next, response, error), because no emulator exposes the moment the
// function process starts; aws-lambda-rie starts the process lazily on the
// first invoke and adds its own start-up. The event is delivered once;
// the function's response (or error) body is returned.
func ColdStart(ctx context.Context, bootstrap string, env []string, event []byte, logw io.Writer) (time.Duration, []byte, error) {
	type result struct {
		body []byte
		err  error
		at   time.Time
	}
	done := make(chan result, 1)
	var delivered atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		if delivered.Swap(true) {
			// Long poll: the function waits for its next event until the
			// measurement ends.
			<-r.Context().Done()
			return
		}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", "cold-start-1")
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:driftwatch-aws-detector")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(event)
	})
	finish := func(isErr bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			at := time.Now()
			body, _ := io.ReadAll(r.Body)
			var err error
			if isErr {
				err = fmt.Errorf("function error: %s", body)
			}
			w.WriteHeader(http.StatusAccepted)
			select {
			case done <- result{body: body, err: err, at: at}:
			default:
			}
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", finish(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", finish(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", finish(true))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cmd := exec.Command(bootstrap)
	cmd.Env = append(append(os.Environ(), env...),
		"AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(srv.URL, "http://"),
		"AWS_LAMBDA_FUNCTION_NAME=driftwatch-aws-detector",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
	)
	cmd.Stdout, cmd.Stderr = logw, logw
	procgroup.Isolate(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("start %s: %w", bootstrap, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	select {
	case res := <-done:
		stop()
		return res.at.Sub(start), res.body, res.err
	case err := <-exited:
		return 0, nil, fmt.Errorf("bootstrap exited before answering: %v", err)
	case <-ctx.Done():
		stop()
		return 0, nil, ctx.Err()
	}
}
