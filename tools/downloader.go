package tools

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// DefaultMaxDownloadBytes bounds one saved video: 1 GiB, some twenty times the largest clip the
// Wan models produce, so that a broken or hostile URL cannot fill the disk.
const DefaultMaxDownloadBytes int64 = 1 << 30

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

// PrepareDownloadDir resolves the --download-dir argument: a leading "~/" is the user's home
// (MCP clients start servers without a shell to expand it), the result is absolute, and the
// directory is created when missing. It fails when the path is not a directory or not
// writable, so that a mistake shows at startup rather than at the first download.
func PrepareDownloadDir(dir string) (string, error) {
	dir = strings.TrimSpace(dir)
	if dir == "" {
		return "", errors.New("download directory: empty path")
	}
	if dir == "~" || strings.HasPrefix(dir, "~/") || strings.HasPrefix(dir, `~\`) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("download directory %q: %w", dir, err)
		}
		dir = filepath.Join(home, dir[1:])
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("download directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("download directory: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return "", fmt.Errorf("download directory: %w", err)
	}
	defer root.Close()
	probe := ".video-task-mcp-write-test-" + randomHex()
	f, err := root.OpenFile(probe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("download directory %s is not writable: %w", abs, err)
	}
	_ = f.Close()
	_ = root.Remove(probe)
	return abs, nil
}

// newDownloadHTTPClient is the client of video downloads, apart from the API client: no bearer
// token (the video URL is signed and carries its own authority), bounded connection and header
// waits, and no overall timeout, since a large video streams for longer than a query lasts;
// downloadTimeout and downloadStall bound it instead. The video URL comes from the upstream, so
// the client never connects to a private or local address (see refuseLocalDial).
func newDownloadHTTPClient() *http.Client {
	return newGuardedDownloadClient(http.ProxyFromEnvironment, false)
}

// newGuardedDownloadClient is newDownloadHTTPClient with its proxy choice, and with loopback
// addresses allowed when allowLoopback is set (tests only: httptest servers listen there).
//
// Every request, each redirect hop included (the client calls RoundTrip once per hop), is
// routed by guardedTransport: the proxy choice is made there, and the request goes either to a
// direct transport, whose dialer checks in its Control the very IP being dialled after DNS
// resolution (which covers redirects and DNS rebinding alike), or to a transport fixed to the
// one proxy chosen. A proxy the user configured (HTTP_PROXY, HTTPS_PROXY) is dialled whatever
// its address, often a local one; what it fetches is checked by name instead, before the
// request goes to it (see refuseLocalHost). A request that is not proxied never reaches the
// unchecked dialer, even when it is for the proxy's own address.
func newGuardedDownloadClient(proxy func(*http.Request) (*url.URL, error), allowLoopback bool) *http.Client {
	guarded := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error { return refuseLocalDial(address, allowLoopback) }}
	direct := downloadTransport()
	direct.Proxy = nil
	direct.DialContext = guarded.DialContext
	return &http.Client{
		Transport: &guardedTransport{
			proxy:         proxy,
			allowLoopback: allowLoopback,
			direct:        direct,
			proxied:       make(map[string]*http.Transport),
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to a %s URL", req.URL.Scheme)
			}
			return nil
		},
	}
}

// downloadTransport is the transport settings shared by the direct and the proxied transports.
func downloadTransport() *http.Transport {
	return &http.Transport{
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
}

// guardedTransport sends each request through the proxy that proxy chooses for it, or directly.
type guardedTransport struct {
	proxy         func(*http.Request) (*url.URL, error)
	allowLoopback bool
	direct        *http.Transport // Proxy nil, guarded dialer

	mu      sync.Mutex
	proxied map[string]*http.Transport // by proxy URL; each only ever dials that proxy
}

func (t *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p, err := t.proxy(req)
	if err == nil && p != nil {
		err = refuseLocalHost(req.Context(), req.URL.Hostname(), t.allowLoopback)
	}
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	if p == nil {
		return t.direct.RoundTrip(req)
	}
	return t.viaProxy(p).RoundTrip(req)
}

// viaProxy is the transport whose Proxy is always p. Its dialer is unchecked: with a fixed
// Proxy, http.Transport connects to nothing but the proxy.
func (t *guardedTransport) viaProxy(p *url.URL) *http.Transport {
	key := p.String()
	t.mu.Lock()
	defer t.mu.Unlock()
	tr := t.proxied[key]
	if tr == nil {
		toProxy := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		tr = downloadTransport()
		tr.Proxy = http.ProxyURL(p)
		tr.DialContext = toProxy.DialContext
		t.proxied[key] = tr
	}
	return tr
}

// CloseIdleConnections closes the idle connections of every transport, for
// http.Client.CloseIdleConnections.
func (t *guardedTransport) CloseIdleConnections() {
	t.direct.CloseIdleConnections()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.proxied {
		tr.CloseIdleConnections()
	}
}

// errLocalAddress refuses a video URL, or a redirect, that leads to this machine or its
// networks: fetching from there would let the upstream read internal services (cloud metadata
// included) through the error text of a failed download.
var errLocalAddress = errors.New("refusing to fetch a video from a private or local address " +
	"(loopback, private network, link-local or cloud metadata, multicast); video hosts are on the public internet")

// localPrefixes are the addresses no video host has: this host, "this network", private and
// shared (carrier-grade NAT, where Alibaba Cloud's metadata service 100.100.100.200 is)
// networks, link-local ones (169.254.169.254, fe80::/10), multicast, reserved and broadcast.
var localPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("::/96"),          // IPv4-compatible, deprecated: ::127.0.0.1
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fec0::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// nat64Prefix maps IPv4 addresses into IPv6 (RFC 6052); the IPv4 address inside is checked.
var nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")

// isLocalAddr reports whether ip is an address refused for downloads.
func isLocalAddr(ip netip.Addr, allowLoopback bool) bool {
	if !ip.IsValid() || ip.Zone() != "" { // a zone scopes the address to a local link
		return true
	}
	ip = ip.Unmap()
	if nat64Prefix.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	if allowLoopback && ip.IsLoopback() {
		return false
	}
	for _, p := range localPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// refuseLocalDial is the Control of the download dialer: address is the resolved "ip:port"
// about to be connected.
func refuseLocalDial(address string, allowLoopback bool) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || isLocalAddr(ap.Addr(), allowLoopback) {
		return errLocalAddress
	}
	return nil
}

// refuseLocalHost checks the host of a request sent through a proxy, which resolves and
// connects in this process's stead: an IP literal, a localhost name, a numeric name that is not
// a plain IP literal, or a name that resolves here to any refused address is refused. Any
// other name that does not resolve here is left to the proxy, which may see a DNS this machine
// does not.
func refuseLocalHost(ctx context.Context, host string, allowLoopback bool) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		if isLocalAddr(ip, allowLoopback) {
			return errLocalAddress
		}
		return nil
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if ip, err := netip.ParseAddr(name); err == nil && ip.Is4() { // "8.8.8.8."
		if isLocalAddr(ip, allowLoopback) {
			return errLocalAddress
		}
		return nil
	}
	if numericLabel(name[strings.LastIndexByte(name, '.')+1:]) {
		// 2130706433, 0x7f000001, 127.1, 0177.0.0.1: no public host name ends in a numeric
		// label, and a proxy may read these inet_aton-style, as 127.0.0.1.
		return errLocalAddress
	}
	if !allowLoopback && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return errLocalAddress
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, ip := range ips {
		if isLocalAddr(ip, allowLoopback) {
			return errLocalAddress
		}
	}
	return nil
}

// numericLabel reports whether a host name label is a number as inet_aton reads one: decimal
// or octal digits, or 0x and hexadecimal digits.
func numericLabel(label string) bool {
	if label == "" {
		return false
	}
	digits, isDigit := label, func(c byte) bool { return '0' <= c && c <= '9' }
	if strings.HasPrefix(label, "0x") {
		digits = label[2:]
		isDigit = func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
	}
	for i := range len(digits) {
		if !isDigit(digits[i]) {
			return false
		}
	}
	return true
}

// downloader saves videos into one directory, one download per file at a time.
type downloader struct {
	dir       string // absolute
	client    *http.Client
	maxBytes  int64
	userAgent string

	mu     sync.Mutex
	flying map[string]chan struct{} // closed when the download of that file name ends
}

// newDownloader returns nil when downloads are off.
func newDownloader(d Deps) *downloader {
	if d.DownloadDir == "" {
		return nil
	}
	dl := &downloader{
		dir:       d.DownloadDir,
		client:    d.DownloadHTTPClient,
		maxBytes:  d.MaxDownloadBytes,
		userAgent: "video-task-mcp",
		flying:    make(map[string]chan struct{}),
	}
	if dl.client == nil {
		dl.client = newDownloadHTTPClient()
	}
	if dl.maxBytes <= 0 {
		dl.maxBytes = DefaultMaxDownloadBytes
	}
	return dl
}

// savedVideo is a video on disk.
type savedVideo struct {
	path   string // absolute
	size   int64
	reused bool // it was there already
}

// downloadError is a failed download, its message fit for the model and the user.
type downloadError struct {
	msg string
	err error
}

func (e *downloadError) Error() string { return e.msg }
func (e *downloadError) Unwrap() error { return e.err }

func failf(err error, format string, args ...any) error {
	return &downloadError{msg: fmt.Sprintf(format, args...), err: err}
}

var (
	errStalled = errors.New("download stalled")
	// errStopping ends a download because the server is stopping.
	errStopping = errors.New("server stopping")
)

// videoFileName maps a task id to the name its video is saved under: "<id>.mp4", with ':'
// (not allowed in Windows file names, shown as '/' by macOS) written %3A and a leading '.'
// written %2E so that no saved video is hidden. '%' never occurs in a valid id, so no two ids
// share a name. Anything that is not a plain name inside the directory is refused; the
// os.Root that every write goes through would refuse it anyway.
//
// Two ids that differ only in case share a name on case-insensitive file systems; the
// provider's ids are generated in one case, so two real ids never do.
func videoFileName(dir, id string) (string, error) {
	id, err := api.ValidateTaskID(id)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i := range len(id) {
		switch c := id[i]; {
		case c == ':':
			b.WriteString("%3A")
		case c == '.' && i == 0:
			b.WriteString("%2E")
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString(".mp4")
	name := b.String()
	if len(name) > maxFileNameLength {
		return "", fmt.Errorf("the task id makes a file name of %d bytes; at most %d fit", len(name), maxFileNameLength)
	}
	rel, err := filepath.Rel(dir, filepath.Join(dir, name))
	if err != nil || rel != name || !filepath.IsLocal(name) || filepath.Base(name) != name || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("the task id does not make a file name inside the download directory")
	}
	return name, nil
}

// save puts the video at videoURL into the directory as the file of task id, or finds it there
// already. Every failure is a *downloadError; no failure leaves a file behind.
func (d *downloader) save(ctx context.Context, id, videoURL string) (savedVideo, error) {
	name, err := videoFileName(d.dir, id)
	if err != nil {
		return savedVideo{}, failf(err, "%v", err)
	}
	release, err := d.acquire(ctx, name)
	if err != nil {
		return savedVideo{}, failf(err, "stopped before the download began")
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
		return savedVideo{}, failf(err, "cannot open the download directory %s: %v", d.dir, err)
	}
	defer root.Close()

	path := filepath.Join(d.dir, name)
	if saved, ok, err := existingVideo(root, name, path); ok || err != nil {
		return saved, err
	}
	d.removeStaleTemps(root, name)

	size, err := d.fetch(ctx, root, name, videoURL)
	if err != nil {
		return savedVideo{}, err
	}
	if size < 0 {
		// Another process saved the same video between the check and now.
		saved, _, err := existingVideo(root, name, path)
		return saved, err
	}
	return savedVideo{path: path, size: size}, nil
}

// acquire waits until no other call downloads the file name, and claims it.
func (d *downloader) acquire(ctx context.Context, name string) (func(), error) {
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
func existingVideo(root *os.Root, name, path string) (savedVideo, bool, error) {
	info, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return savedVideo{}, false, nil
	}
	if err != nil {
		return savedVideo{}, false, failf(err, "cannot check %s: %v", path, err)
	}
	if info.Mode().IsRegular() {
		if head, err := readHead(root, name); err == nil && isMP4Start(head, false) {
			return savedVideo{path: path, size: info.Size(), reused: true}, true, nil
		}
	}
	return savedVideo{}, false, failf(nil, "%s already exists and is not an MP4 video; it was left alone. Move it away, then save again", path)
}

func readHead(root *os.Root, name string) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, 12)
	n, err := io.ReadFull(f, head)
	return head[:n], err
}

// isMP4Start reports whether head begins an ISO base media file: a box header whose type is one
// that starts MP4 files. With ftypOnly, the first box must be the file-type box, as in every
// MP4 a video service writes.
func isMP4Start(head []byte, ftypOnly bool) bool {
	if len(head) < 8 {
		return false
	}
	switch string(head[4:8]) {
	case "ftyp":
		return true
	case "moov", "mdat", "free", "skip", "wide", "pdin", "styp", "sidx", "moof":
		return !ftypOnly
	}
	return false
}

// removeStaleTemps removes temporary files of name left by a process that died downloading it.
func (d *downloader) removeStaleTemps(root *os.Root, name string) {
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
func (d *downloader) fetch(ctx context.Context, root *os.Root, name, videoURL string) (int64, error) {
	u, err := url.Parse(videoURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, failf(err, "the video URL is not an http or https URL")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, downloadTimeout, fmt.Errorf("download took longer than %s", downloadTimeout))
	defer cancelTimeout()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, failf(err, "the video URL cannot be requested")
	}
	req.Header.Set("Accept", "video/mp4, application/octet-stream;q=0.5")
	req.Header.Set("User-Agent", d.userAgent)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, failf(err, "the video could not be fetched: %s", describeFetchError(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, failf(nil, "the video host answered HTTP %d%s%s", resp.StatusCode, storageSaid(resp), expiredHint(resp.StatusCode))
	}
	if resp.ContentLength > d.maxBytes {
		return 0, failf(nil, "the video is %s, more than the %s a download may take", formatBytes(resp.ContentLength), formatBytes(d.maxBytes))
	}

	// Stop a download that receives nothing for downloadStall.
	stall := time.AfterFunc(downloadStall, func() { cancel(errStalled) })
	defer stall.Stop()
	body := &stallReader{r: resp.Body, timer: stall}

	head := make([]byte, 12)
	n, err := io.ReadFull(body, head)
	head = head[:n]
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, failf(err, "reading the video failed: %s", describeFetchError(ctx, err))
	}
	if err := checkContent(resp.Header.Get("Content-Type"), head); err != nil {
		return 0, err
	}

	tmp := tempPrefix(name) + randomHex() + tempSuffix
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, failf(err, "cannot create a file in %s: %v", d.dir, err)
	}
	published := false
	defer func() {
		if !published {
			_ = f.Close()
			_ = root.Remove(tmp)
		}
	}()
	written, err := f.Write(head)
	if err != nil {
		return 0, failf(err, "writing %s failed: %v", d.dir, err)
	}
	copied, err := io.Copy(f, io.LimitReader(body, d.maxBytes-int64(written)+1))
	size := int64(written) + copied
	switch {
	case err != nil && ctx.Err() != nil:
		return 0, failf(err, "the download stopped: %s", describeFetchError(ctx, err))
	case err != nil:
		// A failed read or write: io.Copy does not say which, so say both.
		return 0, failf(err, "the download failed after %s: %v", formatBytes(size), err)
	case size > d.maxBytes:
		return 0, failf(nil, "the video is larger than the %s a download may take", formatBytes(d.maxBytes))
	case resp.ContentLength >= 0 && size != resp.ContentLength:
		return 0, failf(nil, "the download ended after %s of %s", formatBytes(size), formatBytes(resp.ContentLength))
	}
	if err := f.Sync(); err != nil {
		return 0, failf(err, "writing %s failed: %v", d.dir, err)
	}
	if err := f.Close(); err != nil {
		return 0, failf(err, "writing %s failed: %v", d.dir, err)
	}
	published = true // closed; the deferred clean-up must not close it again
	if err := publish(root, tmp, name); err != nil {
		_ = root.Remove(tmp)
		if errors.Is(err, fs.ErrExist) {
			return -1, nil
		}
		return 0, failf(err, "cannot move the finished download into place: %v", err)
	}
	return size, nil
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

// checkContent accepts video/mp4, and application/octet-stream (what object stores send for
// files uploaded without a type) only when the body starts with an MP4 file-type box.
func checkContent(contentType string, head []byte) error {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil {
		mediaType = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch mediaType {
	case "video/mp4":
		if !isMP4Start(head, false) {
			return failf(nil, "the video host sent video/mp4, but the body is not an MP4 file")
		}
	case "application/octet-stream", "binary/octet-stream":
		if !isMP4Start(head, true) {
			return failf(nil, "the video host sent %s that does not start like an MP4 file", mediaType)
		}
	case "":
		return failf(nil, "the video host sent no Content-Type; an MP4 video (video/mp4) was expected")
	default:
		return failf(nil, "the video host sent %s, not an MP4 video", truncate(mediaType, 60))
	}
	return nil
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

// describeFetchError says why a request or read failed, naming the cause of a cancelled
// context (stall, overall timeout, server stopping, the caller gone) rather than "context
// canceled"; never with the URL, whose query string is a credential.
func describeFetchError(ctx context.Context, err error) string {
	if errors.Is(err, errLocalAddress) {
		return errLocalAddress.Error() // without the address, which the upstream chose
	}
	if cause := context.Cause(ctx); cause != nil {
		switch {
		case errors.Is(cause, errStalled):
			return fmt.Sprintf("no data arrived for %s", downloadStall)
		case errors.Is(cause, errStopping):
			return "the server is shutting down"
		case errors.Is(cause, context.Canceled):
			return "the call was cancelled"
		}
		return cause.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// storageSaid quotes an object store's XML error (OSS and S3 answer <Error><Code>…<Message>…),
// as " (AccessDenied: Request has expired.)".
func storageSaid(resp *http.Response) string {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &e) != nil || (e.Code == "" && e.Message == "") {
		return ""
	}
	return " (" + truncate(joinNonEmpty(strings.TrimSpace(e.Code), strings.TrimSpace(e.Message)), 200) + ")"
}

func expiredHint(status int) string {
	if status == http.StatusForbidden || status == http.StatusNotFound {
		return "; the link may have expired (video URLs last 24 hours)"
	}
	return ""
}

// formatBytes renders a size for people, in powers of 1,024: "812 B", "4.2 MB", "1.0 GB".
func formatBytes(n int64) string {
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
