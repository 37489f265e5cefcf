package download

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// internalText stands for what an internal host would say: it must never reach a failure's
// message, which goes to the model.
const internalText = "db-password=hunter2"

// TestFailedFetchQuotesOnlyStatusAndCode: a non-200 answer, a refusal by the proxy and a
// malformed answer are reported by their status and an object store's error code, never by
// the text an internal host (reached through a proxy) sent.
func TestFailedFetchQuotesOnlyStatusAndCode(t *testing.T) {
	xmlError := func(code string) string {
		return `<?xml version="1.0"?><Error><Code>` + code + `</Code><Message>` + internalText + `</Message></Error>`
	}
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"object store error", http.StatusForbidden, xmlError("AccessDenied"),
			"the video host answered HTTP 403 (AccessDenied); the link may have expired"},
		{"code that is not a code", http.StatusInternalServerError, xmlError(internalText),
			"the video host answered HTTP 500"},
		{"plain body", http.StatusBadGateway, internalText, "the video host answered HTTP 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			_, err := New(t.TempDir(), newGuardedClient(noProxy, true), 0).Save(context.Background(), "t1", srv.URL+"/v.mp4")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), internalText) {
				t.Errorf("Save = %v, want %q and nothing of the body", err, tt.want)
			}
		})
	}

	t.Run("proxy refuses", func(t *testing.T) {
		// The proxy refuses the CONNECT with a reason phrase of its own choosing.
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, buf, _ := w.(http.Hijacker).Hijack()
			defer conn.Close()
			_, _ = buf.WriteString("HTTP/1.1 403 " + internalText + "\r\nContent-Length: 0\r\n\r\n")
			_ = buf.Flush()
		}))
		defer proxy.Close()
		proxyURL, _ := url.Parse(proxy.URL)
		d := New(t.TempDir(), newGuardedClient(http.ProxyURL(proxyURL), false), 0)
		_, err := d.Save(context.Background(), "t1", "https://93.184.215.14/v.mp4")
		if err == nil || !strings.Contains(err.Error(), "the proxy refused the connection (HTTP 403)") || strings.Contains(err.Error(), internalText) {
			t.Errorf("Save through a refusing proxy = %v, want the refusal with its status only", err)
		}
	})

	t.Run("malformed answer", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = bufio.NewReader(conn).ReadString('\n')
				_, _ = conn.Write([]byte(internalText + "\r\n\r\n"))
				_ = conn.Close()
			}
		}()
		_, err = New(t.TempDir(), newGuardedClient(noProxy, true), 0).Save(context.Background(), "t1", "http://"+ln.Addr().String()+"/v.mp4")
		var de *Error
		if !errors.As(err, &de) || strings.Contains(err.Error(), internalText) || !strings.Contains(err.Error(), "the video could not be fetched") {
			t.Errorf("Save from a host answering garbage = %v, want a failure that does not quote it", err)
		}
	})
}
