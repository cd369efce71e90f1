package fs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/h5mount/h5mount/h5"
	"github.com/h5mount/h5mount/xattr"
	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/hanwen/go-fuse/v2/splice"
	"golang.org/x/sys/unix"
)

// cacheTimeout is how long the kernel may trust names and attributes. A
// read-only mount's contents cannot change, so it is long.
const cacheTimeout = time.Hour

// filesystem is what every node shares.
type filesystem struct {
	file *h5.File
	opts Options
	log  *log.Logger
	done chan struct{} // closed once the server has stopped
	// generation counts changes of links, so that cached listings know
	// they are stale.
	generation atomic.Uint64
	// pushes bounds the chunks being handed to the kernel's page cache.
	pushes chan struct{}
	// texts holds rendered text of datasets read as text.
	texts *boundedCache[textKey, []byte]
	// listings holds the link lists of the groups listed last.
	listings *boundedCache[*groupNode, *linkSet]
}

func mount(f *h5.File, mountpoint string, opts Options) (*fuse.Server, error) {
	fsys := &filesystem{file: f, opts: opts, log: opts.Logger, pushes: make(chan struct{}, 2),
		texts:    newBoundedCache[textKey, []byte](cmp.Or(opts.TextCacheBytes, DefaultMetadataCacheBytes)),
		listings: newBoundedCache[*groupNode, *linkSet](cmp.Or(opts.ListingCacheBytes, DefaultMetadataCacheBytes))}
	if fsys.log == nil {
		fsys.log = log.New(io.Discard, "", 0)
	}

	rootGroup, err := f.Root()
	if err != nil {
		return nil, err
	}
	root := &groupNode{fsys: fsys, obj: rootGroup.Object, path: "/"}
	timeout := cacheTimeout
	if !opts.ReadOnly {
		// Writes change st_blocks; names stay put.
		timeout = time.Second
	}
	mo := fuse.MountOptions{
		FsName:       opts.FSName,
		Name:         "h5mount",
		AllowOther:   opts.AllowOther,
		Debug:        opts.Debug,
		MaxReadAhead: maxIO(),
		MaxWrite:     maxIO(),
		Options:      append([]string(nil), opts.Options...),
		// As root the kernel mount needs no fusermount3 helper.
		DirectMount: os.Geteuid() == 0,
	}
	if opts.ReadOnly {
		mo.Options = append(mo.Options, "ro")
	}
	// The tree checks no permissions itself: when other users may enter
	// the mount, the kernel must check the modes shown, or anyone could
	// write a file its modes keep from them.
	if opts.DefaultPermissions || opts.AllowOther {
		mo.Options = append(mo.Options, "default_permissions")
	}
	mo.DirectMountFlags = directMountFlags(mo.Options)
	raw := gofs.NewNodeFS(root, &gofs.Options{
		MountOptions:    mo,
		EntryTimeout:    &timeout,
		AttrTimeout:     &timeout,
		NegativeTimeout: &timeout,
		UID:             opts.UID,
		GID:             opts.GID,
		Logger:          opts.Logger,
		RootStableAttr:  &gofs.StableAttr{Ino: 1, Mode: syscall.S_IFDIR},
	})
	server, err := newServer(guarded{RawFileSystem: raw, log: fsys.log}, mountpoint, mo)
	if err != nil {
		return nil, err
	}
	go server.Serve()
	if err := server.WaitMount(); err != nil {
		return nil, err
	}
	raiseReadAhead(mountpoint, fsys.log)
	if !opts.ReadOnly {
		fsys.done = make(chan struct{})
		go fsys.flushPeriodically()
		go func() {
			server.Wait()
			close(fsys.done)
		}()
	}
	return server, nil
}

// maxIO is the largest read request the kernel is asked to send (and write
// request, but see newServer): 1 MiB, or a little less where a reply of
// that size would not fit the largest pipe (/proc/sys/fs/pipe-max-size,
// 1 MiB by default) with its header, so that contiguous data can still be
// spliced into the reply (go-fuse falls back to reading it into a buffer,
// and logs, when it cannot).
func maxIO() int {
	const most, least = 1 << 20, 256 << 10
	n := splice.MaxPipeSize() - spliceSlack
	if n >= most || n < least {
		return most
	}
	return n &^ (4096 - 1)
}

// wholeWrite is the write request size asked for where reads can keep
// theirs: dd's and cp's 1 MiB write(2) then reaches the server as one
// request, where maxIO splits it in two (1 MiB - 8 KiB, then 8 KiB), each
// paying a full round trip. It is the kernel's largest request.
const wholeWrite = 1 << 20

