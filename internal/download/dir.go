package download

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/video-task-mcp/video-task-mcp/api"
)

// PrepareDir resolves the --download-dir argument: a leading "~/" is the user's home
// (MCP clients start servers without a shell to expand it), the result is absolute, and the
// directory is created when missing. It fails when the path is not a directory or not
// writable, so that a mistake shows at startup rather than at the first download.
func PrepareDir(dir string) (string, error) {
	dir = strings.TrimSpace(dir)
	if dir == "" {
		return "", errors.New("download directory: empty path")
	}
	if dir == "~" || strings.HasPrefix(dir, "~/") || strings.HasPrefix(dir, `~\`) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("download directory %q: %w", dir, err)
		}
		dir = filepath.Join(home, dir[1:])
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("download directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("download directory: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return "", fmt.Errorf("download directory: %w", err)
	}
	defer root.Close()
	probe := ".video-task-mcp-write-test-" + randomHex()
	f, err := root.OpenFile(probe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("download directory %s is not writable: %w", abs, err)
	}
	_ = f.Close()
	_ = root.Remove(probe)
	return abs, nil
}

// videoFileName maps a task id to the name its video is saved under: "<id>.mp4", with ':'
// (not allowed in Windows file names, shown as '/' by macOS) written %3A and a leading '.'
// written %2E so that no saved video is hidden. '%' never occurs in a valid id, so no two ids
// share a name. Anything that is not a plain name inside the directory is refused; the
// os.Root that every write goes through would refuse it anyway.
//
// Two ids that differ only in case share a name on case-insensitive file systems; the
// provider's ids are generated in one case, so two real ids never do.
func videoFileName(dir, id string) (string, error) {
	id, err := api.ValidateTaskID(id)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i := range len(id) {
		switch c := id[i]; {
		case c == ':':
			b.WriteString("%3A")
		case c == '.' && i == 0:
			b.WriteString("%2E")
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString(".mp4")
	name := b.String()
	if len(name) > maxFileNameLength {
		return "", fmt.Errorf("the task id makes a file name of %d bytes; at most %d fit", len(name), maxFileNameLength)
	}
	rel, err := filepath.Rel(dir, filepath.Join(dir, name))
	if err != nil || rel != name || !filepath.IsLocal(name) || filepath.Base(name) != name || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("the task id does not make a file name inside the download directory")
	}
	return name, nil
}
