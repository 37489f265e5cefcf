package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/video-task-mcp/video-task-mcp/tools"
)

func TestHTTPGuard(t *testing.T) {
	const token = "mcp-client-token-123"
	tests := []struct {
		name       string
		token      string
		origins    []string
		header     map[string]string
		body       string
		wantStatus int
		wantAuth   bool // a WWW-Authenticate header
	}{
		{name: "open server, no origin", wantStatus: http.StatusOK},
		{name: "localhost origin", header: map[string]string{"Origin": "http://localhost:6274"}, wantStatus: http.StatusOK},
		{name: "loopback IP origin", header: map[string]string{"Origin": "http://127.0.0.1:3000"}, wantStatus: http.StatusOK},
		{name: "IPv6 loopback origin", header: map[string]string{"Origin": "http://[::1]:3000"}, wantStatus: http.StatusOK},
		{name: "foreign origin", header: map[string]string{"Origin": "https://evil.example"}, wantStatus: http.StatusForbidden},
		{name: "rebinding lookalike", header: map[string]string{"Origin": "http://localhost.evil.example"}, wantStatus: http.StatusForbidden},
		{name: "null origin", header: map[string]string{"Origin": "null"}, wantStatus: http.StatusForbidden},
		{name: "listed origin", origins: []string{"https://app.example.com"}, header: map[string]string{"Origin": "https://APP.example.com"}, wantStatus: http.StatusOK},
		{name: "listed origin, other port", origins: []string{"https://app.example.com"}, header: map[string]string{"Origin": "https://app.example.com:8443"}, wantStatus: http.StatusForbidden},
		{name: "token required, none sent", token: token, wantStatus: http.StatusUnauthorized, wantAuth: true},
		{name: "token required, wrong one", token: token, header: map[string]string{"Authorization": "Bearer nope"}, wantStatus: http.StatusUnauthorized, wantAuth: true},
		{name: "token required, a prefix of it", token: token, header: map[string]string{"Authorization": "Bearer " + token[:5]}, wantStatus: http.StatusUnauthorized, wantAuth: true},
		{name: "token required, wrong scheme", token: token, header: map[string]string{"Authorization": "Basic " + token}, wantStatus: http.StatusUnauthorized, wantAuth: true},
		{name: "token required, right one", token: token, header: map[string]string{"Authorization": "Bearer " + token}, wantStatus: http.StatusOK},
		{name: "token required, scheme in lower case", token: token, header: map[string]string{"Authorization": "bearer " + token}, wantStatus: http.StatusOK},
		{name: "foreign origin with the token", token: token, header: map[string]string{"Authorization": "Bearer " + token, "Origin": "https://evil.example"}, wantStatus: http.StatusForbidden},
		{name: "body at the limit", body: strings.Repeat("x", maxRequestBody), wantStatus: http.StatusOK},
		{name: "body over the limit", body: strings.Repeat("x", maxRequestBody+1), wantStatus: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			guard, err := newHTTPGuard(tt.token, tt.origins)
			if err != nil {
				t.Fatalf("newHTTPGuard: %v", err)
			}
			var gotBody int
			srv := httptest.NewServer(guard.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				gotBody = len(b)
			})))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/mcp", strings.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("WWW-Authenticate") != ""; got != tt.wantAuth {
				t.Errorf("WWW-Authenticate present = %v, want %v", got, tt.wantAuth)
			}
			if tt.wantStatus == http.StatusOK && gotBody != len(tt.body) {
				t.Errorf("handler read %d body bytes, want %d", gotBody, len(tt.body))
			}
		})
	}
}

func TestHTTPGuardRefusesMalformedOrigins(t *testing.T) {
	for _, origin := range []string{"app.example.com", "ftp://app.example.com", "https://app.example.com/path", "https://"} {
		if _, err := newHTTPGuard("", []string{origin}); err == nil {
			t.Errorf("newHTTPGuard(%q) = nil error, want a refusal", origin)
		}
	}
}

func TestHealthzRevealsNothing(t *testing.T) {
	rec := httptest.NewRecorder()
	healthz(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Errorf("healthz = %d %q, want 200 {\"status\":\"ok\"}", rec.Code, rec.Body.String())
	}
}

