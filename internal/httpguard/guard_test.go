package httpguard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
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
		{name: "body at the limit", body: strings.Repeat("x", DefaultMaxBody), wantStatus: http.StatusOK},
		{name: "body over the limit", body: strings.Repeat("x", DefaultMaxBody+1), wantStatus: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			guard, err := New(Config{Token: tt.token, AllowedOrigins: tt.origins})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			var gotBody int
			srv := httptest.NewServer(guard.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

func TestNewRefusesMalformedOrigins(t *testing.T) {
	for _, origin := range []string{
		"app.example.com", "ftp://app.example.com", "https://app.example.com/path", "https://",
		// Patterns: origins are compared exactly, so these would never match.
		"https://*.example.com", "*", "https://app.example.com:*",
		"https://user@app.example.com",
	} {
		if _, err := New(Config{AllowedOrigins: []string{origin}}); err == nil {
			t.Errorf("New(AllowedOrigins: %q) = nil error, want a refusal", origin)
		}
	}
}
