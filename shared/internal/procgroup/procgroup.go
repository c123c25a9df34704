// Package procgroup starts helper processes (emulators, the function under
// test) in their own process group and stops the whole group, so that no
// child outlives the test, the demo or the benchmark that started it.
package procgroup

import (
	"os/exec"
	"syscall"
	"time"
)

// Isolate makes cmd, when started, the leader of a new process group.
func Isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// Stop asks the group of a started cmd to terminate, waits for the process,
// and kills the group if it has not exited after grace.
func Stop(cmd *exec.Cmd, grace time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}
