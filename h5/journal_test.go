package h5_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/h5mount/h5mount/h5"
)

// crashModel is what the test expects two datasets of weather.h5 to hold.
type crashModel struct {
	comp []byte           // /comp: 1024 int32 in gzip chunks
	big  map[int64][]byte // /big: scattered float32 elements of the 2 TiB dataset
}

func (m *crashModel) clone() *crashModel {
	c := &crashModel{comp: append([]byte(nil), m.comp...), big: map[int64][]byte{}}
	for k, v := range m.big {
		c.big[k] = v
	}
	return c
}

// change applies random writes to both datasets and to the model.
func (m *crashModel) change(t *testing.T, f *h5.File, rng *rand.Rand) {
	t.Helper()
	comp, big := openDatasetRW(t, f, "/comp"), openDatasetRW(t, f, "/big")
	for i := 0; i < 20; i++ {
		off := rng.Intn(len(m.comp) - 1)
		n := 1 + rng.Intn(min(2000, len(m.comp)-off))
		p := make([]byte, n)
		rng.Read(p)
		if _, err := comp.WriteAt(p, int64(off)); err != nil {
			t.Fatal(err)
		}
		copy(m.comp[off:], p)
	}
	for i := 0; i < 40; i++ {
		off := rng.Int63n(big.Size()/4) * 4
		p := make([]byte, 4)
		binary.LittleEndian.PutUint32(p, rng.Uint32())
		if _, err := big.WriteAt(p, off); err != nil {
			t.Fatal(err)
		}
		m.big[off] = p
	}
}

func (m *crashModel) check(t *testing.T, f *h5.File, when string) {
	t.Helper()
	comp, big := openDatasetRW(t, f, "/comp"), openDatasetRW(t, f, "/big")
	got := make([]byte, len(m.comp))
	if _, err := comp.ReadAt(got, 0); err != nil {
		t.Fatalf("%s: /comp: %v", when, err)
	}
	if !bytes.Equal(got, m.comp) {
		t.Fatalf("%s: /comp differs from the model", when)
	}
	for off, want := range m.big {
		p := make([]byte, 4)
		if _, err := big.ReadAt(p, off); err != nil {
			t.Fatalf("%s: /big at %d: %v", when, off, err)
		}
		if !bytes.Equal(p, want) {
			t.Fatalf("%s: /big at %d: %x, want %x", when, off, p, want)
		}
	}
}

// h5pyScript checks the model's values with libhdf5.
func (m *crashModel) h5pyScript() string {
	var b strings.Builder
	b.WriteString("import sys, h5py, numpy as np\nf = h5py.File(sys.argv[1], 'r')\n")
	fmt.Fprintf(&b, "assert f['comp'][()].tobytes() == bytes.fromhex('%x')\n", m.comp)
	b.WriteString("big = f['big']\n")
	for off, v := range m.big {
		e := off / 4
		idx := []int64{e / (1024 * 1024 * 512), e / (1024 * 512) % 1024, e / 512 % 1024, e % 512}
		fmt.Fprintf(&b, "assert big[%d,%d,%d,%d].tobytes() == bytes.fromhex('%x')\n", idx[0], idx[1], idx[2], idx[3], v)
	}
	b.WriteString("print('ok')\n")
	return b.String()
}

// TestCrashDuringCommit kills a commit at each stage and checks that the
// file then holds either every change of the commit or none, before
// (read-only, journal laid over in memory) and after the journal's replay,
// and that libhdf5 agrees once it is replayed.
func TestCrashDuringCommit(t *testing.T) {
	for _, stage := range []string{"torn", "journal", "apply"} {
		t.Run(stage, func(t *testing.T) {
			file := copyFile(t, "../testdata/weather.h5")
			rng := rand.New(rand.NewSource(int64(len(stage))))
			f, err := h5.OpenFileRW(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := &crashModel{comp: make([]byte, 4096), big: map[int64][]byte{}}
			if _, err := openDatasetRW(t, f, "/comp").ReadAt(m.comp, 0); err != nil {
				t.Fatal(err)
			}
			m.change(t, f, rng)
			if err := f.Flush(); err != nil {
				t.Fatal(err)
			}
			committed := m.clone()
			m.change(t, f, rng)
			h5.CrashCommitAt(f, stage)
			if err := f.Flush(); !errors.Is(err, h5.ErrCrash) {
				t.Fatalf("commit: %v, want the simulated crash", err)
			}
			h5.Abandon(f)
			want := m
			if stage == "torn" {
				want = committed // the commit never began
			}
			before, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ro, err := h5.OpenFile(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			want.check(t, ro, "read-only open before the replay")
			ro.Close()
			if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
				t.Fatal("a read-only open changed the file")
			}
			rw, err := h5.OpenFileRW(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			want.check(t, rw, "after the replay")
			if err := rw.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(file + h5.JournalSuffix); !os.IsNotExist(err) {
				t.Fatalf("journal still there after the replay: %v", err)
			}
			h5pyCheck(t, file, want.h5pyScript())
		})
	}
}
