package download

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPrepareDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)

	got, err := PrepareDir("~/videos/wan")
	if want := filepath.Join(home, "videos", "wan"); err != nil || got != want {
		t.Errorf("PrepareDir(~/videos/wan) = %q, %v; want %q", got, err, want)
	}
	if info, err := os.Stat(got); err != nil || !info.IsDir() {
		t.Errorf("the directory was not made: %v", err)
	}
	if names := dirEntries(t, got); len(names) != 0 {
		t.Errorf("the write test left %v behind", names)
	}

	t.Chdir(home)
	got, err = PrepareDir("relative")
	if want := filepath.Join(home, "relative"); err != nil || !filepath.IsAbs(got) || got != want {
		t.Errorf("PrepareDir(relative) = %q, %v; want %q", got, err, want)
	}

	file := filepath.Join(home, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := PrepareDir(file); err == nil {
		t.Errorf("PrepareDir(a file) succeeded, want an error")
	}
	if _, err := PrepareDir("  "); err == nil {
		t.Errorf("PrepareDir(blank) succeeded, want an error")
	}
}

// dirEntries lists the names in dir, hidden ones included.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%s): %v", dir, err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