// newTestHTTPServer serves the handler serveHTTP serves, for transport ("http" or "sse").
func newTestHTTPServer(t *testing.T, transport, token string, origins ...string) *httptest.Server {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	mcpServer := tools.NewServer(serverName, "test", tools.Deps{Logger: logger})
	stop := newStopper(mcpServer, make(chan struct{}), logger)
	handler, mcpTransport, err := newHTTPHandler(config{transport: transport, authToken: token, allowedOrigins: origins}, stop, logger)
	if err != nil {
		t.Fatalf("newHTTPHandler: %v", err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(func() {
		srv.Close()
		_ = mcpTransport.Shutdown(t.Context())
	})
	return srv
}

func TestHTTPGuardCORSPreflight(t *testing.T) {
	const token = "mcp-client-token-123"
	const listed = "https://app.example.com"
	tests := []struct {
		transport, path, origin string
		wantStatus              int
	}{
		{"http", "/mcp", listed, http.StatusNoContent},
		{"http", "/mcp", "http://localhost:6274", http.StatusNoContent}, // the MCP Inspector
		{"http", "/mcp", "http://127.0.0.1:5173", http.StatusNoContent},
		{"http", "/mcp", "https://evil.example", http.StatusForbidden},
		{"http", "/mcp", "https://app.example.com.evil.example", http.StatusForbidden},
		{"sse", "/sse", listed, http.StatusNoContent},
		{"sse", "/message", "http://localhost:6274", http.StatusNoContent},
		{"sse", "/message", "https://evil.example", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.transport+" "+tt.path+" "+tt.origin, func(t *testing.T) {
			srv := newTestHTTPServer(t, tt.transport, token, listed)
			req, _ := http.NewRequest(http.MethodOptions, srv.URL+tt.path, nil)
			// What a browser sends before a fetch with a bearer token: no Authorization.
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Access-Control-Request-Method", http.MethodPost)
			req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,mcp-protocol-version,mcp-session-id")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("OPTIONS: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			h := resp.Header
			if tt.wantStatus != http.StatusNoContent {
				if got := h.Get("Access-Control-Allow-Origin"); got != "" {
					t.Errorf("refused preflight has Access-Control-Allow-Origin %q", got)
				}
				return
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.origin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.origin)
			}
			if !strings.Contains(h.Get("Access-Control-Allow-Methods"), http.MethodPost) {
				t.Errorf("Access-Control-Allow-Methods = %q, want POST in it", h.Get("Access-Control-Allow-Methods"))
			}
			for _, want := range []string{"Content-Type", "Authorization", "Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID"} {
				if !containsToken(h.Get("Access-Control-Allow-Headers"), want) {
					t.Errorf("Access-Control-Allow-Headers = %q, want %s in it", h.Get("Access-Control-Allow-Headers"), want)
				}
			}
			if !containsToken(h.Get("Access-Control-Expose-Headers"), "Mcp-Session-Id") {
				t.Errorf("Access-Control-Expose-Headers = %q, want Mcp-Session-Id in it", h.Get("Access-Control-Expose-Headers"))
			}
			if !containsToken(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin in it", h.Values("Vary"))
			}
		})
	}
}

func TestHTTPGuardCORSActualRequest(t *testing.T) {
	const token = "mcp-client-token-123"
	const listed = "https://app.example.com"
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"browser","version":"1"}}}`
	tests := []struct {
		name, origin, auth string
		wantStatus         int
		wantAllowOrigin    string
	}{
		{"listed origin", listed, "Bearer " + token, http.StatusOK, listed},
		{"loopback origin", "http://localhost:6274", "Bearer " + token, http.StatusOK, "http://localhost:6274"},
		// A page can read the refusal, and so tell its user to supply the token.
		{"listed origin without the token", listed, "", http.StatusUnauthorized, listed},
		{"foreign origin with the token", "https://evil.example", "Bearer " + token, http.StatusForbidden, ""},
		{"no origin", "", "Bearer " + token, http.StatusOK, ""},
	}
	srv := newTestHTTPServer(t, "http", token, listed)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/mcp", strings.NewReader(initialize))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.wantAllowOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantAllowOrigin)
			}
			if tt.wantAllowOrigin != "" && !containsToken(resp.Header.Get("Access-Control-Expose-Headers"), "Mcp-Session-Id") {
				t.Errorf("Access-Control-Expose-Headers = %q, want Mcp-Session-Id in it", resp.Header.Get("Access-Control-Expose-Headers"))
			}
			if tt.wantStatus == http.StatusOK && !strings.Contains(string(body), `"serverInfo"`) {
				t.Errorf("initialize answered %s, want a result with serverInfo", body)
			}
		})
	}
}

// containsToken reports whether the comma-separated header value list holds token, in any case.
func containsToken(list, token string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), token) {
			return true
		}
	}
	return false
}
