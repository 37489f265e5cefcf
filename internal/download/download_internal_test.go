package download

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/video-task-mcp/video-task-mcp/simulate"
)

func TestVideoFileName(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		id   string
		want string // "" for an error
	}{
		{"0385dc79-5ff8-4d82-bcb6-1a2b3c4d5e6f", "0385dc79-5ff8-4d82-bcb6-1a2b3c4d5e6f.mp4"},
		{"  padded  ", "padded.mp4"},
		{"relay:abc", "relay%3Aabc.mp4"},
		{"a:", "a%3A.mp4"},
		{".x", "%2Ex.mp4"},
		{"..x", "%2E.x.mp4"},
		{"x..", "x...mp4"},
		{"-dash", "-dash.mp4"},
		{"..", ""},
		{".", ""},
		{"", ""},
		{"../escape", ""},
		{"a/b", ""},
		{`a\b`, ""},
		{"/etc/passwd", ""},
		{"C:x", "C%3Ax.mp4"},
		{"a%3Ab", ""},
		{"nul\x00", ""},
		{strings.Repeat("a", 128), strings.Repeat("a", 128) + ".mp4"},
		{strings.Repeat(":", 128), ""}, // 384 bytes of %3A: too long a name
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got, err := videoFileName(dir, tt.id)
		if tt.want == "" {
			if err == nil {
				t.Errorf("videoFileName(%q) = %q, want an error", tt.id, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("videoFileName(%q) = %q, %v; want %q", tt.id, got, err, tt.want)
		}
		if other, ok := seen[got]; ok && other != strings.TrimSpace(tt.id) {
			t.Errorf("ids %q and %q share the file %q", other, tt.id, got)
		}
		seen[got] = strings.TrimSpace(tt.id)
	}
}

// FuzzVideoFileName: every name made is one plain file name inside the directory, distinct
// for distinct ids.
func FuzzVideoFileName(f *testing.F) {
	for _, s := range []string{"abc", "a:b", ".a", "..", "a/b", "a%3Ab", ":"} {
		f.Add(s, s+":")
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, a, b string) {
		na, errA := videoFileName(dir, a)
		nb, errB := videoFileName(dir, b)
		for _, n := range []string{na, nb} {
			if n != "" && (strings.ContainsAny(n, `/\:`) || strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".mp4")) {
				t.Fatalf("unsafe name %q", n)
			}
		}
		if errA == nil && errB == nil && na == nb && strings.TrimSpace(a) != strings.TrimSpace(b) {
			t.Fatalf("ids %q and %q share the name %q", a, b, na)
		}
	})
}

// video is a real MP4 file, as a video host sends it.
var video = simulate.Video()

