package filter

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/h5mount/h5mount/h5/internal/format"
	"github.com/klauspost/compress/snappy"
)

// Blosc on the write side: frames as c-blosc 1.x makes them for hdf5-blosc
// (see blosc.go), with its block sizes and its choice of splitting, so
// that a chunk written here reads, and compresses, as one c-blosc wrote.
// Each split is compressed by the chunk's compressor and kept only when
// shorter than the split; lz4hc is written as lz4 (one format), zstd and
// zlib at c-blosc's levels.
//
// hdf5-blosc gives c-blosc an output buffer as long as the chunk, so a
// chunk that does not shrink fails the filter (libhdf5 then stores it
// unfiltered, masked, when the filter is optional). A mandatory Blosc
// filter gets the frame that holds the chunk as it is instead, which every
// reader takes, rather than a failed write.
type bloscEncoder struct{}

func init() { RegisterEncoder(Blosc, bloscEncoder{}) }

// c-blosc's compressor codes (cd_values[6]).
const (
	bloscBloscLZ = iota
	bloscLZ4
	bloscLZ4HC
	bloscSnappy
	bloscZlib
	bloscZstd
)

var errBloscNoGain = fmt.Errorf("blosc: %w", errNoGain)

// bloscZlibEncoder compresses zlib splits (its writers are pooled per level).
var bloscZlibEncoder deflateEncoder

func (bloscEncoder) Encode(f *format.Filter, in []byte) ([]byte, error) {
	p := f.Params
	param := func(i int, def uint32) uint32 {
		if len(p) > i {
			return p[i]
		}
		return def
	}
	elem := int(param(2, 1))
	if elem == 0 || elem > 255 {
		elem = 1 // c-blosc's (and hdf5-blosc's) answer to sizes it cannot shuffle
	}
	level, shuffleMode, comp := int(param(4, 5)), param(5, 1), int(param(6, bloscBloscLZ))
	switch {
	case level > 9:
		return nil, fmt.Errorf("blosc: compression level %d, not 0-9: %w", level, format.ErrUnsupported)
	case shuffleMode > 2:
		return nil, fmt.Errorf("blosc: shuffle %d, not 0-2: %w", shuffleMode, format.ErrUnsupported)
	case comp > bloscZstd:
		return nil, fmt.Errorf("blosc: compressor %d: %w", comp, format.ErrUnsupported)
	case len(in) > math.MaxInt32-bloscHeader:
		return nil, fmt.Errorf("blosc: %d-byte chunk, more than Blosc takes: %w", len(in), format.ErrUnsupported)
	}
	nbytes := len(in)
	block := bloscBlockSize(comp, level, elem, nbytes)
	flags := byte(bloscCompFormat(comp) << 5)
	switch shuffleMode {
	case 1:
		flags |= bloscShuffle
	case 2:
		flags |= bloscBitShuffle
	}
	if !bloscSplitsBlock(comp, elem, block) {
		flags |= bloscDontSplit
	}
	var out []byte
	if level > 0 && nbytes >= bloscMinBuffer {
		out = bloscCompress(in, flags, comp, level, elem, block)
	}
	if out == nil {
		// Stored as it is: what c-blosc writes at level 0, for chunks below
		// 128 bytes, and when compressing does not shrink the chunk.
		if f.Optional() {
			return nil, errBloscNoGain // hdf5-blosc's buffer never has the room
		}
		flags |= bloscMemcpyed
		out = make([]byte, bloscHeader+nbytes)
		copy(out[bloscHeader:], in)
	}
	out[0], out[1], out[2], out[3] = bloscFormat, bloscCodecFormat, flags, byte(elem)
	binary.LittleEndian.PutUint32(out[4:], uint32(nbytes))
	binary.LittleEndian.PutUint32(out[8:], uint32(block))
	binary.LittleEndian.PutUint32(out[12:], uint32(len(out)))
	return out, nil
}

