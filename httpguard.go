package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Limits on what an HTTP client may send.
const (
	maxRequestBody  = 1 << 20 // one JSON-RPC message; ours are a few hundred bytes
	bodyReadTimeout = 30 * time.Second
)

// CORS for the browser origins the guard accepts (loopback ones and --allowed-origins). The
// guard answers it itself rather than through mcp-go's WithStreamableHTTPCORS/WithSSECORS:
// those match origins as exact strings, so they cannot accept a loopback page on any port
// (the MCP Inspector at http://localhost:6274, a dev server on another), and keeping one
// predicate (originAllowed) for both refusing and allowing cannot let the two disagree.
const (
	corsAllowMethods = "GET, POST, DELETE, OPTIONS"
	// corsAllowHeaders are the non-safelisted headers MCP clients send.
	corsAllowHeaders = "Content-Type, Authorization, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID"
	// corsExposeHeaders are the response headers a page may read: the session id, and the
	// authentication challenge of a 401.
	corsExposeHeaders = "Mcp-Session-Id, WWW-Authenticate"
	corsMaxAge        = "600" // seconds a browser may reuse a preflight answer
)

// httpGuard is what stands between the network and the MCP endpoints: client
// authentication, Origin checks against DNS rebinding, CORS for the origins it accepts, and
// bounds on request bodies.
type httpGuard struct {
	// tokenHash is the SHA-256 of MCP_AUTH_TOKEN; nil when authentication is off. Hashing
	// first makes the comparison constant-time whatever the lengths.
	tokenHash []byte
	// allowedOrigins are origins ("https://app.example.com") accepted besides localhost.
	allowedOrigins map[string]bool
}

func newHTTPGuard(token string, allowedOrigins []string) (*httpGuard, error) {
	g := &httpGuard{allowedOrigins: map[string]bool{}}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		g.tokenHash = sum[:]
	}
	for _, o := range allowedOrigins {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("--allowed-origins: %q is not an origin such as https://app.example.com", o)
		}
		g.allowedOrigins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	return g, nil
}

// wrap guards next.
func (g *httpGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Whether a response carries CORS headers depends on the Origin it answers.
		w.Header().Add("Vary", "Origin")
		if origin := r.Header.Get("Origin"); origin != "" {
			if !g.originAllowed(origin) {
				http.Error(w, "Forbidden: origin "+origin+" is not allowed (see --allowed-origins)", http.StatusForbidden)
				return
			}
			// Set before the checks below, so that a page can read their refusals too.
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", corsExposeHeaders)
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				// A preflight never carries Authorization; it only asks what the actual
				// request may send, and that request is authenticated as usual.
				preflight(w, r)
				return
			}
		}
		if g.tokenHash != nil && !g.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="video-task-mcp"`)
			http.Error(w, "Unauthorized: send Authorization: Bearer <MCP_AUTH_TOKEN>", http.StatusUnauthorized)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			if err := readBody(w, r); err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					http.Error(w, fmt.Sprintf("Request body larger than %d bytes", maxRequestBody), http.StatusRequestEntityTooLarge)
					return
				}
				http.Error(w, "Could not read the request body in time", http.StatusRequestTimeout)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// preflight answers a CORS preflight from an accepted origin.
func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	// Chrome's Private Network Access asks this of a public page reaching a private address.
	if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	w.WriteHeader(http.StatusNoContent)
}

func (g *httpGuard) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], g.tokenHash) == 1
}

// originAllowed accepts browser origins on this machine and those listed.
func (g *httpGuard) originAllowed(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if g.allowedOrigins[strings.ToLower(u.Scheme+"://"+u.Host)] {
		return true
	}
	return isLoopback(u.Hostname())
}

// readBody reads the whole request body, at most maxRequestBody bytes within
// bodyReadTimeout, and replaces it with the bytes read. The read deadline is lifted
// afterwards: net/http would otherwise cancel the request when its background read hits it,
// cutting off a long wait_for_video_task call.
func readBody(w http.ResponseWriter, r *http.Request) error {
	rc := http.NewResponseController(w)
	deadlineSet := rc.SetReadDeadline(time.Now().Add(bodyReadTimeout)) == nil
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if deadlineSet {
		_ = rc.SetReadDeadline(time.Time{})
	}
	r.Body.Close()
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}

// healthz answers liveness probes without authentication and without revealing anything.
func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
}

func isLoopback(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
