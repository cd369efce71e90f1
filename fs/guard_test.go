package fs

import (
	"bytes"
	"log"
	"strings"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
)

type panicking struct{ fuse.RawFileSystem }

func (panicking) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	var m map[string]int
	m[name] = 1 // a nil map: the kind of slip a bug makes
	return fuse.OK
}

func (panicking) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	panic("decoder bug")
}

// A panic inside a request answers EIO and leaves one log entry with the
// stack; the next request is served.
func TestGuardTurnsPanicsIntoEIO(t *testing.T) {
	var logged bytes.Buffer
	g := guarded{RawFileSystem: panicking{fuse.NewDefaultRawFileSystem()}, log: log.New(&logged, "", 0)}
	if s := g.Lookup(nil, &fuse.InHeader{}, "x", &fuse.EntryOut{}); s != fuse.EIO {
		t.Errorf("Lookup: %v, want EIO", s)
	}
	if _, s := g.Read(nil, &fuse.ReadIn{}, nil); s != fuse.EIO {
		t.Errorf("Read: %v, want EIO", s)
	}
	if s := g.GetAttr(nil, &fuse.GetAttrIn{}, &fuse.AttrOut{}); s != fuse.ENOSYS {
		t.Errorf("GetAttr after the panics: %v, want the default ENOSYS", s)
	}
	text := logged.String()
	if strings.Count(text, "internal error, answered EIO") != 2 || !strings.Contains(text, "LOOKUP x") || !strings.Contains(text, "decoder bug") || !strings.Contains(text, "guard_test.go") {
		t.Errorf("log:\n%s", text)
	}
}
