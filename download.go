package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/video-task-mcp/video-task-mcp/internal/download"
	"github.com/video-task-mcp/video-task-mcp/simulate"
)

// downloadSettings resolves --download-dir: the directory, absolute and made if missing, and
// the HTTP client of downloads: nil for the tools' own, or the simulated object store when
// simulating, so that a simulated video can be saved too. Without the flag it returns nothing
// and nothing is ever written to disk.
func downloadSettings(cfg config, logger *slog.Logger) (string, *http.Client, error) {
	if cfg.downloadDir == "" {
		return "", nil, nil
	}
	dir, err := download.PrepareDir(cfg.downloadDir)
	if err != nil {
		return "", nil, fmt.Errorf("--download-dir: %w", err)
	}
	var hc *http.Client
	if cfg.simulate {
		hc = &http.Client{Transport: simulate.Transport(simulate.NewVideoHandler(simulate.Options{}))}
	}
	logger.Info("download_video saves finished videos on request", "dir", dir)
	return dir, hc, nil
}
