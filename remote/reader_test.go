package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeStore is one object behind a backend that counts requests and can be
// slowed, broken and changed.
type fakeStore struct {
	mu       sync.Mutex
	data     []byte
	etag     string
	modified time.Time
	delay    time.Duration
	fail     int  // answer this many next requests with a 503
	down     bool // refuse every request, as a stopped server
	requests atomic.Int64
	ranges   []rangeRequest
}

func newFakeStore(size int, etag string) *fakeStore {
	data := make([]byte, size)
	rand.New(rand.NewSource(int64(size))).Read(data)
	return &fakeStore{data: data, etag: etag, modified: time.Unix(1700000000, 0)}
}

func (s *fakeStore) get(ctx context.Context, r rangeRequest) (rangeResponse, error) {
	s.requests.Add(1)
	s.mu.Lock()
	s.ranges = append(s.ranges, r)
	delay, data, etag, mod := s.delay, s.data, s.etag, s.modified
	down := s.down
	failNow := s.fail > 0
	if failNow {
		s.fail--
	}
	s.mu.Unlock()
	time.Sleep(delay)
	switch {
	case down:
		return rangeResponse{}, transient(fmt.Errorf("dial: %w", io.ErrUnexpectedEOF))
	case failNow:
		return rangeResponse{}, statusError(503, "GET fake")
	}
	info := objectInfo{Size: int64(len(data)), ETag: etag, LastModified: mod}
	if r.IfNoneMatch != "" && r.IfNoneMatch == etag {
		return rangeResponse{Info: info, NotModified: true}, nil
	}
	if r.IfMatch != "" && r.IfMatch != etag {
		return rangeResponse{}, statusError(412, "GET fake")
	}
	end := min(r.Off+r.N, int64(len(data)))
	return rangeResponse{Data: append([]byte(nil), data[r.Off:end]...), Info: info}, nil
}

func (s *fakeStore) set(f func(s *fakeStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *fakeStore) takeRanges() []rangeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.ranges
	s.ranges = nil
	return r
}

// testOptions: 4 KiB blocks, a 16 KiB head, no read-ahead, quick retries.
func testOptions() Options {
	return Options{BlockSize: 4 << 10, HeadBytes: 16 << 10, ReadAhead: -1, Retries: 3, RetryPause: time.Millisecond}
}