// newServer mounts with writes of wholeWrite bytes where reads can keep
// maxIO's limit. go-fuse gives reads the write limit through the max_read
// option, which it places after ours for fusermount3, where it wins, but
// before ours for a direct mount (root). So only a direct mount sends
// whole writes; when root may not mount directly, the mount goes through
// fusermount3, as go-fuse would itself, with requests of maxIO both ways.
func newServer(fsys fuse.RawFileSystem, mountpoint string, mo fuse.MountOptions) (*fuse.Server, error) {
	if mo.DirectMount && mo.MaxWrite < wholeWrite {
		direct := mo
		direct.DirectMountStrict = true
		direct.MaxWrite = wholeWrite
		direct.Options = append(slices.Clip(mo.Options), fmt.Sprintf("max_read=%d", mo.MaxWrite))
		server, err := fuse.NewServer(fsys, mountpoint, &direct)
		var refused syscall.Errno
		if err == nil || !errors.As(err, &refused) {
			return server, err
		}
		// mount(2) refused (no CAP_SYS_ADMIN in this namespace, say).
		mo.DirectMount = false
	}
	return fuse.NewServer(fsys, mountpoint, &mo)
}

// spliceSlack is what a spliced reply needs in its pipe besides the data:
// the reply header and a page (go-fuse's margin), and room for the partly
// filled pages of a read across two chunks stored apart (see pipeFits).
const spliceSlack = 3 * 4096

// readAheadKB is the kernel read-ahead window asked for the mount. The
// kernel starts a FUSE mount at 128 KiB, whatever the INIT reply says, so a
// sequential reader gets 128-256 KiB requests, one or two at a time: with
// a window of several 1 MiB requests (MaxWrite) there are four times fewer
// requests, and several are in flight at once, which keeps the chunk
// decoders of every core busy and the HDF5 file's own read-ahead going.
const readAheadKB = 4096

// raiseReadAhead sets the mount's read-ahead window through sysfs. Only
// root may; for anyone else the mount keeps the kernel's default.
func raiseReadAhead(mountpoint string, logger *log.Logger) {
	// The FUSE mount's backing device is named by its anonymous device
	// number. A plain stat would ask this server for the root's attributes
	// and leave them cached in the kernel, where a stat after the server
	// died would still find them: statx asking for nothing, without a
	// sync, reads only the device number.
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, mountpoint, unix.AT_STATX_DONT_SYNC, 0, &stx); err != nil {
		logger.Printf("read-ahead: %v", err)
		return
	}
	name := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", stx.Dev_major, stx.Dev_minor)
	if err := os.WriteFile(name, []byte(strconv.Itoa(readAheadKB)), 0); err != nil {
		logger.Printf("read-ahead stays at the kernel's default: %v", err)
	}
}

// flushInterval is how long a write may wait in memory before the mount
// writes it to the HDF5 file on its own.
const flushInterval = 5 * time.Second

// flushPeriodically writes pending changes back every few seconds, so that
// they do not wait for an fsync or the unmount.
func (fsys *filesystem) flushPeriodically() {
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-fsys.done:
			return
		case <-t.C:
			if err := fsys.file.Flush(); err != nil {
				fsys.log.Printf("periodic flush: %v", err)
			}
		}
	}
}

// directMountFlags turns the mount options that are per-mount flags into
// mount(2) flags: fusermount3 does this for a normal user, and a direct
// mount by root must do it itself (go-fuse passes the rest as data).
func directMountFlags(options []string) uintptr {
	flags := uintptr(syscall.MS_NOSUID | syscall.MS_NODEV)
	for _, o := range options {
		switch o {
		case "ro":
			flags |= syscall.MS_RDONLY
		case "noatime":
			flags |= syscall.MS_NOATIME
		case "nodiratime":
			flags |= syscall.MS_NODIRATIME
		case "sync":
			flags |= syscall.MS_SYNCHRONOUS
		case "dirsync":
			flags |= syscall.MS_DIRSYNC
		}
	}
	return flags
}

