package tools

import "testing"

func TestFileURI(t *testing.T) {
	if got, want := fileURI("/tmp/v/relay%3Aabc.mp4"), "file:///tmp/v/relay%253Aabc.mp4"; got != want {
		t.Errorf("fileURI = %q, want %q", got, want)
	}
	if got, want := fileURI("/tmp/my videos/a.mp4"), "file:///tmp/my%20videos/a.mp4"; got != want {
		t.Errorf("fileURI = %q, want %q", got, want)
	}
}
