package filter

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// ZFP (filter 32013): LLNL's H5Z-ZFP plugin on libzfp, lossy or lossless
// compression of 1- to 4-dimensional fields of float32, float64, int32 and
// int64 values, decoded here bit for bit as libzfp 1.0 does (the codec of
// version 5, which every zfp from 0.5.0 on writes).
//
// The plugin's set_local writes the stream header zfp would put in front
// of a stream into cd_values instead, so that the chunks are bare streams:
// cd_values[0] holds the plugin's, libzfp's and the codec's versions, and
// the words after it the header as they lay in the writer's memory: "zfp"
// and the codec version, the field (scalar type and chunk shape,
// dimensions of size 1 dropped, the last dimension varying fastest) and
// the mode, which zfp reduces to four parameters whatever the plugin was
// asked for (fixed rate, precision, accuracy, expert or reversible):
// minbits and maxbits a block, maxprec bit planes and minexp, the least
// exponent kept (below zfp's range for the reversible mode). A big-endian
// writer's header reads right only with each word byte-swapped: as H5Z-ZFP
// from 1.1.1 on (Debian's 1.1.0 refuses them), we decode those and hand
// back the values big-endian, the dataset's byte order (the plugin takes
// no dataset of the other order than its machine's).
//
// The stream, read least significant bit first, is the field's blocks of
// 4^d values in order (x fastest), blocks at the field's edge decoded
// whole and only their part inside the field kept.
//
// Decode only. h5py adds the filter as optional: a write stores chunks
// unfiltered with the filter's mask bit set, as libhdf5 does when an
// optional filter fails, and any reader, with the plugin or without,
// reads them. Where it is mandatory (H5Pset_zfp_*, h5repack's
// UD=32013,0,...), writes are refused as unsupported (CanEncode).
type zfpCodec struct{}

func init() { Register(ZFP, zfpCodec{}) }

// libzfp's scalar types, as the header codes them (plus one).
const (
	zfpInt32 = iota + 1
	zfpInt64
	zfpFloat
	zfpDouble
)

const (
	zfpCodecVersion = 5
	zfpMaxBits      = 16658 // ZFP_MAX_BITS
	zfpMaxPrec      = 64
	zfpMinExp       = -1074 // below it: reversible
	zfpModeShortMax = 1<<12 - 2
	zfpHeaderWords  = 6 // H5Z_ZFP_CD_NELMTS_MAX: the plugin refuses more
)

// zfpField is what the header says: the field, and the mode's parameters.
type zfpField struct {
	typ                       int
	dims                      int
	n                         [4]uint64 // nx, ny, nz, nw; 1 past dims
	minbits, maxbits, maxprec uint32
	minexp                    int32
	bigEndian                 bool // header (and so the dataset) written big-endian
}

func (f *zfpField) elemSize() int {
	if f.typ == zfpInt32 || f.typ == zfpFloat {
		return 4
	}
	return 8
}

func (f *zfpField) reversible() bool { return f.minexp < zfpMinExp }

// shape is the field's dimensions, for messages (a copy: a slice of f.n
// handed to fmt would move a decoder's scratch to the heap).
func (f *zfpField) shape() []uint64 { return append([]uint64(nil), f.n[:f.dims]...) }

// zfpFieldOf reads the header from cd_values as H5Z-ZFP does.
func zfpFieldOf(f *format.Filter) (zfpField, error) {
	p := f.Params
	if len(p) < 2 {
		return zfpField{}, fmt.Errorf("zfp: %d parameters, too few to hold a zfp header: %w", len(p), format.ErrCorrupt)
	}
	if len(p) > 1+zfpHeaderWords {
		return zfpField{}, fmt.Errorf("zfp: %d parameters, more than H5Z-ZFP writes: %w", len(p), format.ErrCorrupt)
	}
	if c := zfpWriterCodec(p[0]); c > zfpCodecVersion {
		return zfpField{}, fmt.Errorf("zfp: written by codec version %d, newer than %d: %w", c, zfpCodecVersion, format.ErrUnsupported)
	}
	var buf [4 * zfpHeaderWords]byte
	hdr := buf[:4*(len(p)-1)]
	for i, v := range p[1:] {
		binary.LittleEndian.PutUint32(hdr[4*i:], v)
	}
	fld, err := zfpReadHeader(hdr)
	if err == errZFPMagic {
		for i, v := range p[1:] {
			binary.BigEndian.PutUint32(hdr[4*i:], v)
		}
		if be, err2 := zfpReadHeader(hdr); err2 != errZFPMagic {
			fld, err = be, err2
			fld.bigEndian = true
		}
	}
	if err == errZFPMagic {
		return zfpField{}, fmt.Errorf("zfp: cd_values hold no zfp header: %w", format.ErrCorrupt)
	}
	return fld, err
}

