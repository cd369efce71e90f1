// Package remote reads objects of S3-compatible stores and HTTP(S) servers
// as an io.ReaderAt, through a block cache in memory and, optionally, on
// disk. It knows nothing of HDF5 or FUSE: h5.Open reads the file through it.
package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultBlockSize  = 64 << 10
	DefaultHeadBytes  = 4 << 20
	DefaultCacheBytes = 64 << 20
	DefaultReadAhead  = 256 << 10
	// maxReadAhead bounds how far a forward-moving reader's read-ahead
	// grows.
	maxReadAhead = 8 << 20
	// maxRequest splits long reads into requests run side by side.
	maxRequest = 8 << 20
	// maxParallel bounds the requests one read has in flight at once.
	maxParallel = 8
)

// Options configure a remote object.
type Options struct {
	S3         S3Options
	BlockSize  int64  // cache granularity; every request is whole blocks
	HeadBytes  int64  // fetched at open, and kept for the mount's life
	CacheBytes int64  // memory for blocks beyond the head
	CacheDir   string // keep blocks on disk here too ("" for none)
	// ReadAhead is the least a request fetches from a miss on; it doubles,
	// up to 8 MiB, while reads keep moving forward through the object.
	// Negative: no read-ahead.
	ReadAhead int64
	// Retries is how many times a failing request is tried in all.
	Retries    int
	RetryPause time.Duration // the first pause between tries; each next doubles
	Logger     *log.Logger
}

// IsURL tells whether name is an object URL this package opens, rather
// than a local path.
func IsURL(name string) bool {
	for _, p := range []string{"s3://", "http://", "https://"} {
		if len(name) > len(p) && strings.EqualFold(name[:len(p)], p) {
			return true
		}
	}
	return false
}

// Reader reads one object; it is safe for concurrent use.
type Reader struct {
	url  string
	be   backend
	info objectInfo
	opt  Options
	log  *log.Logger

	head  []byte // the object's first bytes, fetched at open
	mem   *blockCache
	disk  *diskCache // nil without a cache directory
	retry retryPolicy

	mu       sync.Mutex
	inflight map[int64]*flight // blocks being fetched
	lastEnd  int64             // where the last fetch ended, for read-ahead
	window   int64             // the current read-ahead

	requests atomic.Int64
	fetched  atomic.Int64
}

// flight is one block being fetched; readers that want it wait on done.
type flight struct {
	done chan struct{}
	data []byte
	err  error
}

// Open opens the object at rawURL (s3://BUCKET/KEY, http:// or https://)
// and fetches its first Options.HeadBytes, which tells its size.
func Open(ctx context.Context, rawURL string, opt Options) (*Reader, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rawURL, err)
	}
	var be backend
	switch strings.ToLower(u.Scheme) {
	case "s3":
		if be, err = newS3Backend(ctx, u, opt.S3); err != nil {
			return nil, err
		}
	case "http", "https":
		be = &httpBackend{url: rawURL, client: newHTTPClient()}
	default:
		return nil, fmt.Errorf("%s: %w: unknown scheme %q (s3, http, https)", rawURL, ErrProtocol, u.Scheme)
	}
	return open(ctx, rawURL, be, opt)
}

