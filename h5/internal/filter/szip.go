package filter

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// szip (filter 4): NASA's Rice coder, CCSDS 121.0 "adaptive entropy
// coding", as libhdf5 runs it through szlib or libaec's emulation of it.
// The stored chunk is the decoded size (4 bytes, little-endian) and then
// one AEC stream. cd_values are libhdf5's set_local result: an options mask
// (szipMSB: samples are big-endian; szipNN: the unit-delay preprocessor),
// pixels per block, bits per pixel and pixels per scanline.
//
// Pixels of 32 and 64 bits are coded as bytes, the chunk first split into
// byte planes (every element's first byte, then every second byte, ...).
// Each scanline is coded as one reference sample interval (RSI): its
// pixels padded up to a whole number of blocks; a chunk that ends inside a
// scanline is padded up to the scanline's end.
type szipCodec struct{}

func init() { Register(SZip, szipCodec{}) }

const (
	szipMSB = 16 // SZ_MSB_OPTION_MASK
	szipNN  = 32 // SZ_NN_OPTION_MASK: nearest-neighbour preprocessing
)

// szipHeader is the decoded size libhdf5 writes in front of the stream.
const szipHeader = 4

// aecParams is the shape of one AEC stream.
type aecParams struct {
	bitsPerSample int // 1..32
	blockSize     int // samples a block, even
	rsi           int // blocks a reference sample interval
	keep          int // samples of each RSI that are data: the rest is padding
	msb           bool
	preprocess    bool
	interleave    int // bytes a pixel split into planes (4, 8), or 0
}

// bytesPerSample is how a sample is stored: in 1, 2 or 4 bytes.
func (p *aecParams) bytesPerSample() int {
	switch {
	case p.bitsPerSample > 16:
		return 4
	case p.bitsPerSample > 8:
		return 2
	}
	return 1
}

// wholePixels reports whether n bytes are whole pixels: whole samples,
// and whole pixels of the planes split from them.
func (p *aecParams) wholePixels(n int) bool {
	return n%p.bytesPerSample() == 0 && (p.interleave == 0 || n%p.interleave == 0)
}

// idLen is the width of a block's option identifier.
func (p *aecParams) idLen() int {
	switch {
	case p.bitsPerSample > 16:
		return 5
	case p.bitsPerSample > 8:
		return 4
	}
	return 3
}

// szipParamsOf checks the filter's parameters as libhdf5 records them.
func szipParamsOf(f *format.Filter) (aecParams, error) {
	if len(f.Params) < 4 {
		return aecParams{}, fmt.Errorf("szip: %d parameters, want 4: %w", len(f.Params), format.ErrCorrupt)
	}
	mask, ppb, bpp, pps := f.Params[0], f.Params[1], f.Params[2], f.Params[3]
	p := aecParams{msb: mask&szipMSB != 0, preprocess: mask&szipNN != 0}
	switch {
	case bpp == 32 || bpp == 64:
		p.bitsPerSample, p.interleave = 8, int(bpp/8)
	case bpp >= 1 && bpp < 32:
		p.bitsPerSample = int(bpp)
	default:
		return aecParams{}, fmt.Errorf("szip: %d bits per pixel: %w", bpp, format.ErrUnsupported)
	}
	if ppb < 2 || ppb > 64 || ppb%2 != 0 {
		return aecParams{}, fmt.Errorf("szip: %d pixels per block: %w", ppb, format.ErrCorrupt)
	}
	// libhdf5 makes a scanline at most 128 blocks (SZ_MAX_BLOCKS_PER_SCANLINE);
	// libaec has no bound, and the RSI buffer is bounded by the chunk.
	if pps < 1 || pps > 1<<16 {
		return aecParams{}, fmt.Errorf("szip: %d pixels per scanline: %w", pps, format.ErrCorrupt)
	}
	p.blockSize = int(ppb)
	p.rsi = (int(pps) + p.blockSize - 1) / p.blockSize
	p.keep = int(pps)
	return p, nil
}

func (c szipCodec) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
	return c.decodeInto(f, in, maxOut, nil)
}

func (szipCodec) decodeInto(f *format.Filter, in []byte, maxOut int, dst []byte) ([]byte, error) {
	p, err := szipParamsOf(f)
	if err != nil {
		return nil, err
	}
	if len(in) < szipHeader {
		return nil, fmt.Errorf("szip: %d bytes, shorter than the header: %w", len(in), format.ErrCorrupt)
	}
	size := binary.LittleEndian.Uint32(in)
	if uint64(size) > uint64(maxOut) {
		return nil, fmt.Errorf("szip: header claims %d bytes, the chunk holds at most %d: %w", size, maxOut, format.ErrCorrupt)
	}
	out := sized(dst, int(size))
	if err := aecDecode(in[szipHeader:], out, &p); err != nil {
		return nil, err
	}
	return out, nil
}

