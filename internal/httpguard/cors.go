package httpguard

import "net/http"

// CORS for the browser origins the guard accepts (loopback ones and --allowed-origins). The
// guard answers it itself rather than through mcp-go's WithStreamableHTTPCORS/WithSSECORS:
// those match origins as exact strings, so they cannot accept a loopback page on any port
// (the MCP Inspector at http://localhost:6274, a dev server on another), and one predicate
// (origins.allowed) for both refusing and allowing cannot let the two disagree.
const (
	corsAllowMethods = "GET, POST, DELETE, OPTIONS"
	// corsAllowHeaders are the non-safelisted headers MCP clients send.
	corsAllowHeaders = "Content-Type, Authorization, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID"
	// corsExposeHeaders are the response headers a page may read: the session id, and the
	// authentication challenge of a 401.
	corsExposeHeaders = "Mcp-Session-Id, WWW-Authenticate"
	corsMaxAge        = "600" // seconds a browser may reuse a preflight answer
)

// cors lets an accepted origin read the response, and answers its preflights. It runs after
// origins.check, so any Origin it sees is accepted.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		// Set before the checks that follow, so that a page can read their refusals too.
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Expose-Headers", corsExposeHeaders)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			// A preflight never carries Authorization; it only asks what the actual request
			// may send, and that request is authenticated as usual.
			preflight(w, r)
			return
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
	if r.ContentLength != 0 {
		h.Set("Connection", "close")
	}
	w.WriteHeader(http.StatusNoContent)
}