// zfpWriterCodec is the codec version cd_values[0] says wrote the data;
// plugins before 1.1.0 recorded only libzfp's version, from which it is
// guessed as the plugin does.
func zfpWriterCodec(v uint32) uint32 {
	if v&0xfff >= 0x110 {
		return v >> 12 & 0xf
	}
	lib := (v >> 16) << 4
	switch {
	case lib < 0x500:
		return 4
	case lib < 0x1000:
		return lib & 0xf00 >> 8
	}
	return 5
}

var errZFPMagic = fmt.Errorf("zfp: no zfp magic: %w", format.ErrCorrupt)

// zfpReadHeader is zfp_read_header(ZFP_HEADER_FULL): 32 bits of magic, 52
// of field and 12 or 64 of mode.
func zfpReadHeader(hdr []byte) (zfpField, error) {
	r := zfpReader{in: hdr}
	if len(hdr) < 4 || hdr[0] != 'z' || hdr[1] != 'f' || hdr[2] != 'p' {
		return zfpField{}, errZFPMagic
	}
	if hdr[3] != zfpCodecVersion {
		return zfpField{}, fmt.Errorf("zfp: codec version %d, not %d: %w", hdr[3], zfpCodecVersion, format.ErrUnsupported)
	}
	r.skip(32)
	meta := r.read(52)
	f := zfpField{typ: int(meta&3) + 1, dims: int(meta>>2&3) + 1, n: [4]uint64{1, 1, 1, 1}}
	meta >>= 4
	switch f.dims {
	case 1:
		f.n[0] = meta&0xffffffff + 1 // libzfp 1.0 reads 32 of the 48 bits
	default:
		w := uint(48 / f.dims)
		for i := range f.dims {
			f.n[i] = meta>>(w*uint(i))&(1<<w-1) + 1
		}
	}
	mode := r.read(12)
	if mode > zfpModeShortMax {
		mode += r.read(52) << 12
	}
	if r.consumed() > uint64(8*len(hdr)) {
		return zfpField{}, fmt.Errorf("zfp: a header cut short (%d bytes): %w", len(hdr), format.ErrCorrupt)
	}
	// zfp_stream_set_mode: a 12-bit code for the four common modes, or
	// the four parameters in 64 bits.
	f.minbits, f.maxbits, f.maxprec, f.minexp = 1, zfpMaxBits, zfpMaxPrec, zfpMinExp
	switch {
	case mode < 2048:
		f.minbits, f.maxbits = uint32(mode)+1, uint32(mode)+1
	case mode < 2048+128:
		f.maxprec = uint32(mode) + 1 - 2048
	case mode == 2048+128:
		f.minexp = zfpMinExp - 1
	case mode <= zfpModeShortMax:
		f.minexp = int32(mode) + zfpMinExp - (2048 + 128 + 1)
	default:
		mode >>= 12
		f.minbits = uint32(mode&0x7fff) + 1
		f.maxbits = uint32(mode>>15&0x7fff) + 1
		f.maxprec = uint32(mode>>30&0x7f) + 1
		f.minexp = int32(mode>>37&0x7fff) - 16495
	}
	if f.minbits > f.maxbits || f.maxprec < 1 || f.maxprec > zfpMaxPrec {
		return zfpField{}, fmt.Errorf("zfp: mode of minbits %d, maxbits %d, maxprec %d: %w", f.minbits, f.maxbits, f.maxprec, format.ErrCorrupt)
	}
	return f, nil
}

func (c zfpCodec) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
	return c.decodeInto(f, in, maxOut, nil)
}

func (zfpCodec) decodeInto(f *format.Filter, in []byte, maxOut int, dst []byte) ([]byte, error) {
	fld, err := zfpFieldOf(f)
	if err != nil {
		return nil, err
	}
	// Each dimension is at most 2^32 (and their product 2^48): no overflow.
	size := uint64(fld.elemSize())
	for _, n := range fld.n {
		size *= n
	}
	if size > uint64(maxOut) {
		return nil, fmt.Errorf("zfp: the header's %v field is %d bytes, the chunk at most %d: %w", fld.shape(), size, maxOut, format.ErrCorrupt)
	}
	out := sized(dst, int(size))
	d := zfpDecoder{zfpField: fld, r: zfpReader{in: in}, size: 1 << (2 * fld.dims), perm: zfpPerms[fld.dims-1]}
	if err := d.decode(out); err != nil {
		return nil, err
	}
	return out, nil
}

