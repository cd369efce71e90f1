package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Sentinel errors; every error of this package wraps one of them or an
// error from the network.
var (
	// ErrNotFound: the server says there is no such object (404).
	ErrNotFound = errors.New("remote: no such object")
	// ErrDenied: the server refuses access (401, 403).
	ErrDenied = errors.New("remote: access denied")
	// ErrChanged: the object is no longer the one the mount opened (its
	// ETag or version changed); mixing bytes of two versions would make a
	// corrupt file, so such a read fails.
	ErrChanged = errors.New("remote: object changed since the mount opened it")
	// ErrNoRange: the server ignores Range requests.
	ErrNoRange = errors.New("remote: server does not answer Range requests")
	// ErrUnavailable: the server could not be reached, or kept failing,
	// after every retry.
	ErrUnavailable = errors.New("remote: server unavailable")
	// ErrProtocol: the server's answer makes no sense (a Content-Range
	// that is not the range asked for, say).
	ErrProtocol = errors.New("remote: bad answer from server")
)

// objectInfo is what a response says about the object.
type objectInfo struct {
	Size         int64
	ETag         string // as sent, quotes included; "" when the server sends none
	Version      string // S3 version id, when the bucket is versioned
	LastModified time.Time
}

// rangeRequest asks for the bytes [Off, Off+N) of the object.
type rangeRequest struct {
	Off, N      int64
	IfMatch     string // fail with ErrChanged unless the object still has this ETag
	IfNoneMatch string // answer notModified when the object still has this ETag
}

// rangeResponse holds at most N bytes: fewer only at the end of the object.
type rangeResponse struct {
	Data        []byte
	Info        objectInfo
	NotModified bool
}

// backend fetches byte ranges of one object. Implementations make one
// request per call and classify failures with transient().
type backend interface {
	get(ctx context.Context, req rangeRequest) (rangeResponse, error)
}

// transientError marks a failure worth retrying: a 5xx, a throttling
// answer, a reset or refused connection, a timeout, a body cut short.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func transient(err error) error { return &transientError{err} }

// isTransient tells whether a failure may go away by itself.
func isTransient(err error) bool {
	var te *transientError
	if errors.As(err, &te) {
		return true
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

// statusError turns an HTTP status that is not a success into an error.
func statusError(status int, what string) error {
	switch {
	case status == 404:
		return fmt.Errorf("%s: %w (HTTP %d)", what, ErrNotFound, status)
	case status == 401 || status == 403:
		return fmt.Errorf("%s: %w (HTTP %d)", what, ErrDenied, status)
	case status == 412:
		return fmt.Errorf("%s: %w (HTTP %d)", what, ErrChanged, status)
	case status == 408 || status == 429 || status >= 500:
		return transient(fmt.Errorf("%s: %w (HTTP %d)", what, ErrUnavailable, status))
	}
	return fmt.Errorf("%s: %w: HTTP %d", what, ErrProtocol, status)
}

// retryPolicy is how often and how patiently failed requests are repeated.
type retryPolicy struct {
	attempts int
	base     time.Duration // the first pause; each next one doubles
	max      time.Duration
}

// do runs fn until it succeeds, fails for good, or the attempts are used up.
func (p retryPolicy) do(ctx context.Context, fn func() error) error {
	pause := p.base
	var err error
	for i := 0; i < max(1, p.attempts); i++ {
		if i > 0 {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
			pause = min(2*pause, p.max)
		}
		if err = fn(); err == nil || !isTransient(err) {
			return err
		}
	}
	if !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w after %d attempts: %w", ErrUnavailable, p.attempts, err)
	}
	return err
}
