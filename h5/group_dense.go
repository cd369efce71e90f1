package h5

import (
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/filter"
	"github.com/h5mount/h5mount/h5/internal/format"
)

func init() {
	// Heaps of filtered groups decode through the same pipeline as chunks;
	// format cannot import filter, so the engine connects them.
	format.DefaultUnfilter = filter.DecodePipeline
}

func walkDenseLinks(f *File, li *format.LinkInfo, byOrder bool) ([]Link, error) {
	var links []Link
	err := format.WalkDenseLinks(f.r, li, byOrder, func(l *format.Link) error {
		links = append(links, linkFromFormat(l))
		return nil
	})
	return links, err
}

func lookupDenseLink(f *File, li *format.LinkInfo, name string) (Link, error) {
	l, ok, err := format.LookupDenseLink(f.r, li, name)
	if err != nil {
		return Link{}, err
	}
	if !ok {
		return Link{}, fmt.Errorf("h5: %q: %w", name, ErrNotFound)
	}
	return linkFromFormat(l), nil
}

// sharedMessageBody finds the body of a message of type typ kept shared,
// from the shared message reference stored in its place (at address at).
func (f *File) sharedMessageBody(typ uint16, ref []byte, at uint64) ([]byte, uint64, error) {
	s, err := format.DecodeSharedMessage(ref, at, f.r.Sizes)
	if err != nil {
		return nil, 0, err
	}
	return f.sharedBody(s, typ, at)
}

func walkDenseAttributes(f *File, ai *format.AttributeInfo) ([]*format.AttributeMessage, error) {
	var attrs []*format.AttributeMessage
	err := format.WalkDenseAttributesShared(f.r, ai, ai.OrderIndexAddr != format.Undefined, f.sharedMessageBody, func(a *format.AttributeMessage) error {
		attrs = append(attrs, a)
		return nil
	})
	return attrs, err
}