// zfpReader reads a stream least significant bit first: libzfp's
// bitstream of 8-bit words, the only one H5Z-ZFP accepts. buf holds nb
// bits not yet read from bit 0 up; above them it may hold the first bits
// of in[next], which a refill ORs in again at the same place. Past the end
// of in it reads zeros, and consumed() tells.
type zfpReader struct {
	in   []byte
	next int
	buf  uint64
	nb   uint
}

// refill is kept out of line: the loops that read call it seldom, and
// stay small without it.
//
//go:noinline
func (r *zfpReader) refill() {
	if r.next+8 <= len(r.in) {
		r.buf |= binary.LittleEndian.Uint64(r.in[r.next:]) << r.nb
		k := (63 - r.nb) >> 3
		r.next += int(k)
		r.nb += k << 3
		return
	}
	for r.nb <= 56 {
		if r.next < len(r.in) {
			r.buf |= uint64(r.in[r.next]) << r.nb
		}
		r.next++
		r.nb += 8
	}
}

// consumed is the number of bits read, those past the end included.
func (r *zfpReader) consumed() uint64 { return uint64(r.next)*8 - uint64(r.nb) }

// bits reads n <= 56 bits (n&63 spares the compiler its code for shifts
// past 63).
func (r *zfpReader) bits(n uint) uint64 {
	if r.nb < n {
		r.refill()
	}
	v := r.buf & ^(^uint64(0) << (n & 63))
	r.buf >>= n & 63
	r.nb -= n
	return v
}

func (r *zfpReader) bit() uint64 {
	if r.nb == 0 {
		r.refill()
	}
	v := r.buf & 1
	r.buf >>= 1
	r.nb--
	return v
}

// read reads n <= 64 bits (the header's long mode).
func (r *zfpReader) read(n uint) uint64 {
	if n <= 56 {
		return r.bits(n)
	}
	lo := r.bits(32)
	return lo | r.bits(n-32)<<32
}

// skip passes n bits: a block's padding up to minbits.
func (r *zfpReader) skip(n uint64) {
	if n <= uint64(r.nb) {
		r.buf >>= n
		r.nb -= uint(n)
		return
	}
	n -= uint64(r.nb)
	r.buf, r.nb = 0, 0
	r.next += int(n >> 3)
	r.bits(uint(n & 7))
}

// zfpDecoder decodes one chunk's blocks. The scratch of a 4-D block (256
// values) lives in it, on the decoding goroutine's stack.
type zfpDecoder struct {
	zfpField
	r     zfpReader
	size  int // values a block, 4^dims
	perm  []uint8
	u     [256]uint64 // a block's coefficients as decoded, negabinary
	i32   [256]int32
	i64   [256]int64
	vals  [256]uint64   // the block's values, as the bits of its scalar type
	bytes [256 * 8]byte // the same in the dataset's byte order
}

// decode fills out with the field, block by block.
func (d *zfpDecoder) decode(out []byte) error {
	nx, ny, nz, nw := int(d.n[0]), int(d.n[1]), int(d.n[2]), int(d.n[3])
	end := uint64(len(d.r.in)) * 8
	for w := 0; w < nw; w += 4 {
		for z := 0; z < nz; z += 4 {
			for y := 0; y < ny; y += 4 {
				for x := 0; x < nx; x += 4 {
					d.decodeBlock()
					// A stream libzfp wrote holds every bit its decoder
					// reads: one that ends early is cut, and libzfp would
					// read whatever memory follows it.
					if d.r.consumed() > end {
						return fmt.Errorf("zfp: the stream of %d bytes ends inside the block at %d,%d,%d,%d of a %v field: %w",
							len(d.r.in), x, y, z, w, d.shape(), format.ErrCorrupt)
					}
					d.scatter(out, x, y, z, w, min(nx-x, 4), min(ny-y, 4), min(nz-z, 4), min(nw-w, 4))
				}
			}
		}
	}
	return nil
}

