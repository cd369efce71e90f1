package filter

import (
	"bytes"
	"errors"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Each LZO1X instruction, hand-assembled from the format's description,
// decodes to what it says; lzo.h5 (written by PyTables' own LZO filter)
// checks the whole in TestFilterFiles.
func TestLZOInstructions(t *testing.T) {
	abc := []byte("abcdefgh")
	end := []byte{0x11, 0, 0}
	cases := []struct {
		name    string
		stream  []byte
		want    []byte
		refused bool
	}{
		{"empty: the end marker alone", end, nil, false},
		{"first byte: 2 literals, then a 2-byte match 2 back (M1)",
			cat([]byte{17 + 2, 'x', 'y'}, []byte{0b0000_01_00, 0}, end), []byte("xyxy"), false},
		{"first byte: 8 literals, then a 3-byte match 2049+ back needs 2049 bytes: refused",
			cat([]byte{17 + 8}, abc, []byte{0, 0}, end), nil, true},
		{"M2: 8 literals, 5 bytes 8 back, 1 literal",
			cat([]byte{17 + 8}, abc, []byte{0b100_111_01, 0, 'z'}, end), []byte("abcdefghabcdez"), false},
		{"M2 short: 4 bytes 3 back (a run over itself)",
			cat([]byte{17 + 4}, abc[:4], []byte{0b011_010_00, 0}, end), []byte("abcdbcdb"), false},
		{"M3: 2+5 bytes 4 back, le16 distance",
			cat([]byte{17 + 4}, abc[:4], []byte{0b001_00101, 3 << 2, 0}, end), []byte("abcdabcdabc"), false},
		{"M3 long length: 2+31+255+1 bytes 1 back",
			cat([]byte{17 + 1}, []byte("q"), []byte{0b001_00000, 0, 1, 0, 0}, end), bytes.Repeat([]byte("q"), 1+2+31+255+1), false},
		{"a 4-byte match 1 back, then a literal run (3+2) after its S = 0",
			cat([]byte{17 + 4}, abc[:4], []byte{0b011_000_00, 0, 2, 'v', 'w', 'x', 'y', 'z'}, end), []byte("abcd" + "dddd" + "vwxyz"), false},
		{"long literal run: 3+15+0+1 literals",
			cat([]byte{0, 1}, bytes.Repeat([]byte("L"), 19), end), bytes.Repeat([]byte("L"), 19), false},
	}
	// After a literal run, an instruction below 16 is a 3-byte match 2049
	// or more back: 2052 literals (3+15+7*255+249), then 3 bytes 2049 back.
	long := make([]byte, 2052)
	for i := range long {
		long[i] = byte(i % 251)
	}
	cases = append(cases, struct {
		name    string
		stream  []byte
		want    []byte
		refused bool
	}{"a 3-byte match 2049 back after a literal run",
		cat([]byte{0, 0, 0, 0, 0, 0, 0, 0, 249}, long, []byte{0b0000_00_00, 0}, end), cat(long, long[3:6]), false})
	for _, c := range cases {
		out := make([]byte, 4096)
		n, err := lzo1xDecompress(c.stream, out)
		if c.refused {
			if !errors.Is(err, format.ErrCorrupt) {
				t.Errorf("%s: %v, want ErrCorrupt", c.name, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(out[:n], c.want) {
			t.Errorf("%s: %q (%v), want %q", c.name, out[:n], err, c.want)
		}
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// A stream cut short, one with bytes after its end marker or without one,
// a match reaching before the output and one past the chunk are errors.
func TestLZORefusesDamage(t *testing.T) {
	good := cat([]byte{17 + 4}, []byte("abcd"), []byte{0b011_010_00, 0}, []byte{0x11, 0, 0})
	for name, s := range map[string][]byte{
		"cut":          good[:len(good)-1],
		"trailing":     append(append([]byte(nil), good...), 0),
		"no end":       good[:len(good)-3],
		"too far back": cat([]byte{17 + 1}, []byte("a"), []byte{0b011_111_00, 9}, []byte{0x11, 0, 0}),
		"empty":        nil,
	} {
		if _, err := (lzoCodec{}).Decode(&format.Filter{ID: LZO}, s, 64); !errors.Is(err, format.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := (lzoCodec{}).Decode(&format.Filter{ID: LZO}, good, 7); !errors.Is(err, format.ErrCorrupt) {
		t.Errorf("8 bytes into 7: %v, want ErrCorrupt", err)
	}
}