// aecBits reads a stream most significant bit first. acc holds n bits
// not yet read at its top; below them may lie the first bits of in[pos],
// which a refill ORs in again at the same place.
type aecBits struct {
	in  []byte
	pos int
	acc uint64
	n   uint
}

var errAECShort = fmt.Errorf("szip: the stream ends before the chunk does: %w", format.ErrCorrupt)

func (r *aecBits) refill() {
	if r.pos+8 <= len(r.in) {
		r.acc |= binary.BigEndian.Uint64(r.in[r.pos:]) >> r.n
		r.pos += int(63-r.n) >> 3
		r.n |= 56
		return
	}
	for r.n <= 56 && r.pos < len(r.in) {
		r.acc |= uint64(r.in[r.pos]) << (56 - r.n)
		r.pos++
		r.n += 8
	}
}

// get reads k <= 32 bits.
func (r *aecBits) get(k uint) (uint32, error) {
	if k == 0 {
		return 0, nil
	}
	if r.n < k {
		r.refill()
		if r.n < k {
			return 0, errAECShort
		}
	}
	v := uint32(r.acc >> (64 - k))
	r.acc <<= k
	r.n -= k
	return v, nil
}

// fs reads a fundamental sequence: the number of 0 bits before a 1.
func (r *aecBits) fs() (uint64, error) {
	var count uint64
	for {
		if r.n == 0 {
			r.refill()
			if r.n == 0 {
				return 0, errAECShort
			}
		}
		z := uint(bits.LeadingZeros64(r.acc))
		if z < r.n {
			r.acc <<= z + 1
			r.n -= z + 1
			return count + uint64(z), nil
		}
		count += uint64(r.n)
		r.acc, r.n = 0, 0
	}
}

// aecROS is the zero-block count that means "to the end of the segment".
const aecROS = 5

// aecDecode decodes an AEC stream until out is full. A block is coded one
// of four ways, by its identifier: 0 and then one bit for a run of zero
// blocks (0) or the second extension, pairs of samples coded together (1);
// all ones for samples stored as they are; otherwise k+1 for samples whose
// high bits are a fundamental sequence each, their low k bits after. With
// the preprocessor the first block of each RSI begins with a reference
// sample, stored as it is, and the rest are mapped differences.
func aecDecode(in []byte, out []byte, p *aecParams) error {
	width := p.bytesPerSample()
	if !p.wholePixels(len(out)) {
		return fmt.Errorf("szip: a chunk of %d bytes is not whole %d-byte pixels: %w", len(out), max(width, p.interleave), format.ErrCorrupt)
	}
	total := len(out) / width // samples to output
	if total == 0 {
		return nil
	}
	bs := p.blockSize
	rsiSamples := p.rsi * bs
	// An RSI is decoded whole, padding and all, unless the chunk ends
	// inside the first: the buffer holds no more than the chunk can take.
	bufLen := min(rsiSamples, (total+bs-1)/bs*bs)
	buf := make([]uint32, bufLen)
	r := aecBits{in: in}
	idLen := uint(p.idLen())
	uncompressedID := uint32(1)<<idLen - 1
	bps := uint(p.bitsPerSample)
	xmax := uint32(uint64(1)<<bps - 1)
	sink := aecSink{out: out, width: width, msb: p.msb, interleave: p.interleave}
	for sink.done < total {
		n := 0 // samples of this RSI decoded
		for n < rsiSamples && n < bufLen {
			ref := 0
			if p.preprocess && n == 0 {
				ref = 1
			}
			id, err := r.get(idLen)
			if err != nil {
				return err
			}
			block := buf[n : n+bs]
			switch {
			case id == 0:
				second, err := r.get(1)
				if err != nil {
					return err
				}
				if ref == 1 {
					if block[0], err = r.get(bps); err != nil {
						return err
					}
				}
				if second == 1 {
					if err := aecSecondExtension(&r, block, ref); err != nil {
						return err
					}
					n += bs
					continue
				}
				fs, err := r.fs()
				if err != nil {
					return err
				}
				blocks := fs + 1
				switch {
				case blocks == aecROS:
					b := uint64(n / bs)
					blocks = min(uint64(p.rsi)-b, 64-b%64)
				case blocks > aecROS:
					blocks--
				}
				if blocks > uint64(p.rsi-n/bs) {
					return fmt.Errorf("szip: a run of %d zero blocks past the end of the interval: %w", blocks, format.ErrCorrupt)
				}
				end := min(n+int(blocks)*bs, bufLen)
				clear(buf[n+ref : end])
				n += int(blocks) * bs
			case id == uncompressedID:
				for i := range block {
					if block[i], err = r.get(bps); err != nil {
						return err
					}
				}
				n += bs
			default:
				k := uint(id - 1)
				if ref == 1 {
					if block[0], err = r.get(bps); err != nil {
						return err
					}
				}
				for i := ref; i < bs; i++ {
					fs, err := r.fs()
					if err != nil {
						return err
					}
					if fs > uint64(xmax>>k) {
						return fmt.Errorf("szip: a sample past %d bits: %w", bps, format.ErrCorrupt)
					}
					block[i] = uint32(fs) << k
				}
				if k > 0 {
					for i := ref; i < bs; i++ {
						low, err := r.get(k)
						if err != nil {
							return err
						}
						block[i] |= low
					}
				}
				n += bs
			}
		}
		samples := buf[:min(n, bufLen, p.keep)]
		if p.preprocess {
			aecPostprocess(samples, xmax)
		}
		sink.put(samples, total)
	}
	return nil
}

