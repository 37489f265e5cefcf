package download

import (
	"io"
	"mime"
	"os"
	"strings"
)

func readHead(root *os.Root, name string) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, 12)
	n, err := io.ReadFull(f, head)
	return head[:n], err
}

// isMP4Start reports whether head begins an ISO base media file: a box header whose type is one
// that starts MP4 files. With ftypOnly, the first box must be the file-type box, as in every
// MP4 a video service writes.
func isMP4Start(head []byte, ftypOnly bool) bool {
	if len(head) < 8 {
		return false
	}
	switch string(head[4:8]) {
	case "ftyp":
		return true
	case "moov", "mdat", "free", "skip", "wide", "pdin", "styp", "sidx", "moof":
		return !ftypOnly
	}
	return false
}

// checkContent accepts video/mp4, and application/octet-stream (what object stores send for
// files uploaded without a type) only when the body starts with an MP4 file-type box.
func checkContent(contentType string, head []byte) error {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil {
		mediaType = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch mediaType {
	case "video/mp4":
		if !isMP4Start(head, false) {
			return failf(nil, "the video host sent video/mp4, but the body is not an MP4 file")
		}
	case "application/octet-stream", "binary/octet-stream":
		if !isMP4Start(head, true) {
			return failf(nil, "the video host sent %s that does not start like an MP4 file", mediaType)
		}
	case "":
		return failf(nil, "the video host sent no Content-Type; an MP4 video (video/mp4) was expected")
	default:
		return failf(nil, "the video host sent %s, not an MP4 video", truncate(mediaType, 60))
	}
	return nil
}
