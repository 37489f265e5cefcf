package main

// Tests of the MCP bundle and the npm packages as users get them: packed by the real tools
// (the pinned MCPB CLI, npm pack), unpacked or installed the way a host or npm does, and
// driven over stdio by mcp-go's client against the built-in simulator. They check the release
// in $RELEASE_DIR (.ci/run builds one and sets it) and need Node.js and npm; without either
// they skip with a message saying so.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// releaseDirVariable names a folder holding a whole release, as go run ./scripts/release
// writes it; .ci/run sets it to the release it has just built.
const releaseDirVariable = "RELEASE_DIR"

// fullRelease returns the release in $RELEASE_DIR: packing one takes minutes (six targets
// cross-compiled, six bundles, seven npm packages), which go test should not spend each run.
func fullRelease(t *testing.T) *release {
	t.Helper()
	for _, name := range []string{"node", "npm"} {
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("%s not found: the bundle and npm tests need Node.js 18 or newer and npm", name)
		}
	}
	hostTarget(t)
	dir := os.Getenv(releaseDirVariable)
	if dir == "" {
		t.Skipf("%s is not set: these tests check a whole release; build one with go run ./scripts/release -out DIR v0.0.1 and set %s=DIR (.ci/run does)", releaseDirVariable, releaseDirVariable)
	}
	var launcher packageJSON
	readJSON(t, filepath.Join(dir, "npm", launcherPackage, "package.json"), &launcher)
	r, err := newRelease("v"+launcher.Version, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// hostConfig is the mcp_config a host makes of a bundle's manifest.
type hostConfig struct {
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
}

// hostConfigScript turns a manifest into the command a host runs, with the function of the
// MCPB package that hosts use for it (variable substitution, defaults, platform overrides).
const hostConfigScript = `
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, sep } from "node:path";
import { pathToFileURL } from "node:url";
const input = JSON.parse(process.env.HOST_INPUT);
const { getMcpConfigForManifest } = await import(pathToFileURL(input.library).href);
const home = homedir();
const config = await getMcpConfigForManifest({
  manifest: JSON.parse(readFileSync(join(input.bundle, "manifest.json"), "utf8")),
  extensionPath: input.bundle,
  systemDirs: { HOME: home, DESKTOP: join(home, "Desktop"), DOCUMENTS: join(home, "Documents"), DOWNLOADS: join(home, "Downloads") },
  userConfig: input.userConfig,
  pathSeparator: sep,
});
process.stdout.write(JSON.stringify(config ?? null));
`

func hostCommand(t *testing.T, r *release, bundle string, userConfig map[string]any) hostConfig {
	t.Helper()
	input, err := json.Marshal(map[string]any{
		"library":    filepath.Join(r.out, "tools", "node_modules", "@anthropic-ai", "mcpb", "dist", "index.js"),
		"bundle":     bundle,
		"userConfig": userConfig,
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "--input-type=module", "-e", hostConfigScript)
	cmd.Env = append(os.Environ(), "HOST_INPUT="+string(input))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("computing the host's command: %v\n%s", err, stderrOf(err))
	}
	var cfg *hostConfig
	if err := json.Unmarshal(out, &cfg); err != nil || cfg == nil {
		t.Fatalf("the host's command: %s (%v)", out, err)
	}
	return *cfg
}

func stderrOf(err error) []byte {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.Stderr
	}
	return nil
}

