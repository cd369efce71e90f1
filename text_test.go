package main

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTextFormsLargerThanTheTextCache: datasets of variable-length strings
// whose text forms are larger than the mount's text cache (a quarter of
// --cache-size 4MiB) read back exactly, whole and in random ranges by
// readers at once, while blocks of their text are evicted and rendered
// again. h5py writes the file and the text each must read as.
func TestTextFormsLargerThanTheTextCache(t *testing.T) {
	requireFUSE(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "texts.h5")
	h5py(t, `
import sys, h5py, numpy as np
rng = np.random.default_rng(7)
words = ["alpha", "beta", "gamma", "\u00e9t\u00e9", "\u6f22\u5b57", "", "x" * 300]
with h5py.File(sys.argv[1], "w") as f:
    for d in range(4):
        n = 30000 + 7 * d
        s = [" ".join(words[k] for k in rng.integers(0, len(words), rng.integers(0, 12))) + " %d" % i for i in range(n)]
        s[5] = ""
        kw = dict(chunks=(4096,), compression="gzip") if d % 2 else {}
        f.create_dataset("s%d" % d, data=np.array(s, dtype=object), dtype=h5py.string_dtype(), **kw)
        with open("%s.s%d.txt" % (sys.argv[1], d), "wb") as out:
            out.write(b"".join(x.encode() + b"\n" for x in s))
print("ok")
`, file)
	want := map[string][]byte{}
	for d := range 4 {
		name := "s" + string(rune('0'+d))
		b, err := os.ReadFile(file + "." + name + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 2<<20 {
			t.Fatalf("%s: %d bytes of text, want more than the 1 MiB text cache twice over", name, len(b))
		}
		want[name] = b
	}
	mnt := mountT(t, file, "-o", "ro", "--cache-size", "4MiB")
	for name, w := range want {
		st, err := os.Stat(filepath.Join(mnt, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != int64(len(w)) {
			t.Errorf("%s: size %d, want %d", name, st.Size(), len(w))
		}
	}
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(r)))
			files := map[string]*os.File{}
			for name := range want {
				f, err := os.Open(filepath.Join(mnt, name))
				if err != nil {
					t.Error(err)
					return
				}
				defer f.Close()
				files[name] = f
			}
			for range 200 {
				name := "s" + string(rune('0'+rng.Intn(4)))
				w := want[name]
				off := rng.Int63n(int64(len(w)) + 10)
				buf := make([]byte, 1+rng.Intn(300<<10))
				// The kernel's page cache would answer what it read
				// before: each read is to reach the mount.
				if err := unix.Fadvise(int(files[name].Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
					t.Error(err)
					return
				}
				n, _ := files[name].ReadAt(buf, off)
				end := min(int64(len(w)), off+int64(len(buf)))
				if off >= end {
					if n != 0 {
						t.Errorf("%s: %d bytes at %d, past the end", name, n, off)
					}
					continue
				}
				if !bytes.Equal(buf[:n], w[off:end]) {
					t.Errorf("%s: %d bytes at %d differ from h5py's text (got %d)", name, end-off, off, n)
					return
				}
			}
		}()
	}
	wg.Wait()
	for name, w := range want {
		got, err := os.ReadFile(filepath.Join(mnt, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, w) {
			t.Errorf("%s: whole text differs from h5py's (%d bytes, want %d)", name, len(got), len(w))
		}
	}
}
