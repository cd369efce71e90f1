package xattr_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/h5mount/h5mount/h5"
	"github.com/h5mount/h5mount/xattr"
)

// TestDatasetTextMatchesH5py: variable-length and reference datasets read
// as one element per line, the values h5py gives.
func TestDatasetTextMatchesH5py(t *testing.T) {
	raw, err := os.ReadFile("../testdata/types.h5.json")
	if err != nil {
		t.Fatal(err)
	}
	var dump map[string]struct {
		Kind   string `json:"kind"`
		Values []any  `json:"values"`
	}
	if err := json.Unmarshal(raw, &dump); err != nil {
		t.Fatal(err)
	}
	f, err := h5.OpenFile("../testdata/types.h5", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checked := 0
	for p, e := range dump {
		if e.Kind != "dataset" || e.Values == nil {
			continue
		}
		o, err := f.OpenPath(p)
		if err != nil {
			t.Fatal(err)
		}
		d, err := o.AsDataset()
		if err != nil {
			t.Fatal(err)
		}
		if !xattr.NeedsText(d.Type) {
			t.Errorf("%s: not read as text", p)
			continue
		}
		text, err := xattr.DatasetText(d, 1<<20)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
		if len(lines) != len(e.Values) {
			t.Errorf("%s: %d lines, h5py has %d values", p, len(lines), len(e.Values))
			continue
		}
		for i, v := range e.Values {
			want, ok := v.(string)
			if !ok {
				b, _ := json.Marshal(v)
				want = strings.ReplaceAll(string(b), ",", ", ")
			}
			if lines[i] != want {
				t.Errorf("%s[%d] = %q, h5py says %q", p, i, lines[i], want)
			}
		}
		checked++
	}
	if checked < 4 {
		t.Errorf("only %d text datasets checked", checked)
	}
}