// scatter writes the part of a block inside the field, each value in the
// dataset's byte order: the block's rows put in order in d.bytes, then
// copied.
func (d *zfpDecoder) scatter(out []byte, x, y, z, w, bx, by, bz, bw int) {
	es := d.elemSize()
	vals, b := d.vals[:d.size], d.bytes[:d.size*es]
	switch {
	case es == 8 && !d.bigEndian:
		for i, v := range vals {
			binary.LittleEndian.PutUint64(b[8*i:], v)
		}
	case es == 8:
		for i, v := range vals {
			binary.BigEndian.PutUint64(b[8*i:], v)
		}
	case !d.bigEndian:
		for i, v := range vals {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		}
	default:
		for i, v := range vals {
			binary.BigEndian.PutUint32(b[4*i:], uint32(v))
		}
	}
	nx, ny, nz := int(d.n[0]), int(d.n[1]), int(d.n[2])
	row := bx * es
	for l := range bw {
		for k := range bz {
			for j := range by {
				at := ((((w+l)*nz+z+k)*ny+y+j)*nx + x) * es
				from := (64*l + 16*k + 4*j) * es
				copy(out[at:at+row], b[from:from+row])
			}
		}
	}
}

// decodeBlock decodes the next block into d.vals.
func (d *zfpDecoder) decodeBlock() {
	switch d.typ {
	case zfpInt32:
		b := d.i32[:d.size]
		if d.reversible() {
			zfpRevIntBlock(d, b, d.minbits, d.maxbits)
		} else {
			zfpIntBlock(d, b, d.minbits, d.maxbits, d.maxprec)
		}
		for i, v := range b {
			d.vals[i] = uint64(uint32(v))
		}
	case zfpInt64:
		b := d.i64[:d.size]
		if d.reversible() {
			zfpRevIntBlock(d, b, d.minbits, d.maxbits)
		} else {
			zfpIntBlock(d, b, d.minbits, d.maxbits, d.maxprec)
		}
		for i, v := range b {
			d.vals[i] = uint64(v)
		}
	case zfpFloat:
		b := d.i32[:d.size]
		emax, ok := zfpFloatBlock(d, b, 8)
		switch {
		case !ok:
			clear(d.vals[:d.size])
		case emax == math.MaxInt: // reversible, the values' bits as they were
			for i, v := range b {
				d.vals[i] = uint64(uint32(v))
			}
		default:
			s := float32(math.Ldexp(1, emax-30))
			for i, v := range b {
				d.vals[i] = uint64(math.Float32bits(float32(v) * s))
			}
		}
	default:
		b := d.i64[:d.size]
		emax, ok := zfpFloatBlock(d, b, 11)
		switch {
		case !ok:
			clear(d.vals[:d.size])
		case emax == math.MaxInt:
			for i, v := range b {
				d.vals[i] = uint64(v)
			}
		default:
			s := math.Ldexp(1, emax-62)
			for i, v := range b {
				d.vals[i] = math.Float64bits(float64(v) * s)
			}
		}
	}
}

type zfpInt interface{ ~int32 | ~int64 }

// zfpWidth is the bits of T.
func zfpWidth[T zfpInt]() uint { return uint(unsafe.Sizeof(T(0))) * 8 }

// zfpFloatBlock decodes a block of floats of ebits exponent bits into
// integers b, and returns the block's exponent they are scaled by; or
// math.MaxInt when b holds the values' own bits (the reversible mode's
// lossless path); or false for a block of zeros. A block begins with a
// bit that says whether it has a value not zero, then (reversible mode)
// one for the lossless path, then the largest exponent of its values.
//
// The budgets passed on are computed in uint32 as libzfp does: an expert
// mode whose maxbits is less than what the block spent already wraps
// around to no limit, and libzfp then decodes so.
func zfpFloatBlock[T zfpInt](d *zfpDecoder, b []T, ebits uint) (emax int, ok bool) {
	bits := uint32(1)
	if d.r.bit() == 0 {
		if d.minbits > bits {
			d.r.skip(uint64(d.minbits - bits))
		}
		return 0, false
	}
	bias := 1<<(ebits-1) - 1
	if d.reversible() {
		bits++
		if d.r.bit() == 1 {
			zfpRevIntBlock(d, b, d.minbits-min(bits, d.minbits), d.maxbits-bits)
			// Negative integers stand for the sign-magnitude bits of a float.
			tc := T(^uint64(0) >> (65 - zfpWidth[T]()))
			for i, v := range b {
				if v < 0 {
					b[i] = v ^ tc
				}
			}
			return math.MaxInt, true
		}
		bits += uint32(ebits)
		emax = int(d.r.bits(ebits)) - bias
		zfpRevIntBlock(d, b, d.minbits-min(bits, d.minbits), d.maxbits-bits)
		return emax, emax != -bias
	}
	bits += uint32(ebits)
	emax = int(d.r.bits(ebits)) - bias
	// zfp's precision(): the bit planes that matter above 2^minexp.
	maxprec := uint32(max(0, emax-int(d.minexp)+2*d.dims+2))
	zfpIntBlock(d, b, d.minbits-min(bits, d.minbits), d.maxbits-bits, min(d.maxprec, maxprec))
	return emax, true
}

