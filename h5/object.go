package h5

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Kind says what an object is.
type Kind int

// Object kinds.
const (
	KindUnknown Kind = iota
	KindGroup
	KindDataset
	KindDatatype
)

func (k Kind) String() string {
	return [...]string{"unknown", "group", "dataset", "datatype"}[k]
}

// Object is anything with an object header: a group, a dataset or a named
// datatype.
type Object struct {
	f    *File
	Addr uint64 // object header address: stable, unique per object
	// hdr is the decoded header; an edit swaps in a fresh decoding.
	hdr     atomic.Pointer[format.ObjectHeader]
	scratch *format.SymbolTableMessage

	dsMu  sync.Mutex
	ds    *Dataset
	dsErr error
	// dsWeak is ds as it was last decoded, after loadedDatasets let go of
	// it: while anything still holds that Dataset, it is the object's
	// dataset again, so that there is never a second one.
	dsWeak weak.Pointer[Dataset]
	// dsUsed is set by each AsDataset that finds ds decoded: the second
	// chance of loadedDatasets.
	dsUsed atomic.Bool

	// Handles on dense link and attribute storage, kept between edits
	// (they know the heap's free space) and used under f.wr.meta only.
	denseLinks *format.DenseLinks
	symtab     *format.SymbolTable
	denseAttrs *format.DenseAttributes
}

func (o *Object) header() *format.ObjectHeader { return o.hdr.Load() }

// reload decodes the header again after an edit.
func (o *Object) reload() error {
	h, err := format.ReadObjectHeader(o.f.r, o.Addr)
	if err != nil {
		return err
	}
	o.hdr.Store(h)
	return nil
}

// File returns the file the object belongs to.
func (o *Object) File() *File { return o.f }

// Kind classifies the object by the messages its header holds.
func (o *Object) Kind() Kind {
	h := o.header()
	switch {
	case h.Find(format.MsgLayout) != nil:
		return KindDataset
	case h.Find(format.MsgSymbolTable) != nil, h.Find(format.MsgLinkInfo) != nil,
		h.Find(format.MsgLink) != nil, h.Find(format.MsgGroupInfo) != nil, o.scratch != nil:
		return KindGroup
	case h.Find(format.MsgDatatype) != nil:
		return KindDatatype
	}
	if o.Addr == o.f.sb.RootAddr {
		return KindGroup
	}
	// An old-style group with no members may hold nothing but its symbol
	// table; a new-style empty group may hold nothing at all.
	if h.Find(format.MsgDataspace) == nil {
		return KindGroup
	}
	return KindUnknown
}

// RefCount is the number of hard links to the object.
func (o *Object) RefCount() uint32 { return o.header().RefCount }

// ModTime is the modification time the object header stores, if any.
func (o *Object) ModTime() (time.Time, bool) {
	if o.header().Version == 2 && o.header().Flags&0x20 != 0 && o.header().ModTime != 0 {
		return time.Unix(int64(o.header().ModTime), 0), true
	}
	for _, t := range []uint16{format.MsgModTime, format.MsgModTimeOld} {
		if m := o.header().Find(t); m != nil {
			if ts, ok := format.DecodeModTime(m); ok {
				return ts, true
			}
		}
	}
	return time.Time{}, false
}

// AsGroup returns the object as a group.
func (o *Object) AsGroup() (*Group, error) {
	if k := o.Kind(); k != KindGroup {
		return nil, fmt.Errorf("h5: object at 0x%x is a %v, not a group: %w", o.Addr, k, ErrCorrupt)
	}
	return &Group{Object: o}, nil
}

// AsDataset returns the object as a dataset: one Dataset per object, so
// that its caches and its write lock are shared by every user. One that
// loadedDatasets let go of and nothing holds any more is decoded again.
func (o *Object) AsDataset() (*Dataset, error) {
	o.dsMu.Lock()
	queue := false
	if o.ds != nil && o.ds.layout.Class == format.LayoutVirtual && o.ds.decodedAt != o.f.changes.Load() {
		// Its sources may have been written, resized, moved or
		// removed since: their dimensions and names decide its own.
		o.ds, o.dsWeak = nil, weak.Pointer[Dataset]{}
	}
	if o.ds == nil && o.dsErr == nil {
		if o.ds = o.dsWeak.Value(); o.ds == nil {
			at := o.f.changes.Load()
			o.ds, o.dsErr = openDataset(o)
			if o.ds != nil {
				o.ds.decodedAt = at
				o.dsWeak = weak.Make(o.ds)
			}
		}
		queue = o.ds != nil
	}
	ds, err := o.ds, o.dsErr
	o.dsMu.Unlock()
	if queue {
		o.f.loaded.add(o)
	} else {
		o.dsUsed.Store(true)
	}
	return ds, err
}

