package h5

import (
	"math"
	"testing"
)

// An odd float layout must keep NaN, infinity and ordinary values through
// encode and decode; with the leading mantissa bit stored (x87's 80-bit
// long double) infinity and NaN differ only in the bits below it.
func TestFloatLayoutRoundTrip(t *testing.T) {
	layouts := map[string]*Datatype{
		"x87": {Class: ClassFloat, Size: 16, Precision: 80, SignLoc: 79, ExpLoc: 64, ExpSize: 15, MantLoc: 0, MantSize: 64, MantNorm: 1, ExpBias: 16383},
		"f24": {Class: ClassFloat, Size: 3, Precision: 24, SignLoc: 23, ExpLoc: 16, ExpSize: 7, MantLoc: 0, MantSize: 16, MantNorm: 2, ExpBias: 63},
	}
	for name, typ := range layouts {
		for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1.5, -0.375, 0} {
			buf := make([]byte, typ.Size)
			encodeFloatLayout(typ, v, buf)
			got := decodeFloat(typ, buf)
			if math.IsNaN(v) != math.IsNaN(got) || (!math.IsNaN(v) && got != v) {
				t.Errorf("%s: %v encodes as % x and decodes as %v", name, v, buf, got)
			}
		}
	}
}
