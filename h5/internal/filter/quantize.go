package filter

import (
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// The quantizers of the Community Codec Repository and HDF Group's
// hdf5_plugins: BitGroom (32022), Granular BitRound (32023) and BitRound
// (32032). On the way in they round floats to a number of significant
// digits or bits, which leaves long runs of zero bits for a compressor
// after them; what they store are ordinary IEEE floats, so their decoders
// hand the bytes back as they are (the plugins' reverse path returns its
// input). Written through the engine, a chunk goes through them as it is:
// the values stay as written, unrounded, which is what the decoders, the
// plugins' included, read back — nothing written is lost.
const (
	BitGroom         = 32022
	GranularBitRound = 32023
	BitRound         = 32032
)

type quantizer struct{}

func init() {
	for _, id := range []uint16{BitGroom, GranularBitRound, BitRound} {
		Register(id, quantizer{})
		RegisterEncoder(id, quantizer{})
	}
}

func (quantizer) Decode(f *format.Filter, in []byte, maxOut int) ([]byte, error) {
	if len(in) > maxOut {
		return nil, fmt.Errorf("%s: %d bytes stored for a chunk of %d: %w", Name(f), len(in), maxOut, format.ErrCorrupt)
	}
	return in, nil
}

func (quantizer) Encode(_ *format.Filter, in []byte) ([]byte, error) { return in, nil }
