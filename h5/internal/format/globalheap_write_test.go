package format

import (
	"bytes"
	"fmt"
	"testing"
)

// TestGlobalHeapCollectionRoundTrip writes collections of several shapes
// (tiny, exactly filling, above the minimum size) and reads them back.
func TestGlobalHeapCollectionRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 3, 200, 4000} {
		mem, r := newMemSpace(64)
		var objs [][]byte
		for i := 0; i < n; i++ {
			objs = append(objs, bytes.Repeat([]byte{byte(i)}, i%13))
		}
		addr, err := CreateGlobalHeapCollection(r, mem, objs)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ReadGlobalHeapCollection(r, addr)
		if err != nil {
			t.Fatalf("%d objects: %v", n, err)
		}
		if c.Size < minGlobalHeapCollection || c.Size%8 != 0 {
			t.Fatalf("%d objects: collection of %d bytes", n, c.Size)
		}
		for i, o := range objs {
			if got := c.Objects[uint32(i+1)]; !bytes.Equal(got, o) {
				t.Fatalf("%d objects: object %d = %x, want %x", n, i+1, got, o)
			}
		}
		if len(c.Objects) != n {
			t.Fatal(fmt.Sprintf("%d objects read back, want %d", len(c.Objects), n))
		}
	}
}
