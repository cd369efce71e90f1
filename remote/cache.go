package remote

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// blockCache keeps recently used blocks of one object in memory, up to a
// byte budget, least recently used first out.
type blockCache struct {
	mu     sync.Mutex
	budget int64
	used   int64
	lru    *list.List // of *cachedBlock, most recent at the front
	blocks map[int64]*list.Element
}

type cachedBlock struct {
	index int64
	data  []byte
}

func newBlockCache(budget int64) *blockCache {
	return &blockCache{budget: budget, lru: list.New(), blocks: map[int64]*list.Element{}}
}

func (c *blockCache) get(i int64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.blocks[i]
	if e == nil {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cachedBlock).data, true
}

func (c *blockCache) put(i int64, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int64(len(data)) > c.budget {
		return
	}
	if e := c.blocks[i]; e != nil {
		b := e.Value.(*cachedBlock)
		c.used += int64(len(data)) - int64(len(b.data))
		b.data = data
		c.lru.MoveToFront(e)
	} else {
		c.blocks[i] = c.lru.PushFront(&cachedBlock{index: i, data: data})
		c.used += int64(len(data))
	}
	for c.used > c.budget {
		e := c.lru.Back()
		b := e.Value.(*cachedBlock)
		c.lru.Remove(e)
		delete(c.blocks, b.index)
		c.used -= int64(len(b.data))
	}
}

// bytes is the memory the cached blocks hold.
func (c *blockCache) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// diskCache keeps blocks of objects in files under a directory, so that a
// later mount of the same object version fetches them no more:
//
//	DIR/<sha256 of the URL>/meta.json   which version the blocks belong to
//	DIR/<sha256 of the URL>/head        the bytes fetched at mount
//	DIR/<sha256 of the URL>/<index>     one block each
//
// A version is its ETag (and S3 version id), or, from servers that send no
// ETag, its size and Last-Modified time. When the version changes, the old
// blocks are removed before new ones are written.
type diskCache struct {
	dir string
}

// diskMeta is meta.json.
type diskMeta struct {
	URL          string    `json:"url"`
	Key          string    `json:"key"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag,omitempty"`
	Version      string    `json:"version,omitempty"`
	LastModified time.Time `json:"last_modified"`
	BlockSize    int64     `json:"block_size"`
}

// versionKey names one version of an object.
func versionKey(url string, info objectInfo) string {
	if info.ETag != "" || info.Version != "" {
		return "etag:" + info.ETag + " version:" + info.Version
	}
	return fmt.Sprintf("url:%s size:%d modified:%s", url, info.Size, info.LastModified.UTC().Format(time.RFC3339Nano))
}

func openDiskCache(root, url string) (*diskCache, error) {
	sum := sha256.Sum256([]byte(url))
	dir := filepath.Join(root, hex.EncodeToString(sum[:16]))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	return &diskCache{dir: dir}, nil
}

// meta reads what version the cached blocks are of; ok is false when there
// are none (or the record is unreadable, which means the same).
func (d *diskCache) meta() (m diskMeta, ok bool) {
	data, err := os.ReadFile(filepath.Join(d.dir, "meta.json"))
	if err != nil || json.Unmarshal(data, &m) != nil {
		return diskMeta{}, false
	}
	return m, true
}

// reset drops every cached block and records the new version.
func (d *diskCache) reset(m diskMeta) error {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return fmt.Errorf("cache directory: %w", err)
	}
	for _, e := range ents {
		os.Remove(filepath.Join(d.dir, e.Name()))
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return d.write("meta.json", data)
}

// write stores a file whole or not at all: a crash, or another mount of the
// same object reading at the same time, never sees half of it.
func (d *diskCache) write(name string, data []byte) error {
	f, err := os.CreateTemp(d.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(d.dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// read returns a cached file of exactly want bytes, or nothing.
func (d *diskCache) read(name string, want int64) ([]byte, bool) {
	f, err := os.Open(filepath.Join(d.dir, name))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() != want {
		return nil, false
	}
	data := make([]byte, want)
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, false
	}
	return data, true
}

func blockName(i int64) string { return strconv.FormatInt(i, 10) }
