package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/lambdarun"
)

// functionEnv is the bootstrap's environment: the same moto, Slack recorder
// and table as the in-process handler.
func (w *world) functionEnv() []string {
	env := []string{
		"AWS_ENDPOINT_URL=" + w.moto.URL,
		"AWS_REGION=" + region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		// A profile or session token in the caller's environment must not
		// leak into the emulator run.
		"AWS_SESSION_TOKEN=",
		"AWS_PROFILE=",
	}
	for k, v := range w.detectorEnv() {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

// coldStartReport times cold starts of the bootstrap: to the first handled
// event (an irrelevant one, runs times; a drifting one, once), and to the
// end of init alone. Its peak memory comes from the kernel's accounting of
// the waited-for children.
func coldStartReport(ctx context.Context, w *world, bootstrap string, runs int, log *slog.Logger) (report, error) {
	var rep report
	env := w.functionEnv()
	ssh := &w.lanes[0]
	sshPair := ssh.pairs[0]
	const section = "cold start (bootstrap)"

	log.Info("cold starts", "runs", runs, "bootstrap", bootstrap)
	var first []time.Duration
	for range runs {
		payload, err := w.payload(ssh.env, sshPair.drift, true)
		if err != nil {
			return rep, err
		}
		d, sum, err := coldStart(ctx, bootstrap, env, payload)
		if err != nil {
			return rep, err
		}
		if err := checkOutcome(classIrrelevant, sum); err != nil {
			return rep, fmt.Errorf("cold start with an irrelevant event: %w", err)
		}
		first = append(first, d)
	}
	rep.add(row{section: section, measure: "process start → irrelevant event answered", n: fmt.Sprint(runs), result: spread(first),
		detail: "Lambda Runtime API served in-process (lambdarun.ColdStart)"})

	var inits []time.Duration
	var initRSS int64
	for range runs {
		d, kb, err := timeInit(ctx, bootstrap, env)
		if err != nil {
			return rep, err
		}
		inits = append(inits, d)
		initRSS = max(initRSS, kb)
	}
	rep.add(row{section: section, measure: "process start → first request for an event (init alone)", n: fmt.Sprint(runs), result: spread(inits),
		detail: fmt.Sprintf("peak RSS at that point (VmHWM, max of runs): %.1f MB", float64(initRSS)/1024)})

	if err := sshPair.drift.apply(ctx, ssh.env); err != nil {
		return rep, fmt.Errorf("make the change of %s: %w", sshPair.drift.event, err)
	}
	payload, err := w.payload(ssh.env, sshPair.drift, false)
	if err != nil {
		return rep, err
	}
	calls := len(w.slack.Calls())
	d, sum, err := coldStart(ctx, bootstrap, env, payload)
	if err != nil {
		return rep, err
	}
	if err := checkOutcome(classDrift, sum); err != nil {
		return rep, fmt.Errorf("cold start with a drifting event: %w", err)
	}
	rep.add(row{section: section, measure: "process start → drifting event handled (SSH opened)", n: "1", result: fmtDur(d),
		detail: fmt.Sprintf("fetch, evaluate, store, %d Slack call(s)", len(w.slack.Calls())-calls)})

	// ru_maxrss of RUSAGE_CHILDREN is the largest resident set of any
	// waited-for child: here the bootstrap runs (moto_server is still
	// running, so it does not count yet).
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err == nil && ru.Maxrss > 0 {
		rep.add(row{section: section, measure: "peak RSS of the bootstrap", n: fmt.Sprint(2*runs + 1), result: fmt.Sprintf("%.1f MB", float64(ru.Maxrss)/1024),
			detail: "largest over every run above, events included (getrusage RUSAGE_CHILDREN)"})
	}
	rep.note("Cold start: the built bootstrap started as a fresh process per run with the function's environment pointing at the same moto and Slack recorder; AWS Lambda adds its own sandbox set-up, and moto on loopback answers faster than AWS.")
	return rep, nil
}

// coldStart runs one cold start and decodes the function's answer.
func coldStart(ctx context.Context, bootstrap string, env []string, payload []byte) (time.Duration, awsdetector.Summary, error) {
	var logs bytes.Buffer
	var sum awsdetector.Summary
	d, body, err := lambdarun.ColdStart(ctx, bootstrap, env, payload, &logs)
	if err != nil {
		return d, sum, fmt.Errorf("cold start of %s: %w\nfunction output:\n%s", bootstrap, err, tail(logs.String(), 20))
	}
	if err := json.Unmarshal(body, &sum); err != nil {
		return d, sum, fmt.Errorf("cold start of %s: response %s: %w", bootstrap, body, err)
	}
	return d, sum, nil
}

// timeInit measures the function's init alone: from the process start to
// its first request for an event, which aws-lambda-go sends once main has
// built the handler (configuration read, rules compiled, clients made). It
// serves only that request and never answers it; lambdarun.ColdStart
// cannot tell this moment apart. It returns the time and the process's
// peak resident set then (VmHWM, in KiB).
func timeInit(ctx context.Context, bootstrap string, env []string) (time.Duration, int64, error) {
	next := make(chan time.Time, 1)
	initErr := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case next <- time.Now():
		default:
		}
		<-r.Context().Done() // the process is killed while it waits
	})
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		select {
		case initErr <- string(body):
		default:
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var logs bytes.Buffer
	cmd := exec.Command(bootstrap)
	cmd.Env = append(append(os.Environ(), env...),
		"AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(srv.URL, "http://"),
		"AWS_LAMBDA_FUNCTION_NAME=driftwatch-aws-detector",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("start %s: %w", bootstrap, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	select {
	case at := <-next:
		kb, err := peakRSS(cmd.Process.Pid)
		stop()
		return at.Sub(start), kb, err
	case body := <-initErr:
		stop()
		return 0, 0, fmt.Errorf("%s: init error %s\nfunction output:\n%s", bootstrap, body, tail(logs.String(), 20))
	case err := <-exited:
		return 0, 0, fmt.Errorf("%s exited during init: %v\nfunction output:\n%s", bootstrap, err, tail(logs.String(), 20))
	case <-ctx.Done():
		stop()
		return 0, 0, ctx.Err()
	}
}

// peakRSS reads VmHWM (KiB) from /proc/<pid>/status.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS: VmHWM %q: %w", v, err)
			}
			return kb, nil
		}
	}
	return 0, fmt.Errorf("peak RSS: no VmHWM in /proc/%d/status", pid)
}

