package format

import (
	"fmt"
	"strings"
)

// Selection kinds, as serialized.
const (
	SelNone      = 0
	SelPoints    = 1
	SelHyperslab = 2
	SelAll       = 3
)

// Selection is a decoded dataspace selection, as region references and
// virtual dataset mappings store it. A regular hyperslab has Start,
// Stride, Count and Block per dimension (Count or Block may be Unlimited);
// an irregular one a list of blocks, each a start and an end corner
// (inclusive); a point selection a list of points.
type Selection struct {
	Kind uint32
	Rank int

	Regular                     bool
	Start, Stride, Count, Block []uint64

	Blocks [][]uint64 // irregular hyperslab: 2*Rank values per block
	Points [][]uint64 // Rank values per point
}

// maxSelectionItems bounds the blocks or points a serialized selection may
// list; the bytes they take are checked too.
const maxSelectionItems = 1 << 24

// DecodeSelection decodes one serialized selection at d's position.
func DecodeSelection(d *Decoder) *Selection {
	s := &Selection{Kind: d.U32()}
	version := d.U32()
	if d.Err() != nil {
		return s
	}
	switch s.Kind {
	case SelNone, SelAll:
		if version != 1 {
			d.Fail(Unsupportedf(d.Addr(), d.what, "selection kind %d version %d", s.Kind, version))
			return s
		}
		d.Skip(8) // reserved, length
	case SelPoints:
		decodePoints(d, s, version)
	case SelHyperslab:
		decodeHyperslab(d, s, version)
	default:
		d.Corrupt("selection kind %d", s.Kind)
	}
	return s
}

func decodeRank(d *Decoder, s *Selection) bool {
	s.Rank = int(d.U32())
	if d.Err() != nil {
		return false
	}
	if s.Rank < 1 || s.Rank > maxRank {
		d.Corrupt("selection rank %d", s.Rank)
		return false
	}
	return true
}

func checkEncSize(d *Decoder, n int) bool {
	if n != 2 && n != 4 && n != 8 {
		d.Corrupt("selection encoded with %d-byte values", n)
		return false
	}
	return true
}

// decodeValue reads an n-byte value; all ones means Unlimited when unlim.
func decodeValue(d *Decoder, n int, unlim bool) uint64 {
	v := d.Uint(n)
	if unlim && n < 8 && v == 1<<(8*uint(n))-1 {
		return Unlimited
	}
	return v
}

func decodePoints(d *Decoder, s *Selection, version uint32) {
	enc := 4
	switch version {
	case 1:
		d.Skip(8)
	case 2:
		enc = int(d.U8())
		if !checkEncSize(d, enc) {
			return
		}
	default:
		d.Fail(Unsupportedf(d.Addr(), d.what, "point selection version %d", version))
		return
	}
	if !decodeRank(d, s) {
		return
	}
	n := d.Uint(enc)
	if d.Err() != nil {
		return
	}
	if n > maxSelectionItems || n*uint64(s.Rank)*uint64(enc) > uint64(d.Remaining()) {
		d.Corrupt("%d points in %d bytes", n, d.Remaining())
		return
	}
	s.Points = make([][]uint64, n)
	for i := range s.Points {
		p := make([]uint64, s.Rank)
		for k := range p {
			p[k] = d.Uint(enc)
		}
		s.Points[i] = p
	}
}

