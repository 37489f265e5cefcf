package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// modulePath is this module's import path.
const modulePath = "github.com/video-task-mcp/video-task-mcp"

// TestImportBoundaries holds the dependency rules ARCHITECTURE.md states: only package main
// and tools know mcp-go; api knows nothing of ours but internal/redact; schema knows nothing of
// ours at all. Test files are left out: a test may reach for anything.
func TestImportBoundaries(t *testing.T) {
	const mcpGo = "github.com/mark3labs/mcp-go"
	notMCP := func(p string) bool { return !strings.HasPrefix(p, mcpGo) }
	rules := []struct {
		dir string
		// allowed reports whether a package under dir may import path.
		allowed func(path string) bool
		why     string
	}{
		{"api", func(p string) bool { return notMCP(p) && (!isOurs(p) || p == modulePath+"/internal/redact") },
			"api imports the standard library and internal/redact only"},
		{"schema", func(p string) bool { return notMCP(p) && !isOurs(p) }, "schema imports none of this module's packages"},
		{"simulate", func(p string) bool { return notMCP(p) && !isOurs(p) }, "simulate stands alone"},
		{"internal", notMCP, "internal packages know nothing of MCP"},
	}
	for _, rule := range rules {
		checked := 0
		err := filepath.WalkDir(rule.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			checked++
			for _, imp := range fileImports(t, path) {
				if !rule.allowed(imp) {
					t.Errorf("%s imports %s: %s", path, imp, rule.why)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", rule.dir, err)
		}
		if checked == 0 {
			t.Errorf("no Go files found under %s: the rule checks nothing", rule.dir)
		}
	}
}

// TestImportBoundariesSeeMCPGo checks the check: package main and tools do import mcp-go, so
// fileImports reads what the rules above rely on.
func TestImportBoundariesSeeMCPGo(t *testing.T) {
	for _, path := range []string{"main.go", filepath.Join("tools", "tools.go")} {
		found := false
		for _, imp := range fileImports(t, path) {
			found = found || strings.HasPrefix(imp, "github.com/mark3labs/mcp-go")
		}
		if !found {
			t.Errorf("fileImports(%s) has no mcp-go import, want one", path)
		}
	}
}

func isOurs(path string) bool {
	return path == modulePath || strings.HasPrefix(path, modulePath+"/")
}

// fileImports returns the import paths of one Go file.
func fileImports(t *testing.T, path string) []string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			t.Fatalf("%s: import %s: %v", path, imp.Path.Value, err)
		}
		paths = append(paths, p)
	}
	return paths
}
