package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStaticTokenLeadsToTheHeader: a client without the token is pointed, from the 401 on, to
// metadata that names no authorization server, and what it tries next (OAuth discovery,
// dynamic client registration) answers with how to send the token.
func TestStaticTokenLeadsToTheHeader(t *testing.T) {
	for _, kind := range []string{"http", "sse"} {
		t.Run(kind, func(t *testing.T) {
			srv := newTestHTTPServer(t, kind, "s3cret-token")
			endpoint := "/mcp"
			if kind == "sse" {
				endpoint = "/sse"
			}
			res, err := http.Post(srv.URL+endpoint, "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			metadataURL := srv.URL + "/.well-known/oauth-protected-resource" + endpoint
			want := `Bearer realm="video-task-mcp", resource_metadata="` + metadataURL + `"`
			if got := res.Header.Get("WWW-Authenticate"); res.StatusCode != http.StatusUnauthorized || got != want {
				t.Errorf("POST %s without a token = %d, WWW-Authenticate %q; want 401, %q", endpoint, res.StatusCode, got, want)
			}

			res, err = http.Get(metadataURL)
			if err != nil {
				t.Fatal(err)
			}
			var metadata map[string]any
			if err := json.NewDecoder(res.Body).Decode(&metadata); err != nil {
				t.Fatalf("GET %s: %v", metadataURL, err)
			}
			res.Body.Close()
			wantMetadata := map[string]any{
				"resource":                 srv.URL + endpoint,
				"bearer_methods_supported": []any{"header"},
				"resource_name":            "video-task-mcp",
			}
			if diff := cmp.Diff(wantMetadata, metadata); res.StatusCode != http.StatusOK || diff != "" {
				t.Errorf("GET %s = %d, metadata (-want +got):\n%s", metadataURL, res.StatusCode, diff)
			}

			for _, path := range []string{"/register", "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/authorize"} {
				res, err := http.Post(srv.URL+path, "application/json", strings.NewReader(`{"redirect_uris":["http://localhost/cb"]}`))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"Authorization: Bearer <token>"`) {
					t.Errorf("POST %s = %d %q, want 404 saying to send the bearer header", path, res.StatusCode, body)
				}
				if strings.Contains(string(body), "s3cret-token") {
					t.Errorf("POST %s echoes the token: %q", path, body)
				}
			}
		})
	}
}

// TestNoTokenNoAuthMetadata: without MCP_AUTH_TOKEN nothing claims the server is protected.
func TestNoTokenNoAuthMetadata(t *testing.T) {
	srv := newTestHTTPServer(t, "http", "")
	res, err := http.Get(srv.URL + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || strings.Contains(string(body), "MCP_AUTH_TOKEN") {
		t.Errorf("protected resource metadata without a token = %d %q, want a plain 404", res.StatusCode, body)
	}
}
