package httpguard

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// staticTokenHint is what a client that tries OAuth is told: MCP_AUTH_TOKEN is a static
// bearer token, and there is no authorization server to register with. Claude Code, for one,
// falls back to POST /register after a 401 and shows the body of its answer.
const staticTokenHint = "video-task-mcp does not use OAuth: it takes the static token set in MCP_AUTH_TOKEN. " +
	"Send it in the header \"Authorization: Bearer <token>\" " +
	"(claude mcp add ... --header \"Authorization: Bearer <token>\")."

// protectedResourcePath is where RFC 9728 puts a resource's metadata: this path followed by
// the resource's own path (/.well-known/oauth-protected-resource/mcp for /mcp).
const protectedResourcePath = "/.well-known/oauth-protected-resource"

// bearerChallenge is the WWW-Authenticate of a 401 (RFC 6750, with RFC 9728's
// resource_metadata): it points to the metadata of the resource r asked for.
func bearerChallenge(r *http.Request) string {
	return fmt.Sprintf(`Bearer realm="video-task-mcp", resource_metadata="%s"`, requestOrigin(r)+protectedResourcePath+r.URL.Path)
}

// requestOrigin is the scheme and host the client used.
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// StaticTokenRoutes serves, for a server that takes a static token, what a client that meets
// the 401 looks up: the protected resource metadata of each MCP endpoint (RFC 9728), which
// names no authorization server and says the token goes in the Authorization header, and for
// every other path, the OAuth discovery and registration endpoints included, a 404 that says
// how to authenticate.
func StaticTokenRoutes(mux *http.ServeMux, endpoints ...string) {
	for _, endpoint := range endpoints {
		mux.HandleFunc("GET "+protectedResourcePath+endpoint, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"resource":                 requestOrigin(r) + endpoint,
				"bearer_methods_supported": []string{"header"},
				"resource_name":            "video-task-mcp",
			})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintln(w, staticTokenHint)
	})
}
