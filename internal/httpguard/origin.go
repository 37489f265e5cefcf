package httpguard

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// origins holds the browser origins accepted besides loopback ones, as lower-case
// "scheme://host[:port]".
type origins map[string]bool

// parseOrigins parses --allowed-origins entries, refusing any it could never match.
func parseOrigins(list []string) (origins, error) {
	o := origins{}
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "*") {
			return nil, fmt.Errorf("--allowed-origins: %q is a pattern, and origins are matched exactly: list each origin, such as https://app.example.com", s)
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("--allowed-origins: %q is not an origin such as https://app.example.com", s)
		}
		o[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	return o, nil
}

// check refuses a request whose Origin is neither loopback nor listed: a page a browser
// loaded from elsewhere, such as a DNS-rebinding attack, cannot reach the endpoint.
func (o origins) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Whether a response carries CORS headers depends on the Origin it answers.
		w.Header().Add("Vary", "Origin")
		if origin := r.Header.Get("Origin"); origin != "" && !o.allowed(origin) {
			refuse(w, r, http.StatusForbidden, "Forbidden: origin "+origin+" is not allowed (see --allowed-origins)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allowed accepts browser origins on this machine and those listed.
func (o origins) allowed(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if o[strings.ToLower(u.Scheme+"://"+u.Host)] {
		return true
	}
	return IsLoopback(u.Hostname())
}

// CheckHost refuses a request whose Host header does not name this machine, as a page that
// rebound its own domain name to 127.0.0.1 sends. For listeners that only loopback clients
// should reach, such as the debug endpoints.
func CheckHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !IsLoopback(host) {
			refuse(w, r, http.StatusForbidden, "Forbidden: host "+r.Host+" is not this machine; use 127.0.0.1 or localhost")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// IsLoopback reports whether host (a name or an IP address, bracketed or not) is this machine.
func IsLoopback(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
