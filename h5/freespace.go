package h5

import "sort"

// extents is a set of disjoint, coalesced [start, end) ranges of relative
// addresses, kept sorted.
type extents []extent

type extent struct{ start, end uint64 }

// add inserts [start, end), merging with neighbours.
func (x *extents) add(start, end uint64) {
	if start >= end {
		return
	}
	s := *x
	i := sort.Search(len(s), func(i int) bool { return s[i].end >= start })
	j := i
	for j < len(s) && s[j].start <= end {
		start = min(start, s[j].start)
		end = max(end, s[j].end)
		j++
	}
	s = append(s[:i], append([]extent{{start, end}}, s[j:]...)...)
	*x = s
}

// remove takes [start, end) out of the set.
func (x *extents) remove(start, end uint64) {
	s := *x
	var out []extent
	for _, e := range s {
		if e.end <= start || e.start >= end {
			out = append(out, e)
			continue
		}
		if e.start < start {
			out = append(out, extent{e.start, start})
		}
		if e.end > end {
			out = append(out, extent{end, e.end})
		}
	}
	*x = out
}

// covers reports whether [start, end) lies inside one range of the set.
func (x extents) covers(start, end uint64) bool {
	i := sort.Search(len(x), func(i int) bool { return x[i].end > start })
	return i < len(x) && x[i].start <= start && end <= x[i].end
}

// firstFit finds the lowest range holding n bytes.
func (x extents) firstFit(n uint64) (uint64, bool) {
	for _, e := range x {
		if e.end-e.start >= n {
			return e.start, true
		}
	}
	return 0, false
}

// space is the writer's bookkeeping of file space, in relative addresses.
//
// Space a committed structure references is never overwritten by a new
// structure before a commit has stopped referencing it: what is freed
// since the last commit waits in released, and becomes reusable only after
// the commit. Space allocated since the last commit (fresh) is referenced
// by nothing on disk, so it may be written in place and freed at once.
type space struct {
	eoa          uint64 // end of allocated space
	committedEOA uint64 // what the superblock on disk says
	free         extents
	released     extents
	reused       extents // free space handed out again since the last commit
}

func (s *space) fresh(addr, n uint64) bool {
	if addr >= s.committedEOA {
		return true
	}
	return s.reused.covers(addr, min(addr+n, s.committedEOA))
}

func (s *space) alloc(n uint64) (uint64, bool) {
	if n == 0 {
		return s.eoa, true
	}
	if addr, ok := s.free.firstFit(n); ok {
		s.free.remove(addr, addr+n)
		if addr < s.committedEOA {
			s.reused.add(addr, addr+n)
		}
		return addr, true
	}
	addr := s.eoa
	if addr+n < addr {
		return 0, false
	}
	s.eoa += n
	if addr < s.committedEOA {
		s.reused.add(addr, min(addr+n, s.committedEOA))
	}
	return addr, true
}

// release frees [addr, addr+n); it reports whether the space is usable at
// once (it was fresh).
func (s *space) release(addr, n uint64) bool {
	if n == 0 || addr+n < addr || addr+n > s.eoa {
		return false
	}
	if s.fresh(addr, n) {
		s.reused.remove(addr, addr+n)
		s.makeFree(addr, addr+n)
		return true
	}
	s.released.add(addr, addr+n)
	return false
}

func (s *space) makeFree(start, end uint64) {
	s.free.add(start, end)
	// Space at the end of the file gives the end back.
	if n := len(s.free); n > 0 && s.free[n-1].end == s.eoa {
		s.eoa = s.free[n-1].start
		s.free = s.free[:n-1]
	}
}

// committed records that a commit made the file say eoa.
func (s *space) committed() {
	s.committedEOA = s.eoa
	for _, e := range s.released {
		s.makeFree(e.start, e.end)
	}
	s.released = nil
	s.reused = nil
}
