package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// entry is what a test reads back from an archive about one member.
type entry struct {
	Name       string
	Mode       os.FileMode
	ModTime    time.Time
	UID, GID   int
	Uname      string
	Gname      string
	Content    string
	IsDir      bool
	UnixHeader bool // zip: the creator is Unix, so the mode bits are used
}

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// writeInputs writes the same three files into a new folder, with the given modification time
// and file modes, and returns them in the order given.
func writeInputs(t *testing.T, mtime time.Time, reversed bool) []archiveFile {
	t.Helper()
	dir := t.TempDir()
	files := []archiveFile{
		{name: "video-task-mcp", mode: 0o755},
		{name: "README.md", mode: 0o644},
		{name: "LICENSE", mode: 0o644},
	}
	for i := range files {
		files[i].src = filepath.Join(dir, files[i].name)
		if err := os.WriteFile(files[i].src, []byte("contents of "+files[i].name), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(files[i].src, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	if reversed {
		files[0], files[2] = files[2], files[0]
	}
	return files
}

func TestArchivesAreReproducible(t *testing.T) {
	for _, ext := range []string{".tar.gz", ".zip"} {
		t.Run(ext, func(t *testing.T) {
			// Two runs that differ in everything the archive must not depend on: the files'
			// own times and modes on disk, and the order they are given in.
			first := filepath.Join(t.TempDir(), "a"+ext)
			second := filepath.Join(t.TempDir(), "a"+ext)
			if err := writeArchive(first, "top", writeInputs(t, time.Now(), false), testTime); err != nil {
				t.Fatal(err)
			}
			if err := writeArchive(second, "top", writeInputs(t, time.Now().Add(-time.Hour), true), testTime); err != nil {
				t.Fatal(err)
			}
			a, b := readFile(t, first), readFile(t, second)
			if !bytes.Equal(a, b) {
				t.Fatalf("two runs wrote different %s archives (%d and %d bytes)", ext, len(a), len(b))
			}
		})
	}
}

func TestTarGzContents(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := writeArchive(dst, "top", writeInputs(t, time.Now(), true), testTime); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, dst)
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() {
		t.Errorf("gzip header: name %q, time %v; want neither", gz.Name, gz.ModTime)
	}
	var got []entry
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{Name: h.Name, Mode: os.FileMode(h.Mode), ModTime: h.ModTime.UTC(), UID: h.Uid, GID: h.Gid,
			Uname: h.Uname, Gname: h.Gname, Content: string(content), IsDir: h.Typeflag == tar.TypeDir})
	}
	want := []entry{
		{Name: "top/", Mode: 0o755, ModTime: testTime, IsDir: true},
		{Name: "top/LICENSE", Mode: 0o644, ModTime: testTime, Content: "contents of LICENSE"},
		{Name: "top/README.md", Mode: 0o644, ModTime: testTime, Content: "contents of README.md"},
		{Name: "top/video-task-mcp", Mode: 0o755, ModTime: testTime, Content: "contents of video-task-mcp"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tar entries (-want +got):\n%s", diff)
	}
}

func TestZipContents(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "a.zip")
	if err := writeArchive(dst, "top", writeInputs(t, time.Now(), true), testTime); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var got []entry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		content, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{Name: f.Name, Mode: f.Mode().Perm(), ModTime: f.Modified.UTC(), Content: string(content),
			IsDir: f.Mode().IsDir(), UnixHeader: f.CreatorVersion>>8 == 3})
	}
	want := []entry{
		{Name: "top/", Mode: 0o755, ModTime: testTime, IsDir: true, UnixHeader: true},
		{Name: "top/LICENSE", Mode: 0o644, ModTime: testTime, Content: "contents of LICENSE", UnixHeader: true},
		{Name: "top/README.md", Mode: 0o644, ModTime: testTime, Content: "contents of README.md", UnixHeader: true},
		{Name: "top/video-task-mcp", Mode: 0o755, ModTime: testTime, Content: "contents of video-task-mcp", UnixHeader: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("zip entries (-want +got):\n%s", diff)
	}
}

func TestWriteChecksums(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"b.zip": "b", "a.tar.gz": "a"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeChecksums(dir, []string{"b.zip", "a.tar.gz"}); err != nil {
		t.Fatal(err)
	}
	// The digests of "a" and "b", as sha256sum prints them.
	want := "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  a.tar.gz\n" +
		"3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  b.zip\n"
	if got := string(readFile(t, filepath.Join(dir, "SHA256SUMS"))); got != want {
		t.Errorf("SHA256SUMS = %q, want %q", got, want)
	}
}

func TestParseTargets(t *testing.T) {
	got, err := parseTargets("linux-amd64, windows-arm64")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]target{{"linux", "amd64"}, {"windows", "arm64"}}, got, cmp.AllowUnexported(target{})); diff != "" {
		t.Errorf("parseTargets (-want +got):\n%s", diff)
	}
	if _, err := parseTargets("linux-386"); err == nil || !strings.Contains(err.Error(), "linux-arm64") {
		t.Errorf("parseTargets(linux-386) = %v, want an error listing the targets", err)
	}
}

func TestVersionPattern(t *testing.T) {
	for _, v := range []string{"v0.2.0", "v1.10.3", "v1.0.0-rc.1"} {
		if !versionPattern.MatchString(v) {
			t.Errorf("%q refused, want accepted", v)
		}
	}
	for _, v := range []string{"0.2.0", "v1.2", "v01.2.3", "v1.2.3 ", "v1.2.3/../x", "v1.2.3-"} {
		if versionPattern.MatchString(v) {
			t.Errorf("%q accepted, want refused", v)
		}
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
