// Package fs presents an HDF5 file as a FUSE file system: groups are
// directories, datasets are files of their element bytes, attributes are
// extended attributes. It is the only package that knows go-fuse.
package fs

import (
	"log"
	"time"

	"github.com/h5mount/h5mount/h5"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Options configure a mount.
type Options struct {
	ReadOnly           bool
	AllowOther         bool
	DefaultPermissions bool
	Debug              bool      // log every FUSE request
	FSName             string    // shown as the mount's source (the HDF5 file path)
	FileMode           uint32    // permission bits of the HDF5 file; write bits dropped when ReadOnly
	UID, GID           uint32    // owner shown for every node (the HDF5 file's owner)
	FileTime           time.Time // times for objects that store none (the HDF5 file's mtime)
	Logger             *log.Logger
	Options            []string // extra -o options passed to the kernel
	// Compression is the filter pipeline of datasets made by open(O_CREAT).
	Compression []h5.Filter
	// Mountpoint is where the mount is, to recognise symlink targets that
	// name paths inside it.
	Mountpoint string
	// TextCacheBytes bounds the rendered text of datasets that read as
	// text (variable-length strings, ...), and ListingCacheBytes the link
	// lists of groups listed; zero for DefaultMetadataCacheBytes.
	TextCacheBytes, ListingCacheBytes int64
}

// DefaultMetadataCacheBytes is the text and listing caches' size for a
// mount given none.
const DefaultMetadataCacheBytes = 16 << 20

// Mount serves f at mountpoint and returns once the kernel has the mount.
// Call Wait on the server to block until it is unmounted.
func Mount(f *h5.File, mountpoint string, opts Options) (*fuse.Server, error) {
	return mount(f, mountpoint, opts)
}
