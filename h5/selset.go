package h5

import (
	"fmt"
	"sort"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Selections as sets of elements, for virtual dataset mappings: the
// product of one set of coordinates per dimension, its elements taken in
// row-major order (the order libhdf5 pairs a virtual selection's elements
// with its source selection's).

// dimSet is the set of coordinates selected along one dimension: either a
// regular pattern (start + i*stride + j for i < count, j < block, below
// limit) or, when iv is set, a sorted list of disjoint intervals.
type dimSet struct {
	start, stride, count, block, limit uint64

	iv     [][2]uint64 // [lo, hi) intervals
	prefix []uint64    // coordinates selected before each interval
}

func (s dimSet) end() uint64 { // exclusive, ignoring limit
	return s.start + (s.count-1)*s.stride + s.block
}

func (s dimSet) size() uint64 {
	if s.iv != nil {
		last := len(s.iv) - 1
		return s.prefix[last] + s.iv[last][1] - s.iv[last][0]
	}
	if s.count == 0 || s.block == 0 || s.limit <= s.start {
		return 0
	}
	if s.limit >= s.end() {
		return s.count * s.block
	}
	span := s.limit - s.start
	full := span / s.stride
	return full*s.block + min(span-full*s.stride, s.block)
}

// rank is the position of c among the selected coordinates.
func (s dimSet) rank(c uint64) (uint64, bool) {
	if s.iv != nil {
		i := sort.Search(len(s.iv), func(i int) bool { return s.iv[i][1] > c })
		if i == len(s.iv) || c < s.iv[i][0] {
			return 0, false
		}
		return s.prefix[i] + c - s.iv[i][0], true
	}
	if c < s.start || c >= s.limit {
		return 0, false
	}
	off := c - s.start
	i, j := off/s.stride, off%s.stride
	if i >= s.count || j >= s.block {
		return 0, false
	}
	return i*s.block + j, true
}

// at is the p-th selected coordinate.
func (s dimSet) at(p uint64) uint64 {
	if s.iv != nil {
		i := sort.Search(len(s.prefix), func(i int) bool { return s.prefix[i] > p }) - 1
		return s.iv[i][0] + p - s.prefix[i]
	}
	return s.start + p/s.block*s.stride + p%s.block
}

// next is the first selected coordinate after an unselected c (MaxUint64
// when there is none).
func (s dimSet) next(c uint64) uint64 {
	if s.iv != nil {
		i := sort.Search(len(s.iv), func(i int) bool { return s.iv[i][0] > c })
		if i == len(s.iv) {
			return ^uint64(0)
		}
		return s.iv[i][0]
	}
	if c < s.start {
		return s.start
	}
	i := (c - s.start) / s.stride
	next := s.start + (i+1)*s.stride
	if i+1 >= s.count || next >= s.limit || next < c {
		return ^uint64(0)
	}
	return next
}

// selSet is a bounded selection: the product of one dimSet per dimension.
type selSet struct {
	dims  []dimSet
	sizes []uint64
	total uint64
}

func newSelSet(dims []dimSet) selSet {
	s := selSet{dims: dims, sizes: make([]uint64, len(dims)), total: 1}
	for i, d := range dims {
		s.sizes[i] = d.size()
		if s.sizes[i] != 0 && s.total > ^uint64(0)/s.sizes[i] {
			s.total = ^uint64(0)
		} else {
			s.total *= s.sizes[i]
		}
	}
	return s
}

// maxSelectionBlocks bounds the blocks of an irregular hyperslab the engine
// takes apart.
const maxSelectionBlocks = 1 << 12

// boundedSelection turns a decoded selection over a dataspace of the given
// extent into a selSet; an unlimited dimension is cut at clip.
func boundedSelection(s *format.Selection, extent []uint64, clip uint64) (selSet, error) {
	dims := make([]dimSet, len(extent))
	switch {
	case s.Kind == format.SelAll:
		for k, e := range extent {
			dims[k] = dimSet{start: 0, stride: 1, count: 1, block: e, limit: e}
		}
	case s.Kind == format.SelNone:
		for k := range extent {
			dims[k] = dimSet{stride: 1}
		}
	case s.Kind == format.SelHyperslab && s.Rank != len(extent):
		return selSet{}, fmt.Errorf("h5: selection of rank %d over a rank-%d dataspace: %w", s.Rank, len(extent), ErrCorrupt)
	case s.Kind == format.SelHyperslab && s.Regular:
		for k := 0; k < s.Rank; k++ {
			ds, err := regularDim(s.Start[k], s.Stride[k], s.Count[k], s.Block[k], clip)
			if err != nil {
				return selSet{}, err
			}
			dims[k] = ds
		}
	case s.Kind == format.SelHyperslab:
		return blockListSelection(s)
	default:
		return selSet{}, fmt.Errorf("h5: virtual dataset mapping with a point selection: %w", ErrUnsupported)
	}
	return newSelSet(dims), nil
}

// regularDim is one dimension of a regular hyperslab, an unlimited count
// or block cut at clip.
func regularDim(start, stride, count, block, clip uint64) (dimSet, error) {
	ds := dimSet{start: start, stride: stride, count: count, block: block, limit: ^uint64(0)}
	if ds.count == format.Unlimited || ds.block == format.Unlimited {
		ds.limit = clip
		switch {
		case clip <= ds.start:
			ds.count = 0
		case ds.block == format.Unlimited:
			ds.block, ds.count = clip-ds.start, 1
		default:
			if ds.stride == 0 || ds.stride < ds.block {
				return dimSet{}, fmt.Errorf("h5: unlimited hyperslab with stride %d and block %d: %w", ds.stride, ds.block, ErrCorrupt)
			}
			ds.count = (clip - ds.start + ds.stride - 1) / ds.stride
		}
	}
	if ds.count <= 1 || ds.stride == 0 {
		ds.stride = max(ds.block, 1)
	}
	if ds.count > 1 && ds.stride < ds.block {
		return dimSet{}, fmt.Errorf("h5: hyperslab blocks overlap (stride %d, block %d): %w", ds.stride, ds.block, ErrCorrupt)
	}
	if ds.count > 0 && ds.block > 0 && ds.count-1 > (^uint64(0)-ds.start-ds.block)/ds.stride {
		return dimSet{}, fmt.Errorf("h5: hyperslab beyond 2^64: %w", ErrCorrupt)
	}
	return ds, nil
}

// blockListSelection takes an irregular hyperslab (a list of blocks, as
// libhdf5 writes even regular patterns with the earliest format) whose
// blocks are disjoint and together form a product of one set of intervals
// per dimension; anything else answers ErrUnsupported.
func blockListSelection(s *format.Selection) (selSet, error) {
	rank := s.Rank
	if len(s.Blocks) == 0 {
		dims := make([]dimSet, rank)
		for k := range dims {
			dims[k] = dimSet{stride: 1}
		}
		return newSelSet(dims), nil
	}
	if len(s.Blocks) > maxSelectionBlocks {
		return selSet{}, fmt.Errorf("h5: irregular hyperslab of %d blocks: %w", len(s.Blocks), ErrUnsupported)
	}
	// The blocks' total volume; they must not overlap.
	var volume uint64
	for i, a := range s.Blocks {
		v := uint64(1)
		for k := 0; k < rank; k++ {
			n := a[rank+k] - a[k] + 1
			if n != 0 && v > ^uint64(0)/n {
				return selSet{}, fmt.Errorf("h5: hyperslab block beyond 2^64 elements: %w", ErrCorrupt)
			}
			v *= n
		}
		volume += v
		for _, b := range s.Blocks[:i] {
			overlap := true
			for k := 0; k < rank; k++ {
				if a[rank+k] < b[k] || b[rank+k] < a[k] {
					overlap = false
					break
				}
			}
			if overlap {
				return selSet{}, fmt.Errorf("h5: overlapping hyperslab blocks: %w", ErrUnsupported)
			}
		}
	}
	dims := make([]dimSet, rank)
	product := uint64(1)
	for k := 0; k < rank; k++ {
		iv := make([][2]uint64, 0, len(s.Blocks))
		for _, b := range s.Blocks {
			iv = append(iv, [2]uint64{b[k], b[rank+k] + 1})
		}
		sort.Slice(iv, func(i, j int) bool { return iv[i][0] < iv[j][0] })
		merged := iv[:1]
		for _, x := range iv[1:] {
			last := &merged[len(merged)-1]
			if x[0] <= last[1] {
				last[1] = max(last[1], x[1])
			} else {
				merged = append(merged, x)
			}
		}
		ds := dimSet{iv: merged, prefix: make([]uint64, len(merged))}
		var n uint64
		for i, x := range merged {
			ds.prefix[i] = n
			n += x[1] - x[0]
		}
		dims[k] = ds
		if n != 0 && product > ^uint64(0)/n {
			product = ^uint64(0)
		} else {
			product *= n
		}
	}
	if product != volume {
		return selSet{}, fmt.Errorf("h5: irregular hyperslab that is not a product of intervals: %w", ErrUnsupported)
	}
	return newSelSet(dims), nil
}