// errno turns an engine error into an errno and logs it once, naming the
// object path.
func (fsys *filesystem) errno(op, p string, err error) syscall.Errno {
	if err == nil {
		return 0
	}
	e := syscall.EIO
	switch {
	case errors.Is(err, h5.ErrNotFound):
		return syscall.ENOENT // an ordinary answer, not worth a log line
	case errors.Is(err, h5.ErrUnsupported):
		e = syscall.EOPNOTSUPP
	case errors.Is(err, h5.ErrOutOfRange):
		e = syscall.EINVAL
	case errors.Is(err, xattr.ErrTooBig):
		e = syscall.E2BIG
	case errors.Is(err, h5.ErrReadOnly):
		e = syscall.EROFS
	case errors.Is(err, h5.ErrNoSpace):
		e = syscall.ENOSPC
	case errors.Is(err, h5.ErrNotWritable):
		e = syscall.EPERM
	case errors.Is(err, h5.ErrExists):
		e = syscall.EEXIST
	case errors.Is(err, h5.ErrNotEmpty):
		e = syscall.ENOTEMPTY
	case errors.Is(err, h5.ErrInvalidName):
		e = syscall.EINVAL
	case errors.Is(err, h5.ErrInvalid), errors.Is(err, xattr.ErrInvalid):
		e = syscall.EINVAL
	}
	fsys.log.Printf("%s %s: %v (%s)", op, p, err, errnoName(e))
	return e
}

// errnoNames are the symbolic names of the errnos the mount answers, as a
// user would look them up in errno(3).
var errnoNames = map[syscall.Errno]string{
	syscall.EIO: "EIO", syscall.ENOENT: "ENOENT", syscall.EOPNOTSUPP: "EOPNOTSUPP",
	syscall.EINVAL: "EINVAL", syscall.E2BIG: "E2BIG", syscall.EROFS: "EROFS",
	syscall.ENOSPC: "ENOSPC", syscall.EPERM: "EPERM", syscall.EEXIST: "EEXIST",
	syscall.ENOTEMPTY: "ENOTEMPTY", syscall.ENOTDIR: "ENOTDIR", syscall.ENODATA: "ENODATA",
	syscall.ERANGE: "ERANGE", syscall.EISDIR: "EISDIR", syscall.EACCES: "EACCES",
}

func errnoName(e syscall.Errno) string {
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return e.Error()
}

// mode gives permission bits from the HDF5 file's own, without write bits
// on a read-only mount.
func (fsys *filesystem) perm(dir bool) uint32 {
	m := fsys.opts.FileMode & 0o777
	if m == 0 {
		m = 0o644
	}
	if fsys.opts.ReadOnly {
		m &^= 0o222
	}
	if dir {
		// Directories are searchable where they are readable.
		m |= (m & 0o444) >> 2
	}
	return m
}

// fillTimes sets an object's times: its stored modification time, else the
// HDF5 file's.
func (fsys *filesystem) fillTimes(o *h5.Object, a *fuse.Attr) {
	t := fsys.opts.FileTime
	if o != nil {
		if mt, ok := o.ModTime(); ok {
			t = mt
		}
	}
	a.SetTimes(&t, &t, &t)
	a.Uid, a.Gid = fsys.opts.UID, fsys.opts.GID
}

// pathIno gives a node reached by a path (not by an object) an inode number
// of its own: a hash with the top bit set, apart from object addresses. It
// hashes what the node shows besides the path (a link's target, a group's
// address): go-fuse hands a lookup the inode it already has under the
// number, and a link that replaced another at the same path must not be
// taken for the one it replaced (the old soft link's target was read, the
// old group listed).
func pathIno(p, shows string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(p))
	h.Write([]byte{0})
	h.Write([]byte(shows))
	return h.Sum64() | 1<<63
}

func childPath(dir, name string) string { return path.Join(dir, name) }

// statfs reports the HDF5 file as the space in use and, on a read-write
// mount, the free space of the file system holding it as what writes may
// still take, so df tells how full the mount is and how far it can grow.
func (fsys *filesystem) statfs(out *fuse.StatfsOut) {
	const block = 4096
	out.Bsize = block
	out.Frsize = block
	out.NameLen = 1024 // as listable allows
	var used uint64
	if fh, ok := fsys.file.OSFile(); ok {
		if st, err := fh.Stat(); err == nil {
			used = (uint64(st.Size()) + block - 1) / block
		}
	}
	var free uint64
	if p := fsys.file.Path(); p != "" && !fsys.opts.ReadOnly {
		var st syscall.Statfs_t
		if syscall.Statfs(filepath.Dir(p), &st) == nil {
			free = st.Bavail * uint64(st.Bsize) / block
		}
	}
	out.Blocks = used + free
	out.Bfree = free
	out.Bavail = free
}

var _ = (gofs.NodeStatfser)((*groupNode)(nil))

func (g *groupNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	g.fsys.statfs(out)
	return 0
}
