package fs

import (
	"log"
	"runtime/debug"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// guarded keeps a bug from taking the mount down: go-fuse runs each request
// on a goroutine of its own and does not recover, so one panic in the
// engine (a damaged file it has never seen, say) would end the process,
// leave the mount point dead ("Transport endpoint is not connected") and
// lose the writes waiting in memory. Instead the request answers EIO and
// the log gets the panic and its stack, once; every other request, and
// every other file, carries on.
type guarded struct {
	fuse.RawFileSystem
	log *log.Logger
}

func (g guarded) survive(op string, status *fuse.Status) {
	if r := recover(); r != nil {
		g.log.Printf("%s: internal error, answered EIO (please report): %v\n%s", op, r, debug.Stack())
		*status = fuse.EIO
	}
}

func (g guarded) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) (s fuse.Status) {
	defer g.survive("LOOKUP "+name, &s)
	return g.RawFileSystem.Lookup(cancel, h, name, out)
}

func (g guarded) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) (s fuse.Status) {
	defer g.survive("GETATTR", &s)
	return g.RawFileSystem.GetAttr(cancel, in, out)
}

func (g guarded) SetAttr(cancel <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) (s fuse.Status) {
	defer g.survive("SETATTR", &s)
	return g.RawFileSystem.SetAttr(cancel, in, out)
}

func (g guarded) Mknod(cancel <-chan struct{}, in *fuse.MknodIn, name string, out *fuse.EntryOut) (s fuse.Status) {
	defer g.survive("MKNOD "+name, &s)
	return g.RawFileSystem.Mknod(cancel, in, name, out)
}

func (g guarded) Mkdir(cancel <-chan struct{}, in *fuse.MkdirIn, name string, out *fuse.EntryOut) (s fuse.Status) {
	defer g.survive("MKDIR "+name, &s)
	return g.RawFileSystem.Mkdir(cancel, in, name, out)
}

func (g guarded) Unlink(cancel <-chan struct{}, h *fuse.InHeader, name string) (s fuse.Status) {
	defer g.survive("UNLINK "+name, &s)
	return g.RawFileSystem.Unlink(cancel, h, name)
}

func (g guarded) Rmdir(cancel <-chan struct{}, h *fuse.InHeader, name string) (s fuse.Status) {
	defer g.survive("RMDIR "+name, &s)
	return g.RawFileSystem.Rmdir(cancel, h, name)
}

func (g guarded) Rename(cancel <-chan struct{}, in *fuse.RenameIn, oldName, newName string) (s fuse.Status) {
	defer g.survive("RENAME "+oldName, &s)
	return g.RawFileSystem.Rename(cancel, in, oldName, newName)
}

func (g guarded) Link(cancel <-chan struct{}, in *fuse.LinkIn, name string, out *fuse.EntryOut) (s fuse.Status) {
	defer g.survive("LINK "+name, &s)
	return g.RawFileSystem.Link(cancel, in, name, out)
}

func (g guarded) Symlink(cancel <-chan struct{}, h *fuse.InHeader, target, name string, out *fuse.EntryOut) (s fuse.Status) {
	defer g.survive("SYMLINK "+name, &s)
	return g.RawFileSystem.Symlink(cancel, h, target, name, out)
}

func (g guarded) Readlink(cancel <-chan struct{}, h *fuse.InHeader) (out []byte, s fuse.Status) {
	defer g.survive("READLINK", &s)
	return g.RawFileSystem.Readlink(cancel, h)
}

func (g guarded) GetXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string, dest []byte) (n uint32, s fuse.Status) {
	defer g.survive("GETXATTR "+attr, &s)
	return g.RawFileSystem.GetXAttr(cancel, h, attr, dest)
}

func (g guarded) ListXAttr(cancel <-chan struct{}, h *fuse.InHeader, dest []byte) (n uint32, s fuse.Status) {
	defer g.survive("LISTXATTR", &s)
	return g.RawFileSystem.ListXAttr(cancel, h, dest)
}

func (g guarded) SetXAttr(cancel <-chan struct{}, in *fuse.SetXAttrIn, attr string, data []byte) (s fuse.Status) {
	defer g.survive("SETXATTR "+attr, &s)
	return g.RawFileSystem.SetXAttr(cancel, in, attr, data)
}

func (g guarded) RemoveXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string) (s fuse.Status) {
	defer g.survive("REMOVEXATTR "+attr, &s)
	return g.RawFileSystem.RemoveXAttr(cancel, h, attr)
}

func (g guarded) Create(cancel <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) (s fuse.Status) {
	defer g.survive("CREATE "+name, &s)
	return g.RawFileSystem.Create(cancel, in, name, out)
}

func (g guarded) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) (s fuse.Status) {
	defer g.survive("OPEN", &s)
	return g.RawFileSystem.Open(cancel, in, out)
}

func (g guarded) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (r fuse.ReadResult, s fuse.Status) {
	defer g.survive("READ", &s)
	return g.RawFileSystem.Read(cancel, in, buf)
}

func (g guarded) Lseek(cancel <-chan struct{}, in *fuse.LseekIn, out *fuse.LseekOut) (s fuse.Status) {
	defer g.survive("LSEEK", &s)
	return g.RawFileSystem.Lseek(cancel, in, out)
}

func (g guarded) Write(cancel <-chan struct{}, in *fuse.WriteIn, data []byte) (n uint32, s fuse.Status) {
	defer g.survive("WRITE", &s)
	return g.RawFileSystem.Write(cancel, in, data)
}

func (g guarded) Flush(cancel <-chan struct{}, in *fuse.FlushIn) (s fuse.Status) {
	defer g.survive("FLUSH", &s)
	return g.RawFileSystem.Flush(cancel, in)
}

func (g guarded) Fsync(cancel <-chan struct{}, in *fuse.FsyncIn) (s fuse.Status) {
	defer g.survive("FSYNC", &s)
	return g.RawFileSystem.Fsync(cancel, in)
}

func (g guarded) Release(cancel <-chan struct{}, in *fuse.ReleaseIn) {
	var s fuse.Status
	defer g.survive("RELEASE", &s)
	g.RawFileSystem.Release(cancel, in)
}

func (g guarded) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) (s fuse.Status) {
	defer g.survive("OPENDIR", &s)
	return g.RawFileSystem.OpenDir(cancel, in, out)
}

func (g guarded) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) (s fuse.Status) {
	defer g.survive("READDIR", &s)
	return g.RawFileSystem.ReadDir(cancel, in, out)
}

func (g guarded) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) (s fuse.Status) {
	defer g.survive("READDIRPLUS", &s)
	return g.RawFileSystem.ReadDirPlus(cancel, in, out)
}

func (g guarded) FsyncDir(cancel <-chan struct{}, in *fuse.FsyncIn) (s fuse.Status) {
	defer g.survive("FSYNCDIR", &s)
	return g.RawFileSystem.FsyncDir(cancel, in)
}

func (g guarded) StatFs(cancel <-chan struct{}, in *fuse.InHeader, out *fuse.StatfsOut) (s fuse.Status) {
	defer g.survive("STATFS", &s)
	return g.RawFileSystem.StatFs(cancel, in, out)
}
