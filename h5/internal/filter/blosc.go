package filter

import (
	"encoding/binary"
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
	"github.com/klauspost/compress/snappy"
)

// Blosc (id 32001, hdf5-blosc on c-blosc 1.x). cd_values: filter revision,
// Blosc format version, element size, chunk size in bytes, then optionally
// the compression level (default 5), the shuffle (0 none, 1 byte, 2 bit;
// default 1) and the compressor (0 blosclz, 1 lz4, 2 lz4hc, 3 snappy,
// 4 zlib, 5 zstd; default blosclz). Only a writer needs them: each chunk
// describes itself.
//
// A chunk is c-blosc's frame (its README_CHUNK_FORMAT), little-endian:
//
//	byte 0   format version (2)
//	byte 1   version of the compressor's format (1)
//	byte 2   flags: 0x01 byte shuffle, 0x02 stored as it is (no blocks),
//	         0x04 bit shuffle, 0x08 reserved, 0x10 blocks not split,
//	         top three bits the compressor (0 blosclz, 1 lz4, 2 snappy,
//	         3 zlib, 4 zstd)
//	byte 3   element size
//	4..7     size unfiltered; 8..11 block size; 12..15 size of the frame
//	then, unless stored as it is, the offset of each block from the
//	frame's start; at each, the block's splits: a 4-byte size and the
//	compressed split, or the split's bytes when that size is the split's.
//
// A block of block size bytes (the last one shorter) is cut into one split
// per byte of an element (each then holding one byte-shuffled stream) when
// the flags allow, the element size is at most 16, the block holds at
// least 128 elements and it is not the last, shorter block. The shuffles
// apply to each block: the byte shuffle to all of it, its tail shorter than
// an element left in place; the bit shuffle to the elements up to a
// multiple of 8 when the block has a multiple of 8 of them, otherwise not
// at all.
type bloscCodec struct{}

func init() { Register(Blosc, bloscCodec{}) }

const (
	bloscHeader       = 16
	bloscFormat       = 2
	bloscCodecFormat  = 1 // every compressor's format version
	bloscShuffle      = 0x01
	bloscMemcpyed     = 0x02
	bloscBitShuffle   = 0x04
	bloscReserved     = 0x08
	bloscDontSplit    = 0x10
	bloscMaxSplits    = 16
	bloscMinBuffer    = 128
	bloscFormatLZ     = 0
	bloscFormatLZ4    = 1
	bloscFormatSnappy = 2
	bloscFormatZlib   = 3
	bloscFormatZstd   = 4
)

var bloscFormatNames = [...]string{"blosclz", "lz4", "snappy", "zlib", "zstd"}

// bloscScratch pools the block-sized buffers a shuffled block is decoded
// into before its shuffle is undone.
var bloscScratch BufferPool

func bloscCorrupt(msg string, args ...any) error {
	return fmt.Errorf("blosc: "+msg+": %w", append(args, format.ErrCorrupt)...)
}

func (c bloscCodec) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
	return c.decodeInto(f, in, maxOut, nil)
}