// zfpIntBlock decodes a block of integers (lossy mode): its coefficients,
// the padding up to minbits, then the inverse of the decorrelating
// transform.
func zfpIntBlock[T zfpInt](d *zfpDecoder, b []T, minbits, maxbits, maxprec uint32) {
	if bits := d.decodeInts(zfpWidth[T](), maxbits, maxprec); bits < minbits {
		d.r.skip(uint64(minbits - bits))
	}
	zfpInvOrder(d.u[:len(b)], b, d.perm)
	zfpInvXform(b, d.dims, false)
}

// zfpRevIntBlock decodes a block of integers (reversible mode): the
// number of bit planes coded, the coefficients, the padding up to minbits,
// then the inverse of the reversible (Lorenzo) transform.
func zfpRevIntBlock[T zfpInt](d *zfpDecoder, b []T, minbits, maxbits uint32) {
	pbits := uint(6)
	if zfpWidth[T]() == 32 {
		pbits = 5
	}
	bits := uint32(pbits)
	prec := uint32(d.r.bits(pbits)) + 1
	if bits += d.decodeInts(zfpWidth[T](), maxbits-bits, prec); bits < minbits {
		d.r.skip(uint64(minbits - bits))
	}
	zfpInvOrder(d.u[:len(b)], b, d.perm)
	zfpInvXform(b, d.dims, true)
}

// zfpInvXform undoes a block's transform, lossy or reversible, lifting
// along each dimension in turn, the slowest varying first, as libzfp's
// inv_xform and rev_inv_xform.
func zfpInvXform[T zfpInt](b []T, dims int, reversible bool) {
	lift := func(p []T, i, s int) {
		if reversible {
			zfpRevInvLift(p, i, s)
		} else {
			zfpInvLift(p, i, s)
		}
	}
	switch dims {
	case 1:
		lift(b, 0, 1)
	case 2:
		for x := range 4 {
			lift(b, x, 4)
		}
		for y := range 4 {
			lift(b, 4*y, 1)
		}
	case 3:
		for i := range 16 {
			lift(b, i, 16)
		}
		for x := range 4 {
			for z := range 4 {
				lift(b, 16*z+x, 4)
			}
		}
		for i := range 16 {
			lift(b, 4*i, 1)
		}
	default:
		for i := range 64 {
			lift(b, i, 64)
		}
		for w := range 4 {
			for i := range 16 {
				lift(b, 64*w+i, 16)
			}
		}
		for w := range 4 {
			for z := range 4 {
				for x := range 4 {
					lift(b, 64*w+16*z+x, 4)
				}
			}
		}
		for i := range 64 {
			lift(b, 4*i, 1)
		}
	}
}

