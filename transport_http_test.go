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
	handler, mcpTransport, err := newHTTPHandler(config{transport: transport, authToken: token, allowedOrigins: origins}, mcpServer, logger)
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