// bloscCompress writes the blocks of a frame after room for its header, or
// returns nil when the frame would not be shorter than the chunk.
func bloscCompress(in []byte, flags byte, comp, level, elem, block int) []byte {
	nbytes := len(in)
	nblocks := (nbytes-1)/block + 1
	if bloscHeader+4*nblocks >= nbytes {
		return nil
	}
	out := make([]byte, bloscHeader+4*nblocks, nbytes)
	tmp := bloscScratch.Get(block)
	defer bloscScratch.Put(tmp)
	for j := 0; j < nblocks; j++ {
		src := in[j*block : min((j+1)*block, nbytes)]
		n := len(src)
		binary.LittleEndian.PutUint32(out[bloscHeader+4*j:], uint32(len(out)))
		switch {
		case flags&bloscShuffle != 0 && elem > 1:
			shuffle(tmp[:n], src, elem)
			src = tmp[:n]
		case flags&bloscBitShuffle != 0 && n >= elem:
			if count := n / elem; count%8 == 0 {
				bitShuffle(tmp[:count*elem], src[:count*elem], elem)
				copy(tmp[count*elem:n], src[count*elem:])
				src = tmp[:n]
			}
		}
		splits := bloscSplits(flags, elem, n, n < block)
		size := n / splits
		for k := 0; k < splits; k++ {
			part := src[k*size : (k+1)*size]
			at := len(out)
			if at+4 >= nbytes {
				return nil
			}
			out = out[:at+4]
			enc := bloscCompressSplit(out[at+4:at+4], part, comp, level)
			if len(enc) >= size || len(out)+len(enc) > nbytes {
				if len(out)+size > nbytes {
					return nil // as c-blosc: the frame would not be shorter
				}
				enc = append(out[at+4:at+4], part...) // stored as it is
			}
			binary.LittleEndian.PutUint32(out[at:], uint32(len(enc)))
			if !SharesMemory(enc, out) {
				copy(out[at+4:cap(out)], enc)
			}
			out = out[:at+4+len(enc)]
		}
	}
	return out
}

// bloscCompressSplit compresses one split, appending to dst when it can; a
// result as long as the split or longer is not used.
func bloscCompressSplit(dst, src []byte, comp, level int) []byte {
	switch comp {
	case bloscBloscLZ:
		t := lzfTables.Get().(*lzfTable)
		defer lzfTables.Put(t)
		return compressedInto(dst, src, func(room []byte) int { return lzCompress(room, src, t, bloscLZLimits) })
	case bloscLZ4, bloscLZ4HC:
		t := lz4Tables.Get().(*lz4Table)
		defer lz4Tables.Put(t)
		return compressedInto(dst, src, func(room []byte) int { return lz4CompressBlock(room, src, t) })
	case bloscSnappy:
		return snappy.Encode(nil, src)
	case bloscZlib:
		out, err := bloscZlibEncoder.encode(level, src)
		if err != nil {
			return src
		}
		return out
	}
	// zstd at c-blosc's levels: 2*level-1 below 9, the highest at 9.
	zl := 2*level - 1
	if level >= 9 {
		zl = 22
	}
	return zstdCompress(nil, src, zl)
}

// compressedInto runs a block compressor into room for one byte less than
// src, in dst's memory when it has the room; when the compressor gives up
// (0) it returns src, stored as it is.
func compressedInto(dst, src []byte, compress func(room []byte) int) []byte {
	room := sized(dst, max(len(src)-1, 0))
	if n := compress(room); n > 0 {
		return room[:n]
	}
	return src
}

// bloscCompFormat is the frame's compressor field for a compressor code.
func bloscCompFormat(comp int) int {
	switch comp {
	case bloscLZ4, bloscLZ4HC:
		return bloscFormatLZ4
	case bloscSnappy:
		return bloscFormatSnappy
	case bloscZlib:
		return bloscFormatZlib
	case bloscZstd:
		return bloscFormatZstd
	}
	return bloscFormatLZ
}

// bloscSplitsBlock is c-blosc's default choice (its "forward compatible"
// split mode): blocks are split into streams for every compressor but
// zstd, for elements of at most 16 bytes and blocks of at least 128.
func bloscSplitsBlock(comp, elem, block int) bool {
	return comp != bloscZstd && elem <= bloscMaxSplits && block/elem >= bloscMinBuffer
}

// bloscBlockSize is c-blosc's block size for a chunk (compute_blocksize,
// with no size forced): 32 KiB scaled by the level, doubled for the
// compressors meant for ratio, then, for split blocks, times the element
// size within 64 KiB to 1 MiB; never more than the chunk, and a multiple
// of the element size.
func bloscBlockSize(comp, level, elem, nbytes int) int {
	if nbytes < elem {
		return 1
	}
	block := nbytes
	if nbytes >= 32<<10 {
		block = 32 << 10
		ratio := comp == bloscLZ4HC || comp == bloscZlib || comp == bloscZstd
		if ratio {
			block *= 2
		}
		switch level {
		case 0:
			block /= 4
		case 1:
			block /= 2
		case 3:
			block *= 2
		case 4, 5:
			block *= 4
		case 6, 7, 8:
			block *= 8
		case 9:
			block *= 8
			if ratio {
				block *= 2
			}
		}
	}
	if level > 0 && bloscSplitsBlock(comp, elem, block) {
		block = min(block, 1<<18) * elem
		block = min(max(block, 1<<16), 1<<20)
	}
	block = min(block, nbytes)
	if block > elem {
		block = block / elem * elem
	}
	return block
}