// aecSecondExtension decodes a block whose samples are coded in pairs: m is
// a fundamental sequence, the pair's sum beta the largest with
// beta(beta+1)/2 <= m, its second sample m - beta(beta+1)/2. A block that
// begins with the reference sample takes only the second of the first pair.
func aecSecondExtension(r *aecBits, block []uint32, ref int) error {
	for i := ref; i < len(block); {
		m, err := r.fs()
		if err != nil {
			return err
		}
		if m > 90 { // beta <= 12: the largest pair the standard codes so
			return fmt.Errorf("szip: a second-extension code of %d: %w", m, format.ErrCorrupt)
		}
		var beta uint32
		for (beta+1)*(beta+2)/2 <= uint32(m) {
			beta++
		}
		second := uint32(m) - beta*(beta+1)/2
		if i%2 == 0 {
			block[i] = beta - second
			i++
		}
		block[i] = second
		i++
	}
	return nil
}

// aecPostprocess undoes the unit-delay preprocessor on one RSI: samples[0]
// is the reference, each next one a mapped difference from the one before
// (the difference d >= 0 as 2d, d < 0 as -2d-1, while both fit in theta,
// the distance from the prediction to the nearer end of the range; past
// that the sample's own distance from that end).
func aecPostprocess(samples []uint32, xmax uint32) {
	if len(samples) == 0 {
		return
	}
	// Without branches: on noise, which way each sample goes is a coin
	// toss, and mispredictions took half the decode. Samples are at most
	// 31 bits (32-bit pixels are coded as bytes), so differences of them
	// carry their sign in bit 31.
	data := samples[0]
	top := uint(bits.Len32(xmax) - 1)
	for i := 1; i < len(samples); i++ {
		d := samples[i]
		flip := -(data >> top & 1) & xmax // data's distance from its nearer end is data ^ flip
		half := d>>1 + d&1
		inside := data + (d>>1 ^ -(d & 1)) // +d/2, or -(d+1)/2 for odd d
		past := uint32(int32((data^flip)-half) >> 31)
		data = inside&^past | (flip^d)&past
		samples[i] = data
	}
}

// aecSink writes samples to the chunk: as 1, 2 or 4 bytes in the byte
// order the options say, or, for pixels coded in planes, each byte back to
// its pixel.
type aecSink struct {
	out        []byte
	width      int
	msb        bool
	interleave int
	done       int // samples written
}

func (s *aecSink) put(samples []uint32, total int) {
	samples = samples[:min(len(samples), total-s.done)]
	if s.interleave != 0 {
		planeLen := len(s.out) / s.interleave
		for len(samples) > 0 {
			plane, pixel := s.done/planeLen, s.done%planeLen
			run := samples[:min(len(samples), planeLen-pixel)]
			o := s.out[pixel*s.interleave+plane:]
			for i, v := range run {
				o[i*s.interleave] = byte(v)
			}
			s.done += len(run)
			samples = samples[len(run):]
		}
		return
	}
	o := s.out[s.done*s.width:]
	switch {
	case s.width == 1:
		for i, v := range samples {
			o[i] = byte(v)
		}
	case s.width == 2 && s.msb:
		for i, v := range samples {
			binary.BigEndian.PutUint16(o[2*i:], uint16(v))
		}
	case s.width == 2:
		for i, v := range samples {
			binary.LittleEndian.PutUint16(o[2*i:], uint16(v))
		}
	case s.msb:
		for i, v := range samples {
			binary.BigEndian.PutUint32(o[4*i:], v)
		}
	default:
		for i, v := range samples {
			binary.LittleEndian.PutUint32(o[4*i:], v)
		}
	}
	s.done += len(samples)
}