// decodeInts reads a block's coefficients into d.u, bit plane by bit
// plane from the most significant (of intprec) down, at most maxprec of
// them and maxbits bits, and returns the bits read. Each plane holds the
// bits of the first n coefficients as they are (n: those found
// significant in the planes above), then the rest run-length coded: a 1
// says another coefficient turns significant, and the zeros up to the
// next 1 skip those that do not; a 0 ends the plane.
func (d *zfpDecoder) decodeInts(intprec uint, maxbits, maxprec uint32) uint32 {
	size := uint(d.size)
	u := d.u[:size]
	clear(u)
	kmin := uint(0)
	if intprec > uint(maxprec) {
		kmin = intprec - uint(maxprec)
	}
	// libzfp counts the bits only when a block could exceed maxbits; an
	// unlimited budget reads the same.
	budget := maxbits
	if (maxprec+1)*uint32(size)-1 <= maxbits {
		budget = math.MaxUint32
	}
	left := budget
	// The reader's state in locals, kept in registers through the loops:
	// this function is most of a decode's time.
	r := &d.r
	buf, nb := r.buf, r.nb
	fill := func() {
		r.buf, r.nb = buf, nb
		r.refill()
		buf, nb = r.buf, r.nb
	}
	n := uint(0)
	for k := intprec; left > 0 && k > kmin; {
		if n == size && left >= uint32(size) {
			// Every coefficient significant: the planes left are their
			// bits as they are, nothing else.
			planes := min(k-kmin, uint(left/uint32(size)))
			r.buf, r.nb = buf, nb
			r.planes(u, k, planes)
			buf, nb = r.buf, r.nb
			k -= planes
			left -= uint32(planes * size)
			continue
		}
		k--
		// The bits of the first n coefficients as they are.
		m := n
		if uint32(m) > left {
			m = uint(left)
		}
		left -= uint32(m)
		for i := uint(0); i < m; {
			c := min(m-i, 56)
			if nb < c {
				fill()
			}
			x := buf & ^(^uint64(0) << c)
			buf >>= c
			nb -= c
			for ; x != 0; x &= x - 1 {
				u[i+uint(bits.TrailingZeros64(x))] += 1 << k
			}
			i += c
		}
		// The rest: group tests, each 1 followed by the zeros up to the
		// next significant coefficient (implied at the last).
		for left > 0 && n < size {
			left--
			if nb == 0 {
				fill()
			}
			b := buf & 1
			buf >>= 1
			nb--
			if b == 0 {
				break
			}
			lim := size - 1 - n
			if uint32(lim) > left {
				lim = uint(left)
			}
			z := uint(0)
			for {
				if nb == 0 {
					fill()
				}
				t := uint(bits.TrailingZeros64(buf))
				rest := lim - z
				if t >= rest && rest <= nb {
					buf >>= rest
					nb -= rest
					z = lim
					break
				}
				if t < nb { // the one ending the run, read too
					buf >>= t + 1
					nb -= t + 1
					z += t
					left--
					break
				}
				z += nb
				buf, nb = 0, 0
			}
			left -= uint32(z)
			n += z
			u[n] += 1 << k
			n++
		}
	}
	r.buf, r.nb = buf, nb
	return budget - left
}

// planes reads bit planes k-1 down to k-count of the coefficients u, each
// len(u) bits as they are. Rather than setting bit by bit, it gathers a
// few planes' bits of each coefficient in a lane of an accumulator (a
// table spreads the bits of a plane's byte, or nibble, one to a lane),
// then adds each lane to its coefficient.
func (r *zfpReader) planes(u []uint64, k, count uint) {
	s := uint(len(u))
	if s == 4 {
		for count > 0 {
			batch := min(count, 16) // 16-bit lanes
			var acc uint64
			for b := batch; b > 0; {
				c := min(b, 14)
				x := r.bits(4 * c)
				for range c {
					acc = acc<<1 | zfpSpread4[x&15]
					x >>= 4
				}
				b -= c
			}
			k -= batch
			count -= batch
			for j := range u {
				u[j] += (acc >> (16 * j) & 0xffff) << k
			}
		}
		return
	}
	lanes := s / 8
	var acc [32]uint64
	for count > 0 {
		batch := min(count, 8) // 8-bit lanes
		clear(acc[:lanes])
		for range batch {
			for w := uint(0); w < lanes; w += 7 {
				c := min(lanes-w, 7)
				x := r.bits(8 * c)
				for i := range acc[w : w+c] {
					acc[w+uint(i)] = acc[w+uint(i)]<<1 | zfpSpread8[x&255]
					x >>= 8
				}
			}
		}
		k -= batch
		count -= batch
		for b, a := range acc[:lanes] {
			v := u[8*b : 8*b+8]
			for i := range v {
				v[i] += (a >> (8 * i) & 0xff) << k
			}
		}
	}
}

// zfpSpread4 and zfpSpread8 put bit i of a nibble at bit 16i, and of a
// byte at bit 8i.
var zfpSpread4, zfpSpread8 = func() (s4 [16]uint64, s8 [256]uint64) {
	for v := range 256 {
		for i := range 8 {
			if v>>i&1 != 0 {
				s8[v] |= 1 << (8 * i)
				if v < 16 {
					s4[v] |= 1 << (16 * i)
				}
			}
		}
	}
	return
}()