func openFake(t *testing.T, s *fakeStore, opt Options) *Reader {
	t.Helper()
	r, err := open(context.Background(), "fake://object", s, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readCheck(t *testing.T, r *Reader, s *fakeStore, off, n int64) {
	t.Helper()
	buf := make([]byte, n)
	got, err := r.ReadAt(buf, off)
	if err != nil && !(errors.Is(err, io.EOF) && off+int64(got) == int64(len(s.data))) {
		t.Fatalf("ReadAt(%d, %d): %d, %v", n, off, got, err)
	}
	if !bytes.Equal(buf[:got], s.data[off:off+int64(got)]) {
		t.Fatalf("ReadAt(%d, %d): wrong bytes", n, off)
	}
}

func TestOpenFetchesHeadOnly(t *testing.T) {
	s := newFakeStore(1<<20, `"v1"`)
	r := openFake(t, s, testOptions())
	if got := s.takeRanges(); len(got) != 1 || got[0].Off != 0 || got[0].N != 16<<10 {
		t.Fatalf("open asked for %+v, want the first 16 KiB only", got)
	}
	if r.Size() != 1<<20 {
		t.Fatalf("size %d", r.Size())
	}
	readCheck(t, r, s, 100, 1000) // inside the head: no request
	if n := s.requests.Load(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	// An object smaller than the head is fetched whole, once.
	small := newFakeStore(5000, `"s"`)
	rs := openFake(t, small, testOptions())
	readCheck(t, rs, small, 0, 5000)
	readCheck(t, rs, small, 4000, 5000)
	if n := small.requests.Load(); n != 1 {
		t.Fatalf("small object: %d requests, want 1", n)
	}
}

func TestAdjacentBlocksMerge(t *testing.T) {
	s := newFakeStore(1<<20, `"v1"`)
	r := openFake(t, s, testOptions())
	s.takeRanges()
	// 10 blocks in one read: one request for exactly them.
	readCheck(t, r, s, 100<<10+10, 40<<10-20)
	got := s.takeRanges()
	if len(got) != 1 || got[0].Off != 100<<10 || got[0].N != 40<<10 {
		t.Fatalf("requests %+v, want one of bytes [100 KiB, 140 KiB)", got)
	}
	// Around cached blocks, only the holes are fetched, each as one run.
	readCheck(t, r, s, 92<<10, 60<<10)
	got = s.takeRanges()
	if len(got) != 2 {
		t.Fatalf("requests %+v, want 2 (the holes on either side)", got)
	}
	for _, g := range got {
		if g.Off != 92<<10 && g.Off != 140<<10 {
			t.Errorf("request %+v is not a hole", g)
		}
	}
}

func TestHolesFetchedInParallel(t *testing.T) {
	s := newFakeStore(1<<20, `"v1"`)
	r := openFake(t, s, testOptions())
	for _, off := range []int64{200 << 10, 300 << 10, 400 << 10} {
		readCheck(t, r, s, off, 4<<10)
	}
	s.set(func(s *fakeStore) { s.delay = 100 * time.Millisecond })
	start := time.Now()
	readCheck(t, r, s, 196<<10, 212<<10) // four holes
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Errorf("4 holes took %v: fetched one after another", d)
	}
}

func TestConcurrentReadsCoalesce(t *testing.T) {
	s := newFakeStore(1<<20, `"v1"`)
	r := openFake(t, s, testOptions())
	s.set(func(s *fakeStore) { s.delay = 50 * time.Millisecond })
	before := s.requests.Load()
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 8<<10)
			if _, err := r.ReadAt(buf, 500<<10); err != nil || !bytes.Equal(buf, s.data[500<<10:508<<10]) {
				t.Errorf("concurrent read: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := s.requests.Load() - before; n != 1 {
		t.Errorf("16 concurrent reads of one range made %d requests, want 1", n)
	}
}

func TestCacheBounded(t *testing.T) {
	s := newFakeStore(4<<20, `"v1"`)
	opt := testOptions()
	opt.CacheBytes = 64 << 10
	r := openFake(t, s, opt)
	for off := int64(16 << 10); off < 4<<20; off += 12 << 10 {
		readCheck(t, r, s, off, 5<<10)
		if m := r.mem.bytes(); m > opt.CacheBytes {
			t.Fatalf("cache holds %d bytes, budget %d", m, opt.CacheBytes)
		}
	}
	// A read larger than the whole cache still reads right.
	readCheck(t, r, s, 1<<20, 1<<20)
	if m := r.mem.bytes(); m > opt.CacheBytes {
		t.Fatalf("cache holds %d bytes, budget %d", m, opt.CacheBytes)
	}
}

func TestReadAheadGrowsForward(t *testing.T) {
	s := newFakeStore(8<<20, `"v1"`)
	opt := testOptions()
	opt.ReadAhead = 16 << 10
	r := openFake(t, s, opt)
	for off := int64(16 << 10); off < 8<<20; off += 4 << 10 {
		readCheck(t, r, s, off, 4<<10)
	}
	// Sequential 4 KiB reads of 8 MiB: the window doubles to 8 MiB.
	if n := s.requests.Load(); n > 12 {
		t.Errorf("%d requests for a sequential read of 8 MiB", n)
	}
}

func TestRetriesTransientErrors(t *testing.T) {
	s := newFakeStore(1<<20, `"v1"`)
	r := openFake(t, s, testOptions())
	s.set(func(s *fakeStore) { s.fail = 2 })
	before := s.requests.Load()
	readCheck(t, r, s, 64<<10, 4<<10)
	if n := s.requests.Load() - before; n != 3 {
		t.Errorf("%d requests, want 3 (two 503s, then success)", n)
	}
}

func TestServerDownFailsThatReadOnly(t *testing.T) {
	s := newFakeStore(1<<20, `"v1"`)
	r := openFake(t, s, testOptions())
	s.set(func(s *fakeStore) { s.down = true })
	_, err := r.ReadAt(make([]byte, 100), 200<<10)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("read with the server down: %v, want ErrUnavailable", err)
	}
	s.set(func(s *fakeStore) { s.down = false })
	readCheck(t, r, s, 200<<10, 100)
}

func TestChangedObjectFails(t *testing.T) {
	s := newFakeStore(1<<20, `"v1"`)
	r := openFake(t, s, testOptions())
	s.set(func(s *fakeStore) { s.etag = `"v2"` })
	if _, err := r.ReadAt(make([]byte, 100), 300<<10); !errors.Is(err, ErrChanged) {
		t.Fatalf("read after a change: %v, want ErrChanged", err)
	}
}

func TestDiskCacheReusedAcrossOpens(t *testing.T) {
	for _, etag := range []string{`"v1"`, ""} {
		t.Run(fmt.Sprintf("etag=%q", etag), func(t *testing.T) {
			s := newFakeStore(1<<20, etag)
			opt := testOptions()
			opt.CacheDir = t.TempDir()
			r := openFake(t, s, opt)
			readCheck(t, r, s, 100<<10, 200<<10)
			s.requests.Store(0)
			r2 := openFake(t, s, opt)
			readCheck(t, r2, s, 100<<10, 200<<10)
			readCheck(t, r2, s, 0, 16<<10)
			if n := s.requests.Load(); n != 1 {
				t.Errorf("second open: %d requests, want 1 (the check of the version)", n)
			}
			if etag != "" {
				if got := s.takeRanges(); got[len(got)-1].IfNoneMatch != etag {
					t.Errorf("the check was not conditional: %+v", got)
				}
			}
		})
	}
}

func TestDiskCacheDroppedWhenObjectChanges(t *testing.T) {
	for _, etag := range []string{`"v1"`, ""} {
		t.Run(fmt.Sprintf("etag=%q", etag), func(t *testing.T) {
			s := newFakeStore(1<<20, etag)
			opt := testOptions()
			opt.CacheDir = t.TempDir()
			r := openFake(t, s, opt)
			readCheck(t, r, s, 0, 300<<10)
			s.set(func(s *fakeStore) {
				rand.New(rand.NewSource(99)).Read(s.data)
				if etag != "" {
					s.etag = `"v2"`
				}
				s.modified = s.modified.Add(time.Second)
			})
			r2 := openFake(t, s, opt)
			readCheck(t, r2, s, 0, 300<<10)
		})
	}
}

func TestEmptyAndShortObjects(t *testing.T) {
	s := newFakeStore(0, `"e"`)
	r := openFake(t, s, testOptions())
	if n, err := r.ReadAt(make([]byte, 10), 0); n != 0 || err != io.EOF {
		t.Fatalf("empty object: %d, %v", n, err)
	}
	s = newFakeStore(20<<10+7, `"e"`) // a short last block
	r = openFake(t, s, testOptions())
	readCheck(t, r, s, 18<<10, 10<<10)
}