// TestBundle unpacks the host's bundle with the MCPB CLI, makes the command a host would from
// its manifest and the user's settings, starts it (with the simulator as the upstream), and
// uses the server: initialize, tools/list against the manifest's tools, and a wait.
func TestBundle(t *testing.T) {
	r := fullRelease(t)
	tg := hostTarget(t)
	tools := &nodeTools{dir: filepath.Join(r.out, "tools")}
	bundle := t.TempDir()
	if _, err := tools.mcpb(context.Background(), "unpack", filepath.Join(r.out, r.bundleName(tg)), bundle); err != nil {
		t.Fatal(err)
	}
	m, err := readManifest(filepath.Join(bundle, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != r.npmVersion() || m.Server.Type != "binary" || !slices.Equal(m.Compatibility.Platforms, []string{nodePlatform(tg)}) {
		t.Errorf("manifest: version %q, server type %q, platforms %q; want %q, binary, [%s]",
			m.Version, m.Server.Type, m.Compatibility.Platforms, r.npmVersion(), nodePlatform(tg))
	}
	var manifestTools []string
	for _, tool := range m.Tools {
		manifestTools = append(manifestTools, tool.Name)
	}
	slices.Sort(manifestTools)

	tests := []struct {
		name       string
		userConfig func(videos string) map[string]any
		wantTools  []string
		download   bool
	}{
		{
			// Only the required key: the optional settings keep their defaults, which the
			// host passes as empty values.
			name:       "defaults",
			userConfig: func(string) map[string]any { return map[string]any{"api_key": "sk-bundle-test"} },
			wantTools:  []string{"get_video_task", "wait_for_video_task"},
		},
		{
			name: "optional settings cleared",
			userConfig: func(string) map[string]any {
				return map[string]any{"api_key": "sk-bundle-test", "provider": "", "region": "", "enable_create": false, "download_dir": ""}
			},
			wantTools: []string{"get_video_task", "wait_for_video_task"},
		},
		{
			// Every option on: the server offers exactly the manifest's tools.
			name: "everything on",
			userConfig: func(videos string) map[string]any {
				return map[string]any{"api_key": "sk-bundle-test", "provider": "gptge", "enable_create": true, "download_dir": videos}
			},
			wantTools: manifestTools,
			download:  true,
		},
		{
			name: "dashscope",
			userConfig: func(string) map[string]any {
				return map[string]any{"api_key": "sk-bundle-test", "provider": "dashscope", "region": "singapore"}
			},
			wantTools: []string{"get_video_task", "wait_for_video_task"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			videos := filepath.Join(t.TempDir(), "videos")
			cfg := hostCommand(t, r, bundle, tt.userConfig(videos))
			if want := filepath.Join(bundle, "server", tg.executable()); filepath.Clean(cfg.Command) != want {
				t.Errorf("command %q, want %q", cfg.Command, want)
			}
			env := []string{"PATH=" + os.Getenv("PATH"), "GPTGE_BASE_URL=simulate"}
			for k, v := range cfg.Env {
				env = append(env, k+"="+v)
			}
			work := t.TempDir()
			c, stderr := startClient(t, cfg.Command, cfg.Args, env, work)
			if got := listTools(t, c); !slices.Equal(got, tt.wantTools) {
				t.Errorf("tools/list = %q, want %q; server stderr:\n%s", got, tt.wantTools, stderr)
			}
			waitSucceeds(t, c, "sim-success-"+strings.ReplaceAll(tt.name, " ", "-"), stderr)
			if tt.download {
				res := callTool(t, c, "download_video", map[string]any{"task_id": "sim-done"}, stderr)
				if _, err := os.Stat(filepath.Join(videos, "sim-done.mp4")); err != nil {
					t.Errorf("download_video saved no video in the chosen folder: %v; result %+v", err, res.StructuredContent)
				}
			}
			// Nothing was written where the server ran: no folder named "" or after a
			// placeholder.
			if entries, _ := os.ReadDir(work); len(entries) != 0 {
				t.Errorf("the server wrote %v into its working folder", entries)
			}
		})
	}
}

// TestNPX packs every npm package, installs the launcher and the host's binary package from
// those tarballs into an empty folder with no registry reachable, and runs npx video-task-mcp.
func TestNPX(t *testing.T) {
	r := fullRelease(t)
	tg := hostTarget(t)
	if tg.os == "windows" {
		t.Skip("this test sends SIGTERM and runs npx through POSIX paths")
	}
	npmDir := filepath.Join(r.out, "npm")

	// Every package, at the release's version; the launcher depends on all six.
	wantDeps := map[string]string{}
	for _, other := range allTargets {
		wantDeps[binaryPackage(other)] = r.npmVersion()
		var pkg packageJSON
		readJSON(t, filepath.Join(npmDir, binaryPackage(other), "package.json"), &pkg)
		if pkg.Version != r.npmVersion() || !slices.Equal(pkg.OS, []string{nodePlatform(other)}) || !slices.Equal(pkg.CPU, []string{nodeArch(other)}) || pkg.License != "MIT" {
			t.Errorf("%s: version %q os %q cpu %q license %q", pkg.Name, pkg.Version, pkg.OS, pkg.CPU, pkg.License)
		}
		if _, err := os.Stat(filepath.Join(npmDir, binaryPackage(other)+"-"+r.npmVersion()+".tgz")); err != nil {
			t.Errorf("npm pack wrote no tarball of %s: %v", binaryPackage(other), err)
		}
	}
	var launcher packageJSON
	readJSON(t, filepath.Join(npmDir, launcherPackage, "package.json"), &launcher)
	if diff := cmp.Diff(wantDeps, launcher.OptionalDependencies); diff != "" || launcher.Version != r.npmVersion() || launcher.License != "MIT" {
		t.Errorf("launcher version %q license %q; optional dependencies (-want +got):\n%s", launcher.Version, launcher.License, diff)
	}

	// Install from the tarballs alone: an empty cache, the registry an address where nothing
	// listens, and --offline. npm skips the five optional packages it cannot fetch.
	prefix := t.TempDir()
	npmEnv := append(os.Environ(),
		"npm_config_cache="+t.TempDir(),
		"npm_config_registry=http://127.0.0.1:9/",
		"npm_config_offline=true",
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
		"npm_config_audit=false",
	)
	install := exec.Command("npm", "install",
		filepath.Join(npmDir, launcherPackage+"-"+r.npmVersion()+".tgz"),
		filepath.Join(npmDir, binaryPackage(tg)+"-"+r.npmVersion()+".tgz"))
	install.Dir = prefix
	install.Env = npmEnv
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm install from the tarballs: %v\n%s", err, out)
	}

	npx := func(args ...string) *exec.Cmd {
		cmd := exec.Command("npx", append([]string{"--offline", "--no-install", binaryName}, args...)...)
		cmd.Dir = prefix
		cmd.Env = append(npmEnv, "GPTGE_BASE_URL=simulate")
		return cmd
	}

	t.Run("version", func(t *testing.T) {
		out, err := npx("--version").Output()
		if err != nil {
			t.Fatalf("npx video-task-mcp --version: %v\n%s", err, stderrOf(err))
		}
		if got, want := string(out), binaryName+" "+r.version+"\n"; got != want {
			t.Errorf("npx video-task-mcp --version printed %q, want %q", got, want)
		}
	})

	t.Run("exit status", func(t *testing.T) {
		err := npx("--no-such-flag").Run()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
			t.Errorf("npx video-task-mcp --no-such-flag: %v, want exit status 2 as the binary's", err)
		}
	})

	t.Run("MCP over stdio", func(t *testing.T) {
		cmd := npx()
		c, stderr := startClient(t, cmd.Path, cmd.Args[1:], cmd.Env, prefix)
		if got, want := listTools(t, c), []string{"get_video_task", "wait_for_video_task"}; !slices.Equal(got, want) {
			t.Errorf("tools/list = %q, want %q", got, want)
		}
		waitSucceeds(t, c, "sim-success-npx", stderr)
	})

	// npx runs the launcher through sh -c; a SIGTERM to the launcher reaches the server, which
	// shuts down, and the launcher exits with its status.
	t.Run("SIGTERM to the launcher", func(t *testing.T) {
		cmd := exec.Command(filepath.Join(prefix, "node_modules", ".bin", binaryName))
		cmd.Dir = prefix
		cmd.Env = append(npmEnv, "GPTGE_BASE_URL=simulate")
		stderr := startHeld(t, cmd)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := waitExit(t, cmd, stderr); err != nil {
			t.Errorf("launcher after SIGTERM: %v, want exit status 0 as the server's; stderr:\n%s", err, stderr)
		}
		if !strings.Contains(stderr.String(), "shutting down reason=signal") {
			t.Errorf("the server did not log a shutdown on a signal; stderr:\n%s", stderr)
		}
	})

	// npm exec itself does not pass SIGTERM on to the command it runs: it exits at once. A
	// host that stops the server that way also closes its stdin, and then nothing may be left
	// running: Wait returns only once every process holding the server's stderr has exited.
	t.Run("SIGTERM to npx", func(t *testing.T) {
		cmd := npx()
		stderr := startHeld(t, cmd)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		heldStdin[cmd].Close()
		_ = waitExit(t, cmd, stderr)
		if !strings.Contains(stderr.String(), "stopped reason=\"end of input\"") {
			t.Errorf("the server did not stop at the end of its input; stderr:\n%s", stderr)
		}
	})

	launcherJS := filepath.Join(prefix, "node_modules", launcherPackage, "bin", "video-task-mcp.js")
	for _, tt := range []struct {
		name, platform, arch, want string
	}{
		{"unsupported platform", "aix", "ppc64", "video-task-mcp: no binary for aix-ppc64 (there are binaries for darwin-arm64, darwin-x64, linux-arm64, linux-x64, win32-arm64, win32-x64); build the server from source with Go instead, as its README says\n"},
		{"binary package missing", "linux", otherArch(tg), "video-task-mcp: the package video-task-mcp-linux-" + otherArch(tg) + ", which holds the binary for linux-" + otherArch(tg) + ", is not installed; install video-task-mcp again without --omit=optional or --no-optional\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The launcher as it would run on another machine: Node told it is elsewhere.
			preload := filepath.Join(t.TempDir(), "elsewhere.cjs")
			script := `Object.defineProperty(process, "platform", { value: "` + tt.platform + `" });` +
				`Object.defineProperty(process, "arch", { value: "` + tt.arch + `" });`
			if err := os.WriteFile(preload, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("node", "--require", preload, launcherJS, "--version")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
				t.Errorf("exit: %v, want status 1", err)
			}
			if stderr.String() != tt.want || stdout.Len() != 0 {
				t.Errorf("stderr %q, stdout %q; want stderr %q and no stdout", stderr.String(), stdout.String(), tt.want)
			}
		})
	}
}

