// Package daemon runs a mount in the background and keeps track of it.
//
// A Go program cannot fork safely, so going to the background means running
// the program again: Start re-executes it, detached in a session of its own,
// with a pipe on which the child reports back; the parent returns only once
// the child has said the mount is ready, or with the child's error. The
// package also records each running mount (record.go) so that an unmount can
// wait for the mount process to finish, and reads the kernel's mount table
// (mountinfo.go).
package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// ReadyEnv names the environment variable that tells a child which file
// descriptor to report on.
const ReadyEnv = "H5MOUNT_READY_FD"

// readyFD is the child's descriptor of the report pipe: the first of
// exec.Cmd.ExtraFiles.
const readyFD = 3

// The report is a few lines: any number of warnings, then one final line.
const (
	lineOK    = "ok"
	prefWarn  = "warning: "
	prefError = "error: "
)

// Start runs the program again with args (args[0] excluded), detached from
// the terminal, and waits for its report. Warnings the child sends are
// handed to warn as they come. logFile, when not empty, receives the child's
// standard output and error; otherwise they go to /dev/null.
//
// Start returns nil once the child reports the mount ready; the child keeps
// running. Any other outcome is an error holding the child's one-line
// explanation.
func Start(args []string, logFile string, warn func(string)) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find own executable to go to the background: %w", err)
	}
	out, err := childOutput(logFile)
	if err != nil {
		return err
	}
	defer out.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()

	cmd := exec.Command(exe, args...)
	cmd.Env = append(withoutReadyEnv(os.Environ()), ReadyEnv+"="+strconv.Itoa(readyFD))
	cmd.Stdin = devnull
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close() // the child holds the only write end now: EOF means it is gone
	if err != nil {
		return fmt.Errorf("cannot start the background process: %w", err)
	}

	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == lineOK:
			// The child runs on; nobody waits for it.
			_ = cmd.Process.Release()
			return nil
		case strings.HasPrefix(line, prefWarn):
			if warn != nil {
				warn(strings.TrimPrefix(line, prefWarn))
			}
		case strings.HasPrefix(line, prefError):
			_ = cmd.Wait()
			return errors.New(strings.TrimPrefix(line, prefError))
		}
	}
	werr := cmd.Wait()
	where := ""
	if logFile != "" {
		where = " (see " + logFile + ")"
	}
	if werr != nil {
		return fmt.Errorf("background process failed before the mount was ready: %v%s", werr, where)
	}
	return fmt.Errorf("background process exited before the mount was ready%s", where)
}

// childOutput opens where the child's stdout and stderr go.
func childOutput(logFile string) (*os.File, error) {
	if logFile == "" {
		return os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	}
	f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}

func withoutReadyEnv(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, ReadyEnv+"=") {
			out = append(out, e)
		}
	}
	return out
}

// Reporter is the child's end of the report pipe.
type Reporter struct {
	w    io.WriteCloser
	done bool
}

// Child returns the reporter when this process was started by Start, else
// nil. It clears the environment variable so that programs the child runs
// do not see it.
func Child() *Reporter {
	v, ok := os.LookupEnv(ReadyEnv)
	if !ok {
		return nil
	}
	os.Unsetenv(ReadyEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	f := os.NewFile(uintptr(fd), "h5mount-ready")
	if f == nil {
		return nil
	}
	syscall.CloseOnExec(fd)
	return &Reporter{w: f}
}

// Warn passes a warning to the parent, which prints it.
func (r *Reporter) Warn(msg string) {
	if r == nil || r.done {
		return
	}
	fmt.Fprintf(r.w, "%s%s\n", prefWarn, oneLine(msg))
}

// Ready tells the parent the mount is ready; the parent then exits 0.
func (r *Reporter) Ready() {
	r.finish(lineOK)
}

// Fail gives the parent the one line explaining why there is no mount.
func (r *Reporter) Fail(msg string) {
	r.finish(prefError + oneLine(msg))
}

func (r *Reporter) finish(line string) {
	if r == nil || r.done {
		return
	}
	r.done = true
	fmt.Fprintf(r.w, "%s\n", line)
	r.w.Close()
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ").Replace(s)
}