// spread is min, median and max.
func spread(d []time.Duration) string {
	s := slices.Sorted(slices.Values(d))
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return fmt.Sprintf("min %s · median %s · max %s", fmtDur(s[0]), fmtDur(med), fmtDur(s[len(s)-1]))
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// sizeReport lists the bootstrap binaries: the one given and its other
// architectures beside it (bin/aws-detector/<arch>/bootstrap).
func sizeReport(bootstrap string) report {
	var rep report
	paths := []string{bootstrap}
	// bin/aws-detector/<arch>/bootstrap: the other functions' binaries,
	// built by make build beside it, are bin/aws-<function>/<arch>/bootstrap.
	bin := filepath.Dir(filepath.Dir(filepath.Dir(bootstrap)))
	for _, fn := range []string{"aws-detector", "aws-remediator", "aws-interactivity"} {
		for _, arch := range []string{"amd64", "arm64"} {
			paths = append(paths, filepath.Join(bin, fn, arch, "bootstrap"))
		}
	}
	seen := map[string]bool{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil || seen[abs] {
			continue
		}
		seen[abs] = true
		st, err := os.Stat(abs)
		if err != nil {
			continue
		}
		name := filepath.Join(filepath.Base(filepath.Dir(filepath.Dir(p))), filepath.Base(filepath.Dir(p)), filepath.Base(p))
		rep.add(row{section: "binary", measure: "size of " + name, n: "", result: fmtBytes(st.Size()),
			detail: fmt.Sprintf("%d bytes", st.Size())})
	}
	return rep
}
