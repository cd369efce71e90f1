package h5

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// TestMessageEncodersMatchLibhdf5 decodes every message of the types the
// engine writes, in every object header of the test files (written by
// libhdf5 in both libver styles), encodes it again and requires the bytes
// libhdf5 wrote.
func TestMessageEncodersMatchLibhdf5(t *testing.T) {
	var files []string
	for _, pat := range []string{"../testdata/*.h5", "../testdata/*/*.h5"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) < 50 {
		t.Fatalf("only %d test files", len(files))
	}
	checked := map[uint16]int{}
	for _, name := range files {
		f, err := OpenFile(name, nil)
		if err != nil {
			continue
		}
		seen := map[uint64]bool{}
		var walk func(o *Object)
		walk = func(o *Object) {
			if seen[o.Addr] {
				return
			}
			seen[o.Addr] = true
			for _, m := range o.header().Messages {
				if m.Shared() {
					continue
				}
				if got, want, ok := reencode(t, f, &m); ok {
					checked[m.Type]++
					if !bytes.Equal(got, want) {
						t.Errorf("%s: object 0x%x: message type %#x re-encodes as\n%x\nlibhdf5 wrote\n%x", name, o.Addr, m.Type, got, want)
					}
				}
			}
			if o.Kind() != KindGroup {
				return
			}
			g, err := o.AsGroup()
			if err != nil {
				return
			}
			links, _ := g.Links()
			for _, l := range links {
				if l.Type == LinkHard {
					if c, err := f.Object(l.Addr); err == nil {
						walk(c)
					}
				}
			}
		}
		if root, err := f.Root(); err == nil {
			walk(root.Object)
		}
		f.Close()
	}
	for _, typ := range []uint16{format.MsgDataspace, format.MsgDatatype, format.MsgFillValue, format.MsgFilterPipeline,
		format.MsgLink, format.MsgLinkInfo, format.MsgGroupInfo, format.MsgAttribute, format.MsgSymbolTable} {
		if checked[typ] == 0 {
			t.Errorf("no message of type %#x checked", typ)
		}
	}
	t.Logf("checked: %v", checked)
	_ = os.Stderr
}

// reencode decodes m and encodes it again; want is the part of the stored
// body the encoding must equal (a body may be padded).
func reencode(t *testing.T, f *File, m *format.Message) (got, want []byte, ok bool) {
	sizes := f.r.Sizes
	var err error
	switch m.Type {
	case format.MsgDataspace:
		var s *format.Dataspace
		if s, err = format.DecodeDataspace(m.Data, m.Addr, sizes); err == nil {
			got = format.EncodeDataspace(s, sizes)
		}
	case format.MsgDatatype:
		var dt *format.Datatype
		if dt, err = format.DecodeDatatype(m.Data, m.Addr); err == nil {
			stripRaw(dt)
			got, err = format.EncodeDatatype(dt)
		}
	case format.MsgFillValue:
		var fv *format.FillValue
		if fv, err = format.DecodeFillValue(m.Data, m.Addr); err == nil {
			got = format.EncodeFillValue(fv)
		}
	case format.MsgFilterPipeline:
		var fs []format.Filter
		if fs, err = format.DecodeFilterPipeline(m.Data, m.Addr); err == nil {
			got = format.EncodeFilterPipeline(m.Data[0], fs)
		}
	case format.MsgLink:
		var l *format.Link
		if l, err = format.DecodeLink(m.Data, m.Addr, sizes); err == nil {
			got = format.EncodeLink(l, sizes)
		}
	case format.MsgLinkInfo:
		var li *format.LinkInfo
		if li, err = format.DecodeLinkInfo(m.Data, m.Addr, sizes); err == nil {
			got = format.EncodeLinkInfo(li, sizes)
		}
	case format.MsgGroupInfo:
		var gi *format.GroupInfo
		if gi, err = format.DecodeGroupInfo(m.Data, m.Addr); err == nil {
			got = format.EncodeGroupInfo(gi)
		}
	case format.MsgSymbolTable:
		var st *format.SymbolTableMessage
		if st, err = format.DecodeSymbolTableMessage(m.Data, m.Addr, sizes); err == nil {
			got = format.EncodeSymbolTableMessage(st, sizes)
		}
	case format.MsgAttribute:
		var a *format.AttributeMessage
		if a, err = format.DecodeAttribute(m.Data, m.Addr, sizes); err == nil && a.TypeShared == nil && a.SpaceShared == nil {
			stripRaw(a.Type)
			got, err = format.EncodeAttribute(a, sizes)
		} else if err == nil {
			return nil, nil, false
		}
	default:
		return nil, nil, false
	}
	if err != nil {
		return nil, nil, false
	}
	if len(got) > len(m.Data) {
		return got, m.Data, true
	}
	return got, m.Data[:len(got)], true
}

// stripRaw forgets the stored encoding of a type and its parts, so that
// the encoder builds it from the decoded fields.
func stripRaw(t *format.Datatype) {
	if t == nil {
		return
	}
	t.Raw = nil
	stripRaw(t.Base)
	for _, m := range t.Members {
		stripRaw(m.Type)
	}
}
