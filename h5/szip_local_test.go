package h5

import (
	"errors"
	"slices"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// TestSzipLocalAsLibhdf5: szip's parameters for types and chunks, as
// libhdf5 1.10's set_local gives them to h5py's compression="szip" (nn, 8
// pixels a block), read from the datasets it made.
func TestSzipLocalAsLibhdf5(t *testing.T) {
	u1 := &Datatype{Class: format.ClassFixed, Size: 1, Precision: 8}
	i4be := &Datatype{Class: format.ClassFixed, Size: 4, Precision: 32, Signed: true, BigEndian: true}
	i4 := &Datatype{Class: format.ClassFixed, Size: 4, Precision: 32, Signed: true}
	u2be := &Datatype{Class: format.ClassFixed, Size: 2, Precision: 16, BigEndian: true}
	f2 := &Datatype{Class: format.ClassFloat, Size: 2, Precision: 16}
	cases := []struct {
		name   string
		t      *Datatype
		chunks []uint64
		want   []uint32
	}{
		{"(2,)u1", &Datatype{Class: format.ClassArray, Size: 2, Base: u1, Dims: []uint32{2}}, []uint64{100}, []uint32{169, 8, 8, 100}},
		{"(2,)>i4", &Datatype{Class: format.ClassArray, Size: 8, Base: i4be, Dims: []uint32{2}}, []uint64{100}, []uint32{177, 8, 32, 100}},
		{"(5,)<i4", &Datatype{Class: format.ClassArray, Size: 20, Base: i4, Dims: []uint32{5}}, []uint64{100}, []uint32{169, 8, 32, 100}},
		{"enum >u2", &Datatype{Class: format.ClassEnum, Size: 2, Base: u2be}, []uint64{50}, []uint32{177, 8, 16, 50}},
		{"bool", &Datatype{Class: format.ClassEnum, Size: 1, Base: &Datatype{Class: format.ClassFixed, Size: 1, Precision: 8, Signed: true}}, []uint64{64}, []uint32{169, 8, 8, 64}},
		{"<f2 in (7, 3)", f2, []uint64{7, 3}, []uint32{169, 8, 16, 21}},
	}
	for _, c := range cases {
		got, err := szipLocal([]uint32{161, 8}, c.t, c.chunks)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %v (%v), want %v", c.name, got, err, c.want)
		}
	}
	// What libhdf5 refuses (a compound: "operation not defined for
	// specified datatype"), and a pixel its coder cannot take.
	complex := &Datatype{Class: format.ClassCompound, Size: 8}
	ldouble := &Datatype{Class: format.ClassFloat, Size: 16, Precision: 80}
	for _, bad := range []*Datatype{complex, ldouble} {
		if _, err := szipLocal([]uint32{161, 8}, bad, []uint64{64}); !errors.Is(err, ErrInvalid) {
			t.Errorf("class %d size %d: %v", bad.Class, bad.Size, err)
		}
	}
}
