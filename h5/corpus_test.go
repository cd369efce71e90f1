package h5_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// corpusDir holds HDF5 files written by other programs (libhdf5's test
// suite, h5py, netCDF-4, MATLAB), shared beside the repository.
const corpusDir = "../../shared/corpus"

func python() string {
	if p := os.Getenv("H5MOUNT_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

// corpusFiles lists every HDF5 file of the shared corpus.
func corpusFiles(t *testing.T) []string {
	var files []string
	err := filepath.Walk(corpusDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".h5", ".hdf5", ".he5", ".nc", ".nc4", ".mat":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("corpus at %s: %v", corpusDir, err)
	}
	sort.Strings(files)
	return files
}

// referenceDump runs scripts/dump_ref.py on file, caching the result by the
// file's and the script's content (in H5MOUNT_DUMP_CACHE when that is set).
func referenceDump(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	// The script's own bytes are in the key: a dump made by an older
	// version of it is not the reference.
	script, err := os.ReadFile("../scripts/dump_ref.py")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(data, script...))
	cacheDir := os.Getenv("H5MOUNT_DUMP_CACHE")
	if cacheDir == "" {
		cacheDir = filepath.Join(os.TempDir(), "h5mount-dumps")
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(cacheDir, hex.EncodeToString(sum[:16])+".json")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	cmd := exec.Command(python(), "../scripts/dump_ref.py", "--no-h5debug", file)
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("dump_ref.py %s: %v", file, err)
	}
	// Another test process may write the same dump at once: each writes
	// its own temporary file, and the last rename wins.
	tmp, err := os.CreateTemp(cacheDir, "dump-*.tmp")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return out, os.Rename(tmp.Name(), out)
}

// TestCorpusMatchesH5py reads every file of the shared corpus and compares
// each object with what h5py reads from it.
func TestCorpusMatchesH5py(t *testing.T) {
	files := corpusFiles(t)
	if len(files) == 0 {
		t.Fatalf("no files in %s", corpusDir)
	}
	dumps := make([]string, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dumps[i], errs[i] = referenceDump(f)
		}()
	}
	wg.Wait()
	for i, f := range files {
		name := strings.TrimPrefix(f, corpusDir+"/")
		t.Run(name, func(t *testing.T) {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			checkAgainstDump(t, f, dumps[i])
		})
	}
}