func (bloscCodec) decodeInto(_ *format.Filter, in []byte, maxOut int, dst []byte) ([]byte, error) {
	if len(in) < bloscHeader {
		return nil, bloscCorrupt("%d-byte chunk has no header", len(in))
	}
	version, flags, elem := in[0], in[2], int(in[3])
	nbytes := binary.LittleEndian.Uint32(in[4:])
	block := binary.LittleEndian.Uint32(in[8:])
	cbytes := binary.LittleEndian.Uint32(in[12:])
	switch {
	case version != bloscFormat:
		return nil, fmt.Errorf("blosc: format version %d: %w", version, format.ErrUnsupported)
	case flags&bloscReserved != 0:
		return nil, fmt.Errorf("blosc: flags %#x from a later format: %w", flags, format.ErrUnsupported)
	case nbytes == 0:
		// c-blosc decodes it to nothing, which hdf5-blosc takes for a failure.
		return nil, bloscCorrupt("empty frame")
	case uint64(nbytes) > uint64(maxOut):
		return nil, bloscCorrupt("frame claims %d bytes, more than %d", nbytes, maxOut)
	case cbytes < bloscHeader || uint64(cbytes) > uint64(len(in)):
		return nil, bloscCorrupt("frame size %d, chunk %d bytes", cbytes, len(in))
	case elem == 0:
		return nil, bloscCorrupt("element size 0")
	case block == 0 || block > nbytes:
		return nil, bloscCorrupt("block size %d for %d bytes", block, nbytes)
	}
	in = in[:cbytes]
	out := sized(dst, int(nbytes))
	if flags&bloscMemcpyed != 0 {
		if uint64(nbytes)+bloscHeader != uint64(cbytes) {
			return nil, bloscCorrupt("%d bytes stored as they are in a %d-byte frame", nbytes, cbytes)
		}
		copy(out, in[bloscHeader:])
		return out, nil
	}
	codec := int(flags >> 5)
	if codec >= len(bloscFormatNames) {
		return nil, fmt.Errorf("blosc: compressor %d: %w", codec, format.ErrUnsupported)
	}
	if in[1] != bloscCodecFormat {
		return nil, fmt.Errorf("blosc: %s format version %d: %w", bloscFormatNames[codec], in[1], format.ErrUnsupported)
	}
	nblocks := int((nbytes-1)/block + 1)
	if nblocks > (int(cbytes)-bloscHeader)/4 {
		return nil, bloscCorrupt("%d blocks do not fit a %d-byte frame", nblocks, cbytes)
	}
	var tmp []byte
	if flags&(bloscShuffle|bloscBitShuffle) != 0 {
		tmp = bloscScratch.Get(int(block))
		defer bloscScratch.Put(tmp)
	}
	for j := 0; j < nblocks; j++ {
		start := j * int(block)
		end := min(start+int(block), int(nbytes))
		last := end-start < int(block)
		at := int64(int32(binary.LittleEndian.Uint32(in[bloscHeader+4*j:])))
		if err := bloscDecodeBlock(flags, codec, elem, last, in, at, out[start:end], tmp); err != nil {
			return nil, fmt.Errorf("blosc: block %d: %w", j, err)
		}
	}
	return out, nil
}

// bloscSplits is how many splits a block of n bytes has.
func bloscSplits(flags byte, elem, n int, last bool) int {
	if flags&bloscDontSplit == 0 && elem <= bloscMaxSplits && n/elem >= bloscMinBuffer && !last {
		return elem
	}
	return 1
}

// bloscDecodeBlock decodes the block whose splits start at offset at of
// the frame into dst; tmp has room for a block.
func bloscDecodeBlock(flags byte, codec, elem int, last bool, frame []byte, at int64, dst, tmp []byte) error {
	n := len(dst)
	byteShuffled := flags&bloscShuffle != 0 && elem > 1
	bitShuffled := !byteShuffled && flags&bloscBitShuffle != 0 && n >= elem
	target := dst
	if byteShuffled || bitShuffled {
		target = tmp[:n]
	}
	splits := bloscSplits(flags, elem, n, last)
	size := n / splits
	clear(target[size*splits:]) // (a block that is no whole number of splits)
	// A byte-shuffled block's stored splits are unshuffled from where
	// they lie in the frame, not copied first: with noisy data most are.
	var streams [maxStreams][]byte
	for k := 0; k < splits; k++ {
		if at < 0 || at > int64(len(frame))-4 {
			return fmt.Errorf("split at %d outside the frame: %w", at, format.ErrCorrupt)
		}
		cs := int64(int32(binary.LittleEndian.Uint32(frame[at:])))
		at += 4
		if cs < 0 || cs > int64(len(frame))-at {
			return fmt.Errorf("split of %d bytes runs past the frame: %w", cs, format.ErrCorrupt)
		}
		src, part := frame[at:at+cs], target[k*size:(k+1)*size]
		switch {
		case int(cs) == size && byteShuffled:
			part = src
		case int(cs) == size:
			copy(part, src)
		default:
			if err := bloscDecodeSplit(codec, src, part); err != nil {
				return err
			}
		}
		if k < maxStreams {
			streams[k] = part
		}
		at += cs
	}
	switch {
	case byteShuffled && splits == elem:
		// One split a stream (elem <= 16), each size elements long; a
		// block that is no whole number of elements (only a damaged frame
		// has one) ends in zeros, as the cleared target's tail.
		unshuffleStreams(dst, streams[:elem])
		clear(dst[size*splits:])
	case byteShuffled:
		unshuffle(dst, streams[0], elem)
	case bitShuffled:
		if count := n / elem; count%8 == 0 {
			bitUnshuffle(dst[:count*elem], target[:count*elem], elem)
			copy(dst[count*elem:], target[count*elem:])
		} else {
			copy(dst, target)
		}
	}
	return nil
}