// heldStdin is the stdin of each process started by startHeld.
var heldStdin = map[*exec.Cmd]io.WriteCloser{}

// startHeld starts cmd with its stdin held open (the server stops at the end of its input) and
// waits until the server has logged that it is starting; it returns the process's stderr.
func startHeld(t *testing.T, cmd *exec.Cmd) *syncBuffer {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	heldStdin[cmd] = stdin
	t.Cleanup(func() { stdin.Close(); delete(heldStdin, cmd) })
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitFor(t, 30*time.Second, func() bool { return strings.Contains(stderr.String(), "INF starting") }, "the server to log that it is starting", stderr)
	return stderr
}

// waitExit waits up to 15 s for cmd to exit and returns what Wait returned.
func waitExit(t *testing.T, cmd *exec.Cmd, stderr *syncBuffer) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%s still running 15 s after SIGTERM; stderr:\n%s", cmd.Path, stderr)
		return nil
	}
}

// otherArch is the Node.js architecture of Linux that the host is not.
func otherArch(t target) string {
	if nodeArch(t) == "x64" {
		return "arm64"
	}
	return "x64"
}

// startClient starts command over stdio with exactly env in dir, connects mcp-go's client and
// initializes; it returns the client and the server's stderr.
func startClient(t *testing.T, command string, args, env []string, dir string) (*client.Client, *syncBuffer) {
	t.Helper()
	stderr := &syncBuffer{}
	var cmd *exec.Cmd
	tr := transport.NewStdioWithOptions(command, nil, args, transport.WithCommandFunc(
		func(ctx context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
			cmd = exec.CommandContext(ctx, command, args...)
			cmd.Env = env
			cmd.Dir = dir
			cmd.Stderr = stderr
			return cmd, nil
		}))
	c := client.NewClient(tr)
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("starting %s: %v", command, err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		if cmd != nil && cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := mcp.InitializeRequest{}
	req.Params.ClientInfo = mcp.Implementation{Name: "video-task-mcp-release-test", Version: "0"}
	res, err := c.Initialize(ctx, req)
	if err != nil {
		t.Fatalf("initialize: %v; server stderr:\n%s", err, stderr)
	}
	if res.ServerInfo.Name != binaryName || !versionPattern.MatchString(res.ServerInfo.Version) {
		t.Errorf("serverInfo %+v, want %s and a release version", res.ServerInfo, binaryName)
	}
	return c, stderr
}

func listTools(t *testing.T, c *client.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

func callTool(t *testing.T, c *client.Client, name string, args map[string]any, stderr *syncBuffer) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v; server stderr:\n%s", name, err, stderr)
	}
	if res.IsError {
		t.Fatalf("%s returned an error: %+v; server stderr:\n%s", name, res.Content, stderr)
	}
	return res
}

// waitSucceeds calls wait_for_video_task on a sim-success task and checks that it succeeded.
func waitSucceeds(t *testing.T, c *client.Client, taskID string, stderr *syncBuffer) {
	t.Helper()
	res := callTool(t, c, "wait_for_video_task", map[string]any{"task_id": taskID, "timeout_seconds": 50}, stderr)
	var got struct {
		TaskStatus string `json:"task_status"`
		VideoURL   string `json:"video_url"`
	}
	data, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.TaskStatus != "SUCCEEDED" || got.VideoURL == "" {
		t.Errorf("wait_for_video_task(%s) = %s, want SUCCEEDED with a video URL", taskID, data)
	}
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(readFile(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// waitFor polls cond until it holds or timeout passes: it watches another process, which no
// fake clock can drive.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, what string, stderr *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; stderr:\n%s", timeout, what, stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer that a process's stderr and a test can use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
