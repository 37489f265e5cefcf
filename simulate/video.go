package simulate

import (
	"bytes"
	_ "embed"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// video is the simulated video: a real, playable MP4 (H.264, 832×480 as the simulated usage
// reports, 5 s) of a still title card, 4.6 KB. It was made with
//
//	ffmpeg -f lavfi -i "color=c=0x1e3a5f:s=832x480:r=8:d=5" \
//	  -vf "drawtext=text='video-task-mcp simulated video':fontcolor=white:fontsize=28:x=(w-tw)/2:y=(h-th)/2" \
//	  -c:v libx264 -preset veryslow -crf 40 -pix_fmt yuv420p -movflags +faststart -tune stillimage video.mp4
//
//go:embed video.mp4
var video []byte

// Video returns the bytes of the simulated video.
func Video() []byte { return bytes.Clone(video) }

// NewVideoHandler returns the simulated object store that the video URLs of SUCCEEDED stories
// point at. GET and HEAD of any path ending in .mp4 answer the simulated video as video/mp4,
// ranges included; once the URL's Expires time has passed, the answer is HTTP 403 with the
// object store's AccessDenied XML, as the real one gives. Other paths are 404. Like the real
// store it needs no Authorization header: the URL is signed. Only opts.Now is used.
func NewVideoHandler(opts Options) http.Handler {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	modified := time.Date(2025, 10, 26, 4, 52, 20, 0, time.UTC)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !strings.HasSuffix(r.URL.Path, ".mp4") {
			storeError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		if secs, err := strconv.ParseInt(r.URL.Query().Get("Expires"), 10, 64); err == nil && now().Unix() > secs {
			storeError(w, http.StatusForbidden, "AccessDenied", "Request has expired.")
			return
		}
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "", modified, bytes.NewReader(video))
	})
}

// storeError answers as the object store does, in XML.
func storeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		"<Error>\n  <Code>" + code + "</Code>\n  <Message>" + message + "</Message>\n  <RequestId>" +
		strings.ToUpper(strings.ReplaceAll(newRequestID(), "-", "")[:24]) + "</RequestId>\n</Error>\n"))
}
