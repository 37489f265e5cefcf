package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// testVersion is the version the tests release.
const testVersion = "v0.9.1-test.1"

// hostTarget is the target of the machine the tests run on: the only one whose binary they can
// run.
func hostTarget(t *testing.T) target {
	t.Helper()
	for _, tg := range allTargets {
		if tg.os == runtime.GOOS && tg.arch == runtime.GOARCH {
			return tg
		}
	}
	t.Skipf("no release target for %s/%s", runtime.GOOS, runtime.GOARCH)
	return target{}
}

var (
	hostReleaseOnce sync.Once
	hostReleaseDir  string
	hostReleaseErr  error
)

// hostRelease runs the release for the host's target once per test run, into a folder that is
// removed when the tests end, and returns it.
func hostRelease(t *testing.T) *release {
	t.Helper()
	tg := hostTarget(t)
	hostReleaseOnce.Do(func() {
		hostReleaseDir, hostReleaseErr = os.MkdirTemp("", "video-task-mcp-release-")
		if hostReleaseErr != nil {
			return
		}
		hostReleaseErr = runRelease(hostReleaseDir, tg)
	})
	if hostReleaseErr != nil {
		t.Fatalf("release for %s: %v", tg, hostReleaseErr)
	}
	r, err := testRelease(hostReleaseDir, tg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMain(m *testing.M) {
	// The archives' time comes from here rather than git, so the tests also run outside a
	// checkout.
	os.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	code := m.Run()
	for _, dir := range []string{hostReleaseDir, commandDir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

func testRelease(out string, tg target) (*release, error) {
	return newRelease(testVersion, out, tg.String())
}

var (
	commandOnce sync.Once
	commandDir  string
	commandPath string
	commandErr  error
)

// runRelease runs this command, built once per test run, for tg into out. It runs as a
// separate binary because go test -race instruments compress/flate too, which makes packing an
// archive in the test process several times slower (on a 2-core machine, two minutes instead of
// twenty seconds for the two releases of TestReleaseIsReproducible).
func runRelease(out string, tg target) error {
	commandOnce.Do(func() {
		commandDir, commandErr = os.MkdirTemp("", "video-task-mcp-release-command-")
		if commandErr != nil {
			return
		}
		commandPath = filepath.Join(commandDir, "release")
		if b, err := exec.Command("go", "build", "-o", commandPath, ".").CombinedOutput(); err != nil {
			commandErr = fmt.Errorf("go build: %v\n%s", err, b)
		}
	})
	if commandErr != nil {
		return fmt.Errorf("building the release command: %w", commandErr)
	}
	args := []string{"-archives-only", "-out", out, "-targets", tg.String(), testVersion}
	b, err := exec.Command(commandPath, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("release %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// TestReleaseIsReproducible releases the host's target twice, the two runs side by side, and
// compares the archives and SHA256SUMS byte for byte.
func TestReleaseIsReproducible(t *testing.T) {
	t.Parallel()
	tg := hostTarget(t)
	second, err := testRelease(t.TempDir(), tg)
	if err != nil {
		t.Fatal(err)
	}
	// The second run ends before its folder is removed, even when the first fails.
	var wg sync.WaitGroup
	var secondErr error
	wg.Go(func() { secondErr = runRelease(second.out, tg) })
	t.Cleanup(wg.Wait)
	first := hostRelease(t)
	wg.Wait()
	if secondErr != nil {
		t.Fatal(secondErr)
	}
	for _, name := range []string{first.archiveName(tg), "SHA256SUMS"} {
		a := readFile(t, filepath.Join(first.out, name))
		b := readFile(t, filepath.Join(second.out, name))
		if string(a) != string(b) {
			t.Errorf("%s differs between two runs (%d and %d bytes)", name, len(a), len(b))
		}
	}
}

// TestReleaseArchiveRuns unpacks the host's archive, checks what it holds, and runs the binary
// in it.
func TestReleaseArchiveRuns(t *testing.T) {
	t.Parallel()
	r := hostRelease(t)
	tg := hostTarget(t)
	if tg.os == "windows" {
		t.Skip("the archive of windows is a zip; this test reads a tar.gz")
	}
	archive := filepath.Join(r.out, r.archiveName(tg))

	sums := string(readFile(t, filepath.Join(r.out, "SHA256SUMS")))
	sum, err := fileSHA256(archive)
	if err != nil {
		t.Fatal(err)
	}
	if want := sum + "  " + r.archiveName(tg) + "\n"; sums != want {
		t.Errorf("SHA256SUMS = %q, want %q", sums, want)
	}

	dir := t.TempDir()
	names := untar(t, archive, dir)
	top := r.archiveTop(tg)
	want := []string{top + "/", top + "/LICENSE", top + "/README.md", top + "/" + tg.executable()}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("archive holds %q, want %q", names, want)
	}
	out, err := exec.Command(filepath.Join(dir, top, tg.executable()), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", tg.executable(), err, out)
	}
	if got, want := string(out), binaryName+" "+testVersion+"\n"; got != want {
		t.Errorf("--version printed %q, want %q", got, want)
	}
}

// untar unpacks a .tar.gz into dir, keeping the permission bits, and returns its members'
// names in order.
func untar(t *testing.T, archive, dir string) []string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		dst := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, os.FileMode(h.Mode)); err != nil {
			t.Fatal(fmt.Errorf("unpacking %s: %w", h.Name, err))
		}
	}
}