func open(ctx context.Context, name string, be backend, opt Options) (*Reader, error) {
	if opt.BlockSize <= 0 {
		opt.BlockSize = DefaultBlockSize
	}
	if opt.HeadBytes <= 0 {
		opt.HeadBytes = DefaultHeadBytes
	}
	opt.HeadBytes = (opt.HeadBytes + opt.BlockSize - 1) / opt.BlockSize * opt.BlockSize
	if opt.CacheBytes <= 0 {
		opt.CacheBytes = DefaultCacheBytes
	}
	if opt.ReadAhead == 0 {
		opt.ReadAhead = DefaultReadAhead
	}
	if opt.Retries <= 0 {
		opt.Retries = 5
	}
	if opt.RetryPause <= 0 {
		opt.RetryPause = 100 * time.Millisecond
	}
	r := &Reader{
		url: name, be: be, opt: opt, log: opt.Logger,
		mem:      newBlockCache(opt.CacheBytes),
		retry:    retryPolicy{attempts: opt.Retries, base: opt.RetryPause, max: 5 * time.Second},
		inflight: map[int64]*flight{},
		window:   opt.ReadAhead,
	}
	if r.log == nil {
		r.log = log.New(io.Discard, "", 0)
	}
	if opt.CacheDir != "" {
		d, err := openDiskCache(opt.CacheDir, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		r.disk = d
	}
	if err := r.fetchHead(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// fetchHead makes the first request: the object's first bytes, its size
// and its version. With a disk cache that already holds this object, the
// request is conditional and, when the object is unchanged, moves nothing.
func (r *Reader) fetchHead(ctx context.Context) error {
	req := rangeRequest{Off: 0, N: r.opt.HeadBytes}
	var meta diskMeta
	haveMeta := false
	if r.disk != nil {
		if meta, haveMeta = r.disk.meta(); haveMeta && meta.ETag != "" && meta.BlockSize == r.opt.BlockSize {
			req.IfNoneMatch = meta.ETag
		}
	}
	resp, err := r.request(ctx, req)
	if err != nil {
		return err
	}
	if resp.NotModified {
		want := min(meta.Size, r.opt.HeadBytes)
		if head, ok := r.disk.read("head", want); ok {
			r.head = head
			r.info = objectInfo{Size: meta.Size, ETag: meta.ETag, Version: meta.Version, LastModified: meta.LastModified}
			return nil
		}
		// The head file is gone: ask again, unconditionally.
		req.IfNoneMatch = ""
		if resp, err = r.request(ctx, req); err != nil {
			return err
		}
		if resp.NotModified {
			return fmt.Errorf("%s: %w: 304 Not Modified to an unconditional request", r.url, ErrProtocol)
		}
	}
	r.head, r.info = resp.Data, resp.Info
	if r.disk != nil {
		key := versionKey(r.url, r.info)
		if !haveMeta || meta.Key != key || meta.BlockSize != r.opt.BlockSize {
			m := diskMeta{URL: r.url, Key: key, Size: r.info.Size, ETag: r.info.ETag, Version: r.info.Version,
				LastModified: r.info.LastModified, BlockSize: r.opt.BlockSize}
			if err := r.disk.reset(m); err != nil {
				r.log.Printf("%s: disk cache off: %v", r.url, err)
				r.disk = nil
			}
		}
		if r.disk != nil {
			if err := r.disk.write("head", r.head); err != nil {
				r.log.Printf("%s: %v", r.url, err)
			}
		}
	}
	return nil
}

// request makes one logical request, retrying transient failures.
func (r *Reader) request(ctx context.Context, req rangeRequest) (rangeResponse, error) {
	var resp rangeResponse
	err := r.retry.do(ctx, func() error {
		// A stalled transfer is a transient failure too, given time
		// in proportion to the bytes at a slow 256 KiB/s.
		actx, cancel := context.WithTimeout(ctx, 30*time.Second+time.Duration(req.N/(256<<10))*time.Second)
		defer cancel()
		r.requests.Add(1)
		var err error
		resp, err = r.be.get(actx, req)
		if err != nil && ctx.Err() == nil && actx.Err() != nil {
			err = transient(err)
		}
		r.fetched.Add(int64(len(resp.Data)))
		return err
	})
	if err != nil {
		return rangeResponse{}, fmt.Errorf("%s: %w", r.url, err)
	}
	return resp, nil
}

// Size is the object's size in bytes.
func (r *Reader) Size() int64 { return r.info.Size }

// LastModified is the object's modification time, or the zero time.
func (r *Reader) LastModified() time.Time { return r.info.LastModified }

// URL is the object's URL.
func (r *Reader) URL() string { return r.url }

// Stats counts the requests made (retries included) and the bytes they
// brought.
func (r *Reader) Stats() (requests, bytes int64) { return r.requests.Load(), r.fetched.Load() }

// Close releases the reader.
func (r *Reader) Close() error { return nil }

// ReadAt reads len(p) bytes at off. A failure fails this read only: the
// next one asks the server again.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s: negative offset %d: %w", r.url, off, ErrProtocol)
	}
	if off >= r.info.Size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.info.Size-off))
	dst := p[:n]
	if off < int64(len(r.head)) {
		c := copy(dst, r.head[off:])
		dst, off = dst[c:], off+int64(c)
	}
	if len(dst) > 0 {
		if err := r.readBlocks(dst, off); err != nil {
			return 0, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readBlocks fills dst from the blocks covering [off, off+len(dst)):
// cached ones are copied, blocks another read is fetching are waited for,
// and the missing ones are fetched in runs of adjacent blocks, one request
// per run, the runs side by side.
func (r *Reader) readBlocks(dst []byte, off int64) error {
	bs := r.opt.BlockSize
	first, last := off/bs, (off+int64(len(dst))-1)/bs
	blocks := make([][]byte, last-first+1)
	var waits []*flight
	var waitIdx []int64
	var runs [][2]int64 // [first, last] block of each run to fetch
	var own []*flight

	r.mu.Lock()
	for i := first; i <= last; i++ {
		if data, ok := r.mem.get(i); ok {
			blocks[i-first] = data
			continue
		}
		if f := r.inflight[i]; f != nil {
			waits, waitIdx = append(waits, f), append(waitIdx, i)
			continue
		}
		f := &flight{done: make(chan struct{})}
		r.inflight[i] = f
		own = append(own, f)
		if n := len(runs); n > 0 && runs[n-1][1] == i-1 {
			runs[n-1][1] = i
		} else {
			runs = append(runs, [2]int64{i, i})
		}
	}
	var extra []*flight
	if len(runs) > 0 && r.opt.ReadAhead > 0 {
		extra = r.extendLocked(&runs[len(runs)-1], last)
	}
	r.mu.Unlock()

	flights := append(own, extra...)
	var err error
	if len(runs) > 0 {
		err = r.fetchRuns(runs, flights)
	}
	// Our own flights are done: their blocks are in them.
	k := 0
	for _, run := range runs {
		for i := run[0]; i <= run[1]; i, k = i+1, k+1 {
			if i <= last {
				blocks[i-first] = flights[k].data
			}
		}
	}
	for j, f := range waits {
		<-f.done
		if f.err != nil && err == nil {
			err = f.err
		}
		blocks[waitIdx[j]-first] = f.data
	}
	if err != nil {
		return err
	}
	for i := first; i <= last; i++ {
		b := blocks[i-first]
		start := max(off, i*bs)
		end := min(off+int64(len(dst)), i*bs+int64(len(b)))
		if end <= start {
			return fmt.Errorf("%s: %w: block %d short (%d bytes)", r.url, ErrProtocol, i, len(b))
		}
		copy(dst[start-off:end-off], b[start-i*bs:end-i*bs])
	}
	return nil
}

// extendLocked reads ahead: it lengthens the last run past the read's end
// over blocks nobody holds, to the read-ahead window, and returns the
// flights it made for them. A fetch that starts near where the last one
// ended means a reader moving forward: the window doubles.
func (r *Reader) extendLocked(run *[2]int64, last int64) []*flight {
	bs := r.opt.BlockSize
	start := run[0] * bs
	if start >= r.lastEnd-r.window && start <= r.lastEnd+r.window {
		r.window = min(2*r.window, maxReadAhead)
	} else {
		r.window = r.opt.ReadAhead
	}
	want := (start + r.window + bs - 1) / bs // one past the last block wanted
	nblocks := (r.info.Size + bs - 1) / bs
	want = min(want, nblocks)
	var extra []*flight
	for i := last + 1; i < want && run[1] == i-1; i++ {
		if _, ok := r.mem.get(i); ok || r.inflight[i] != nil {
			break
		}
		f := &flight{done: make(chan struct{})}
		r.inflight[i] = f
		extra = append(extra, f)
		run[1] = i
	}
	r.lastEnd = (run[1] + 1) * bs
	return extra
}

// fetchRuns fetches each run of blocks (splitting long ones), settles the
// flights, in run order, and returns the first error.
func (r *Reader) fetchRuns(runs [][2]int64, flights []*flight) error {
	type part struct {
		first, last int64
		flights     []*flight
	}
	per := max(1, maxRequest/r.opt.BlockSize)
	var parts []part
	k := 0
	for _, run := range runs {
		for i := run[0]; i <= run[1]; i += per {
			j := min(run[1], i+per-1)
			parts = append(parts, part{i, j, flights[k : k+int(j-i+1)]})
			k += int(j - i + 1)
		}
	}
	errs := make([]error, len(parts))
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for n, p := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[n] = r.fetchPart(p.first, p.last, p.flights)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// fetchPart brings blocks first..last from the disk cache or the server,
// puts them in the memory cache and settles their flights.
func (r *Reader) fetchPart(first, last int64, flights []*flight) (err error) {
	bs := r.opt.BlockSize
	defer func() {
		r.mu.Lock()
		for i, f := range flights {
			if err != nil && f.data == nil {
				f.err = err
			}
			delete(r.inflight, first+int64(i))
			close(f.done)
		}
		r.mu.Unlock()
	}()
	blockLen := func(i int64) int64 { return min(bs, r.info.Size-i*bs) }
	// Blocks on disk need no request; what is left of the part is fetched
	// in runs around them.
	var runStart int64 = -1
	flush := func(end int64) error { // fetch [runStart, end)
		if runStart < 0 {
			return nil
		}
		s := runStart
		runStart = -1
		return r.fetchNet(s, end, flights[s-first:end-first])
	}
	for i := first; i <= last; i++ {
		if r.disk != nil {
			if data, ok := r.disk.read(blockName(i), blockLen(i)); ok {
				if err := flush(i); err != nil {
					return err
				}
				flights[i-first].data = data
				r.mem.put(i, data)
				continue
			}
		}
		if runStart < 0 {
			runStart = i
		}
	}
	return flush(last + 1)
}

// fetchNet fetches blocks [first, end) in one request.
func (r *Reader) fetchNet(first, end int64, flights []*flight) error {
	bs := r.opt.BlockSize
	off := first * bs
	n := min(end*bs, r.info.Size) - off
	req := rangeRequest{Off: off, N: n, IfMatch: r.info.ETag}
	resp, err := r.request(context.Background(), req)
	if err != nil {
		return err
	}
	if resp.NotModified || int64(len(resp.Data)) != n {
		return fmt.Errorf("%s: %w: %d bytes for a request of %d at %d", r.url, ErrProtocol, len(resp.Data), n, off)
	}
	if changed(r.info, resp.Info) {
		return fmt.Errorf("%s: %w", r.url, ErrChanged)
	}
	for i := first; i < end; i++ {
		b := resp.Data[(i-first)*bs : min(int64(len(resp.Data)), (i-first+1)*bs)]
		// A block of its own, so that the cache does not pin the whole
		// response when it keeps only some of its blocks.
		data := append([]byte(nil), b...)
		flights[i-first].data = data
		r.mem.put(i, data)
		if r.disk != nil {
			if err := r.disk.write(blockName(i), data); err != nil {
				r.log.Printf("%s: %v", r.url, err)
			}
		}
	}
	return nil
}

// changed tells whether a response comes from another version of the
// object than the one opened (for servers that ignore If-Match).
func changed(was, now objectInfo) bool {
	if was.Size != now.Size {
		return true
	}
	if was.ETag != "" && now.ETag != "" {
		return was.ETag != now.ETag
	}
	return !was.LastModified.IsZero() && !now.LastModified.IsZero() && !was.LastModified.Equal(now.LastModified)
}
