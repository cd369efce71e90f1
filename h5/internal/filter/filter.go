// Package filter is the HDF5 filter pipeline: a registry of codecs keyed by
// their HDF5 filter id, looked up each time a chunk is read or written.
package filter

import (
	"errors"
	"fmt"
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
		Bitshuffle: "bitshuffle", Zstd: "zstd", BZip2: "bzip2",
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

// DecodePipeline undoes the pipeline on one stored chunk: filters run in
// reverse order, and a filter whose bit is set in mask was skipped when the
// chunk was written. chunkSize is the chunk's unfiltered size.
func DecodePipeline(pipeline []format.Filter, mask uint32, in []byte, chunkSize int) ([]byte, error) {
	buf := in
	for i := len(pipeline) - 1; i >= 0; i-- {
		f := &pipeline[i]
		if i < 32 && mask&(1<<uint(i)) != 0 {
			continue
		}
		c, ok := Lookup(f.ID)
		if !ok {
			return nil, fmt.Errorf("h5: filter %s (id %d): %w", Name(f), f.ID, format.ErrUnsupported)
		}
		// Filters such as fletcher32 need a little more than the chunk.
		out, err := c.Decode(f, buf, chunkSize+64)
		if err != nil {
			return nil, fmt.Errorf("h5: filter %s: %w", Name(f), err)
		}
		buf = out
	}
	return buf, nil
}