// bloscDecodeSplit decodes one compressed split, which must fill dst.
func bloscDecodeSplit(codec int, src, dst []byte) error {
	switch codec {
	case bloscFormatLZ:
		return bloscLZDecode(src, dst)
	case bloscFormatLZ4:
		return lz4Block(src, dst)
	case bloscFormatSnappy:
		n, err := snappy.DecodedLen(src)
		if err != nil || n != len(dst) {
			return fmt.Errorf("snappy: split decodes to %d bytes (%v), want %d: %w", n, err, len(dst), format.ErrCorrupt)
		}
		if got, err := snappy.Decode(dst, src); err != nil || len(got) != len(dst) || !SharesMemory(got, dst) {
			return fmt.Errorf("snappy: %v: %w", err, format.ErrCorrupt)
		}
		return nil
	case bloscFormatZlib:
		n, err := inflateZlib(dst, src)
		if err != nil {
			return err
		}
		if n != len(dst) {
			return fmt.Errorf("zlib: split decodes to %d bytes, want %d: %w", n, len(dst), format.ErrCorrupt)
		}
		return nil
	case bloscFormatZstd:
		return zstdDecodeExact(src, dst)
	}
	return fmt.Errorf("compressor %d: %w", codec, format.ErrUnsupported)
}

// bloscLZDecode decodes a BloscLZ stream, which must fill dst. BloscLZ is
// FastLZ's format with longer reach: a control byte below 32 starts a
// literal run of ctrl+1 bytes (the first byte's top three bits are a level
// marker, ignored); otherwise its top three bits are a match length - 2,
// 7 meaning more length bytes follow (each added, until one is not 255),
// and its low five bits with the next byte the distance - 1, where 8191
// (31, 255) means two more bytes, big-endian, give the distance - 8192. A
// stream never ends with a match: c-blosc stops before copying one there.
func bloscLZDecode(src, dst []byte) error {
	if len(src) == 0 {
		return bloscLZShort(0, len(dst))
	}
	ip, op := 1, 0
	ctrl := int(src[0] & 31)
	for {
		if ctrl >= 32 {
			n := ctrl>>5 - 1
			ofs := (ctrl & 31) << 8
			if n == 6 {
				for {
					if ip+1 >= len(src) {
						return bloscLZShort(op, len(dst))
					}
					code := int(src[ip])
					ip++
					n += code
					if code != 255 {
						break
					}
				}
			} else if ip+1 >= len(src) {
				return bloscLZShort(op, len(dst))
			}
			code := int(src[ip])
			ip++
			n += 3
			dist := ofs + code + 1
			if code == 255 && ofs == 31<<8 {
				if ip+1 >= len(src) {
					return bloscLZShort(op, len(dst))
				}
				dist = (int(src[ip])<<8 | int(src[ip+1])) + 8191 + 1
				ip += 2
			}
			if n > len(dst)-op {
				return fmt.Errorf("blosclz: output past %d bytes: %w", len(dst), format.ErrCorrupt)
			}
			if dist > op {
				return fmt.Errorf("blosclz: match before the start of the output: %w", format.ErrCorrupt)
			}
			if ip >= len(src) {
				return bloscLZShort(op, len(dst))
			}
			ctrl = int(src[ip])
			ip++
			copyMatch(dst, op, op-dist, n)
			op += n
			continue
		}
		n := ctrl + 1
		if n > len(dst)-op {
			return fmt.Errorf("blosclz: output past %d bytes: %w", len(dst), format.ErrCorrupt)
		}
		if n > len(src)-ip {
			return fmt.Errorf("blosclz: literal run past the end of the stream: %w", format.ErrCorrupt)
		}
		op += copy(dst[op:], src[ip:ip+n])
		ip += n
		if ip >= len(src) {
			break
		}
		ctrl = int(src[ip])
		ip++
	}
	if op != len(dst) {
		return bloscLZShort(op, len(dst))
	}
	return nil
}

func bloscLZShort(got, want int) error {
	return fmt.Errorf("blosclz: stream decodes to %d bytes, want %d: %w", got, want, format.ErrCorrupt)
}
