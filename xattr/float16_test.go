package xattr

import (
	"os/exec"
	"strings"
	"testing"
)

// TestFloat16AsNumPy: every finite half-precision value reads as NumPy
// shows it (the shortest digits that round back to it).
func TestFloat16AsNumPy(t *testing.T) {
	out, err := exec.Command("/usr/bin/python3", "-c", `
import numpy as np
v = np.arange(65536, dtype=np.uint16).view(np.float16)
print("\n".join(str(x) for x in v if np.isfinite(x)))
`).Output()
	if err != nil {
		t.Fatalf("numpy: %v", err)
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	i, bad := 0, 0
	for bits := 0; bits < 65536; bits++ {
		if bits&0x7c00 == 0x7c00 {
			continue // inf and nan
		}
		v := float16Value(uint16(bits))
		if got := FormatFloat(v, 16); got != want[i] && bad < 10 {
			t.Errorf("float16 0x%04x: %s, NumPy %s", bits, got, want[i])
			bad++
		}
		i++
	}
	if i != len(want) {
		t.Fatalf("%d values, NumPy printed %d", i, len(want))
	}
}

// float16Value is the value of half-precision bits.
func float16Value(b uint16) float64 {
	sign := 1.0
	if b&0x8000 != 0 {
		sign = -1
	}
	exp := int(b>>10) & 0x1f
	mant := float64(b & 0x3ff)
	if exp == 0 {
		return sign * mant / 1024 / 16384
	}
	return sign * (1 + mant/1024) * float64(uint64(1)<<exp) / 32768
}
