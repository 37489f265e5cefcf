package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// mcpbPackage is the pinned MCP bundle CLI (validate, pack, info); it also holds the code
// hosts use to turn a manifest into a command line.
const mcpbPackage = "@anthropic-ai/mcpb@2.1.2"

// manifest is packaging/mcpb/manifest.json, as far as the release changes it: the version, the
// one platform a bundle is for, and its binary's name. The rest passes through as written.
type manifest struct {
	ManifestVersion string          `json:"manifest_version"`
	Name            string          `json:"name"`
	DisplayName     string          `json:"display_name"`
	Version         string          `json:"version"`
	Description     string          `json:"description"`
	LongDescription string          `json:"long_description"`
	Author          json.RawMessage `json:"author"`
	License         string          `json:"license"`
	Keywords        []string        `json:"keywords"`
	Icon            string          `json:"icon"`
	Server          manifestServer  `json:"server"`
	Tools           []manifestTool  `json:"tools"`
	Compatibility   compatibility   `json:"compatibility"`
	UserConfig      json.RawMessage `json:"user_config"`
}

type manifestServer struct {
	Type       string          `json:"type"`
	EntryPoint string          `json:"entry_point"`
	MCPConfig  json.RawMessage `json:"mcp_config"`
}

type manifestTool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type compatibility struct {
	Platforms []string `json:"platforms"`
}

// readManifest reads the manifest, refusing fields this type does not know, which the
// release would otherwise drop.
func readManifest(name string) (manifest, error) {
	var m manifest
	data, err := os.ReadFile(name)
	if err != nil {
		return m, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%s: %w (a new field needs adding to the manifest type in scripts/release)", name, err)
	}
	return m, nil
}

func writeJSON(name string, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return os.WriteFile(name, b.Bytes(), 0o644)
}

// One bundle per platform and architecture: a bundle's manifest can choose its command by
// platform but not by architecture, so one file for both Macs would need a universal binary
// (which this release does not build), and the x86-64 binary on an ARM machine would run only
// under emulation (Rosetta, which macOS does not install by default). A bundle holds one binary
// and declares its one platform, so a host refuses a bundle for another system.

// bundleName is the file name of t's bundle.
func (r *release) bundleName(t target) string {
	return binaryName + "-" + r.version + "-" + t.String() + ".mcpb"
}

// packBundles lays out the bundle of each of targets, checks it with the MCPB CLI and packs
// it into out; it returns the bundles' names.
func (r *release) packBundles(ctx context.Context, tools *nodeTools, targets []target) ([]string, error) {
	base, err := readManifest(filepath.Join(r.root, "packaging", "mcpb", "manifest.json"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, t := range targets {
		dir := filepath.Join(r.out, "mcpb", t.String())
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Join(dir, "server"), 0o755); err != nil {
			return nil, err
		}
		m := base
		m.Version = strings.TrimPrefix(r.version, "v")
		m.Server.EntryPoint = "server/" + t.executable()
		m.Compatibility.Platforms = []string{nodePlatform(t)}
		if err := writeJSON(filepath.Join(dir, "manifest.json"), m); err != nil {
			return nil, err
		}
		copies := map[string]string{
			filepath.Join(r.root, "packaging", "mcpb", "icon.png"): filepath.Join(dir, "icon.png"),
			filepath.Join(r.root, "LICENSE"):                       filepath.Join(dir, "LICENSE"),
			r.binaryPath(t):                                        filepath.Join(dir, m.Server.EntryPoint),
		}
		for src, dst := range copies {
			if err := copyFile(src, dst); err != nil {
				return nil, err
			}
		}
		name := r.bundleName(t)
		for _, args := range [][]string{
			{"validate", filepath.Join(dir, "manifest.json")},
			{"pack", dir, filepath.Join(r.out, name)},
			{"info", filepath.Join(r.out, name)},
		} {
			if _, err := tools.mcpb(ctx, args...); err != nil {
				return nil, err
			}
		}
		fmt.Fprintln(r.log, "wrote", name)
		names = append(names, name)
	}
	return names, nil
}

// nodePlatform is t's operating system as Node.js (and MCPB) name it.
func nodePlatform(t target) string {
	if t.os == "windows" {
		return "win32"
	}
	return t.os
}

// nodeArch is t's architecture as Node.js names it.
func nodeArch(t target) string {
	if t.arch == "amd64" {
		return "x64"
	}
	return t.arch
}

// copyFile copies src to dst with src's permission bits.
func copyFile(src, dst string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, info.Mode().Perm())
}

// nodeTools runs Node.js programs: npm, and the pinned MCPB CLI installed into dir.
type nodeTools struct {
	dir string
}

// installNodeTools checks for node and npm and installs the MCPB CLI into dir.
func installNodeTools(ctx context.Context, dir string) (*nodeTools, error) {
	for _, name := range []string{"node", "npm"} {
		if _, err := exec.LookPath(name); err != nil {
			return nil, fmt.Errorf("%s not found: the bundles and npm packages need Node.js 18 or newer and npm (or pass -archives-only)", name)
		}
	}
	tools := &nodeTools{dir: dir}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "mcpb")); err == nil {
		return tools, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if _, err := tools.npm(ctx, dir, "install", "--no-audit", "--no-fund", "--no-save", mcpbPackage); err != nil {
		return nil, err
	}
	return tools, nil
}

// mcpb runs the MCPB CLI and returns what it printed.
func (n *nodeTools) mcpb(ctx context.Context, args ...string) ([]byte, error) {
	return runTool(ctx, "", filepath.Join(n.dir, "node_modules", ".bin", "mcpb"), args...)
}

// npm runs npm in dir and returns what it printed on stdout.
func (n *nodeTools) npm(ctx context.Context, dir string, args ...string) ([]byte, error) {
	return runTool(ctx, dir, "npm", args...)
}

func runTool(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out, nil
}
