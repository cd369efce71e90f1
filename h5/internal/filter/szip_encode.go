package filter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// szipEncoder writes the streams szipCodec reads, with three of the four
// block options: runs of zero blocks, split samples with the k that costs
// least, and samples stored as they are (libaec also uses the second
// extension; any decoder reads a stream without it). The filter is
// optional in every pipeline libhdf5 writes (H5Pset_szip), so a chunk the
// coder cannot shrink is stored unfiltered, as libhdf5 stores it.
type szipEncoder struct{}

func init() { RegisterEncoder(SZip, szipEncoder{}) }

var errSzipNoGain = errors.New("szip: the stream would be no smaller than the chunk")

func (szipEncoder) Encode(f *format.Filter, in []byte) ([]byte, error) {
	p, err := szipParamsOf(f)
	if err != nil {
		return nil, err
	}
	if len(in) > 1<<32-1 {
		return nil, fmt.Errorf("szip: a chunk of %d bytes: %w", len(in), format.ErrUnsupported)
	}
	if !p.wholePixels(len(in)) {
		return nil, fmt.Errorf("szip: a chunk of %d bytes is not whole pixels: %w", len(in), format.ErrUnsupported)
	}
	w := aecWriter{out: make([]byte, szipHeader, szipHeader+len(in)/2), limit: szipHeader + len(in)}
	binary.LittleEndian.PutUint32(w.out, uint32(len(in)))
	line := make([]uint32, p.rsi*p.blockSize)
	for first := 0; first < len(in)/p.bytesPerSample(); first += p.keep {
		if err := szipLine(line, in, first, &p); err != nil {
			return nil, err
		}
		aecEncodeRSI(&w, line, &p)
		if w.full {
			return nil, errSzipNoGain
		}
	}
	w.flush()
	if w.full || len(w.out) >= w.limit {
		return nil, errSzipNoGain
	}
	return w.out, nil
}

// szipLine reads the scanline that begins with sample first as the coder
// takes it: pixels split into byte planes where they are 32 or 64 bits,
// padded to whole blocks (the chunk's last line to a whole scanline) with
// its last sample when the preprocessor predicts from it, else with zeros.
// A sample wider than the bits per pixel (a value in a type's unused high
// bits) cannot be coded: the chunk is then stored as it is.
func szipLine(line []uint32, in []byte, first int, p *aecParams) error {
	width := p.bytesPerSample()
	n := min(p.keep, len(in)/width-first)
	xmax := uint32(uint64(1)<<uint(p.bitsPerSample) - 1)
	planeLen := len(in) / max(p.interleave, 1)
	for j := 0; j < n; j++ {
		i := first + j
		var v uint32
		switch {
		case p.interleave != 0:
			v = uint32(in[(i%planeLen)*p.interleave+i/planeLen])
		case width == 1:
			v = uint32(in[i])
		case width == 2 && p.msb:
			v = uint32(binary.BigEndian.Uint16(in[2*i:]))
		case width == 2:
			v = uint32(binary.LittleEndian.Uint16(in[2*i:]))
		case p.msb:
			v = binary.BigEndian.Uint32(in[4*i:])
		default:
			v = binary.LittleEndian.Uint32(in[4*i:])
		}
		if v > xmax {
			return fmt.Errorf("szip: a value wider than %d bits: %w", p.bitsPerSample, errSzipNoGain)
		}
		line[j] = v
	}
	var pad uint32
	if p.preprocess {
		pad = line[n-1]
	}
	for j := n; j < len(line); j++ {
		line[j] = pad
	}
	return nil
}

// aecPreprocess maps an RSI's samples, but its first (the reference), to
// differences from the sample before: the inverse of aecPostprocess.
func aecPreprocess(s []uint32, xmax uint32) {
	// Without branches, as aecPostprocess: on noise they mispredict.
	for i := len(s) - 1; i > 0; i-- {
		x, pred := int64(s[i]), int64(s[i-1])
		theta := min(pred, int64(xmax)-pred)
		delta := x - pred
		neg := delta >> 63           // -1 below the prediction
		dist := (delta ^ neg) - neg  // |delta|
		inside := 2*dist + neg       // 2d, or 2|d|-1 below
		past := (theta - dist) >> 63 // -1 past theta
		s[i] = uint32(inside&^past | (theta+dist)&past)
	}
}

