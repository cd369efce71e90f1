package main

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// maxMountMemory bounds what the mount of a damaged file may take: its
// claimed sizes, counts and dimensions must never be believed.
const maxMountMemory = 512 << 20

// TestMutatedFilesWalk mounts randomly damaged copies of the test files and
// walks each with find, cat and getfattr -d: the mount either refuses the
// file with one clear line, or serves it — never panicking, hanging or
// growing past a memory bound — answering errors on the broken parts. It
// ends unmounted cleanly. H5MOUNT_MUTATIONS sets how many copies
// (scripts/mutate.sh runs thousands).
func TestMutatedFilesWalk(t *testing.T) {
	requireFUSE(t)
	count := 24
	if v, err := strconv.Atoi(os.Getenv("H5MOUNT_MUTATIONS")); err == nil && v > 0 {
		count = v
	}
	var seeds []string
	for _, pat := range []string{"testdata/*.h5", "testdata/conformance/*.h5", "testdata/filters/*.h5", "testdata/dense/*.h5", "testdata/chunkindex/*.h5", "testdata/producers/*.h5", "testdata/producers/*.nc", "testdata/hdf5v2/*.h5"} {
		m, _ := filepath.Glob(pat)
		seeds = append(seeds, m...)
	}
	sort.Strings(seeds)
	if len(seeds) < 20 {
		t.Fatalf("only %d seed files", len(seeds))
	}
	seed := time.Now().UnixNano()
	if v, err := strconv.ParseInt(os.Getenv("H5MOUNT_MUTATION_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("H5MOUNT_MUTATION_SEED=%d", seed)
	rng := rand.New(rand.NewSource(seed))
	dir := t.TempDir()
	served, refused := 0, 0
	for i := 0; i < count; i++ {
		from := seeds[rng.Intn(len(seeds))]
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		mutate(rng, data)
		file := filepath.Join(dir, fmt.Sprintf("m%d.h5", i))
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mnt := filepath.Join(dir, fmt.Sprintf("mnt%d", i))
		r := h5mountT(t, "-o", "ro", "--log-file", file+".log", file, mnt)
		if r.code != 0 {
			// A refusal is one line naming the cause, and nothing mounted.
			if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines > 0 || r.stderr == "" || mountedAt(t, mnt) {
				t.Fatalf("%s (from %s): refusal is not one line, or left a mount: %v", file, from, r)
			}
			refused++
			os.Remove(file)
			continue
		}
		t.Cleanup(func() { unmountCleanup(t, mnt) })
		pids := daemonsOf(mnt)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		walk := exec.CommandContext(ctx, "sh", "-c", fmt.Sprintf(
			"find %[1]s -print0 | xargs -0 -r -n 64 getfattr -d -m - >/dev/null 2>&1; "+
				// The head and tail of each file: a sparse dataset may claim terabytes.
				"find %[1]s -type f | while read -r f; do head -c 4194304 \"$f\" >/dev/null 2>&1; tail -c 65536 \"$f\" >/dev/null 2>&1; done; "+
				"ls -laR %[1]s >/dev/null 2>&1; du -s %[1]s >/dev/null 2>&1; true", mnt))
		out, err := walk.CombinedOutput()
		hung := ctx.Err() == context.DeadlineExceeded
		cancel()
		if hung {
			keep(file)
			t.Fatalf("%s (from %s): walking the mount hung: %v %s", file, from, err, out)
		}
		if !mountedAt(t, mnt) || len(pids) != 1 {
			keep(file)
			log, _ := os.ReadFile(file + ".log")
			t.Fatalf("%s (from %s): the mount died during the walk (daemons %v)\n%s", file, from, pids, log)
		}
		if hwm := peakMemory(pids[0]); hwm > maxMountMemory {
			keep(file)
			t.Fatalf("%s (from %s): the mount grew to %d MiB", file, from, hwm>>20)
		}
		if r := h5mountT(t, "unmount", mnt); r.code != 0 {
			t.Fatalf("%s: unmount: %v", file, r)
		}
		if log, _ := os.ReadFile(file + ".log"); strings.Contains(string(log), "panic") || strings.Contains(string(log), "internal error") {
			keep(file)
			t.Fatalf("%s (from %s): the log shows a panic:\n%s", file, from, log)
		}
		served++
		os.Remove(file)
	}
	t.Logf("%d damaged files: %d served and walked, %d refused cleanly", count, served, refused)
}

// mutate damages a file: bytes flipped, overwritten with extreme values,
// or runs zeroed, mostly in the first 64 KiB where the metadata is.
func mutate(rng *rand.Rand, data []byte) {
	n := 1 + rng.Intn(8)
	for k := 0; k < n; k++ {
		limit := len(data)
		if rng.Intn(4) != 0 && limit > 65536 {
			limit = 65536
		}
		// The superblock is left alone half the time, so that damage
		// reaches past the first check.
		lo := 0
		if rng.Intn(2) == 0 && limit > 128 {
			lo = 96
		}
		at := lo + rng.Intn(limit-lo)
		switch rng.Intn(4) {
		case 0:
			data[at] ^= byte(1 << rng.Intn(8))
		case 1:
			data[at] = 0xff
		case 2:
			for i := at; i < len(data) && i < at+8; i++ {
				data[i] = 0xff
			}
		default:
			for i := at; i < len(data) && i < at+1+rng.Intn(64); i++ {
				data[i] = 0
			}
		}
	}
}

// peakMemory is a process's peak resident memory in bytes.
func peakMemory(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// keep saves a damaged file that broke the mount, for the next debugging
// session: H5MOUNT_MUTATION_KEEP names where.
func keep(file string) {
	if dst := os.Getenv("H5MOUNT_MUTATION_KEEP"); dst != "" {
		if data, err := os.ReadFile(file); err == nil {
			os.WriteFile(dst, data, 0o644)
		}
	}
}
