package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentWriters: dd processes write disjoint ranges of one dataset
// while threads with their own descriptors write overlapping ranges of it
// and readers read it, on a gzip-chunked and a contiguous dataset at once.
// Readers must only ever see values some write put there; afterwards each
// disjoint range holds exactly what its writer wrote, and each element of
// the overlapping half holds the last value one of the writers covering it
// wrote. h5py then reads the same bytes from the file.
func TestConcurrentWriters(t *testing.T) {
	const (
		elems    = 1 << 21 // int32 elements per dataset: 8 MiB
		half     = elems / 2
		ddProcs  = 4
		threads  = 4
		maxWrite = 64 << 10
	)
	writes := 60 * stressFactor() // per overlapping writer
	dir := t.TempDir()
	file := filepath.Join(dir, "conc.h5")
	makeInt32Pair(t, file, elems)
	mnt := mountT(t, file, "-o", "rw")
	rng := rand.New(rand.NewPCG(7, 11))

	// Disjoint: each dd process owns a quarter of the first half.
	src := make([]byte, half*4)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	srcFile := filepath.Join(dir, "src")
	if err := os.WriteFile(srcFile, src, 0o644); err != nil {
		t.Fatal(err)
	}

	type write struct {
		off, n int // in elements
		tag    int32
	}
	// Overlapping: writer w's k-th write fills its range with the tag
	// w<<16 | k+1, so a tag names the one write that put it there.
	plans := make([][]write, threads)
	for w := range plans {
		for k := range writes {
			n := 1 + rng.IntN(maxWrite/4)
			off := half + rng.IntN(half-n)
			plans[w] = append(plans[w], write{off, n, int32(w<<16 | (k + 1))})
		}
	}
	covers := func(e int, tag int32) bool {
		w, k := int(tag>>16), int(tag&0xffff)-1
		if w < 0 || w >= threads || k < 0 || k >= writes {
			return false
		}
		p := plans[w][k]
		return e >= p.off && e < p.off+p.n
	}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	for _, name := range []string{"chunked", "contig"} {
		path := filepath.Join(mnt, name)
		for p := range ddProcs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				quarter := len(src) / ddProcs
				// An odd block size straddles chunk boundaries.
				cmd := exec.Command("dd", "if="+srcFile, "of="+path, "bs=12345", "iflag=skip_bytes,count_bytes",
					"oflag=seek_bytes", "conv=notrunc", "status=none",
					fmt.Sprintf("skip=%d", p*quarter), fmt.Sprintf("seek=%d", p*quarter), fmt.Sprintf("count=%d", quarter))
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("%s: dd %d: %v: %s", name, p, err, out)
				}
			}()
		}
		for w := range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, err := os.OpenFile(path, os.O_WRONLY, 0)
				if err != nil {
					errs <- err
					return
				}
				defer f.Close()
				for _, p := range plans[w] {
					buf := make([]byte, 4*p.n)
					for i := range p.n {
						binary.LittleEndian.PutUint32(buf[4*i:], uint32(p.tag))
					}
					if _, err := f.WriteAt(buf, int64(4*p.off)); err != nil {
						errs <- fmt.Errorf("%s: writer %d: %v", name, w, err)
						return
					}
				}
			}()
		}
	}
	var readers sync.WaitGroup
	var reads [2]int
	for i, name := range []string{"chunked", "contig"} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			f, err := os.Open(filepath.Join(mnt, name))
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			r := rand.New(rand.NewPCG(uint64(i), 3))
			buf := make([]byte, 256<<10)
			for ctx.Err() == nil {
				off := half + r.IntN(half-len(buf)/4)
				if _, err := f.ReadAt(buf, int64(4*off)); err != nil {
					errs <- fmt.Errorf("%s: read at element %d: %v", name, off, err)
					return
				}
				reads[i]++
				for j := 0; j < len(buf)/4; j++ {
					v := int32(binary.LittleEndian.Uint32(buf[4*j:]))
					if v != 0 && !covers(off+j, v) {
						errs <- fmt.Errorf("%s: a reader saw %#x at element %d, which no write put there", name, v, off+j)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	stop()
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	final := map[string][]byte{}
	for _, name := range []string{"chunked", "contig"} {
		got, err := os.ReadFile(filepath.Join(mnt, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:len(src)], src) {
			t.Errorf("%s: the disjoint dd ranges do not hold what dd wrote", name)
		}
		bad := 0
		for e := half; e < elems; e++ {
			v := int32(binary.LittleEndian.Uint32(got[4*e:]))
			// Each writer's last write covering e is a candidate; nothing
			// else may be there.
			ok, any := false, false
			for w := range threads {
				for k := writes - 1; k >= 0; k-- {
					if p := plans[w][k]; e >= p.off && e < p.off+p.n {
						any = true
						ok = ok || v == p.tag
						break
					}
				}
			}
			if (any && !ok) || (!any && v != 0) {
				if bad++; bad <= 3 {
					t.Errorf("%s: element %d holds %#x, not the last write of any writer covering it", name, e, v)
				}
			}
		}
		final[name] = got
	}
	t.Logf("%d and %d concurrent 256 KiB reads checked", reads[0], reads[1])
	unmountCleanup(t, mnt)
	for name, got := range final {
		want := filepath.Join(dir, name+".bin")
		if err := os.WriteFile(want, got, 0o644); err != nil {
			t.Fatal(err)
		}
		h5py(t, `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    got = f[sys.argv[2]][()]
want = np.fromfile(sys.argv[3], "<i4")
assert np.array_equal(got, want), (np.flatnonzero(got != want)[:5])
print("ok")
`, file, name, want)
	}
	h5dumpOK(t, file)
}

// TestFindDuringStructureEdits: find and ls -laR walk the tree while a
// writer makes and removes groups, datasets and attributes and renames
// groups. The walkers may only meet entries vanishing under them (ENOENT),
// and only names the writer made; at the end the tree equals the writer's
// model, through the mount and in h5py.
func TestFindDuringStructureEdits(t *testing.T) {
	for _, latest := range []bool{false, true} {
		t.Run(fmt.Sprintf("latest=%v", latest), func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "tree.h5")
			args := []string{"--create"}
			if latest {
				args = append(args, "-o", "libver=latest")
			}
			mnt := mountT(t, file, args...)
			findDuringEdits(t, dir, file, mnt)
		})
	}
}

