// Package filter is the HDF5 filter pipeline: a registry of codecs keyed by
// their HDF5 filter id, looked up each time a chunk is read or written.
package filter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Well-known filter ids.
const (
	Deflate     = 1
	Shuffle     = 2
	Fletcher32  = 3
	SZip        = 4
	NBit        = 5
	ScaleOffset = 6
	LZF         = 32000
	Blosc       = 32001
	LZ4         = 32004
	Bitshuffle  = 32008
	ZFP         = 32013
	Blosc2      = 32026
	Zstd        = 32015
	BZip2       = 307
)

// ErrChecksum means a filter's checksum did not match: the chunk is corrupt.
var ErrChecksum = errors.New("filter checksum mismatch")

// Codec decodes (and, for writable filters, encodes) one filter's stream.
// Decode gets the stored bytes and returns the bytes before the filter was
// applied, never longer than maxOut: a corrupt or hostile stream cannot make
// us allocate more than the chunk's known size.
type Codec interface {
	Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error)
}

var (
	registryMu sync.RWMutex
	registry   = map[uint16]Codec{}
	names      = map[uint16]string{
		Deflate: "deflate", Shuffle: "shuffle", Fletcher32: "fletcher32", SZip: "szip",
		NBit: "nbit", ScaleOffset: "scaleoffset", LZF: "lzf", Blosc: "blosc", LZ4: "lz4",
		Bitshuffle: "bitshuffle", Zstd: "zstd", BZip2: "bzip2", ZFP: "zfp", Blosc2: "blosc2",
		BitGroom: "bitgroom", GranularBitRound: "granularbr", BitRound: "bitround",
	}
)

// Register makes a codec available for a filter id.
func Register(id uint16, c Codec) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[id] = c
}

// Lookup returns the codec for id.
func Lookup(id uint16) (Codec, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	c, ok := registry[id]
	return c, ok
}

// Name is the conventional name of a filter, or the name the file gives it.
func Name(f *format.Filter) string {
	if n, ok := names[f.ID]; ok {
		return n
	}
	if f.Name != "" {
		return f.Name
	}
	return fmt.Sprintf("filter-%d", f.ID)
}

// maxExpansion is, for the filters that have one, how many bytes a byte of
// their stream can become at most: deflate's 258-byte match in two bits
// makes 1032, an LZ4 (or LZO) match grows by 255 per extra length byte, an LZF
// back-reference of 3 bytes gives at most 264, a zstd block of at least 4
// bytes holds at most 128 KiB; shuffle, fletcher32 and the quantizers never grow,
// bitshuffle grows as the compressor it uses, and Blosc as the most its
// compressors can (zstd's); VBZ as zstd times StreamVByte's 4 (a key byte
// of four zero values); szip's run of zero blocks to the end of a segment
// is 64 blocks of 64 4-byte samples in 9 bits.
func maxExpansion(f *format.Filter) (int, bool) {
	switch f.ID {
	case Deflate:
		return 1032, true
	case LZ4, LZO:
		return 256, true
	case LZF:
		return 100, true
	case Zstd, Blosc:
		return 32768, true
	case VBZ:
		return 32768 * 4, true // zstd, then StreamVByte's 2-bit keys of zero nibbles
	case SZip:
		return 16384, true
	case Shuffle, Fletcher32, BitGroom, GranularBitRound, BitRound:
		return 1, true
	case Bitshuffle:
		switch {
		case len(f.Params) <= 4 || f.Params[4] == 0:
			return 1, true
		case f.Params[4] == bshufLZ4:
			return 256, true
		case f.Params[4] == bshufZstd:
			return 32768, true
		}
	}
	return 0, false
}

// MaxDecodedSize is the most that n stored bytes can decode to through the
// filters of pipeline that mask leaves applied, and false when one of them
// has no known bound (scale-offset and N-bit widen by their parameters).
func MaxDecodedSize(pipeline []format.Filter, mask uint32, n uint64) (uint64, bool) {
	size := n
	for i := range pipeline {
		if skipped(i, mask) {
			continue
		}
		r, ok := maxExpansion(&pipeline[i])
		if !ok {
			return 0, false
		}
		hi, lo := bits.Mul64(size, uint64(r))
		if hi != 0 {
			return math.MaxUint64, true
		}
		size = lo
	}
	return size, true
}

// scaleOffsetBefore reports whether a scale-offset filter is among those a
// chunk went through before the rest of the pipeline.
func scaleOffsetBefore(earlier []format.Filter) bool {
	for _, f := range earlier {
		if f.ID == ScaleOffset {
			return true
		}
	}
	return false
}

