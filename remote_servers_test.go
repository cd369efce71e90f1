package main

// Servers the remote-mount tests run on loopback: nginx for HTTP range
// requests, versitygw for S3, and a fault-injecting proxy. They are started
// as children of the test; a missing program fails the test (scripts/test.sh
// installs them).

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	s3Bucket = "data"
	s3Access = "h5mounttest"
	s3Secret = "h5mounttestsecret"
)

// freePort is a loopback port nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitListening waits until something accepts connections at addr.
func waitListening(t *testing.T, addr string, cmd *exec.Cmd, logf string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, _ := os.ReadFile(logf)
	t.Fatalf("%s did not start listening on %s: %s", cmd.Path, addr, out)
}

// serverProc is a server process that can be stopped and started again on
// the same address.
type serverProc struct {
	name string
	args []string
	env  []string
	addr string
	logf string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (s *serverProc) start(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	lf, err := os.OpenFile(s.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	cmd := exec.Command(s.name, s.args...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", s.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	waitListening(t, s.addr, cmd, s.logf)
}

// stop kills the server at once, as a crash or a network failure would.
func (s *serverProc) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// startNginx serves root over HTTP on loopback.
func startNginx(t *testing.T, root string) *serverProc {
	t.Helper()
	requireTool(t, "nginx", "nginx-light")
	nginx, _ := exec.LookPath("nginx")
	dir := t.TempDir()
	addr := freePort(t)
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 512; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    types { application/x-hdf5 h5; }
    server {
        listen %[2]s;
        root %[3]s;
        location / { }
    }
}
`, dir, addr, root)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &serverProc{name: nginx, addr: addr, logf: filepath.Join(dir, "stderr.log"),
		args: []string{"-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf")}}
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

// startVersity serves the directories of root as S3 buckets on loopback.
func startVersity(t *testing.T, root string) *serverProc {
	t.Helper()
	requireTool(t, "versitygw", "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
	gw, _ := exec.LookPath("versitygw")
	addr := freePort(t)
	s := &serverProc{name: gw, addr: addr, logf: filepath.Join(t.TempDir(), "versitygw.log"),
		args: []string{"--port", addr, "--access", s3Access, "--secret", s3Secret, "--quiet", "posix", root}}
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

// s3Env is the environment an s3:// mount of the test's versitygw needs.
func s3Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s3Access, "AWS_SECRET_ACCESS_KEY=" + s3Secret,
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
	}
}

// mountRemote mounts url in the background with env added to the
// environment, and unmounts it when the test ends. Unlike mountT it may be
// called from any goroutine: failures are returned.
func mountRemote(t *testing.T, url string, env []string, opts ...string) (string, error) {
	mnt := filepath.Join(t.TempDir(), "mnt")
	cmd := exec.Command(h5mountBin, append(append([]string{}, opts...), url, mnt)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t.Cleanup(func() { unmountCleanup(t, mnt) })
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("h5mount %q %s: %v: %s", opts, url, err, out.String())
	}
	return mnt, nil
}

// faultProxy stands between h5mount and a server: it counts requests and
// bytes, and can delay, fail with 500, or cut responses mid-body.
type faultProxy struct {
	target   string
	srv      *http.Server
	addr     string
	delay    atomic.Int64 // nanoseconds before each answer
	fail500  atomic.Int64 // answer this many next requests with a 500
	cut      atomic.Bool  // send half of each body, then drop the connection
	requests atomic.Int64
	bytes    atomic.Int64
}

func startProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{target: target, addr: l.Addr().String()}
	p.srv = &http.Server{Handler: p}
	go p.srv.Serve(l)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	time.Sleep(time.Duration(p.delay.Load()))
	if p.fail500.Add(-1) >= 0 {
		http.Error(w, "injected failure", http.StatusInternalServerError)
		return
	}
	out, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.target+r.URL.RequestURI(), nil)
	for k, v := range r.Header {
		out.Header[k] = v
	}
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	if p.cut.Load() {
		n, _ := io.CopyN(w, resp.Body, max(1, resp.ContentLength/2))
		p.bytes.Add(n)
		panic(http.ErrAbortHandler) // drops the connection mid-body
	}
	n, _ := io.Copy(w, resp.Body)
	p.bytes.Add(n)
}

// accessStats counts the requests nginx logged after the first skip, and
// the body bytes they sent.
func accessStats(t *testing.T, s *serverProc, skip int) (n int, bytes int64) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(filepath.Dir(s.logf), "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for _, l := range lines[min(skip, len(lines)):] {
		// combined format: ... "GET /x HTTP/1.1" STATUS BYTES "referer" "agent"
		_, after, ok := strings.Cut(l, "\" ")
		f := strings.Fields(after)
		if !ok || len(f) < 2 {
			continue
		}
		var b int64
		fmt.Sscan(f[1], &b)
		n++
		bytes += b
	}
	return n, bytes
}

// accessCount is how many requests nginx has logged.
func accessCount(t *testing.T, s *serverProc) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(filepath.Dir(s.logf), "access.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}
