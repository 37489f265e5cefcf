// Package download saves finished videos into one directory: an HTTP client that never
// reaches this machine or its networks (guard.go), a check that what arrives is an MP4
// (mp4.go), and writes that cannot leave the directory or replace a file (os.Root, dir.go).
// It knows nothing of MCP; the download_video tool is a thin adapter over Downloader.Save.
package download

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// DefaultMaxBytes bounds one saved video: 1 GiB, some twenty times the largest clip the
// Wan models produce, so that a broken or hostile URL cannot fill the disk.
const DefaultMaxBytes int64 = 1 << 30

const (
	// downloadTimeout bounds one download from the first byte sent to the file renamed into
	// place; downloadStall ends one that receives nothing for that long.
	downloadTimeout = 10 * time.Minute
	downloadStall   = 30 * time.Second
	// staleTempAge is how old a leftover temporary file of the same video must be (from a
	// process that died mid-download) before a new download removes it.
	staleTempAge = time.Hour
	// maxFileNameLength leaves room, within the usual 255-byte limit, for the temporary
	// file's prefix and suffix.
	maxFileNameLength = 200
)

// Downloader saves videos into one directory, one download per file at a time.
type Downloader struct {
	dir       string // absolute
	client    *http.Client
	maxBytes  int64
	userAgent string

	mu     sync.Mutex
	flying map[string]chan struct{} // closed when the download of that file name ends
}

