package h5_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/h5mount/h5mount/h5"
)

// FuzzEditDamaged damages a test file and edits it through the engine as
// a writable mount would: writes at both ends of every dataset, a shrink
// and a growth of the growable ones, an attribute, a new group and a new
// dataset, a flush and a close. Errors are fine; panics and hangs are not:
// a panic inside an edit would leave the dataset's or the file's lock held,
// and every later request on it would hang.
func FuzzEditDamaged(f *testing.F) {
	files := loadFuzzSeeds(f)
	for i, data := range files {
		f.Add(uint8(i), uint32(0), []byte{})
		f.Add(uint8(i), uint32(len(data)/3), []byte{0xff, 0xff, 0xff, 0xff})
		f.Add(uint8(i), uint32(len(data)/2), []byte{0x00, 0x01})
	}
	dir := f.TempDir()
	n := 0
	f.Fuzz(func(t *testing.T, which uint8, at uint32, patch []byte) {
		data := append([]byte(nil), files[int(which)%len(files)]...)
		if len(patch) > 0 {
			copy(data[int(at)%len(data):], patch)
		}
		n++
		name := filepath.Join(dir, fmt.Sprintf("edit%d.h5", n))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(name)
		done := make(chan struct{})
		go func() {
			defer close(done)
			editFile(name)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("editing did not finish in 30s")
		}
	})
}

func editFile(name string) {
	f, err := h5.OpenFileRW(name, &h5.Options{CacheBytes: 1 << 20})
	if err != nil {
		return
	}
	defer f.Close()
	root, err := f.Root()
	if err != nil {
		return
	}
	var datasets []*h5.Dataset
	visitTree(f, root, 32, func(o *h5.Object) {
		if o.Kind() != h5.KindDataset || len(datasets) > 16 {
			return
		}
		if d, err := o.AsDataset(); err == nil {
			datasets = append(datasets, d)
		}
	})
	one := []byte{0x5a}
	for _, d := range datasets {
		// A write holds a whole chunk in memory, and chunks of up to 4 GiB
		// are valid along unlimited dimensions: damage can claim them.
		chunkBytes := uint64(d.Type.Size)
		for _, c := range d.ChunkDims() {
			chunkBytes *= c
		}
		if chunkBytes > 16<<20 {
			continue
		}
		if size := d.Size(); size > 0 && size < 1<<40 {
			_, _ = d.WriteAt(one, 0)
			_, _ = d.WriteAt(one, size-1)
		}
		if d.Growable() {
			if rows := d.Shape()[0]; rows < 1<<20 {
				_ = d.Resize(rows / 2)
				_ = d.Resize(rows + 3)
			}
		}
		_ = d.SetAttribute("fuzz", h5.AttributeValue{Type: h5.Uint8Type(), Data: one}, h5.SetAny)
	}
	_ = root.SetAttribute("fuzz", h5.AttributeValue{Type: h5.Uint8Type(), Data: one}, h5.SetAny)
	if g, err := root.CreateGroup("fuzz_group"); err == nil {
		_, _ = g.CreateDataset("d", &h5.DatasetSpec{Type: h5.Uint8Type(), Dims: []uint64{100}, MaxDims: []uint64{h5.Unlimited}, Chunks: []uint64{10}})
	}
	_ = f.Flush()
}
