package format

import "encoding/binary"

// AttributeMessage is a decoded attribute message. Its datatype and
// dataspace are decoded; Data holds the raw stored value.
type AttributeMessage struct {
	Version       uint8
	Name          string
	CharSet       uint8
	Type          *Datatype
	TypeShared    *SharedMessage
	Space         *Dataspace     // nil when SpaceShared is set
	SpaceShared   *SharedMessage // a dataspace kept elsewhere
	Data          []byte
	CreationOrder uint16
	Raw           []byte
}

// attributeHead is what an attribute message says before its datatype.
type attributeHead struct {
	flags             uint8
	typeLen, spaceLen int
	version1          bool // fields padded to 8 bytes
}

func (h attributeHead) pad(n int) int {
	if h.version1 {
		return (n + 7) &^ 7
	}
	return n
}

// decodeAttributeHead decodes an attribute message up to and with its name.
func decodeAttributeHead(d *Decoder, addr uint64) (*AttributeMessage, attributeHead, error) {
	a := &AttributeMessage{Version: d.U8()}
	var h attributeHead
	switch a.Version {
	case 1:
		d.Skip(1)
		h.version1 = true
	case 2, 3:
		h.flags = d.U8()
	default:
		return nil, h, Corruptf(addr, "attribute message", "version %d", a.Version)
	}
	nameLen := int(d.U16())
	h.typeLen = int(d.U16())
	h.spaceLen = int(d.U16())
	if a.Version == 3 {
		a.CharSet = d.U8()
	}
	name := d.Bytes(h.pad(nameLen))
	if name != nil && nameLen > 0 {
		name = name[:nameLen]
		if name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		a.Name = string(name)
	}
	return a, h, d.Err()
}

// AttributeName is the name of the attribute an attribute message holds
// (in buf's memory), read without decoding the rest or allocating: a
// lookup reads the names of every attribute in a header. The fields before
// it are as decodeAttributeHead reads them.
func AttributeName(buf []byte, addr uint64) ([]byte, error) {
	start := 8
	switch {
	case len(buf) < 8:
		return nil, Corruptf(addr, "attribute message", "%d bytes", len(buf))
	case buf[0] == 3:
		start = 9 // after the character set
	case buf[0] != 1 && buf[0] != 2:
		return nil, Corruptf(addr, "attribute message", "version %d", buf[0])
	}
	n := int(binary.LittleEndian.Uint16(buf[2:]))
	if n > len(buf)-start {
		return nil, Corruptf(addr, "attribute message", "name of %d bytes in %d", n, len(buf))
	}
	name := buf[start : start+n]
	if n > 0 && name[n-1] == 0 {
		name = name[:n-1]
	}
	return name, nil
}

// DecodeAttribute decodes an attribute message.
func DecodeAttribute(buf []byte, addr uint64, sizes Sizes) (*AttributeMessage, error) {
	d := NewDecoder(buf, addr, "attribute message", sizes)
	a, h, err := decodeAttributeHead(d, addr)
	if err != nil {
		return nil, err
	}
	flags := h.flags
	typeBuf := d.Bytes(h.pad(h.typeLen))
	typeAddr := d.Addr()
	spaceBuf := d.Bytes(h.pad(h.spaceLen))
	if err := d.Err(); err != nil {
		return nil, err
	}
	if flags&1 != 0 {
		a.TypeShared, err = DecodeSharedMessage(typeBuf, addr, sizes)
	} else {
		a.Type, err = DecodeDatatype(typeBuf, addr)
	}
	if err != nil {
		return nil, err
	}
	if flags&^3 != 0 {
		return nil, Corruptf(addr, "attribute message", "unknown flags 0x%x", flags)
	}
	if flags&2 != 0 {
		a.SpaceShared, err = DecodeSharedMessage(spaceBuf, typeAddr, sizes)
	} else {
		a.Space, err = DecodeDataspace(spaceBuf, typeAddr, sizes)
	}
	if err != nil {
		return nil, err
	}
	a.Data = d.Bytes(d.Remaining())
	a.Raw = append([]byte(nil), buf...)
	return a, nil
}