func findDuringEdits(t *testing.T, dir, file, mnt string) {
	rounds := 60 * stressFactor()
	model := map[string]string{} // path -> "" for a group, else the dataset's bytes
	var mu sync.Mutex
	ever := map[string]bool{}
	add := func(p, v string) {
		mu.Lock()
		model[p], ever[p] = v, true
		mu.Unlock()
	}
	remove := func(prefix string) {
		mu.Lock()
		for p := range model {
			if p == prefix || strings.HasPrefix(p, prefix+"/") {
				delete(model, p)
			}
		}
		mu.Unlock()
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	errs := make(chan error, 16)
	var walkers sync.WaitGroup
	walks := make([]int, 2)
	for i, walk := range []string{"find " + mnt, "ls -laR " + mnt} {
		walkers.Add(1)
		go func() {
			defer walkers.Done()
			for ctx.Err() == nil {
				var stdout, stderr bytes.Buffer
				cmd := exec.Command("sh", "-c", walk)
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				_ = cmd.Run() // a vanished entry makes find and ls exit 1
				walks[i]++
				for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
					if line != "" && !strings.Contains(line, "No such file or directory") {
						errs <- fmt.Errorf("%s: %s", walk, line)
						return
					}
				}
				if i != 0 {
					continue
				}
				for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
					p := strings.TrimPrefix(line, mnt)
					mu.Lock()
					known := p == "" || ever[p]
					mu.Unlock()
					if !known {
						errs <- fmt.Errorf("find listed %q, which the writer never made", p)
						return
					}
				}
			}
		}()
	}

	for i := range rounds {
		g := fmt.Sprintf("/g%d", i)
		// Record a name before it exists, so a walker never sees a name
		// the model does not yet know.
		add(g, "")
		if err := os.Mkdir(mnt+g, 0o755); err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			p := fmt.Sprintf("%s/d%d", g, j)
			v := strings.Repeat(fmt.Sprint(i, j), 1+j*100)
			add(p, v)
			if err := os.WriteFile(mnt+p, []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := setxattrString(mnt+g, "user.round", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		old := fmt.Sprintf("/g%d", i-2)
		mu.Lock()
		_, present := model[old] // not when renamed
		mu.Unlock()
		if i >= 2 && i%3 == 0 && present {
			for j := range 3 {
				p := fmt.Sprintf("%s/d%d", old, j)
				if err := os.Remove(mnt + p); err != nil {
					t.Fatal(err)
				}
				remove(p)
			}
			if err := os.Remove(mnt + old); err != nil {
				t.Fatal(err)
			}
			remove(old)
		}
		if i >= 1 && i%4 == 1 {
			from, to := fmt.Sprintf("/g%d", i-1), fmt.Sprintf("/r%d", i-1)
			mu.Lock()
			_, exists := model[from]
			mu.Unlock()
			if exists {
				mu.Lock()
				for p, v := range model {
					if p == from || strings.HasPrefix(p, from+"/") {
						q := to + strings.TrimPrefix(p, from)
						model[q], ever[q] = v, true
					}
				}
				mu.Unlock()
				if err := os.Rename(mnt+from, mnt+to); err != nil {
					t.Fatal(err)
				}
				remove(from)
			}
		}
	}
	// Let the walkers see the final tree too.
	time.Sleep(200 * time.Millisecond)
	stop()
	walkers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d find and %d ls -laR walks during %d rounds of edits", walks[0], walks[1], rounds)

	var want []string
	for p := range model {
		want = append(want, p)
	}
	slices.Sort(want)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(sh(t, "find "+mnt+" -mindepth 1")), "\n") {
		got = append(got, strings.TrimPrefix(line, mnt))
	}
	slices.Sort(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("find after the edits:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	unmountCleanup(t, mnt)

	var lines []string
	for _, p := range want {
		lines = append(lines, fmt.Sprintf("%s\t%x", p, model[p]))
	}
	listing := filepath.Join(dir, "model.tsv")
	if err := os.WriteFile(listing, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h5py(t, `
import sys, h5py, numpy as np
want = {}
for line in open(sys.argv[2]):
    p, v = line.rstrip("\n").split("\t")
    want[p] = bytes.fromhex(v)
got = {}
with h5py.File(sys.argv[1], "r") as f:
    def visit(name, obj):
        got["/" + name] = b"" if isinstance(obj, h5py.Group) else obj[()].tobytes()
    f.visititems(visit)
assert got.keys() == want.keys(), (sorted(got.keys() ^ want.keys()))
for p in want:
    assert got[p] == want[p], p
print("ok")
`, file, listing)
	h5dumpOK(t, file)
}

// stressFactor multiplies the work of the concurrency tests:
// scripts/concurrency.sh sets H5MOUNT_STRESS for long runs.
func stressFactor() int {
	if v, err := strconv.Atoi(os.Getenv("H5MOUNT_STRESS")); err == nil && v > 0 {
		return v
	}
	return 1
}

func setxattrString(path, name, value string) error {
	cmd := exec.Command("setfattr", "-n", name, "-v", value, path)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("setfattr %s: %v: %s", path, err, out)
	}
	return nil
}

// TestReadersSeeEachWrite: a write through a write-only descriptor (which
// the kernel passes on without its page cache) is what every read after it
// returns, though the bytes it replaces were in the page cache, and while
// other descriptors keep reading them back into it.
func TestReadersSeeEachWrite(t *testing.T) {
	const (
		elems  = 1 << 18 // int32 elements per dataset: 1 MiB
		region = 64 << 10
	)
	rounds := 100 * stressFactor()
	dir := t.TempDir()
	file := filepath.Join(dir, "coherent.h5")
	makeInt32Pair(t, file, elems)
	mnt := mountT(t, file, "-o", "rw")
	for _, name := range []string{"contig", "chunked"} {
		path := filepath.Join(mnt, name)
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		check, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer check.Close()
		// The racing readers keep the region's pages coming back into the
		// kernel's cache while the writes replace them.
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for r := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, err := os.Open(path)
				if err != nil {
					t.Error(err)
					return
				}
				defer f.Close()
				rng := rand.New(rand.NewPCG(uint64(r), 5))
				buf := make([]byte, 16<<10)
				for ctx.Err() == nil {
					if _, err := f.ReadAt(buf, int64(rng.IntN(region-len(buf)))); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		buf := make([]byte, region)
		got := make([]byte, region)
		stale := 0
		for k := 1; k <= rounds && stale == 0; k++ {
			for i := 0; i < region; i += 4 {
				binary.LittleEndian.PutUint32(buf[i:], uint32(k))
			}
			if _, err := w.WriteAt(buf, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := check.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < region; i += 4 {
				if v := binary.LittleEndian.Uint32(got[i:]); v != uint32(k) {
					t.Errorf("%s: after write %d, byte %d reads as write %d's", name, k, i, v)
					stale++
					break
				}
			}
		}
		stop()
		wg.Wait()
	}
}

// makeInt32Pair has h5py make file with two int32 datasets of elems
// zeros: "chunked" (gzip) and "contig".
func makeInt32Pair(t *testing.T, file string, elems int) {
	t.Helper()
	h5py(t, `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("chunked", shape=(`+fmt.Sprint(elems)+`,), dtype="<i4", chunks=(16384,), compression="gzip", compression_opts=1)
    f.create_dataset("contig", data=np.zeros(`+fmt.Sprint(elems)+`, "<i4"))
print("ok")
`, file)
}