// New returns a Downloader into dir, which must be absolute and exist (see PrepareDir). It
// fetches with client, NewClient's when nil, and refuses videos over maxBytes, DefaultMaxBytes
// when not positive.
func New(dir string, client *http.Client, maxBytes int64) *Downloader {
	if client == nil {
		client = NewClient()
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Downloader{
		dir:       dir,
		client:    client,
		maxBytes:  maxBytes,
		userAgent: "video-task-mcp",
		flying:    make(map[string]chan struct{}),
	}
}

// Dir is the directory videos are saved in.
func (d *Downloader) Dir() string { return d.dir }

// Saved is a video on disk.
type Saved struct {
	Path   string // absolute
	Size   int64
	Reused bool // it was there already
}

// Error is a failed download, its message fit for the model and the user: it never quotes the
// video URL, whose query string is a credential.
type Error struct {
	msg string
	err error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// failf is a *Error with the message format and args make, wrapping err; a *url.Error is
// unwrapped, so that logging the cause never logs the URL.
func failf(err error, format string, args ...any) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &Error{msg: fmt.Sprintf(format, args...), err: err}
}

var errStalled = errors.New("download stalled")

// ErrStopping is the cause to cancel a download's context with when the server stops, so that
// the failure says so.
var ErrStopping = errors.New("server stopping")

// save puts the video at videoURL into the directory as the file of task id, or finds it there
// already. Every failure is a *Error; no failure leaves a file behind.
func (d *Downloader) Save(ctx context.Context, id, videoURL string) (Saved, error) {
	name, err := videoFileName(d.dir, id)
	if err != nil {
		return Saved{}, failf(err, "%v", err)
	}
	release, err := d.acquire(ctx, name)
	if err != nil {
		return Saved{}, failf(err, "stopped before the download began")
	}
	defer release()

	root, err := os.OpenRoot(d.dir)
	if errors.Is(err, fs.ErrNotExist) {
		// Removed since startup: make it again, as it was made then.
		if mkErr := os.MkdirAll(d.dir, 0o755); mkErr == nil {
			root, err = os.OpenRoot(d.dir)
		}
	}
	if err != nil {
		return Saved{}, failf(err, "cannot open the download directory %s: %v", d.dir, err)
	}
	defer root.Close()

	path := filepath.Join(d.dir, name)
	if saved, ok, err := existingVideo(root, name, path); ok || err != nil {
		return saved, err
	}
	d.removeStaleTemps(root, name)

	size, err := d.fetch(ctx, root, name, videoURL)
	if err != nil {
		return Saved{}, err
	}
	if size < 0 {
		// Another process saved the same video between the check and now.
		saved, _, err := existingVideo(root, name, path)
		return saved, err
	}
	return Saved{Path: path, Size: size}, nil
}

// acquire waits until no other call downloads the file name, and claims it.
func (d *Downloader) acquire(ctx context.Context, name string) (func(), error) {
	for {
		d.mu.Lock()
		busy := d.flying[name]
		if busy == nil {
			done := make(chan struct{})
			d.flying[name] = done
			d.mu.Unlock()
			return func() {
				d.mu.Lock()
				delete(d.flying, name)
				d.mu.Unlock()
				close(done)
			}, nil
		}
		d.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// existingVideo reports a file already saved under name: ok when it is a video to reuse, an
// error when something else is in the way (it is never replaced).
func existingVideo(root *os.Root, name, path string) (Saved, bool, error) {
	info, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return Saved{}, false, nil
	}
	if err != nil {
		return Saved{}, false, failf(err, "cannot check %s: %v", path, err)
	}
	if info.Mode().IsRegular() {
		if head, complete, err := readHead(root, name); err == nil && isMP4(head, complete, false) {
			return Saved{Path: path, Size: info.Size(), Reused: true}, true, nil
		}
	}
	return Saved{}, false, failf(nil, "%s already exists and is not an MP4 video; it was left alone. Move it away, then save again", path)
}

// removeStaleTemps removes temporary files of name left by a process that died downloading it.
func (d *Downloader) removeStaleTemps(root *os.Root, name string) {
	matches, err := fs.Glob(root.FS(), tempPrefix(name)+"*"+tempSuffix)
	if err != nil {
		return
	}
	for _, m := range matches {
		if info, err := root.Lstat(m); err == nil && info.Mode().IsRegular() && time.Since(info.ModTime()) > staleTempAge {
			_ = root.Remove(m)
		}
	}
}

const tempSuffix = ".part"

// tempPrefix starts the names of name's temporary files: hidden, and never a name that
// videoFileName makes.
func tempPrefix(name string) string { return "." + name + "." }

// fetch streams the video into a temporary file and renames it to name. It returns the size, or
// -1 when name appeared meanwhile (the download is then discarded).
func (d *Downloader) fetch(ctx context.Context, root *os.Root, name, videoURL string) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, downloadTimeout, fmt.Errorf("download took longer than %s", downloadTimeout))
	defer cancelTimeout()

	resp, err := d.get(ctx, videoURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()

	// Stop a download that receives nothing for downloadStall.
	stall := time.AfterFunc(downloadStall, func() { cancel(errStalled) })
	defer stall.Stop()
	body := &stallReader{r: resp.Body, timer: stall}

	head, ended, err := readStart(body, min(headSize, d.maxBytes+1))
	if err != nil {
		return 0, failf(err, "reading the video failed: %s", describeFetchError(ctx, err))
	}
	// A body cut short of its Content-Length is reported as such below, not as no MP4.
	complete := ended && (resp.ContentLength < 0 || int64(len(head)) == resp.ContentLength)
	if err := checkContent(resp.Header.Get("Content-Type"), head, complete); err != nil {
		return 0, err
	}
	return d.save(ctx, root, name, head, body, resp.ContentLength)
}

// get requests the video: a response whose status is 200 and whose announced size a download
// may take, its body still to be read.
func (d *Downloader) get(ctx context.Context, videoURL string) (*http.Response, error) {
	u, err := url.Parse(videoURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, failf(err, "the video URL is not an http or https URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, failf(err, "the video URL cannot be requested")
	}
	req.Header.Set("Accept", "video/mp4, application/octet-stream;q=0.5")
	req.Header.Set("User-Agent", d.userAgent)
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, failf(err, "the video could not be fetched: %s", describeFetchError(ctx, err))
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, failf(nil, "the video host answered HTTP %d%s%s", resp.StatusCode, storeCode(resp), expiredHint(resp.StatusCode))
	}
	if resp.ContentLength > d.maxBytes {
		resp.Body.Close()
		return nil, failf(nil, "the video is %s, more than the %s a download may take", FormatBytes(resp.ContentLength), FormatBytes(d.maxBytes))
	}
	return resp, nil
}

// save writes head and the rest of body to a temporary file, then gives that file name. It
// returns the size, or -1 when name appeared meanwhile (the temporary file is then removed).
// length is the size the host announced, or -1.
func (d *Downloader) save(ctx context.Context, root *os.Root, name string, head []byte, body io.Reader, length int64) (int64, error) {
	tmp := tempPrefix(name) + randomHex() + tempSuffix
	size, err := d.writeTemp(ctx, root, tmp, head, body, length)
	if err != nil {
		return 0, err
	}
	if err := publish(root, tmp, name); err != nil {
		_ = root.Remove(tmp)
		if errors.Is(err, fs.ErrExist) {
			return -1, nil
		}
		return 0, failf(err, "cannot move the finished download into place: %v", err)
	}
	return size, nil
}

// writeTemp creates the file tmp and writes the video to it, synced and closed. When that
// fails, it removes the file it created.
func (d *Downloader) writeTemp(ctx context.Context, root *os.Root, tmp string, head []byte, body io.Reader, length int64) (int64, error) {
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, failf(err, "cannot create a file in %s: %v", d.dir, err)
	}
	size, err := d.writeVideo(ctx, f, head, body, length)
	if err == nil {
		err = d.syncAndClose(f)
	} else {
		_ = f.Close()
	}
	if err != nil {
		_ = root.Remove(tmp)
		return 0, err
	}
	return size, nil
}

// writeVideo writes head, then the rest of body, to f, and returns the size written. It fails
// when the video turns out larger than a download may take or shorter than length.
func (d *Downloader) writeVideo(ctx context.Context, f *os.File, head []byte, body io.Reader, length int64) (int64, error) {
	written, err := f.Write(head)
	if err != nil {
		return 0, failf(err, "writing %s failed: %v", d.dir, err)
	}
	copied, err := io.Copy(f, io.LimitReader(body, d.maxBytes-int64(written)+1))
	size := int64(written) + copied
	switch {
	case err != nil && ctx.Err() != nil:
		return 0, failf(err, "the download stopped: %s", describeFetchError(ctx, err))
	case err != nil && errors.As(err, new(*fs.PathError)):
		// Writing the file failed: its error names the file, in the download directory.
		return 0, failf(err, "the download failed after %s: %v", FormatBytes(size), err)
	case err != nil:
		return 0, failf(err, "the download failed after %s: %s", FormatBytes(size), describeFetchError(ctx, err))
	case size > d.maxBytes:
		return 0, failf(nil, "the video is larger than the %s a download may take", FormatBytes(d.maxBytes))
	case length >= 0 && size != length:
		return 0, failf(nil, "the download ended after %s of %s", FormatBytes(size), FormatBytes(length))
	}
	return size, nil
}