// aecEncodeRSI codes one reference sample interval.
func aecEncodeRSI(w *aecWriter, s []uint32, p *aecParams) {
	bps := uint(p.bitsPerSample)
	xmax := uint32(uint64(1)<<bps - 1)
	if p.preprocess {
		aecPreprocess(s, xmax)
	}
	bs := p.blockSize
	idLen := uint(p.idLen())
	maxK := min(uint(1)<<idLen-3, bps-1)
	blocks := len(s) / bs
	for b := 0; b < blocks; {
		ref := 0
		if p.preprocess && b == 0 {
			ref = 1
		}
		// A run of zero blocks stays within its segment of 64 blocks.
		run := 0
		for b+run < blocks && (run == 0 || (b+run)%64 != 0) && allZero(s[(b+run)*bs+refAt(b+run, ref):(b+run+1)*bs]) {
			run++
		}
		if run > 0 {
			w.put(0, idLen+1)
			if ref == 1 {
				w.put(s[0], bps)
			}
			end := b + run
			switch {
			case run < aecROS:
				w.putFS(uint64(run - 1))
			case end == blocks || end%64 == 0:
				w.putFS(aecROS - 1) // to the end of the segment
			default:
				w.putFS(uint64(run))
			}
			b = end
			continue
		}
		block := s[b*bs : (b+1)*bs]
		coded := block[ref:]
		bestK, bestCost := aecBestSplit(coded, maxK)
		if bestCost+uint64(ref)*uint64(bps) >= uint64(bs)*uint64(bps) {
			w.put(uint32(1)<<idLen-1, idLen)
			for _, v := range block {
				w.put(v, bps)
			}
		} else {
			w.put(uint32(bestK+1), idLen)
			if ref == 1 {
				w.put(block[0], bps)
			}
			for _, v := range coded {
				w.putFS(uint64(v >> bestK))
			}
			if bestK > 0 {
				for _, v := range coded {
					w.put(v&(1<<bestK-1), bestK)
				}
			}
		}
		if w.full {
			return
		}
		b++
	}
}

// aecBestSplit finds the k whose split costs the fewest bits, and the
// bits: the cost of k is convex in k (each step saves less than the step
// before), so from the k the mean suggests the search walks down, or up,
// while the cost falls.
func aecBestSplit(coded []uint32, maxK uint) (uint, uint64) {
	cost := func(k uint) uint64 {
		c := uint64(len(coded)) * uint64(k+1)
		for _, v := range coded {
			c += uint64(v >> k)
		}
		return c
	}
	var sum uint64
	for _, v := range coded {
		sum += uint64(v)
	}
	k := uint(0)
	if mean := sum / uint64(max(len(coded), 1)); mean > 0 {
		k = min(uint(bits.Len64(mean)-1), maxK)
	}
	best := cost(k)
	for k > 0 {
		c := cost(k - 1)
		if c > best {
			break
		}
		k, best = k-1, c
	}
	for k < maxK {
		c := cost(k + 1)
		if c >= best {
			break
		}
		k, best = k+1, c
	}
	return k, best
}

// refAt is where block b's coded samples begin: after the reference in the
// RSI's first block.
func refAt(b, ref int) int {
	if b == 0 {
		return ref
	}
	return 0
}

func allZero(s []uint32) bool {
	for _, v := range s {
		if v != 0 {
			return false
		}
	}
	return true
}

// aecWriter writes bits most significant first; full once the stream
// passes limit bytes, after which it writes nothing more.
type aecWriter struct {
	out   []byte
	acc   uint64
	n     uint // bits in acc, at its bottom
	limit int
	full  bool
}

func (w *aecWriter) put(v uint32, k uint) {
	if k == 0 {
		return
	}
	w.acc = w.acc<<k | uint64(v)&(1<<k-1)
	w.n += k
	for w.n >= 8 {
		w.n -= 8
		w.out = append(w.out, byte(w.acc>>w.n))
	}
	if len(w.out) > w.limit {
		w.full = true
	}
}

// putFS writes count zeros and a one.
func (w *aecWriter) putFS(count uint64) {
	for ; count >= 32 && !w.full; count -= 32 {
		w.put(0, 32)
	}
	w.put(1, uint(count)+1)
}

// flush pads the last byte with zeros.
func (w *aecWriter) flush() {
	if w.n > 0 {
		w.out = append(w.out, byte(w.acc<<(8-w.n)))
		w.n = 0
	}
}
