package tools

import (
	"strings"
	"testing"
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

func TestIsMP4Start(t *testing.T) {
	tests := []struct {
		head     string
		ftypOnly bool
		want     bool
	}{
		{"\x00\x00\x00\x20ftypisom", true, true},
		{"\x00\x00\x00\x20ftypisom", false, true},
		{"\x00\x00\x00\x08moov", false, true},
		{"\x00\x00\x00\x08moov", true, false},
		{"<html><body>", false, false},
		{"ftyp", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := isMP4Start([]byte(tt.head), tt.ftypOnly); got != tt.want {
			t.Errorf("isMP4Start(%q, %v) = %v, want %v", tt.head, tt.ftypOnly, got, tt.want)
		}
	}
}

func TestCheckContent(t *testing.T) {
	mp4 := []byte("\x00\x00\x00\x20ftypisom")
	tests := []struct {
		contentType string
		head        []byte
		ok          bool
	}{
		{"video/mp4", mp4, true},
		{"Video/MP4; charset=binary", mp4, true},
		{"application/octet-stream", mp4, true},
		{"binary/octet-stream", mp4, true},
		{"application/octet-stream", []byte("\x00\x00\x00\x08moov"), false},
		{"application/octet-stream", []byte("PK\x03\x04zipzipzip"), false},
		{"video/quicktime", mp4, false},
		{"text/html", mp4, false},
		{"", mp4, false},
		{"video/mp4", []byte("<html>"), false},
	}
	for _, tt := range tests {
		if err := checkContent(tt.contentType, tt.head); (err == nil) != tt.ok {
			t.Errorf("checkContent(%q, %q) = %v, want ok=%v", tt.contentType, tt.head, err, tt.ok)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KB", 4641: "4.5 KB", 25 << 20: "25.0 MB", 1 << 30: "1.0 GB"}
	for n, want := range tests {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFileURI(t *testing.T) {
	if got, want := fileURI("/tmp/v/relay%3Aabc.mp4"), "file:///tmp/v/relay%253Aabc.mp4"; got != want {
		t.Errorf("fileURI = %q, want %q", got, want)
	}
	if got, want := fileURI("/tmp/my videos/a.mp4"), "file:///tmp/my%20videos/a.mp4"; got != want {
		t.Errorf("fileURI = %q, want %q", got, want)
	}
}
