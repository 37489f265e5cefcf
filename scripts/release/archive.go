package main

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// archiveFile is one file of an archive: its name inside the archive's top folder, its
// permission bits and the file on disk it is read from.
type archiveFile struct {
	name string
	mode os.FileMode
	src  string
}

// writeTarGz writes a gzip-compressed tar of files under the folder top. Everything that could
// differ between two runs is fixed: entries in name order, every time mtime, owner 0:0 with no
// user or group name, and a gzip header with no file name and no time, so the same files give
// the same bytes.
func writeTarGz(w io.Writer, top string, files []archiveFile, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(tarHeader(top+"/", tar.TypeDir, 0o755, 0, mtime)); err != nil {
		return err
	}
	for _, f := range sortedFiles(files) {
		data, err := os.ReadFile(f.src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(tarHeader(path.Join(top, f.name), tar.TypeReg, f.mode, int64(len(data)), mtime)); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func tarHeader(name string, typ byte, mode os.FileMode, size int64, mtime time.Time) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     int64(mode.Perm()),
		Size:     size,
		ModTime:  mtime.UTC().Truncate(time.Second),
		Format:   tar.FormatUSTAR,
	}
}

// writeZip writes a zip of files under the folder top, as fixed as writeTarGz: name order, one
// modification time, and Unix permission bits so the binary stays executable when unpacked on
// a Unix system.
func writeZip(w io.Writer, top string, files []archiveFile, mtime time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	dir := &zip.FileHeader{Name: top + "/", Modified: mtime.UTC().Truncate(time.Second)}
	dir.SetMode(os.ModeDir | 0o755)
	if _, err := zw.CreateHeader(dir); err != nil {
		return err
	}
	for _, f := range sortedFiles(files) {
		data, err := os.ReadFile(f.src)
		if err != nil {
			return err
		}
		h := &zip.FileHeader{Name: path.Join(top, f.name), Method: zip.Deflate, Modified: mtime.UTC().Truncate(time.Second)}
		h.SetMode(f.mode.Perm())
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(data); err != nil {
			return err
		}
	}
	return zw.Close()
}

func sortedFiles(files []archiveFile) []archiveFile {
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b archiveFile) int { return strings.Compare(a.name, b.name) })
	return sorted
}

// writeArchive writes files into dst: a zip when dst ends in .zip, else a gzip-compressed tar.
func writeArchive(dst, top string, files []archiveFile, mtime time.Time) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if strings.HasSuffix(dst, ".zip") {
		err = writeZip(f, top, files, mtime)
	} else {
		err = writeTarGz(f, top, files, mtime)
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(dst), err)
	}
	return nil
}

// writeChecksums writes dir/SHA256SUMS for the named files of dir, in name order and in the
// form sha256sum -c reads: the hex digest, two spaces, the name.
func writeChecksums(dir string, names []string) error {
	var b strings.Builder
	for _, name := range slices.Sorted(slices.Values(names)) {
		sum, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, name)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644)
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
