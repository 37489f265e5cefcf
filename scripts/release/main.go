// Command release builds the files of a video-task-mcp release into dist/:
//
//	go run ./scripts/release v0.2.0
//
// For linux, darwin and windows on amd64 and arm64 it cross-compiles a static binary
// (CGO_ENABLED=0, -trimpath, the version stamped into main.version) and writes one archive
// holding it, README.md and LICENSE: video-task-mcp-v0.2.0-linux-amd64.tar.gz, and a .zip with
// video-task-mcp.exe for windows. Two runs from the same commit give byte-identical archives:
// the build is reproducible, and the archives fix every time to the commit's (or
// SOURCE_DATE_EPOCH), every owner to 0, and the order of entries.
//
// Unless -archives-only is given it also packs, with Node.js and npm:
//   - one MCP bundle per target (video-task-mcp-v0.2.0-darwin-arm64.mcpb) for one-click
//     installation in Claude Desktop, from packaging/mcpb, checked and packed with the pinned
//     MCPB CLI (bundle.go);
//   - the npm packages behind npx -y video-task-mcp: the launcher, packaging/npm, and one
//     package per target holding its binary, all of the release's version (npm.go).
//
// SHA256SUMS lists the archives and the bundles. The bundles are not reproducible: the MCPB
// CLI writes the time of packing into them.
//
// Nothing is published: docs/development.md says how a maintainer does that.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// binaryName is the name of the server's executable, without .exe.
const binaryName = "video-task-mcp"

// target is one platform a release is built for, in Go's names.
type target struct {
	os, arch string
}

// allTargets are the platforms of a release.
var allTargets = []target{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

func (t target) String() string { return t.os + "-" + t.arch }

// executable is the binary's file name on the target.
func (t target) executable() string {
	if t.os == "windows" {
		return binaryName + ".exe"
	}
	return binaryName
}

// versionPattern is a semantic version with a leading v, as git tags and main.version carry it.
var versionPattern = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// release is one run of this command.
type release struct {
	root    string    // the repository: the folder of go.mod
	version string    // v0.2.0
	out     string    // where the files go
	mtime   time.Time // the time written into archives
	targets []target
	log     io.Writer // progress lines
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	out := fs.String("out", "dist", "folder to write the release into, relative to the repository")
	targetList := fs.String("targets", "", "comma-separated targets such as linux-amd64 (default: all six; a subset needs -archives-only)")
	archivesOnly := fs.Bool("archives-only", false, "write only the archives and SHA256SUMS: no bundles or npm packages, so no Node.js needed")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./scripts/release [flags] vX.Y.Z\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("want exactly one argument: the version, such as v0.2.0")
	}
	r, err := newRelease(fs.Arg(0), *out, *targetList)
	if err != nil {
		return err
	}
	r.log = os.Stdout
	if !*archivesOnly && len(r.targets) != len(allTargets) {
		return errors.New("-targets needs -archives-only: the npm launcher depends on the packages of all six targets")
	}
	return r.run(ctx, !*archivesOnly)
}

// run writes the archives, and with packages the MCP bundles and npm packages too, then
// SHA256SUMS of the archives and bundles.
func (r *release) run(ctx context.Context, packages bool) error {
	names, err := r.buildArchives(ctx)
	if err != nil {
		return err
	}
	if packages {
		tools, err := installNodeTools(ctx, filepath.Join(r.out, "tools"))
		if err != nil {
			return err
		}
		bundles, err := r.packBundles(ctx, tools, r.targets)
		if err != nil {
			return err
		}
		names = append(names, bundles...)
		if _, err := r.packNPM(ctx, tools); err != nil {
			return err
		}
	}
	if err := writeChecksums(r.out, names); err != nil {
		return err
	}
	fmt.Fprintf(r.log, "wrote SHA256SUMS of %d files to %s\n", len(names), r.out)
	return nil
}

// newRelease checks the arguments and finds the repository and the archives' time.
func newRelease(version, out, targetList string) (*release, error) {
	if !versionPattern.MatchString(version) {
		return nil, fmt.Errorf("version %q: want a semantic version with a leading v, such as v0.2.0", version)
	}
	root, err := repositoryRoot()
	if err != nil {
		return nil, err
	}
	targets, err := parseTargets(targetList)
	if err != nil {
		return nil, err
	}
	mtime, err := sourceDate(root)
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	return &release{root: root, version: version, out: out, mtime: mtime, targets: targets, log: io.Discard}, nil
}

func parseTargets(list string) ([]target, error) {
	if list == "" {
		return allTargets, nil
	}
	var targets []target
	for name := range strings.SplitSeq(list, ",") {
		i := -1
		for j, t := range allTargets {
			if t.String() == strings.TrimSpace(name) {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("target %q: want one of linux-amd64, linux-arm64, darwin-amd64, darwin-arm64, windows-amd64, windows-arm64", name)
		}
		targets = append(targets, allTargets[i])
	}
	return targets, nil
}

// repositoryRoot is the nearest folder at or above the working directory that holds go.mod.
func repositoryRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above it: run from the repository")
		}
		dir = parent
	}
}

// sourceDate is the time written into the archives: SOURCE_DATE_EPOCH when set (the usual
// variable of reproducible builds), else the time of the commit being built.
func sourceDate(root string) (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", s)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%ct").Output()
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the commit time with git (set SOURCE_DATE_EPOCH outside a git checkout): %w", err)
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("git log printed %q, not a time", out)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// binaryPath is where the binary of t is built.
func (r *release) binaryPath(t target) string {
	return filepath.Join(r.out, "bin", t.String(), t.executable())
}

// archiveName is the file name of t's archive.
func (r *release) archiveName(t target) string {
	ext := ".tar.gz"
	if t.os == "windows" {
		ext = ".zip"
	}
	return r.archiveTop(t) + ext
}

// archiveTop is the folder an archive unpacks into.
func (r *release) archiveTop(t target) string {
	return binaryName + "-" + r.version + "-" + t.String()
}

// buildArchives builds every target and writes its archive; it returns the archives' names.
func (r *release) buildArchives(ctx context.Context) ([]string, error) {
	if err := r.buildAll(ctx); err != nil {
		return nil, err
	}
	var names []string
	for _, t := range r.targets {
		files := []archiveFile{
			{name: t.executable(), mode: 0o755, src: r.binaryPath(t)},
			{name: "README.md", mode: 0o644, src: filepath.Join(r.root, "README.md")},
			{name: "LICENSE", mode: 0o644, src: filepath.Join(r.root, "LICENSE")},
		}
		name := r.archiveName(t)
		if err := writeArchive(filepath.Join(r.out, name), r.archiveTop(t), files, r.mtime); err != nil {
			return nil, err
		}
		fmt.Fprintln(r.log, "wrote", name)
		names = append(names, name)
	}
	return names, nil
}

// buildAll builds the targets, as many at once as there are CPUs: a build's last step, the
// link, uses one.
func (r *release) buildAll(ctx context.Context) error {
	errs := make([]error, len(r.targets))
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i, t := range r.targets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = r.build(ctx, t)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// build cross-compiles the server for t: static (no cgo), with no local paths in it, stripped,
// and with the version stamped in.
func (r *release) build(ctx context.Context, t target) error {
	dst := r.binaryPath(t)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+r.version, "-o", dst, ".")
	cmd.Dir = r.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.os, "GOARCH="+t.arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for %s: %w\n%s", t, err, out)
	}
	return nil
}
