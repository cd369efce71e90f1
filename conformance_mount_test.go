package main

// Conformance: every file of testdata/conformance — one small file per HDF5
// feature that libhdf5 writes, each in h5py's default format and with
// libver="latest", made by scripts/gen_conformance.py — mounted read-only and
// compared, object by object, with its h5py reference dump (NAME.h5.json),
// with the same comparison TestMountMatchesDump uses (checkAgainstDump).
// The sibling files that external links and virtual datasets point to
// (links_target*.h5, vds_src*.h5) are tested on their own too.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// conformanceDir holds the conformance files, relative to testdata/.
const conformanceDir = "conformance"

// conformanceFiles lists the HDF5 files of testdata/conformance by name.
func conformanceFiles(t *testing.T) []string {
	return testdataFiles(t, conformanceDir, "gen_conformance.py", 1, "*.h5")
}

// testdataFiles lists by name the files of testdata/dir that match the
// patterns, and fails the test when fewer than least are there (the
// script in scripts/ makes them).
func testdataFiles(t *testing.T, dir, script string, least int, patterns ...string) []string {
	t.Helper()
	var names []string
	for _, pat := range patterns {
		paths, err := filepath.Glob(filepath.Join("testdata", dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			names = append(names, filepath.Base(p))
		}
	}
	if len(names) < least {
		t.Fatalf("%d files %q in testdata/%s, want %d (run /usr/bin/python3 scripts/%s)", len(names), patterns, dir, least, script)
	}
	sort.Strings(names)
	return names
}

// TestConformanceMount mounts every conformance file read-only and checks
// it against its dump: kinds, listings, sizes, st_blocks, data bytes, hard
// links, symlinks, attributes and dataset properties; the text form of
// variable-length strings (SPEC §3: one element per line); and that find,
// ls -R and du end.
func TestConformanceMount(t *testing.T) {
	requireFUSE(t)
	for _, name := range conformanceFiles(t) {
		name := name
		t.Run(strings.TrimSuffix(name, ".h5"), func(t *testing.T) {
			rel := conformanceDir + "/" + name
			d := loadDump(t, rel)
			mnt := mountT(t, fixture(t, rel), "--read-only")
			checkAgainstDump(t, mnt, d)
			checkVlenStrings(t, mnt, rel)
			n := findCount(t, mnt)
			if min, max, ok := expectedFindCount(d); ok && (n < min || n > max) {
				t.Errorf("find lists %d paths, want %d (or up to %d with named datatypes)", n, min, max)
			}
			sh(t, "ls -laR "+shellQuote(mnt)+" >/dev/null")
			sh(t, "du -s "+shellQuote(mnt)+" >/dev/null")
		})
	}
}

// vlenEntry is what checkVlenStrings needs of a dump entry beyond dumpEntry.
type vlenEntry struct {
	Kind   string          `json:"kind"`
	Error  string          `json:"error"`
	Vlen   string          `json:"vlen"`
	Values json.RawMessage `json:"values"`
}

// checkVlenStrings compares each variable-length string dataset of the dump
// (which records its elements as "values") with the file's text: the
// elements in C order, one a line (a final newline or not).
func checkVlenStrings(t *testing.T, mnt, rel string) {
	t.Helper()
	data, err := os.ReadFile(fixture(t, rel+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]vlenEntry
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s.json: %v", rel, err)
	}
	paths := make([]string, 0, len(d))
	for p := range d {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		e := d[p]
		if e.Kind != "dataset" || e.Error != "" || (e.Vlen != "str" && e.Vlen != "bytes") || e.Values == nil {
			continue
		}
		var v any
		if err := json.Unmarshal(e.Values, &v); err != nil {
			t.Errorf("%s: values: %v", p, err)
			continue
		}
		elems, ok := flattenStrings(v, nil)
		if !ok {
			continue // an element h5py could not give as text
		}
		want := strings.Join(elems, "\n")
		got, err := os.ReadFile(inMount(mnt, p))
		if err != nil {
			t.Errorf("%s: read: %v", p, err)
			continue
		}
		if string(got) != want+"\n" && string(got) != want {
			t.Errorf("%s: variable-length strings read %q, want %q (one a line)", p, got, want+"\n")
		}
	}
}

// flattenStrings lists the strings of a (nested) JSON array, or of a single
// string, in order; ok is false if anything else is in it.
func flattenStrings(v any, out []string) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return append(out, x), true
	case []any:
		for _, y := range x {
			var ok bool
			if out, ok = flattenStrings(y, out); !ok {
				return nil, false
			}
		}
		return out, true
	}
	return nil, false
}