// syncAndClose flushes f to the disk and closes it.
func (d *Downloader) syncAndClose(f *os.File) error {
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return failf(err, "writing %s failed: %v", d.dir, err)
	}
	if err := f.Close(); err != nil {
		return failf(err, "writing %s failed: %v", d.dir, err)
	}
	return nil
}

// publish gives the finished temporary file its name without ever replacing a file: a hard
// link fails when the name exists. On a file system without hard links it falls back to a
// rename, which cannot refuse to replace; the per-name lock keeps this process's own
// downloads from racing there.
func publish(root *os.Root, tmp, name string) error {
	err := root.Link(tmp, name)
	if err == nil {
		_ = root.Remove(tmp)
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	return root.Rename(tmp, name)
}

// stallReader resets the stall timer at every read that brings data.
type stallReader struct {
	r     io.Reader
	timer *time.Timer
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.timer.Reset(downloadStall)
	}
	return n, err
}

// describeFetchError says why a request or read failed, in words of its own: the cause of a
// cancelled context (stall, overall timeout, server stopping, the caller gone) rather than
// "context canceled", and a kind of network failure rather than the error's text, which can
// quote what the other end sent (a malformed status line, a proxy's reason phrase) and, through
// a proxy, that may be an internal host. Never the URL either, whose query string is a
// credential. The error itself stays in the *Error, for the server's log.
func describeFetchError(ctx context.Context, err error) string {
	if refusal, ok := describeRefusal(err); ok {
		return refusal
	}
	if cause := context.Cause(ctx); cause != nil {
		return describeCause(cause)
	}
	return describeNetworkFailure(err)
}

// describeRefusal says why the downloader itself refused to go on, if it did: its own words,
// without the address, which the upstream chose.
func describeRefusal(err error) (string, bool) {
	var refused *proxyRefusal
	var redirect *redirectError
	switch {
	case errors.Is(err, errLocalAddress):
		return errLocalAddress.Error(), true
	case errors.As(err, &refused):
		return refused.Error(), true
	case errors.As(err, &redirect):
		return redirect.Error(), true
	}
	return "", false
}

// describeCause says why the download's context ended.
func describeCause(cause error) string {
	switch {
	case errors.Is(cause, errStalled):
		return fmt.Sprintf("no data arrived for %s", downloadStall)
	case errors.Is(cause, ErrStopping):
		return "the server is shutting down"
	case errors.Is(cause, context.Canceled):
		return "the call was cancelled"
	}
	return cause.Error()
}

// describeNetworkFailure names the kind of network failure err is.
func describeNetworkFailure(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "the video host's name does not resolve"
	case errors.As(err, &dnsErr):
		return "looking up the video host's name failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the video host refused the connection"
	case errors.Is(err, syscall.ECONNRESET):
		return "the video host reset the connection"
	case errors.As(err, &certErr):
		return "the video host's TLS certificate is not valid for it"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "the video host did not answer in time"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the video host closed the connection early"
	}
	return "the exchange with the video host failed (the server's log has the details)"
}

// maxCodeLength bounds the object store error code a failure quotes.
const maxCodeLength = 64

// storeCode is the " (Code)" of an object store's XML error (OSS and S3 answer
// <Error><Code>AccessDenied</Code><Message>…), or "". Only the code is quoted, and only when it
// is a plain identifier, as real codes are: the rest of the body is whatever the host chose to
// say, and through a proxy the host may be an internal one.
func storeCode(resp *http.Response) string {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var e struct {
		Code string `xml:"Code"`
	}
	if xml.Unmarshal(body, &e) != nil || !isIdentifier(e.Code) {
		return ""
	}
	return " (" + e.Code + ")"
}

// isIdentifier reports whether s is an ASCII letter followed by letters, digits, '.', '_' or
// '-', at most maxCodeLength bytes in all.
func isIdentifier(s string) bool {
	if s == "" || len(s) > maxCodeLength || !isASCIILetter(s[0]) {
		return false
	}
	for i := range len(s) {
		if !isIdentifierByte(s[i]) {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' }

func isIdentifierByte(c byte) bool {
	return isASCIILetter(c) || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

func expiredHint(status int) string {
	if status == http.StatusForbidden || status == http.StatusNotFound {
		return "; the link may have expired (video URLs last 24 hours)"
	}
	return ""
}

// FormatBytes renders a size for people, in powers of 1,024: "812 B", "4.2 MB", "1.0 GB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "KMGTPE"[exp])
}

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
