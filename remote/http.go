package remote

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// httpBackend reads an object with single-range GETs. It never sends HEAD:
// the size comes from the Content-Range of the first ranged GET, so that a
// presigned URL (signed for GET only) works.
type httpBackend struct {
	url    string
	client *http.Client
}

func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tuneTransport(tr)
	return &http.Client{Transport: tr}
}

// tuneTransport sets what reading byte ranges of one object needs: many
// connections to one host, bounded waits, no transparent decompression.
func tuneTransport(tr *http.Transport) {
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.MaxIdleConnsPerHost = 32
	tr.IdleConnTimeout = 90 * time.Second
	tr.ResponseHeaderTimeout = 60 * time.Second
	tr.TLSHandshakeTimeout = 10 * time.Second
	// A range of compressed bytes would not be the range asked for.
	tr.DisableCompression = true
}

func (b *httpBackend) get(ctx context.Context, r rangeRequest) (rangeResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url, nil)
	if err != nil {
		return rangeResponse{}, fmt.Errorf("%s: %w", b.url, err)
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", r.Off, r.Off+r.N-1))
	if r.IfMatch != "" {
		req.Header.Set("If-Match", r.IfMatch)
	}
	if r.IfNoneMatch != "" {
		req.Header.Set("If-None-Match", r.IfNoneMatch)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return rangeResponse{}, transientUnlessCanceled(ctx, fmt.Errorf("GET %s: %w", b.url, err))
	}
	defer resp.Body.Close()
	info := objectInfo{ETag: resp.Header.Get("ETag")}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		info.LastModified = lm
	}
	what := "GET " + b.url
	switch resp.StatusCode {
	case http.StatusNotModified:
		return rangeResponse{Info: info, NotModified: true}, nil
	case http.StatusRequestedRangeNotSatisfiable:
		// An empty object has no byte 0; "bytes */0" tells its size.
		if total, ok := parseStarTotal(resp.Header.Get("Content-Range")); ok && total <= r.Off {
			info.Size = total
			return rangeResponse{Info: info}, nil
		}
		return rangeResponse{}, fmt.Errorf("%s: %w: HTTP 416 for bytes %d-%d", what, ErrProtocol, r.Off, r.Off+r.N-1)
	case http.StatusPartialContent:
		start, end, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return rangeResponse{}, fmt.Errorf("%s: %w", what, err)
		}
		info.Size = total
		return readRange(resp.Body, r, start, end, info, what)
	case http.StatusOK:
		// The server ignored the Range: usable only when the whole object
		// is what was asked for.
		if r.Off != 0 || resp.ContentLength < 0 || resp.ContentLength > r.N {
			return rangeResponse{}, fmt.Errorf("%s: %w (it answered 200 with the whole object)", what, ErrNoRange)
		}
		info.Size = resp.ContentLength
		if info.Size == 0 {
			return rangeResponse{Info: info}, nil
		}
		return readRange(resp.Body, r, 0, info.Size-1, info, what)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	return rangeResponse{}, statusError(resp.StatusCode, what)
}

// readRange reads the body of a ranged answer for [start, end] after
// checking it is the range asked for, cut at the object's end. The buffer
// is sized by the request, never by what the server claims.
func readRange(body io.Reader, r rangeRequest, start, end int64, info objectInfo, what string) (rangeResponse, error) {
	want := min(r.N, info.Size-r.Off)
	if start != r.Off || end-start+1 != want || want <= 0 {
		return rangeResponse{}, fmt.Errorf("%s: %w: bytes %d-%d/%d for a request of %d-%d", what, ErrProtocol, start, end, info.Size, r.Off, r.Off+r.N-1)
	}
	data := make([]byte, want)
	if _, err := io.ReadFull(body, data); err != nil {
		return rangeResponse{}, transient(fmt.Errorf("%s: reading bytes %d-%d: %w", what, start, end, err))
	}
	return rangeResponse{Data: data, Info: info}, nil
}

func transientUnlessCanceled(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	return transient(err)
}

// parseContentRange reads "bytes START-END/TOTAL".
func parseContentRange(s string) (start, end, total int64, err error) {
	bad := fmt.Errorf("%w: Content-Range %q", ErrProtocol, s)
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !ok {
		return 0, 0, 0, bad
	}
	span, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, 0, bad
	}
	a, b, ok := strings.Cut(span, "-")
	if !ok {
		return 0, 0, 0, bad
	}
	start, e1 := strconv.ParseInt(a, 10, 64)
	end, e2 := strconv.ParseInt(b, 10, 64)
	total, e3 := strconv.ParseInt(tot, 10, 64)
	if e1 != nil || e2 != nil || e3 != nil || start < 0 || end < start || total <= end {
		return 0, 0, 0, bad
	}
	return start, end, total, nil
}

// parseStarTotal reads "bytes */TOTAL", the Content-Range of a 416.
func parseStarTotal(s string) (int64, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "bytes */")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil && n >= 0
}
