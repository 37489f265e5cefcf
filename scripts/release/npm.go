package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// launcherPackage is the npm package people run (npx -y video-task-mcp); it depends on one
// package per target holding that target's binary, the way esbuild ships its binary.
const launcherPackage = binaryName

// packageJSON is the package.json of the launcher and of the binary packages.
type packageJSON struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Description          string            `json:"description"`
	License              string            `json:"license"`
	Keywords             []string          `json:"keywords,omitempty"`
	Bin                  map[string]string `json:"bin,omitempty"`
	Files                []string          `json:"files"`
	OS                   []string          `json:"os,omitempty"`
	CPU                  []string          `json:"cpu,omitempty"`
	PreferUnplugged      bool              `json:"preferUnplugged,omitempty"`
	Engines              map[string]string `json:"engines,omitempty"`
	OptionalDependencies map[string]string `json:"optionalDependencies,omitempty"`
}

// binaryPackage is the name of the npm package holding t's binary, in Node.js's names:
// video-task-mcp-linux-x64.
func binaryPackage(t target) string {
	return launcherPackage + "-" + nodePlatform(t) + "-" + nodeArch(t)
}

// npmVersion is the version of every npm package of the release: the release's, without the v.
func (r *release) npmVersion() string {
	return strings.TrimPrefix(r.version, "v")
}

// packNPM lays out the launcher package and one binary package per target under out/npm and
// packs each with npm pack into out/npm; it returns the tarballs' paths.
func (r *release) packNPM(ctx context.Context, tools *nodeTools) ([]string, error) {
	version := r.npmVersion()
	root := filepath.Join(r.out, "npm")
	launcher := packageJSON{
		Name:        launcherPackage,
		Version:     version,
		Description: "MCP server for Alibaba Bailian (Wan) video-generation tasks on api.gpt.ge or DashScope: run it with npx -y video-task-mcp",
		License:     "MIT",
		Keywords:    []string{"mcp", "mcp-server", "video", "wan", "bailian", "dashscope"},
		Bin:         map[string]string{binaryName: "bin/video-task-mcp.js"},
		Files:       []string{"bin/video-task-mcp.js"},
		Engines:     map[string]string{"node": ">=18"},
	}
	launcher.OptionalDependencies = map[string]string{}
	for _, t := range allTargets {
		launcher.OptionalDependencies[binaryPackage(t)] = version
	}
	dirs := map[string]packageJSON{launcherPackage: launcher}
	files := map[string][][2]string{
		launcherPackage: {
			{filepath.Join(r.root, "packaging", "npm", "video-task-mcp.js"), "bin/video-task-mcp.js"},
			{filepath.Join(r.root, "README.md"), "README.md"},
			{filepath.Join(r.root, "LICENSE"), "LICENSE"},
		},
	}
	for _, t := range r.targets {
		name := binaryPackage(t)
		dirs[name] = packageJSON{
			Name:            name,
			Version:         version,
			Description:     "The " + nodePlatform(t) + "-" + nodeArch(t) + " binary of video-task-mcp, installed by the video-task-mcp package",
			License:         "MIT",
			Files:           []string{"bin/" + t.executable()},
			OS:              []string{nodePlatform(t)},
			CPU:             []string{nodeArch(t)},
			PreferUnplugged: true,
		}
		files[name] = [][2]string{
			{r.binaryPath(t), "bin/" + t.executable()},
			{filepath.Join(r.root, "LICENSE"), "LICENSE"},
		}
	}

	var tarballs []string
	for name, pkg := range dirs {
		dir := filepath.Join(root, name)
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := writeJSON(filepath.Join(dir, "package.json"), pkg); err != nil {
			return nil, err
		}
		for _, f := range files[name] {
			if err := copyFile(f[0], filepath.Join(dir, filepath.FromSlash(f[1]))); err != nil {
				return nil, err
			}
		}
		if name != launcherPackage {
			readme := "# " + name + "\n\nThe " + strings.TrimPrefix(name, launcherPackage+"-") +
				" binary of video-task-mcp, an MCP server for Alibaba Bailian (Wan) video-generation tasks.\n" +
				"Install the `video-task-mcp` package instead: it depends on this one and runs it.\n\nLicence: MIT.\n"
			if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644); err != nil {
				return nil, err
			}
		}
		out, err := tools.npm(ctx, dir, "pack", "--pack-destination", root)
		if err != nil {
			return nil, err
		}
		tarball := filepath.Join(root, strings.TrimSpace(lastLine(string(out))))
		if _, err := os.Stat(tarball); err != nil {
			return nil, fmt.Errorf("npm pack in %s printed %q, not the name of a tarball it wrote", dir, out)
		}
		fmt.Fprintln(r.log, "wrote", filepath.Join("npm", filepath.Base(tarball)))
		tarballs = append(tarballs, tarball)
	}
	return tarballs, nil
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}
