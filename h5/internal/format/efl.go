package format

// ExternalFile is one slot of an external data files message: Size bytes
// of the dataset's contiguous byte stream stored in file Name from Offset.
type ExternalFile struct {
	Name   string
	Offset uint64
	Size   uint64 // Unlimited: to the end of the stream
}

// maxExternalFiles bounds the slots a message may claim.
const maxExternalFiles = 1 << 16

// DecodeExternalFiles decodes an external data files message (type 0x07)
// and resolves its names in the local heap it points to.
func DecodeExternalFiles(r *Reader, buf []byte, addr uint64) ([]ExternalFile, error) {
	const what = "external data files message"
	d := NewDecoder(buf, addr, what, r.Sizes)
	if v := d.U8(); v != 1 && d.Err() == nil {
		return nil, Unsupportedf(addr, what, "version %d", v)
	}
	d.Skip(3)
	d.U16() // allocated slots
	used := int(d.U16())
	heapAddr := d.Offset()
	if err := d.Err(); err != nil {
		return nil, err
	}
	slot := 3 * r.Sizes.Length
	if used > maxExternalFiles || used*slot > d.Remaining() {
		return nil, Corruptf(addr, what, "%d slots in %d bytes", used, d.Remaining())
	}
	if used == 0 {
		return nil, Corruptf(addr, what, "no slots")
	}
	heap, err := ReadLocalHeap(r, heapAddr)
	if err != nil {
		return nil, err
	}
	files := make([]ExternalFile, used)
	for i := range files {
		nameOff := d.Length()
		files[i].Offset = d.Length()
		files[i].Size = d.Length()
		if d.Err() != nil {
			return nil, d.Err()
		}
		if r.Sizes.Length < 8 && files[i].Size == 1<<(8*uint(r.Sizes.Length))-1 {
			files[i].Size = Unlimited
		}
		if files[i].Name, err = heap.String(nameOff); err != nil {
			return nil, err
		}
		if files[i].Name == "" {
			return nil, Corruptf(addr, what, "slot %d has no file name", i)
		}
		if files[i].Size == Unlimited && i != used-1 {
			return nil, Corruptf(addr, what, "unlimited slot %d is not the last", i)
		}
	}
	return files, nil
}
