package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// sharedCorpus holds HDF5 files written by other programs, beside the
// repository (see its README).
const sharedCorpus = "../shared/corpus"

// corpusDump runs scripts/dump_ref.py on a corpus file, caching by the
// file's and the script's content in $TMPDIR/h5mount-dumps (shared with the h5 package's corpus test).
func corpusDump(file string) (map[string]*dumpEntry, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	// The script's own bytes are in the key: a dump made by an older
	// version of it is not the reference.
	script, err := os.ReadFile("scripts/dump_ref.py")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append(data, script...))
	dir := os.Getenv("H5MOUNT_DUMP_CACHE")
	if dir == "" {
		dir = filepath.Join(machineTmp, "h5mount-dumps")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cached := filepath.Join(dir, hex.EncodeToString(sum[:16])+".json")
	raw, err := os.ReadFile(cached)
	if err != nil {
		raw, err = exec.Command("/usr/bin/python3", "scripts/dump_ref.py", "--no-h5debug", file).Output()
		if err != nil {
			return nil, err
		}
		// Another test process may write the same dump at once: each
		// writes its own temporary file, and the last rename wins.
		if tmp, err := os.CreateTemp(dir, "dump-*.tmp"); err == nil {
			_, werr := tmp.Write(raw)
			if tmp.Close() == nil && werr == nil {
				os.Rename(tmp.Name(), cached)
			} else {
				os.Remove(tmp.Name())
			}
		}
	}
	var d map[string]*dumpEntry
	return d, json.Unmarshal(raw, &d)
}

// TestCorpusMountsByteExact mounts every file of the shared corpus that
// libhdf5 opens and reads every dataset h5py could read through the mount,
// comparing its bytes with h5py's (the engine-level test in h5/ compares
// attributes and links with the finer rules odd files need).
func TestCorpusMountsByteExact(t *testing.T) {
	var files []string
	filepath.Walk(sharedCorpus, func(p string, info os.FileInfo, err error) error {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".h5", ".hdf5", ".he5", ".nc", ".nc4", ".mat":
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatalf("no corpus files in %s", sharedCorpus)
	}
	dumps := make([]map[string]*dumpEntry, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dumps[i], errs[i] = corpusDump(f)
		}()
	}
	wg.Wait()
	checked := 0
	for i, f := range files {
		name := strings.TrimPrefix(f, sharedCorpus+"/")
		root := dumps[i]["/"]
		if errs[i] != nil {
			t.Errorf("%s: reference dump: %v", name, errs[i])
			continue
		}
		if root == nil || root.Kind != "group" || root.Error != "" {
			continue // libhdf5 cannot open it: h5/corpus_test.go checks the clean error
		}
		t.Run(name, func(t *testing.T) {
			abs, _ := filepath.Abs(f)
			mnt := mountT(t, abs, "-o", "ro")
			for p, e := range dumps[i] {
				if e.Kind != "dataset" || e.Error != "" || e.SHA256 == nil {
					continue
				}
				mp := inMount(mnt, p)
				st, err := os.Stat(mp)
				if err != nil {
					t.Errorf("%s: %v", p, err)
					continue
				}
				checkDataset(t, mp, p, e, st)
				checked++
			}
		})
	}
	if checked < 500 {
		t.Errorf("only %d datasets compared through mounts", checked)
	}
}
