package h5

import (
	"math/rand/v2"
	"testing"
)

// nextRun is the definition of a run: the one starting at dataset byte
// offset pos, at most limit bytes long, every coordinate divided out of
// the offset.
func (g *chunkGeometry) nextRun(pos, limit uint64, coords, scaled []uint64) run {
	rank := len(g.dims)
	elem := pos / g.esize
	within := pos - elem*g.esize
	for i := rank - 1; i >= 0; i-- {
		coords[i] = elem % g.dims[i]
		elem /= g.dims[i]
	}
	var chunkIdx, srcElem uint64
	for i := 0; i < rank; i++ {
		scaled[i] = coords[i] / g.chunk[i]
		chunkIdx = chunkIdx*g.grid[i] + scaled[i]
		srcElem = srcElem*g.chunk[i] + coords[i]%g.chunk[i]
	}
	runElems := uint64(1)
	for i := rank - 1; i >= 0; i-- {
		in := coords[i] % g.chunk[i]
		avail := min(g.chunk[i]-in, g.dims[i]-coords[i])
		runElems *= avail
		if !(in == 0 && avail == g.chunk[i] && g.chunk[i] == g.dims[i]) {
			break
		}
	}
	return run{scaled: scaled, chunkIdx: chunkIdx, srcOff: srcElem*g.esize + within, n: min(runElems*g.esize-within, limit)}
}

// TestRunIterMatchesNextRun: the runs runIter walks, carrying coordinates
// from run to run, are the runs nextRun finds from each run's offset, for
// random shapes (edges of partial chunks, chunks as wide as the dataset
// along some dimensions, single-element dimensions), element sizes, and
// ranges starting and ending inside elements.
func TestRunIterMatchesNextRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 3000 {
		rank := 1 + rng.IntN(4)
		g := chunkGeometry{dims: make([]uint64, rank), chunk: make([]uint64, rank), grid: make([]uint64, rank)}
		g.esize = []uint64{1, 2, 4, 8, 12}[rng.IntN(5)]
		g.chunkBytes = g.esize
		total := g.esize
		for i := range rank {
			g.dims[i] = 1 + uint64(rng.IntN(9))
			switch rng.IntN(3) {
			case 0:
				g.chunk[i] = g.dims[i] // as wide as the dataset
			default:
				g.chunk[i] = 1 + uint64(rng.IntN(int(g.dims[i])+2))
			}
			g.grid[i] = (g.dims[i] + g.chunk[i] - 1) / g.chunk[i]
			g.chunkBytes *= g.chunk[i]
			total *= g.dims[i]
		}
		off := uint64(rng.IntN(int(total)))
		end := off + 1 + uint64(rng.IntN(int(total-off)))
		var want []run
		coords, scaled := make([]uint64, rank), make([]uint64, rank)
		for pos := off; pos < end; {
			r := g.nextRun(pos, end-pos, coords, scaled)
			r.scaled = append([]uint64(nil), r.scaled...)
			want = append(want, r)
			pos += r.n
		}
		if got := g.chunkAt(off); got != want[0].chunkIdx {
			t.Fatalf("trial %d (dims %v chunk %v esize %d): chunkAt(%d) = %d, want %d", trial, g.dims, g.chunk, g.esize, off, got, want[0].chunkIdx)
		}
		var s runIterScratch
		it := g.runs(off, end, &s)
		for k := 0; ; k++ {
			r, ok := it.next()
			if !ok {
				if k != len(want) {
					t.Fatalf("trial %d (dims %v chunk %v esize %d, [%d, %d)): %d runs, want %d", trial, g.dims, g.chunk, g.esize, off, end, k, len(want))
				}
				break
			}
			if k >= len(want) {
				t.Fatalf("trial %d (dims %v chunk %v esize %d, [%d, %d)): more than %d runs", trial, g.dims, g.chunk, g.esize, off, end, len(want))
			}
			w := want[k]
			if r.chunkIdx != w.chunkIdx || r.srcOff != w.srcOff || r.n != w.n || !equalCoords(r.scaled, w.scaled) {
				t.Fatalf("trial %d (dims %v chunk %v esize %d, [%d, %d)) run %d: %+v, want %+v", trial, g.dims, g.chunk, g.esize, off, end, k, r, w)
			}
		}
	}
}

func equalCoords(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