// letGoOfDataset drops the object's hold on its dataset, unless something
// changed the dataset: that keeps state of its own.
func (o *Object) letGoOfDataset() {
	o.dsMu.Lock()
	defer o.dsMu.Unlock()
	if o.ds != nil && !o.ds.modified.Load() {
		o.ds = nil
	}
}

// loadedDatasets bounds how many decoded datasets a file's objects hold.
// The objects a mount's nodes hold kept their datasets, and a find over a
// file of 100,000 datasets held each one's layout, datatype and fill value
// (950 bytes a dataset) for as long as the kernel kept the inode. Past the
// limit the object whose dataset was decoded longest ago and not used
// since lets go of it (a clock: one used since it was queued goes round
// again); the Dataset lives on while anything holds it (its readers, a
// writer's pending chunks), and is the object's again if asked for by
// then, so an object never has two. A dataset anything changed is kept.
// In a read-only file, one decoded again finds its chunks still cached
// under the object's address.
type loadedDatasets struct {
	mu    sync.Mutex
	queue []*Object
	limit int
}

// maxLoadedDatasets is loadedDatasets' limit: 4 MB of decoded definitions.
const maxLoadedDatasets = 4096

func (l *loadedDatasets) add(o *Object) {
	var drop []*Object
	l.mu.Lock()
	l.queue = append(l.queue, o)
	for len(l.queue) > l.limit {
		oldest := l.queue[0]
		l.queue = l.queue[1:]
		if oldest.dsUsed.Swap(false) {
			l.queue = append(l.queue, oldest)
			continue
		}
		drop = append(drop, oldest)
	}
	l.mu.Unlock()
	// Outside the queue's lock, and o's: each forgetting takes its own
	// object's lock.
	for _, d := range drop {
		d.letGoOfDataset()
	}
}

// keepDataset has the object hold d again, which it let go of while d was
// being taken to be changed; not when d is a former definition.
func (o *Object) keepDataset(d *Dataset) {
	o.dsMu.Lock()
	defer o.dsMu.Unlock()
	if o.ds == nil && o.dsWeak.Value() == d {
		o.ds = d
	}
}

// forgetDataset drops the decoded dataset after its definition changed.
func (o *Object) forgetDataset() {
	o.dsMu.Lock()
	o.ds, o.dsErr, o.dsWeak = nil, nil, weak.Pointer[Dataset]{}
	o.dsMu.Unlock()
}

// message decodes the body of a possibly shared message: a shared datatype
// lives in the header of a named datatype.
func (o *Object) messageBody(m *format.Message) ([]byte, uint64, error) {
	if !m.Shared() {
		return m.Data, m.Addr, nil
	}
	s, err := format.DecodeSharedMessage(m.Data, m.Addr, o.f.r.Sizes)
	if err != nil {
		return nil, 0, err
	}
	return o.f.sharedBody(s, m.Type, m.Addr)
}

// sharedBody finds the message a shared-message reference points to.
func (f *File) sharedBody(s *format.SharedMessage, typ uint16, at uint64) ([]byte, uint64, error) {
	if s.HeapID != nil {
		return f.sohmMessage(typ, s.HeapID, at)
	}
	target, err := f.Object(s.Addr)
	if err != nil {
		return nil, 0, err
	}
	tm := target.header().Find(typ)
	if tm == nil || tm.Shared() {
		return nil, 0, format.Corruptf(s.Addr, "object header", "shared message of type %d not found", typ)
	}
	return tm.Data, tm.Addr, nil
}

// sharedDatatype resolves a datatype given by a shared-message reference.
func (f *File) sharedDatatype(s *format.SharedMessage, at uint64) (*Datatype, error) {
	body, addr, err := f.sharedBody(s, format.MsgDatatype, at)
	if err != nil {
		return nil, err
	}
	return format.DecodeDatatype(body, addr)
}