func TestCheckContent(t *testing.T) {
	tests := []struct {
		contentType string
		head        []byte
		ok          bool
	}{
		{"video/mp4", video, true},
		{"Video/MP4; charset=binary", video, true},
		{"application/octet-stream", video, true},
		{"binary/octet-stream", video, true},
		{"application/octet-stream", []byte("\x00\x00\x00\x08moov"), false},
		{"application/octet-stream", []byte("PK\x03\x04zipzipzip"), false},
		{"video/quicktime", video, false},
		{"text/html", video, false},
		{"", video, false},
		{"video/mp4", []byte("<html>"), false},
	}
	for _, tt := range tests {
		if err := checkContent(tt.contentType, tt.head, true); (err == nil) != tt.ok {
			t.Errorf("checkContent(%q, %q…) = %v, want ok=%v", tt.contentType, truncate(string(tt.head), 20), err, tt.ok)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KB", 4641: "4.5 KB", 25 << 20: "25.0 MB", 1 << 30: "1.0 GB"}
	for n, want := range tests {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRefuseLocalDial(t *testing.T) {
	refused := []string{
		"127.0.0.1:80", "127.1.2.3:443", "10.0.0.1:443", "172.16.5.4:80", "192.168.1.1:80",
		"169.254.169.254:80", "100.100.100.200:80", "0.0.0.0:80", "224.0.0.1:80", "255.255.255.255:80",
		"[::1]:443", "[::]:80", "[fd00::1]:80", "[fe80::1]:80", "[fe80::1%eth0]:80", "[ff02::1]:80",
		"[::ffff:127.0.0.1]:80", "[::ffff:169.254.169.254]:80", "[64:ff9b::a9fe:a9fe]:80",
		"168.63.129.16:80", "198.18.0.1:443", "198.19.255.255:80", "192.0.2.1:80", "198.51.100.1:80", "203.0.113.1:80",
		"[2001:db8::1]:80", "[2002:7f00:1::1]:80", "[2002:a9fe:a9fe::]:80",
		"not-an-address:80",
	}
	for _, addr := range refused {
		err := refuseLocalDial(addr, false)
		if !errors.Is(err, errLocalAddress) || !strings.Contains(fmt.Sprint(err), "refusing to fetch a video from a private or local address") {
			t.Errorf("refuseLocalDial(%s) = %v, want the refusal", addr, err)
		}
	}
	for _, addr := range []string{"8.8.8.8:443", "47.88.1.1:443", "168.63.129.17:443", "198.17.255.255:443", "198.20.0.1:443",
		"[2606:4700::1111]:443", "[64:ff9b::808:808]:80", "[2002:808:808::1]:80"} {
		if err := refuseLocalDial(addr, false); err != nil {
			t.Errorf("refuseLocalDial(%s) = %v, want nil", addr, err)
		}
	}
	// The test-only allowance is for loopback alone.
	for addr, want := range map[string]bool{"127.0.0.1:80": true, "[::1]:80": true, "10.0.0.1:80": false, "169.254.169.254:80": false} {
		if err := refuseLocalDial(addr, true); (err == nil) != want {
			t.Errorf("refuseLocalDial(%s, allowLoopback) = %v, want allowed=%v", addr, err, want)
		}
	}
}

// TestDefaultDownloadClientRefusesLocalAddresses: the real default client does not connect to
// a loopback video host, and the refusal is what the summary quotes.
func TestDefaultDownloadClientRefusesLocalAddresses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = w.Write(video)
	}))
	defer srv.Close()
	dir := t.TempDir()
	d := New(dir, nil, 0)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port, "10.0.0.1", "169.254.169.254"} {
		_, err := d.Save(context.Background(), "t1", "http://"+host+"/v.mp4?Signature=x")
		var de *Error
		if !errors.As(err, &de) || !errors.Is(err, errLocalAddress) ||
			de.Error() != "the video could not be fetched: "+errLocalAddress.Error() {
			t.Errorf("save(%s) = %v, want the refusal to fetch from a local address", host, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback host was reached %d times, want 0", n)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("download directory holds %v, want nothing", entries)
	}
}

// TestDownloadRedirectToLocalAddressRefused: a redirect is checked like the first URL.
func TestDownloadRedirectToLocalAddressRefused(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("http://169.254.169.254/latest/meta-data/", http.StatusFound))
	defer srv.Close()
	d := New(t.TempDir(), newGuardedClient(noProxy, true), 0)
	_, err := d.Save(context.Background(), "t1", srv.URL+"/v.mp4")
	if !errors.Is(err, errLocalAddress) {
		t.Errorf("save through a redirect to 169.254.169.254 = %v, want the refusal", err)
	}
}

