package format

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

// DecodeAttribute decodes an attribute message.
func DecodeAttribute(buf []byte, addr uint64, sizes Sizes) (*AttributeMessage, error) {
	d := NewDecoder(buf, addr, "attribute message", sizes)
	a := &AttributeMessage{Version: d.U8()}
	flags := uint8(0)
	switch a.Version {
	case 1:
		d.Skip(1)
	case 2, 3:
		flags = d.U8()
	default:
		return nil, Corruptf(addr, "attribute message", "version %d", a.Version)
	}
	nameLen := int(d.U16())
	typeLen := int(d.U16())
	spaceLen := int(d.U16())
	if a.Version == 3 {
		a.CharSet = d.U8()
	}
	pad := func(n int) int {
		if a.Version == 1 {
			return (n + 7) &^ 7
		}
		return n
	}
	name := d.Bytes(pad(nameLen))
	if name != nil && nameLen > 0 {
		name = name[:nameLen]
		if name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		a.Name = string(name)
	}
	typeBuf := d.Bytes(pad(typeLen))
	typeAddr := d.Addr()
	spaceBuf := d.Bytes(pad(spaceLen))
	if err := d.Err(); err != nil {
		return nil, err
	}
	var err error
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
