package format

import "encoding/binary"

// The file space info message (0x17) of a superblock extension records how
// libhdf5 manages the file's free space and, when the free space persists,
// where the free-space managers holding it are. Those managers describe
// the file as libhdf5 last closed it: space they list as free, and the end
// of allocated space they were placed against, no longer hold once h5mount
// has allocated and freed space of its own. libhdf5 1.10 then hands out
// space h5mount's objects use and pulls the end of allocated space back
// over them (seen: "duplicate entry in cache", then "addr overflow" on the
// next read). So before its first commit h5mount drops the persisted free
// space, as h5clear's --increment does: the manager addresses become
// undefined (their space and the free space they listed is left unused)
// and the end of allocated space they were placed against becomes the
// file's. libhdf5 starts over from no free space and, persisting being
// still set, writes new managers when it next closes the file.

// fsinfo message versions and the strategy of version 0 that persists.
const (
	fsinfoVersion0     = 0
	fsinfoVersion1     = 1
	fsinfoV0AllPersist = 1
	fsinfoV0Managers   = 6  // H5FD_MEM_NTYPES - 1
	fsinfoV1Managers   = 12 // H5F_MEM_PAGE_NTYPES - 1
	fsinfoV1Fixed      = 3  // version, strategy, persist
)

// SettleFileSpaceInfo returns the body of a file space info message with
// its persisted free-space managers dropped and eoa as the end of
// allocated space they were placed against, and whether that changed
// anything. A message that persists no free space comes back unchanged.
func SettleFileSpaceInfo(body []byte, at uint64, sizes Sizes, eoa uint64) ([]byte, bool, error) {
	const what = "file space info message"
	if len(body) < 2 {
		return nil, false, Corruptf(at, what, "%d bytes", len(body))
	}
	out := append([]byte(nil), body...)
	var managers, first int
	switch body[0] {
	case fsinfoVersion0:
		if body[1] != fsinfoV0AllPersist {
			return body, false, nil
		}
		// version, strategy, threshold, then the managers; libhdf5 takes
		// the end of allocated space itself as where they were placed.
		managers, first = fsinfoV0Managers, 2+sizes.Length
	case fsinfoVersion1:
		if len(body) < fsinfoV1Fixed || body[2] == 0 {
			return body, false, nil
		}
		// version, strategy, persist, threshold, page size, page end
		// metadata threshold, end of allocated space, the managers.
		eoaAt := fsinfoV1Fixed + 2*sizes.Length + 2
		if len(out) < eoaAt+sizes.Offset {
			return nil, false, Corruptf(at, what, "%d bytes", len(body))
		}
		putAddr(out[eoaAt:], eoa, sizes.Offset)
		managers, first = fsinfoV1Managers, eoaAt+sizes.Offset
	default:
		return nil, false, Unsupportedf(at, what, "version %d", body[0])
	}
	if len(out) < first+managers*sizes.Offset {
		return nil, false, Corruptf(at, what, "%d bytes for %d free-space manager addresses", len(body), managers)
	}
	for i := 0; i < managers; i++ {
		putAddr(out[first+i*sizes.Offset:], Undefined, sizes.Offset)
	}
	return out, string(out) != string(body), nil
}

func putAddr(b []byte, v uint64, n int) {
	var full [8]byte
	binary.LittleEndian.PutUint64(full[:], v)
	copy(b[:n], full[:n])
}
