package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/progress"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/internal/writeback"
)

// Defaults of [Client]'s knobs.
const (
	DefaultStallTimeout = 30 * time.Second
	DefaultRetries      = 5
	DefaultBackoff      = time.Second
	MaxRedirects        = 5
	maxBackoff          = 30 * time.Second
	chunkSize           = 1 << 20 // bytes read from the network at once
	chunks              = 8       // chunks in flight: the pipeline's memory is chunks*chunkSize
	// writeSize is the size of each write(2): on Linux page-cache writes of
	// 1 MiB were measured 3 to 5 times slower than writes of 128 KiB.
	writeSize = 128 << 10
)

// errRedirects is returned by the default client's CheckRedirect.
var errRedirects = fmt.Errorf("stopped after %d redirects", MaxRedirects)

// errStalled is the cause of a request cancelled for want of data.
var errStalled = errors.New("stalled")

// Client downloads over HTTP with resume, retries and stall timeouts. The
// zero value is usable.
type Client struct {
	// HTTP is the client used; nil is one with proxies from the
	// environment (HTTPS_PROXY, NO_PROXY), at most MaxRedirects redirects,
	// and no transparent compression.
	HTTP *http.Client
	// StallTimeout gives up on a transfer that receives nothing for this
	// long (also while waiting for the response's headers); 0 is
	// DefaultStallTimeout.
	StallTimeout time.Duration
	// Retries is how many attempts in a row may fail without bringing a
	// byte before the download gives up; 0 is DefaultRetries.
	Retries int
	// Backoff is the first wait after a failure; it doubles at each
	// failure in a row, up to 30s, with random jitter. 0 is DefaultBackoff.
	Backoff time.Duration
	// Progress, when not nil, is told of every byte received.
	Progress *progress.Meter
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return NewHTTPClient(c.stall())
}

func (c *Client) stall() time.Duration {
	if c.StallTimeout > 0 {
		return c.StallTimeout
	}
	return DefaultStallTimeout
}

// NewHTTPClient is the HTTP client a [Client] uses by default: proxies
// from the environment, at most MaxRedirects redirects, stall as the
// timeout for connecting and for the response's headers, and no
// transparent gzip (it would defeat Range requests).
func NewHTTPClient(stall time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: stall, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   stall,
		ResponseHeaderTimeout: stall,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= MaxRedirects {
			return fmt.Errorf("%w (at %s)", errRedirects, req.URL)
		}
		return nil
	}}
}

// httpError is a response with a status that is not the one wanted.
type httpError struct {
	status string
	code   int
}

func (e *httpError) Error() string { return "HTTP " + e.status }

// retryable reports whether a failed attempt is worth another: network
// errors, stalls, 5xx, 408 and 429 are; other statuses and a cancelled
// context are not.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var he *httpError
	if errors.As(err, &he) {
		return he.code >= 500 || he.code == http.StatusTooManyRequests || he.code == http.StatusRequestTimeout
	}
	var final *finalError
	return !errors.As(err, &final)
}

// finalError is a failure no retry can fix (bytes that do not match).
type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

// wait sleeps the backoff of the fails-th failure in a row, with jitter.
func (c *Client) wait(ctx context.Context, fails int) error {
	base := c.Backoff
	if base <= 0 {
		base = DefaultBackoff
	}
	d := base << min(fails-1, 10)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	d = d/2 + rand.N(d/2+1) // jitter: hosts of a fleet do not retry in step
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Get fetches a small file (an index, a signature) whole, up to max bytes,
// with the retries of a download.
func (c *Client) Get(ctx context.Context, url string, max int64) ([]byte, error) {
	var data []byte
	err := c.retry(ctx, func(ctx context.Context) (bool, error) {
		resp, cancel, err := c.do(ctx, url, nil)
		if err != nil {
			return false, err
		}
		defer cancel()
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, &httpError{status: resp.Status, code: resp.StatusCode}
		}
		data, err = io.ReadAll(io.LimitReader(resp.Body, max+1))
		if err != nil {
			return len(data) > 0, c.cause(ctx, resp, err)
		}
		if int64(len(data)) > max {
			return false, &finalError{fmt.Errorf("over %d bytes; not what was expected", max)}
		}
		return true, nil
	})
	return data, err
}

