package daemon

import (
	"os/exec"
	"testing"
	"time"
)

// WaitExit: false while the process runs, true once it has exited (reaped
// or not), and at once for a pid that now names another process.
func TestWaitExit(t *testing.T) {
	for _, reap := range []bool{true, false} {
		cmd := exec.Command("sleep", "0.2")
		if err := cmd.Start(); err != nil {
			t.Skip(err)
		}
		pid := cmd.Process.Pid
		r := Record{PID: pid, Start: startTime(pid)}
		if r.Start == 0 {
			t.Fatal("no start time for a running process")
		}
		exited := make(chan struct{})
		if reap {
			go func() { cmd.Wait(); close(exited) }()
		}
		if r.WaitExit(20 * time.Millisecond) {
			t.Fatalf("reap %v: WaitExit says a running process exited", reap)
		}
		if !r.WaitExit(10 * time.Second) {
			t.Fatalf("reap %v: WaitExit timed out on a process that exits after 0.2 s", reap)
		}
		if !reap {
			cmd.Wait()
		} else {
			<-exited
		}
	}
	other := Record{PID: 1, Start: startTime(1) + 1} // init, recorded as started at another time
	if !other.WaitExit(time.Minute) {
		t.Error("a pid naming another process counts as running")
	}
}