// noProxy is a proxy choice of no proxy.
func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// TestDownloadThroughProxy: a local proxy is used, but it is not asked for a local address.
func TestDownloadThroughProxy(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.String())
		mu.Unlock()
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = w.Write(video)
	}))
	defer proxy.Close()
	proxyURL, _ := url.Parse(proxy.URL)
	d := New(t.TempDir(), newGuardedClient(http.ProxyURL(proxyURL), false), 0)

	saved, err := d.Save(context.Background(), "public", "http://93.184.215.14/v.mp4")
	if err != nil || saved.Size != int64(len(video)) {
		t.Fatalf("save through the proxy = %+v, %v; want the %d bytes", saved, err, len(video))
	}
	for _, u := range []string{"http://169.254.169.254/latest/", "http://[::1]/x", "http://localhost/x", "http://10.0.0.1/x"} {
		if _, err := d.Save(context.Background(), "local", u); !errors.Is(err, errLocalAddress) {
			t.Errorf("save(%s) through the proxy = %v, want the refusal", u, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 1 || asked[0] != "http://93.184.215.14/v.mp4" {
		t.Errorf("the proxy was asked for %q, want the public URL only", asked)
	}
}

// TestProxyAddressNotReachableDirectly: the proxy's own address is dialled only for requests
// sent through the proxy. A request, or a redirect, for that address that the proxy choice
// sends direct (as ProxyFromEnvironment does for loopback and NO_PROXY hosts) is refused.
func TestProxyAddressNotReachableDirectly(t *testing.T) {
	var mu sync.Mutex
	var proxied, direct []string
	var proxy *httptest.Server
	proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.URL.IsAbs() { // a forward proxy is asked for absolute URLs
			proxied = append(proxied, r.URL.String())
		} else {
			direct = append(direct, r.URL.String())
		}
		mu.Unlock()
		switch {
		case !r.URL.IsAbs():
			_, _ = w.Write([]byte("internal service"))
		case r.URL.Path == "/redirect":
			http.Redirect(w, r, proxy.URL+"/internal", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "video/mp4")
			_, _ = w.Write(video)
		}
	}))
	defer proxy.Close()
	proxyURL, _ := url.Parse(proxy.URL)
	// Like ProxyFromEnvironment: loopback hosts are never proxied.
	choose := func(r *http.Request) (*url.URL, error) {
		if ip, err := netip.ParseAddr(r.URL.Hostname()); err == nil && ip.IsLoopback() {
			return nil, nil
		}
		return proxyURL, nil
	}
	client := newGuardedClient(choose, false)
	defer client.CloseIdleConnections()
	d := New(t.TempDir(), client, 0)

	saved, err := d.Save(context.Background(), "public", "http://93.184.215.14/v.mp4")
	if err != nil || saved.Size != int64(len(video)) {
		t.Fatalf("save through the proxy = %+v, %v; want the %d bytes", saved, err, len(video))
	}
	if _, err := d.Save(context.Background(), "internal", proxy.URL+"/internal"); !errors.Is(err, errLocalAddress) {
		t.Errorf("save(%s/internal), not proxied = %v, want the refusal", proxy.URL, err)
	}
	resp, err := client.Get(proxy.URL + "/internal")
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, errLocalAddress) {
		t.Errorf("GET %s/internal, not proxied = %v, want the refusal", proxy.URL, err)
	}
	// A redirect is routed anew: the hop to the proxy's address goes direct, and is refused.
	if _, err := d.Save(context.Background(), "redirected", "http://93.184.215.14/redirect"); !errors.Is(err, errLocalAddress) {
		t.Errorf("save through a redirect to the proxy's address = %v, want the refusal", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(direct) != 0 {
		t.Errorf("the proxy's address was reached directly for %q, want never", direct)
	}
	if want := []string{"http://93.184.215.14/v.mp4", "http://93.184.215.14/redirect"}; fmt.Sprint(proxied) != fmt.Sprint(want) {
		t.Errorf("the proxy was asked for %q, want %q", proxied, want)
	}
}

// TestRefuseLocalHost: the hosts a proxy would fetch for us are checked by name, numeric
// spellings of IPv4 addresses included, which a proxy may read inet_aton-style.
func TestRefuseLocalHost(t *testing.T) {
	refused := []string{
		"127.0.0.1", "127.0.0.1.", "10.1.2.3", "169.254.169.254", "::1", "::ffff:127.0.0.1", "fe80::1%eth0",
		"localhost", "LocalHost.", "video.localhost",
		"2130706433", "0x7f000001", "0X7F000001", "127.1", "127.0.1", "0177.0.0.1", "0x7f.0.0.1", "017700000001",
		"::127.0.0.1", "::7f00:1", "::a9fe:a9fe", "::8.8.8.8", "64:ff9b:1::7f00:1", "64:ff9b:1:ffff::1",
		"64:ff9b::127.0.0.1", "::ffff:127.1", "168.63.129.16", "198.18.7.7", "::ffff:168.63.129.16",
		"1.2.3.4.5", "8.8.8.08", "08.8.8.8", "0x8.8.8.8", "134744072", "a.b.123", "x.0x",
	}
	for _, host := range refused {
		if err := refuseLocalHost(context.Background(), host, false); !errors.Is(err, errLocalAddress) {
			t.Errorf("refuseLocalHost(%q) = %v, want the refusal", host, err)
		}
	}
	allowed := []string{
		"8.8.8.8", "8.8.8.8.", "93.184.215.14", "2606:4700::1111", "64:ff9b::808:808", "::ffff:8.8.8.8",
		"no-such-host.invalid", "0xdeadbeef.invalid", "123.example.invalid", "x.0xg", "dashscope-result.oss.invalid",
	}
	for _, host := range allowed {
		if err := refuseLocalHost(context.Background(), host, false); err != nil {
			t.Errorf("refuseLocalHost(%q) = %v, want nil", host, err)
		}
	}
}
