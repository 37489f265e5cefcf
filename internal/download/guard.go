package download

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// NewClient is the client of video downloads, apart from the API client: no bearer
// token (the video URL is signed and carries its own authority), bounded connection and header
// waits, and no overall timeout, since a large video streams for longer than a query lasts;
// downloadTimeout and downloadStall bound it instead. The video URL comes from the upstream, so
// the client never connects to a private or local address (see refuseLocalDial).
func NewClient() *http.Client {
	return newGuardedClient(http.ProxyFromEnvironment, false)
}

// NewLoopbackClient is NewClient allowed to reach loopback addresses, and no other refused
// address: for tests, whose video hosts are httptest servers listening there.
func NewLoopbackClient() *http.Client {
	return newGuardedClient(http.ProxyFromEnvironment, true)
}

// newGuardedClient is NewClient with its proxy choice, and with loopback
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
func newGuardedClient(proxy func(*http.Request) (*url.URL, error), allowLoopback bool) *http.Client {
	guarded := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error { return refuseLocalDial(address, allowLoopback) }}
	direct := transportSettings()
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
				return &redirectError{"more than 5 redirects"}
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				// url.Parse allows only letters, digits, '+', '-' and '.' in a scheme.
				return &redirectError{"a redirect to a " + truncate(req.URL.Scheme, 20) + " URL"}
			}
			return nil
		},
	}
}

// downloadTransport is the transport settings shared by the direct and the proxied transports.
func transportSettings() *http.Transport {
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
		tr = transportSettings()
		tr.Proxy = http.ProxyURL(p)
		tr.DialContext = toProxy.DialContext
		tr.OnProxyConnectResponse = refuseProxyAnswer
		t.proxied[key] = tr
	}
	return tr
}

// proxyRefusal is a proxy's refusal to connect to the video host, by its status: net/http would
// report the reason phrase, text of the proxy's choosing.
type proxyRefusal struct{ status int }

func (e *proxyRefusal) Error() string {
	return fmt.Sprintf("the proxy refused the connection (HTTP %d)", e.status)
}

// refuseProxyAnswer is the OnProxyConnectResponse of proxied transports.
func refuseProxyAnswer(_ context.Context, _ *url.URL, _ *http.Request, resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		return &proxyRefusal{status: resp.StatusCode}
	}
	return nil
}

// redirectError is a redirect the client does not follow.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

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
	"(loopback, private network, link-local or cloud metadata, benchmarking, documentation, multicast, reserved); " +
	"video hosts are on the public internet")

// localPrefixes are the addresses no video host has: this host, "this network", private and
// shared (carrier-grade NAT, where Alibaba Cloud's metadata service 100.100.100.200 is)
// networks, link-local ones (169.254.169.254, fe80::/10), Azure's WireServer (168.63.129.16,
// a public address that answers only inside Azure, with metadata-like secrets), the
// benchmarking and documentation ranges, multicast, reserved and broadcast. The README lists
// them; keep the two in step.
var localPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("168.63.129.16/32"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("::/96"),          // IPv4-compatible, deprecated: ::127.0.0.1
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fec0::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// nat64Prefix maps IPv4 addresses into IPv6 (RFC 6052), and sixToFourPrefix gives each IPv4
// address a 6to4 network (RFC 3056); the IPv4 address inside either is checked.
var (
	nat64Prefix     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFourPrefix = netip.MustParsePrefix("2002::/16")
)

// isLocalAddr reports whether ip is an address refused for downloads.
func isLocalAddr(ip netip.Addr, allowLoopback bool) bool {
	if !ip.IsValid() || ip.Zone() != "" { // a zone scopes the address to a local link
		return true
	}
	ip = ip.Unmap()
	switch b := ip.As16(); {
	case nat64Prefix.Contains(ip):
		ip = netip.AddrFrom4([4]byte(b[12:]))
	case sixToFourPrefix.Contains(ip):
		ip = netip.AddrFrom4([4]byte(b[2:6]))
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