// zfpInvOrder puts the coefficients back in place from the order of their
// sequency, turning negabinary into two's complement.
func zfpInvOrder[T zfpInt](u []uint64, b []T, perm []uint8) {
	const nb = 0xaaaaaaaaaaaaaaaa
	for i, v := range u {
		b[perm[i]] = T((v ^ nb) - nb) // truncated to 32 bits, the same as in 32 bits
	}
}

// zfpInvLift is the inverse of zfp's lossy lifting transform of the four
// values at p[i], p[i+s], p[i+2s], p[i+3s], in T's arithmetic (wrapping).
func zfpInvLift[T zfpInt](p []T, i, s int) {
	q := p[i : i+3*s+1]
	x, y, z, w := q[0], q[s], q[2*s], q[3*s]
	y += w >> 1
	w -= y >> 1
	y += w
	w <<= 1
	w -= y
	z += x
	x <<= 1
	x -= z
	y += z
	z <<= 1
	z -= y
	w += x
	x <<= 1
	x -= w
	q[0], q[s], q[2*s], q[3*s] = x, y, z, w
}

// zfpRevInvLift is the inverse of the reversible transform: prefix sums
// of prefix sums (a third-order Lorenzo predictor).
func zfpRevInvLift[T zfpInt](p []T, i, s int) {
	q := p[i : i+3*s+1]
	x, y, z, w := q[0], q[s], q[2*s], q[3*s]
	w += z
	z += y
	w += z
	y += x
	z += y
	w += z
	q[0], q[s], q[2*s], q[3*s] = x, y, z, w
}

// zfpPerms are zfp's orders of a block's coefficients by sequency (the
// sum of their indices along each dimension, then the sum of squares, ties
// as libzfp's tables have them), as offsets i + 4j + 16k + 64l.
var zfpPerms = [4][]uint8{
	{0, 1, 2, 3},
	{0, 1, 4, 5, 2, 8, 6, 9, 3, 12, 10, 7, 13, 11, 14, 15},
	{
		0, 1, 4, 16, 20, 17, 5, 2, 8, 32, 21, 6, 18, 24, 9, 33,
		36, 3, 12, 48, 22, 25, 37, 40, 34, 10, 7, 19, 28, 13, 49, 52,
		41, 38, 26, 23, 29, 53, 11, 35, 44, 14, 50, 56, 42, 27, 39, 45,
		30, 54, 57, 60, 51, 15, 43, 46, 58, 61, 55, 31, 62, 59, 47, 63,
	},
	{
		0, 1, 4, 16, 64, 5, 80, 17, 68, 65, 20, 2, 8, 32, 128, 84,
		81, 69, 21, 6, 18, 66, 24, 72, 9, 96, 33, 36, 129, 132, 144, 3,
		12, 48, 192, 85, 82, 70, 22, 73, 25, 88, 37, 100, 97, 148, 145, 133,
		10, 160, 34, 136, 130, 40, 7, 19, 67, 28, 76, 13, 112, 49, 52, 193,
		196, 208, 86, 89, 101, 149, 161, 137, 41, 134, 38, 164, 26, 152, 146, 104,
		98, 74, 83, 71, 23, 77, 29, 92, 53, 116, 113, 212, 209, 197, 11, 35,
		131, 44, 140, 14, 176, 50, 56, 194, 200, 224, 90, 165, 102, 153, 150, 105,
		168, 162, 138, 42, 87, 93, 117, 213, 27, 75, 99, 39, 135, 147, 108, 45,
		141, 156, 30, 78, 177, 180, 54, 114, 120, 57, 198, 210, 216, 201, 225, 228,
		15, 240, 51, 204, 195, 60, 169, 166, 154, 106, 91, 103, 151, 109, 157, 94,
		181, 118, 121, 214, 217, 229, 163, 139, 43, 142, 46, 172, 58, 184, 178, 232,
		226, 202, 241, 205, 61, 199, 55, 244, 31, 220, 211, 124, 115, 79, 170, 167,
		155, 107, 158, 110, 173, 122, 185, 182, 233, 230, 218, 95, 245, 119, 221, 215,
		125, 242, 206, 62, 203, 59, 248, 47, 236, 227, 188, 179, 143, 171, 174, 186,
		234, 246, 222, 126, 219, 123, 249, 111, 237, 231, 189, 183, 159, 252, 243, 207,
		63, 175, 250, 187, 238, 235, 190, 253, 247, 223, 127, 254, 251, 239, 191, 255,
	},
}