func decodeHyperslab(d *Decoder, s *Selection, version uint32) {
	var flags uint8
	enc := 4
	switch version {
	case 1:
		d.Skip(8)
	case 2:
		flags = d.U8()
		d.Skip(4)
		enc = 8
	case 3:
		flags = d.U8()
		enc = int(d.U8())
		if !checkEncSize(d, enc) {
			return
		}
	default:
		d.Fail(Unsupportedf(d.Addr(), d.what, "hyperslab selection version %d", version))
		return
	}
	if flags&^1 != 0 {
		d.Corrupt("hyperslab selection flags 0x%x", flags)
		return
	}
	if !decodeRank(d, s) {
		return
	}
	if flags&1 != 0 {
		s.Regular = true
		s.Start = make([]uint64, s.Rank)
		s.Stride = make([]uint64, s.Rank)
		s.Count = make([]uint64, s.Rank)
		s.Block = make([]uint64, s.Rank)
		for k := 0; k < s.Rank; k++ {
			s.Start[k] = decodeValue(d, enc, false)
			s.Stride[k] = decodeValue(d, enc, false)
			s.Count[k] = decodeValue(d, enc, true)
			s.Block[k] = decodeValue(d, enc, true)
		}
		return
	}
	n := d.Uint(enc)
	if d.Err() != nil {
		return
	}
	if n > maxSelectionItems || n*2*uint64(s.Rank)*uint64(enc) > uint64(d.Remaining()) {
		d.Corrupt("%d hyperslab blocks in %d bytes", n, d.Remaining())
		return
	}
	s.Blocks = make([][]uint64, n)
	for i := range s.Blocks {
		b := make([]uint64, 2*s.Rank)
		for k := range b {
			b[k] = d.Uint(enc)
		}
		for k := 0; k < s.Rank; k++ {
			if b[s.Rank+k] < b[k] {
				d.Corrupt("hyperslab block ends before it starts")
				return
			}
		}
		s.Blocks[i] = b
	}
	if n == 1 {
		// One block is a regular hyperslab.
		b := s.Blocks[0]
		s.Regular = true
		s.Start = append([]uint64(nil), b[:s.Rank]...)
		s.Stride = make([]uint64, s.Rank)
		s.Count = make([]uint64, s.Rank)
		s.Block = make([]uint64, s.Rank)
		for k := 0; k < s.Rank; k++ {
			s.Stride[k], s.Count[k] = 1, 1
			s.Block[k] = b[s.Rank+k] - b[k] + 1
		}
	}
}

// String renders the selection as h5dump writes a region:
// "{(0,1)-(2,3), (5,5)-(6,6)}" for blocks, "{(1,2), (3,4)}" for points,
// "{}" for none and "" for all.
func (s *Selection) String() string {
	corner := func(v []uint64) string {
		parts := make([]string, len(v))
		for i, x := range v {
			if x == Unlimited {
				parts[i] = "UNLIMITED"
			} else {
				parts[i] = fmt.Sprint(x)
			}
		}
		return "(" + strings.Join(parts, ",") + ")"
	}
	var items []string
	switch s.Kind {
	case SelAll:
		return ""
	case SelNone:
		return "{}"
	case SelPoints:
		for _, p := range s.Points {
			items = append(items, corner(p))
		}
	case SelHyperslab:
		if s.Regular {
			if s.unlimited() {
				return fmt.Sprintf("{start=%s stride=%s count=%s block=%s}", corner(s.Start), corner(s.Stride), corner(s.Count), corner(s.Block))
			}
			s.eachRegularBlock(func(lo, hi []uint64) bool {
				items = append(items, corner(lo)+"-"+corner(hi))
				return len(items) < 1<<16
			})
		} else {
			for _, b := range s.Blocks {
				items = append(items, corner(b[:s.Rank])+"-"+corner(b[s.Rank:]))
			}
		}
	}
	return "{" + strings.Join(items, ", ") + "}"
}

func (s *Selection) unlimited() bool {
	for k := 0; k < s.Rank; k++ {
		if s.Count[k] == Unlimited || s.Block[k] == Unlimited {
			return true
		}
	}
	return false
}

// eachRegularBlock visits the blocks of a bounded regular hyperslab in
// row-major order until visit returns false.
func (s *Selection) eachRegularBlock(visit func(lo, hi []uint64) bool) {
	idx := make([]uint64, s.Rank)
	lo := make([]uint64, s.Rank)
	hi := make([]uint64, s.Rank)
	for k := 0; k < s.Rank; k++ {
		if s.Count[k] == 0 || s.Block[k] == 0 {
			return
		}
	}
	for {
		for k := 0; k < s.Rank; k++ {
			lo[k] = s.Start[k] + idx[k]*s.Stride[k]
			hi[k] = lo[k] + s.Block[k] - 1
		}
		if !visit(lo, hi) {
			return
		}
		k := s.Rank - 1
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < s.Count[k] {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}
