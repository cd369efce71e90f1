package filter

import (
	"encoding/binary"
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// LZ4, the HDF Group's plugin (id 32004). The chunk is
//
//	8 bytes  big-endian size of the chunk unfiltered
//	4 bytes  big-endian block size (the last block may be shorter)
//	per block: 4 bytes big-endian stored size, then the block: an LZ4 block,
//	           or the bytes as they are when the stored size equals the
//	           block's size (compression did not help).
//
// cd_values (block size, acceleration) only matter when writing.
type lz4Codec struct{}

func init() { Register(LZ4, lz4Codec{}) }

func (c lz4Codec) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
	return c.decodeInto(f, in, maxOut, nil)
}

func (lz4Codec) decodeInto(_ *format.Filter, in []byte, maxOut int, dst []byte) ([]byte, error) {
	if len(in) < 12 {
		return nil, fmt.Errorf("lz4: %d-byte chunk has no header: %w", len(in), format.ErrCorrupt)
	}
	orig := binary.BigEndian.Uint64(in)
	block := uint64(binary.BigEndian.Uint32(in[8:]))
	if orig > uint64(maxOut) {
		return nil, fmt.Errorf("lz4: chunk claims %d bytes, more than %d: %w", orig, maxOut, format.ErrCorrupt)
	}
	if block > orig {
		block = orig
	}
	if block == 0 && orig > 0 {
		return nil, fmt.Errorf("lz4: zero block size: %w", format.ErrCorrupt)
	}
	if lz4OneRawBlock(in, uint64(len(in))) {
		// One block stored as it is (compression did not help, as with
		// noisy floats): the chunk is that part of the input, uncopied.
		return in[lz4VerbatimHeader : lz4VerbatimHeader+orig], nil
	}
	out := sized(dst, int(orig))
	pos := 12
	for done := uint64(0); done < orig; {
		bs := min(block, orig-done)
		if len(in)-pos < 4 {
			return nil, fmt.Errorf("lz4: truncated block header at %d: %w", pos, format.ErrCorrupt)
		}
		cs := uint64(binary.BigEndian.Uint32(in[pos:]))
		pos += 4
		if cs > uint64(len(in)-pos) {
			return nil, fmt.Errorf("lz4: block of %d bytes runs past the chunk: %w", cs, format.ErrCorrupt)
		}
		src, dst := in[pos:pos+int(cs)], out[done:done+bs]
		if cs == bs {
			copy(dst, src)
		} else if err := lz4Block(src, dst); err != nil {
			return nil, err
		}
		pos += int(cs)
		done += bs
	}
	return out, nil
}

// lz4Block decodes one LZ4 block (the raw format, no frame) into dst, which
// it must fill exactly. A block is a run of sequences: a token whose high
// nibble is the literal count and low nibble the match length - 4 (15 in
// either means more length bytes follow, each added, until one is not 255),
// the literals, then a 2-byte little-endian match distance. The last
// sequence has literals only.
func lz4Block(src, dst []byte) error {
	si, di := 0, 0
	for {
		if si >= len(src) {
			return fmt.Errorf("lz4: block ends before its last literals: %w", format.ErrCorrupt)
		}
		token := int(src[si])
		si++
		n := token >> 4
		if n == 15 {
			var err error
			if n, si, err = lz4Length(src, si, n, len(dst)); err != nil {
				return err
			}
		}
		if n > len(src)-si {
			return fmt.Errorf("lz4: literals past the end of the block: %w", format.ErrCorrupt)
		}
		if n > len(dst)-di {
			return fmt.Errorf("lz4: block expands past %d bytes: %w", len(dst), format.ErrCorrupt)
		}
		copy(dst[di:], src[si:si+n])
		si += n
		di += n
		if si == len(src) {
			break
		}
		if len(src)-si < 2 {
			return fmt.Errorf("lz4: truncated match distance: %w", format.ErrCorrupt)
		}
		dist := int(src[si]) | int(src[si+1])<<8
		si += 2
		if dist == 0 || dist > di {
			return fmt.Errorf("lz4: match distance %d at output %d: %w", dist, di, format.ErrCorrupt)
		}
		m := token & 15
		if m == 15 {
			var err error
			if m, si, err = lz4Length(src, si, m, len(dst)); err != nil {
				return err
			}
		}
		m += 4
		if m > len(dst)-di {
			return fmt.Errorf("lz4: block expands past %d bytes: %w", len(dst), format.ErrCorrupt)
		}
		copyMatch(dst, di, di-dist, m)
		di += m
	}
	if di != len(dst) {
		return fmt.Errorf("lz4: block decodes to %d bytes, want %d: %w", di, len(dst), format.ErrCorrupt)
	}
	return nil
}

// lz4Length adds the extension bytes of a length to n; limit bounds it (no
// valid length exceeds the output), which also keeps n from overflowing.
func lz4Length(src []byte, si, n, limit int) (int, int, error) {
	for {
		if si >= len(src) {
			return 0, 0, fmt.Errorf("lz4: truncated length: %w", format.ErrCorrupt)
		}
		b := int(src[si])
		si++
		n += b
		if n > limit+15 {
			return 0, 0, fmt.Errorf("lz4: length %d past the block: %w", n, format.ErrCorrupt)
		}
		if b != 255 {
			return n, si, nil
		}
	}
}

// lz4VerbatimHeader is the bytes before a chunk's data when LZ4 stored it
// as one block left as it was: the chunk's size, the block size, and the
// block's stored size, all the chunk's size.
const lz4VerbatimHeader = 16

// lz4OneRawBlock reports whether an LZ4 chunk of storedSize bytes, which
// begin with header, is one block stored as it was: its unfiltered bytes
// follow the first lz4VerbatimHeader bytes.
func lz4OneRawBlock(header []byte, storedSize uint64) bool {
	if len(header) < lz4VerbatimHeader {
		return false
	}
	orig := binary.BigEndian.Uint64(header)
	block := uint64(binary.BigEndian.Uint32(header[8:]))
	first := uint64(binary.BigEndian.Uint32(header[12:]))
	return orig > 0 && block >= orig && first == orig && storedSize >= lz4VerbatimHeader+orig
}
