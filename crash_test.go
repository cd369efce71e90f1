package main

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashRegion is a byte range of a dataset the crash test writes.
type crashRegion struct {
	dataset string
	off     int64
	size    int
}

// byteModel tracks, for every byte the test wrote, the values a crash may
// leave: the value an fsync acknowledged, plus any value written since.
type byteModel struct {
	mu      sync.Mutex
	allowed map[string]map[int64][]byte // dataset -> offset -> allowed values

	writes, written, syncs, checked int // for the summary
}

func (m *byteModel) write(ds string, off int64, p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.allowed[ds]
	m.writes++
	m.written += len(p)
	for i, b := range p {
		d[off+int64(i)] = append(d[off+int64(i)], b)
	}
}

// acked records that everything written so far is durable: only the
// latest values remain allowed.
func (m *byteModel) acked() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncs++
	for _, d := range m.allowed {
		for off, vals := range d {
			d[off] = vals[len(vals)-1:]
		}
	}
}

// TestKillDuringWrites kills the mount process (SIGKILL) at random moments
// while a client writes and fsyncs, again and again, and checks after each
// kill that the file, once its journal is replayed, opens in libhdf5 and
// holds every acknowledged byte. H5MOUNT_CRASH_ROUNDS sets the number of
// kills (scripts/crash.sh runs hundreds).
func TestKillDuringWrites(t *testing.T) {
	requireFUSE(t)
	rounds := 12
	if v, err := strconv.Atoi(os.Getenv("H5MOUNT_CRASH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	dir := t.TempDir()
	file := copyFixture(t, "weather.h5", dir)
	regions := []crashRegion{{"comp", 0, 4096}}
	for i := 0; i < 6; i++ {
		regions = append(regions, crashRegion{"big", int64(seedOffset*4) + int64(i)*(1<<24), 2048})
	}
	// Two whole chunks of big (128 KiB each, unfiltered): a write of a
	// whole chunk is stored at once, not held until a flush.
	const bigChunk = 128 << 10
	wholeAt := (int64(seedOffset*4) + 8<<24) / bigChunk * bigChunk
	regions = append(regions, crashRegion{"big", wholeAt, 2 * bigChunk})
	model := &byteModel{allowed: map[string]map[int64][]byte{}}
	for _, r := range regions {
		if model.allowed[r.dataset] == nil {
			model.allowed[r.dataset] = map[int64][]byte{}
		}
	}
	// The starting content of the regions.
	initial := readRegions(t, file, regions)
	for i, r := range regions {
		model.write(r.dataset, r.off, initial[i])
	}
	model.acked()
	rng := rand.New(rand.NewSource(7))
	tree := &treeModel{acked: map[string]bool{}, maybe: map[string]bool{}}
	kills := 0
	for round := 0; round < rounds; round++ {
		mnt := filepath.Join(dir, "mnt")
		cmd := exec.Command(h5mountBin, "-f", file, mnt)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitMounted(t, mnt, true)
		stop := make(chan struct{})
		done := make(chan struct{})
		dataSeed, treeSeed := rng.Int63(), rng.Int63()
		go func() {
			defer close(done)
			crashClient(mnt, regions, model, dataSeed, stop)
		}()
		structDone := make(chan struct{})
		go func() {
			defer close(structDone)
			tree.edit(mnt, round, treeSeed, stop)
		}()
		time.Sleep(time.Duration(20+rng.Intn(300)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// A killed server's thread can sit in a request the kernel will not
		// interrupt (a forced FLUSH waits for an answer only the dead
		// server could give) until the connection is aborted, as an
		// administrator's umount -f would.
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Logf("round %d: the killed mount is stuck in the kernel; aborting its FUSE connection", round)
			abortFUSE(mnt)
			<-exited
		}
		kills++
		close(stop)
		forceUnmount(mnt)
		<-done
		<-structDone
		if r := h5mountT(t, "recover", file); r.code != 0 {
			t.Fatalf("round %d: h5mount recover: %v", round, r)
		}
		checkCrashModel(t, round, file, regions, model)
		tree.check(t, round, file)
	}
	h5dumpOK(t, file)
	model.mu.Lock()
	tree.mu.Lock()
	t.Logf("%d kills survived: %d writes of %d bytes in all and %d fsyncs into %d regions; %d groups made and %d removed (each with a dataset and an attribute) and %d directory fsyncs; after the kills %d bytes and %d acknowledged groups or removals checked in libhdf5, nothing lost",
		kills, model.writes, model.written, model.syncs, len(regions), tree.made, tree.removed, tree.syncs, model.checked, tree.checked)
	tree.mu.Unlock()
	model.mu.Unlock()
}

// crashClient writes random bytes into the regions and fsyncs now and
// then, recording what was acknowledged, until stop or the mount dies.
func crashClient(mnt string, regions []crashRegion, model *byteModel, seed int64, stop chan struct{}) {
	rng := rand.New(rand.NewSource(seed))
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for {
		select {
		case <-stop:
			return
		default:
		}
		r := regions[rng.Intn(len(regions))]
		f := files[r.dataset]
		if f == nil {
			// A write-only descriptor writes with direct I/O, a read-write
			// one through the page cache: both are tried.
			mode := os.O_RDWR
			if rng.Intn(2) == 0 {
				mode = os.O_WRONLY
			}
			var err error
			if f, err = os.OpenFile(filepath.Join(mnt, r.dataset), mode, 0); err != nil {
				return
			}
			files[r.dataset] = f
		}
		n := 1 + rng.Intn(r.size)
		at := rng.Intn(r.size - n + 1)
		if rng.Intn(4) == 0 {
			n, at = r.size, 0 // the whole region, whole chunks where it holds them
		}
		p := make([]byte, n)
		rng.Read(p)
		// Recorded before the write: a write that fails may still have
		// reached the file.
		model.write(r.dataset, r.off+int64(at), p)
		if _, err := f.WriteAt(p, r.off+int64(at)); err != nil {
			return
		}
		if rng.Intn(4) == 0 {
			if f.Sync() != nil {
				return
			}
			// Every file of the mount is made durable by one commit.
			model.acked()
		}
	}
}

// readRegions reads the regions with h5py, as libhdf5 sees them.
func readRegions(t *testing.T, file string, regions []crashRegion) [][]byte {
	t.Helper()
	var script strings.Builder
	script.WriteString("import sys, h5py, numpy as np\nf = h5py.File(sys.argv[1], 'r')\n")
	for _, r := range regions {
		fmt.Fprintf(&script, "d = f[%q]; e = d.dtype.itemsize; print(d[()].tobytes()[%d:%d].hex() if d.size * e < 1<<30 else b''.join(d[tuple(np.unravel_index(i, d.shape))].tobytes() for i in range(%d // e, %d // e)).hex())\n",
			r.dataset, r.off, r.off+int64(r.size), r.off, r.off+int64(r.size))
	}
	out, err := exec.Command("/usr/bin/python3", "-c", script.String(), file).CombinedOutput()
	if err != nil {
		t.Fatalf("h5py cannot read %s: %v\n%s", file, err, out)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(regions) {
		t.Fatalf("h5py: %q", out)
	}
	got := make([][]byte, len(regions))
	for i, l := range lines {
		var b []byte
		if _, err := fmt.Sscanf(l, "%x", &b); err != nil {
			t.Fatalf("h5py output %q: %v", l, err)
		}
		got[i] = b
	}
	return got
}

func checkCrashModel(t *testing.T, round int, file string, regions []crashRegion, model *byteModel) {
	t.Helper()
	got := readRegions(t, file, regions)
	model.mu.Lock()
	defer model.mu.Unlock()
	for i, r := range regions {
		d := model.allowed[r.dataset]
		for j, b := range got[i] {
			vals := d[r.off+int64(j)]
			if !bytes.Contains(vals, []byte{b}) {
				t.Fatalf("round %d: %s byte %d is %#x; a crash may leave only %x", round, r.dataset, r.off+int64(j), b, vals)
			}
		}
		model.checked += len(got[i])
		// What the file now holds is where the next round starts.
		for j, b := range got[i] {
			d[r.off+int64(j)] = []byte{b}
		}
	}
}

// treeModel tracks groups made and removed through the mount: acked holds
// the state of names an fsync acknowledged (true: present), maybe the
// names changed since (either state may survive a crash).
type treeModel struct {
	mu    sync.Mutex
	acked map[string]bool
	maybe map[string]bool // name -> the state its last change aimed at
	made  int

	removed, syncs, checked int // for the summary
}

// edit makes and removes groups holding a dataset and an attribute, and
// fsyncs the mount's root now and then.
func (m *treeModel) edit(mnt string, round int, seed int64, stop chan struct{}) {
	rng := rand.New(rand.NewSource(seed))
	for {
		select {
		case <-stop:
			return
		default:
		}
		m.mu.Lock()
		var present []string
		for name, ok := range m.acked {
			if _, changed := m.maybe[name]; ok && !changed {
				present = append(present, name)
			}
		}
		m.mu.Unlock()
		if len(present) > 0 && rng.Intn(3) == 0 {
			name := present[rng.Intn(len(present))]
			m.mark(name, false)
			m.mu.Lock()
			m.removed++
			m.mu.Unlock()
			p := filepath.Join(mnt, name)
			if os.Remove(filepath.Join(p, "d")) != nil || os.Remove(p) != nil {
				return
			}
		} else {
			m.mu.Lock()
			m.made++
			name := fmt.Sprintf("g%d_%d", round, m.made)
			m.mu.Unlock()
			m.mark(name, true)
			p := filepath.Join(mnt, name)
			if os.Mkdir(p, 0o755) != nil || os.WriteFile(filepath.Join(p, "d"), []byte(name), 0o644) != nil ||
				syscall.Setxattr(p, "user.name", []byte(name), 0) != nil {
				return
			}
		}
		if rng.Intn(3) == 0 {
			d, err := os.Open(mnt)
			if err != nil {
				return
			}
			err = d.Sync()
			d.Close()
			if err != nil {
				return
			}
			m.ack(mnt)
		}
	}
}

func (m *treeModel) mark(name string, present bool) {
	m.mu.Lock()
	m.maybe[name] = present
	m.mu.Unlock()
}

// ack records what the fsync made durable: every change made before it
// (each completed, or the client would have stopped).
func (m *treeModel) ack(mnt string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncs++
	for name, present := range m.maybe {
		m.acked[name] = present
	}
	m.maybe = map[string]bool{}
}

// check requires every acknowledged group (with its dataset and attribute)
// and no acknowledged removal, as libhdf5 reads the file.
func (m *treeModel) check(t *testing.T, round int, file string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var want, gone []string
	for name, present := range m.acked {
		if _, changed := m.maybe[name]; changed {
			continue
		}
		if present {
			want = append(want, name)
		} else {
			gone = append(gone, name)
		}
	}
	script := `
import sys, h5py
f = h5py.File(sys.argv[1], "r")
want = [n for n in sys.argv[2].split(",") if n]
gone = [n for n in sys.argv[3].split(",") if n]
for n in want:
    assert n in f, ("lost", n)
    assert f[n]["d"][()].tobytes() == n.encode(), ("data", n)
    assert f[n].attrs["name"] == n, ("attribute", n)
for n in gone:
    assert n not in f, ("back", n)
print("ok")`
	out, err := exec.Command("/usr/bin/python3", "-c", script, file, strings.Join(want, ","), strings.Join(gone, ",")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		if keep := os.Getenv("H5MOUNT_CRASH_KEEP"); keep != "" {
			data, _ := os.ReadFile(file)
			os.WriteFile(keep, data, 0o644)
		}
		t.Fatalf("round %d: the file does not hold what fsync acknowledged: %v\n%s", round, err, out)
	}
	m.checked += len(want) + len(gone)
	// What the file now holds is where the next round starts: a group the
	// kill caught half made is left out of the model.
	for name := range m.maybe {
		out, _ := exec.Command("/usr/bin/python3", "-c", `
import sys, h5py
f = h5py.File(sys.argv[1], "r"); n = sys.argv[2]
if n not in f: print("absent")
elif "d" in f[n] and f[n]["d"][()].tobytes() == n.encode() and f[n].attrs.get("name") == n: print("present")
else: print("partial")`, file, name).Output()
		switch strings.TrimSpace(string(out)) {
		case "present":
			m.acked[name] = true
		case "absent":
			m.acked[name] = false
		default:
			delete(m.acked, name)
		}
	}
	m.maybe = map[string]bool{}
}