// DecodePipeline undoes the pipeline on one stored chunk: filters run in
// reverse order, and a filter whose bit is set in mask was skipped when the
// chunk was written. chunkSize is the chunk's unfiltered size.
func DecodePipeline(pipeline []format.Filter, mask uint32, in []byte, chunkSize int) ([]byte, error) {
	out, _, err := DecodePipelineInto(pipeline, mask, in, chunkSize, nil)
	return out, err
}

// decodeSlack is what a filter's output may take beyond the chunk.
const decodeSlack = 64

// DecodePipelineInto is DecodePipeline whose last filter undone decodes,
// where it can, into a buffer of the pool final (of undefined content): the
// result then lies in mem, which the caller puts back into final once
// nothing uses the result (mem is nil when the result lies elsewhere).
func DecodePipelineInto(pipeline []format.Filter, mask uint32, in []byte, chunkSize int, final *BufferPool) (out, mem []byte, err error) {
	lastUndone := len(pipeline)
	for i := range pipeline {
		if !skipped(i, mask) {
			lastUndone = i
			break
		}
	}
	buf := in
	var recycled []byte // buf's memory, when it is a pool's buffer
	for i := len(pipeline) - 1; i >= 0; i-- {
		f := &pipeline[i]
		if skipped(i, mask) {
			continue
		}
		c, ok := Lookup(f.ID)
		if !ok {
			between.Put(recycled)
			return nil, nil, fmt.Errorf("h5: filter %s (id %d): %w", Name(f), f.ID, format.ErrUnsupported)
		}
		// Filters such as fletcher32 need a little more than the chunk;
		// what a scale-offset filter applied before this one wrote may
		// be twice the chunk (float32 offsets of up to 64 bits).
		bound := chunkSize + decodeSlack
		if scaleOffsetBefore(pipeline[:i]) {
			bound = 2*chunkSize + decodeSlack
		}
		if r, ok := maxExpansion(f); ok && len(buf) < (bound-4096)/r {
			// No valid stream this short expands to the chunk: a bound
			// from the bytes read, not from the size the file claims,
			// keeps a damaged chunk from sizing a buffer.
			bound = r*len(buf) + 4096
		}
		// Only the next filter reads an output before the last: it goes
		// to a buffer of between. The last one's is the caller's, in
		// final's memory when asked.
		pool := &between
		if i == lastUndone {
			pool = final
			if bound > maxPooled {
				// Taken whole, the bound of a chunk larger than any pool
				// keeps would follow what a damaged file claims: the
				// codec allocates what its stream says it holds.
				pool = nil
			}
		}
		var dst []byte
		var err error
		if ic, ok := c.(intoCodec); ok && pool != nil {
			dst = pool.Get(bound)
			out, err = ic.decodeInto(f, buf, bound, dst)
		} else {
			out, err = c.Decode(f, buf, bound)
		}
		if !SharesMemory(out, dst) || err != nil {
			pool.Put(dst)
			dst = nil
		}
		if recycled != nil && (!SharesMemory(out, recycled) || err != nil) {
			between.Put(recycled)
		} else if recycled != nil {
			dst = recycled // handed back in place (fletcher32, say)
		}
		recycled = dst
		if err != nil {
			return nil, nil, fmt.Errorf("h5: filter %s: %w", Name(f), err)
		}
		buf = out
	}
	if final == nil {
		return buf, nil, nil
	}
	return buf, recycled, nil
}

// VerbatimStart reports whether a chunk stored through pipeline (filters
// skipped where mask says) holds its chunkSize decoded bytes verbatim,
// from start on: with no filter applied, from 0; with LZ4 alone and one
// block left as it was (incompressible data), after its header, which it
// reads with readHeader (only then: a compressed chunk's bytes are not
// read for nothing). storedSize is the stored chunk's size. Such a chunk's
// bytes can go from the file to a reader without passing through memory.
func VerbatimStart(pipeline []format.Filter, mask uint32, storedSize, chunkSize uint64, readHeader func([]byte) error) (start uint64, ok bool, err error) {
	active, last := 0, -1
	for i := range pipeline {
		if !skipped(i, mask) {
			active, last = active+1, i
		}
	}
	switch {
	case active == 0:
		return 0, storedSize >= chunkSize, nil
	case active == 1 && pipeline[last].ID == LZ4 && storedSize >= lz4VerbatimHeader:
		var header [lz4VerbatimHeader]byte
		if err := readHeader(header[:]); err != nil {
			return 0, false, err
		}
		return lz4VerbatimHeader, lz4OneRawBlock(header[:], storedSize) && binary.BigEndian.Uint64(header[:]) == chunkSize, nil
	}
	return 0, false, nil
}

// skipped reports whether a chunk's filter mask says filter i of the
// pipeline was not applied to it.
func skipped(i int, mask uint32) bool { return i < 32 && mask&(1<<uint(i)) != 0 }