// retry runs attempt until it succeeds, fails for good, or fails Retries
// times in a row without progress (an attempt progresses when it brings
// the download further than any attempt before), or 20 times Retries in
// all.
func (c *Client) retry(ctx context.Context, attempt func(context.Context) (progressed bool, err error)) error {
	retries := c.Retries
	if retries <= 0 {
		retries = DefaultRetries
	}
	fails := 0
	for attempts := 1; ; attempts++ {
		progressed, err := attempt(ctx)
		if err == nil {
			return nil
		}
		if !retryable(ctx, err) {
			return err
		}
		if progressed {
			fails = 0
		}
		fails++
		if fails >= retries || attempts >= 20*retries {
			return fmt.Errorf("%w (gave up after %d attempts in a row)", err, fails)
		}
		if err := c.wait(ctx, fails); err != nil {
			return err
		}
	}
}

// stalledBody is the body of a response whose request is cancelled when
// no byte arrives for the stall timeout.
type stalledBody struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (s *stalledBody) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.timer.Reset(s.d)
	}
	return n, err
}

// do sends a GET with the given headers. The returned cancel ends the
// request's context and its stall timer.
func (c *Client) do(ctx context.Context, url string, header http.Header) (*http.Response, func(), error) {
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(c.stall(), func() { cancel(errStalled) })
	done := func() { timer.Stop(); cancel(nil) }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		done()
		return nil, nil, &finalError{err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", "upkeep-feed/1")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		done()
		if context.Cause(ctx) == errStalled {
			return nil, nil, fmt.Errorf("no response for %s (stall timeout)", c.stall())
		}
		if errors.Is(err, errRedirects) {
			return nil, nil, &finalError{err}
		}
		return nil, nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{&stalledBody{r: resp.Body, timer: timer, d: c.stall()}, resp.Body}
	return resp, done, nil
}

// cause turns a read error into what happened: a stall, or the network.
func (c *Client) cause(ctx context.Context, resp *http.Response, err error) error {
	if context.Cause(resp.Request.Context()) == errStalled {
		return fmt.Errorf("stalled: no data for %s", c.stall())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("connection closed early: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// sidecar is what a download knows, kept beside its .part so that a later
// run resumes only the same file from the same place.
type sidecar struct {
	URL          string `json:"url"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// Job is one file to download into Part.
type Job struct {
	URL    string
	Size   int64  // exact size; a longer body is cut off
	SHA256 string // lowercase hex
	Part   string // the partial file; Part+".json" is its sidecar
	Verify *signing.Verifier
}

// Outcome is what a download did.
type Outcome struct {
	Resumed     int64 // bytes already in Part when it started
	Transferred int64 // bytes received from the network
	Restarts    int   // times it started over (a 200 or a 206 elsewhere)
}

// Download brings Job.Part to the job's bytes, resuming what an earlier
// run left, and checks its size, sha256 and signature, all computed while
// the bytes arrive. On success Part is whole, verified and fsynced, and
// still open in the returned file (the caller renames it). Bytes that do
// not match are removed, so the next run starts over.
func (c *Client) Download(ctx context.Context, job Job) (*os.File, Outcome, error) {
	var out Outcome
	side := sidecar{URL: job.URL, Size: job.Size, SHA256: job.SHA256}
	f, have, err := openPart(job, &side)
	if err != nil {
		return nil, out, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	out.Resumed = have
	p := newPipeline(f, job.Verify, c.Progress)
	defer p.close()
	if have > 0 {
		if err := p.rehash(have); err != nil {
			return nil, out, err
		}
	}
	startOver := func() error {
		p.wait()
		if err := p.err(); err != nil {
			return err
		}
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("truncate %s: %w", job.Part, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("truncate %s: %w", job.Part, err)
		}
		p.reset()
		out.Restarts++
		have = 0
		return nil
	}

	best := have // the furthest any attempt got
	further := func() bool {
		if have > best {
			best = have
			return true
		}
		return false
	}
	err = c.retry(ctx, func(ctx context.Context) (bool, error) {
		if have == job.Size {
			return false, nil
		}
		h := http.Header{}
		if have > 0 {
			h.Set("Range", fmt.Sprintf("bytes=%d-", have))
			if side.ETag != "" && !strings.HasPrefix(side.ETag, "W/") {
				h.Set("If-Range", side.ETag)
			} else if side.LastModified != "" {
				h.Set("If-Range", side.LastModified)
			}
		}
		resp, cancel, err := c.do(ctx, job.URL, h)
		if err != nil {
			return false, err
		}
		defer cancel()
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			if have > 0 {
				if err := startOver(); err != nil {
					return false, &finalError{err}
				}
			}
		case http.StatusPartialContent:
			start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
			if !ok || start != have {
				// Not the range asked for: what is there cannot be trusted
				// to continue; start over with a plain request.
				asked := h.Get("Range")
				if asked == "" {
					asked = "the whole file"
				}
				if err := startOver(); err != nil {
					return false, &finalError{err}
				}
				return false, fmt.Errorf("server answered range %q to %q; starting over", resp.Header.Get("Content-Range"), asked)
			}
			if total >= 0 && total != job.Size {
				return false, &finalError{fmt.Errorf("server says the file has %d bytes, the index %d", total, job.Size)}
			}
		case http.StatusRequestedRangeNotSatisfiable:
			if err := startOver(); err != nil {
				return false, &finalError{err}
			}
			return false, fmt.Errorf("server refused range %q; starting over", h.Get("Range"))
		default:
			return false, &httpError{status: resp.Status, code: resp.StatusCode}
		}
		if resp.StatusCode == http.StatusOK || have == 0 {
			if err := saveSidecar(job.Part, &side, resp.Header); err != nil {
				return false, &finalError{err}
			}
		}
		n, err := p.fill(resp.Body, job.Size-have)
		have += n
		out.Transferred += n
		if err != nil && !errors.Is(err, io.EOF) {
			if perr := p.err(); perr != nil {
				return false, &finalError{perr}
			}
			return further(), c.cause(ctx, resp, err)
		}
		if have < job.Size {
			return further(), fmt.Errorf("connection closed after %d of %d bytes", have, job.Size)
		}
		return true, nil
	})
	p.wait()
	if err == nil {
		err = p.err()
	}
	if err != nil {
		return nil, out, err
	}
	sum, sigRes := p.sums()
	if sum != job.SHA256 {
		f.Close()
		removePart(job.Part)
		return nil, out, fmt.Errorf("sha256 of the %d bytes received is %s, the index says %s; removed", have, sum, job.SHA256)
	}
	if sigRes.Refused {
		f.Close()
		removePart(job.Part)
		return nil, out, fmt.Errorf("%s; removed", sigRes.Problem)
	}
	if err := f.Sync(); err != nil {
		return nil, out, fmt.Errorf("sync %s: %w", job.Part, err)
	}
	ok = true
	return f, out, nil
}

// removePart removes a partial file and its sidecar.
func removePart(part string) {
	os.Remove(part)
	os.Remove(part + ".json")
}

// openPart opens the job's partial file to resume it: only when its
// sidecar names the same URL, size and sha256, and it is not longer than
// the file. Otherwise it starts a new one.
func openPart(job Job, side *sidecar) (*os.File, int64, error) {
	var old sidecar
	data, err := os.ReadFile(job.Part + ".json")
	resume := err == nil && json.Unmarshal(data, &old) == nil &&
		old.URL == job.URL && old.Size == job.Size && old.SHA256 == job.SHA256
	if resume {
		side.ETag, side.LastModified = old.ETag, old.LastModified
	}
	flags := os.O_RDWR | os.O_CREATE
	if !resume {
		flags |= os.O_TRUNC
		if err := os.Remove(job.Part + ".json"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, 0, err
		}
	}
	f, err := os.OpenFile(job.Part, flags, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", job.Part, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	have := info.Size()
	if have > job.Size {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, 0, err
		}
		have = 0
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, have, nil
}

// saveSidecar records the response's validators, for If-Range next time.
func saveSidecar(part string, side *sidecar, h http.Header) error {
	side.ETag, side.LastModified = h.Get("ETag"), h.Get("Last-Modified")
	data, _ := json.Marshal(side)
	return atomicfile.Write(part+".json", 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// parseContentRange parses "bytes START-END/TOTAL" (TOTAL may be "*",
// returned as -1).
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(strings.TrimSpace(tot), 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

// pipeline writes the bytes of a download to its file and hashes them
// (sha256, and the signature's hash) at the same time, each in its own
// goroutine, on large chunks: the bytes are checked as they arrive, not
// read again after.
type pipeline struct {
	f        *os.File
	out      *writeback.Writer // f, its writeback started as it is written: the final fsync is short
	meter    *progress.Meter
	pool     chan []byte
	stages   []*stage
	sha      hash.Hash
	verify   *signing.Verifier
	inFlight sync.WaitGroup
	failed   atomic.Pointer[error] // the first error of a stage
}

// stage is one consumer of the chunks, in order.
type stage struct {
	in   chan *chunk
	use  func([]byte) error
	done chan struct{}
}

type chunk struct {
	buf  []byte
	refs sync.WaitGroup
}

func newPipeline(f *os.File, v *signing.Verifier, meter *progress.Meter) *pipeline {
	p := &pipeline{f: f, meter: meter, pool: make(chan []byte, chunks), sha: sha256.New(), verify: v}
	for range chunks {
		p.pool <- make([]byte, chunkSize)
	}
	off, _ := f.Seek(0, io.SeekCurrent)
	p.out = writeback.New(f, off)
	p.add(func(b []byte) error {
		for len(b) > 0 {
			n := min(len(b), writeSize)
			if _, err := p.out.Write(b[:n]); err != nil {
				return fmt.Errorf("write %s: %w", p.f.Name(), err)
			}
			b = b[n:]
		}
		return nil
	})
	p.add(func(b []byte) error { p.sha.Write(b); return nil })
	if v != nil && !v.Decided() {
		p.add(func(b []byte) error { v.Write(b); return nil })
	}
	return p
}

func (p *pipeline) add(use func([]byte) error) {
	s := &stage{in: make(chan *chunk, chunks), use: use, done: make(chan struct{})}
	p.stages = append(p.stages, s)
	go func() {
		defer close(s.done)
		failed := false
		for c := range s.in {
			if !failed {
				if err := s.use(c.buf); err != nil {
					failed = true
					p.failed.CompareAndSwap(nil, &err)
				}
			}
			c.refs.Done()
		}
	}()
}

// send hands a full chunk to every stage; it is back in the pool when all
// are done with it.
func (p *pipeline) send(buf []byte) {
	c := &chunk{buf: buf}
	c.refs.Add(len(p.stages))
	p.inFlight.Add(1)
	for _, s := range p.stages {
		s.in <- c
	}
	go func() {
		c.refs.Wait()
		p.pool <- c.buf[:cap(c.buf)]
		p.inFlight.Done()
	}()
}

// fill reads up to max bytes of r through the stages and returns how many
// it read. Bytes past max are never read: a longer body is cut off.
func (p *pipeline) fill(r io.Reader, max int64) (int64, error) {
	var total int64
	for total < max {
		buf := <-p.pool
		want := min(int64(len(buf)), max-total)
		n, err := readSome(r, buf[:want])
		if n > 0 {
			p.send(buf[:n])
			total += int64(n)
			p.meter.Add(0, int64(n))
		} else {
			p.pool <- buf
		}
		if err != nil {
			return total, err
		}
		if e := p.failed.Load(); e != nil {
			return total, *e
		}
	}
	return total, nil
}

// readSome reads into buf until it is full, the body ends or fails: big
// chunks keep the per-chunk cost of the stages low.
func readSome(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// rehash feeds the first n bytes already in the file (an earlier run's)
// to the hashes.
func (p *pipeline) rehash(n int64) error {
	r := io.NewSectionReader(p.f, 0, n)
	buf := make([]byte, chunkSize)
	for {
		m, err := r.Read(buf)
		if m > 0 {
			p.sha.Write(buf[:m])
			if p.verify != nil {
				p.verify.Write(buf[:m])
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", p.f.Name(), err)
		}
	}
}

// wait returns when every chunk sent is done with.
func (p *pipeline) wait() { p.inFlight.Wait() }

// err is the first error of a stage (a failed write), once every chunk
// sent is done with.
func (p *pipeline) err() error {
	p.wait()
	if e := p.failed.Load(); e != nil {
		return *e
	}
	return nil
}

// reset forgets the bytes hashed so far, when a download starts over.
func (p *pipeline) reset() {
	p.wait()
	p.out = writeback.New(p.f, 0)
	p.sha.Reset()
	if p.verify != nil {
		p.verify.Reset()
	}
}

// sums returns the sha256 and the signature's verdict of the bytes.
func (p *pipeline) sums() (string, signing.Result) {
	p.wait()
	var res signing.Result
	if p.verify != nil {
		res = p.verify.Result()
	}
	return hex.EncodeToString(p.sha.Sum(nil)), res
}

func (p *pipeline) close() {
	p.wait()
	for _, s := range p.stages {
		close(s.in)
		<-s.done
	}
}
