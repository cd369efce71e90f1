package format

import "encoding/binary"

// Lookup3 is Bob Jenkins' lookup3 hashlittle, which HDF5 uses as the
// "metadata checksum" of every version-2-and-later structure.
func Lookup3(data []byte, initval uint32) uint32 {
	length := len(data)
	a := 0xdeadbeef + uint32(length) + initval
	b, c := a, a
	rot := func(x uint32, k uint) uint32 { return x<<k | x>>(32-k) }
	for length > 12 {
		a += binary.LittleEndian.Uint32(data[0:])
		b += binary.LittleEndian.Uint32(data[4:])
		c += binary.LittleEndian.Uint32(data[8:])
		a -= c
		a ^= rot(c, 4)
		c += b
		b -= a
		b ^= rot(a, 6)
		a += c
		c -= b
		c ^= rot(b, 8)
		b += a
		a -= c
		a ^= rot(c, 16)
		c += b
		b -= a
		b ^= rot(a, 19)
		a += c
		c -= b
		c ^= rot(b, 4)
		b += a
		data = data[12:]
		length -= 12
	}
	if length == 0 {
		return c
	}
	var tail [12]byte
	copy(tail[:], data)
	a += binary.LittleEndian.Uint32(tail[0:])
	b += binary.LittleEndian.Uint32(tail[4:])
	c += binary.LittleEndian.Uint32(tail[8:])
	c ^= b
	c -= rot(b, 14)
	a ^= c
	a -= rot(c, 11)
	b ^= a
	b -= rot(a, 25)
	c ^= b
	c -= rot(b, 16)
	a ^= c
	a -= rot(c, 4)
	b ^= a
	b -= rot(a, 14)
	c ^= b
	c -= rot(b, 24)
	return c
}

// VerifyChecksum checks that the last four bytes of block are the lookup3
// checksum of the bytes before them.
func VerifyChecksum(block []byte, addr uint64, what string) error {
	if len(block) < 4 {
		return Corruptf(addr, what, "too short for a checksum")
	}
	n := len(block) - 4
	want := binary.LittleEndian.Uint32(block[n:])
	if got := Lookup3(block[:n], 0); got != want {
		return Corruptf(addr, what, "checksum mismatch (stored 0x%08x, computed 0x%08x)", want, got)
	}
	return nil
}
