package fs

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/h5mount/h5mount/h5"
	"github.com/h5mount/h5mount/xattr"
)

// A dataset whose elements have no fixed size reads as text, one element
// per line. Its size is only known once every element has been rendered,
// and the whole text may be hundreds of MB: a node keeps only where each
// block of textBlockElements elements starts in it, and the blocks
// themselves live in the filesystem's text cache, bounded by bytes, from
// which a read takes the blocks it overlaps and renders those evicted
// again. Kept whole per node, the texts of every dataset read stayed in
// memory as long as the kernel kept the inode (20 datasets of 12.5 MB of
// text read: a peak of 651 MB).
const textBlockElements = 1024

// maxTextBytes bounds the text form of a variable-length dataset.
const maxTextBytes = 256 << 20

// textForm locates a dataset's text: block b is the bytes from starts[b]
// to starts[b+1].
type textForm struct {
	starts []int64
}

func (t *textForm) size() int64 { return t.starts[len(t.starts)-1] }

// blockAt is the block holding byte off (off below the size).
func (t *textForm) blockAt(off int64) int {
	return sort.Search(len(t.starts)-1, func(b int) bool { return t.starts[b+1] > off })
}

// textForm returns the dataset's text form, or nil when it reads as bytes.
// The first call renders every block, to learn the size; the blocks go to
// the cache as they are made. References read as their objects' paths, so
// a text holding any is rendered again once links have changed.
func (n *datasetNode) textForm(ds *h5.Dataset) (*textForm, error) {
	if !xattr.NeedsText(ds.Type) {
		return nil, nil
	}
	n.textMu.Lock()
	defer n.textMu.Unlock()
	gen := n.fsys.generation.Load()
	if n.textDone && (n.textAt == gen || !ds.Type.HasReference()) {
		return n.text, n.textErr
	}
	n.textDone, n.textAt, n.text, n.textErr = true, gen, nil, nil
	func() {
		form := &textForm{}
		starts := []int64{0}
		elems := ds.NumElements()
		var scratch []byte
		for first := uint64(0); first < elems; first += textBlockElements {
			total := starts[len(starts)-1]
			block, err := xattr.AppendElementsText(scratch[:0], ds, first, min(textBlockElements, elems-first), int(maxTextBytes-total))
			if err != nil {
				n.textErr = err
				return
			}
			scratch = block
			kept := bytes.Clone(block)
			n.fsys.texts.put(textKey{form, len(starts) - 1}, kept, int64(cap(kept)))
			// starts grows with the text rendered, never with a count the
			// file claims: each block adds at least one line.
			starts = append(starts, total+int64(len(block)))
		}
		form.starts = starts
		n.text = form
	}()
	return n.text, n.textErr
}

// readText copies the text form's bytes from off into dest.
func (n *datasetNode) readText(ds *h5.Dataset, t *textForm, dest []byte, off int64) ([]byte, error) {
	end := min(t.size(), off+int64(len(dest)))
	out := dest[:0]
	for b := t.blockAt(off); off < end; b++ {
		block, err := n.textBlock(ds, t, b)
		if err != nil {
			return nil, err
		}
		start := t.starts[b]
		piece := block[off-start : min(int64(len(block)), end-start)]
		out = append(out, piece...)
		off += int64(len(piece))
	}
	return out, nil
}

// textBlock returns block b of the text form, from the cache or rendered
// again.
func (n *datasetNode) textBlock(ds *h5.Dataset, t *textForm, b int) ([]byte, error) {
	if block, ok := n.fsys.texts.get(textKey{t, b}); ok {
		return block, nil
	}
	first := uint64(b) * textBlockElements
	count := min(textBlockElements, ds.NumElements()-first)
	want := t.starts[b+1] - t.starts[b]
	block, err := xattr.AppendElementsText(make([]byte, 0, want), ds, first, count, int(want))
	if err != nil {
		return nil, err
	}
	if int64(len(block)) != want {
		// Only a dataset whose definition changed since it was first
		// rendered gets here.
		return nil, fmt.Errorf("text of elements %d to %d is %d bytes, was %d: %w", first, first+count, len(block), want, h5.ErrCorrupt)
	}
	n.fsys.texts.put(textKey{t, b}, block, int64(cap(block)))
	return block, nil
}

// textKey names a block of a dataset's text in the filesystem's text cache.
type textKey struct {
	form  *textForm // one rendering of one dataset's text
	block int
}
