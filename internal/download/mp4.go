package download

import (
	"encoding/binary"
	"errors"
	"io"
	"mime"
	"os"
	"strings"
)

// headSize is how much of a video is read, and checked box by box, before anything is
// written: the file-type box and the box headers after it, in any real MP4, and far more.
const headSize = 64 << 10

// topLevelBoxes are the box types an MP4 file holds at its top level: ISO/IEC 14496-12's, and
// "wide", which QuickTime writers put before the media data.
var topLevelBoxes = map[string]bool{
	"ftyp": true, "styp": true, "pdin": true, "moov": true, "moof": true, "mfra": true,
	"mdat": true, "free": true, "skip": true, "meta": true, "uuid": true, "sidx": true,
	"ssix": true, "prft": true, "emsg": true, "wide": true,
}

// maxFtypSize bounds the file-type box: 8 bytes of header and brands, and a few dozen
// compatible brands at most.
const maxFtypSize = 1024

// isMP4 reports whether head, the start of a file (all of it when complete), is laid out as
// an MP4: top-level boxes of known types whose sizes add up, the file-type box only first, with
// printable brands, and the movie (moov, moof) or its media data (mdat) among them or, in a
// file that goes on past head, still to come. With ftypFirst the file-type box must come
// first, as in every MP4 a video service writes.
//
// So a file that starts with a valid file-type box and goes on as a script, a page or an
// archive is no MP4. What the boxes hold is not checked: an mdat box can carry anything.
func isMP4(head []byte, complete, ftypFirst bool) bool {
	w := walkBoxes(head, ftypFirst)
	switch w.end {
	case endBad:
		return false
	case endToEOF:
		return w.media
	case endBoundary:
		return w.boxes > 0 && (w.media || !complete)
	}
	return w.boxes > 0 && !complete // endCutHeader, endInBox: the rest is still to come
}

// Where a walk over the top-level boxes of the start of a file ended.
const (
	endBad       = iota // at a box that no MP4 has
	endBoundary         // after a whole box, or at the start
	endCutHeader        // in a box header
	endInBox            // in a box that goes on past what was read
	endToEOF            // in a box that runs to the end of the file, whatever follows
)

type boxWalk struct {
	end   int
	boxes int  // box headers read whole
	media bool // a moov, moof or mdat box among them
}

// walkBoxes walks the top-level boxes at the start of a file as far as head goes.
func walkBoxes(head []byte, ftypFirst bool) boxWalk {
	var w boxWalk
	for {
		switch {
		case len(head) == 0:
			w.end = endBoundary
			return w
		case len(head) < 8:
			w.end = endCutHeader
			return w
		}
		typ := string(head[4:8])
		if !boxAllowed(typ, w.boxes == 0, ftypFirst) {
			w.end = endBad
			return w
		}
		size, headerSize, whole := boxSize(head)
		if !whole {
			w.end = endCutHeader
			return w
		}
		w.boxes++
		w.media = w.media || isMedia(typ)
		switch {
		case size == 0 && headerSize == 8: // the box runs to the end of the file: the last one
			w.end = endToEOF
		case size < headerSize || typ == "ftyp" && !isFtyp(head, size):
			w.end = endBad
		case size > uint64(len(head)):
			w.end = endInBox
		default:
			head = head[size:]
			continue
		}
		return w
	}
}

// boxAllowed reports whether a top-level box of type typ may stand where it does: first, or
// after another. The file-type box, if there is one, comes first; ftypFirst says there must be one.
func boxAllowed(typ string, first, ftypFirst bool) bool {
	switch {
	case !topLevelBoxes[typ]:
		return false
	case typ == "ftyp":
		return first
	default:
		return !(first && ftypFirst)
	}
}

// boxSize reads the size of the box whose header starts head (at least 8 bytes), and how long
// the header is. A 32-bit size of 0 marks a box that runs to the end of the file. whole is false when head ends
// inside a 64-bit size.
func boxSize(head []byte) (size, headerSize uint64, whole bool) {
	size = uint64(binary.BigEndian.Uint32(head))
	if size != 1 {
		return size, 8, true
	}
	if len(head) < 16 { // a 64-bit size follows the type
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(head[8:]), 16, true
}

func isMedia(typ string) bool { return typ == "moov" || typ == "moof" || typ == "mdat" }

// isFtyp reports whether the file-type box of size bytes at the start of head (which may hold
// only its first part) is sound: a major brand, a minor version and whole compatible brands,
// each brand four printable ASCII characters.
func isFtyp(head []byte, size uint64) bool {
	if size < 16 || size > maxFtypSize || size%4 != 0 {
		return false
	}
	b := head[8:min(uint64(len(head)), size)]
	for i, c := range b {
		if (i < 4 || i >= 8) && (c < 0x20 || c > 0x7e) { // bytes 4-7 are the minor version
			return false
		}
	}
	return true
}

// readHead reads the start of a saved file, as fetch reads the start of a download.
func readHead(root *os.Root, name string) (head []byte, complete bool, err error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	return readStart(f, headSize)
}

// readStart reads the start of r that isMP4 needs to judge it: until the box headers read are
// whole and the last box goes on past them (or cannot be an MP4's), or r ends, or n bytes are
// read. complete says r ended there.
func readStart(r io.Reader, n int64) ([]byte, bool, error) {
	head := make([]byte, 0, n)
	for int64(len(head)) < n {
		read, err := r.Read(head[len(head):n])
		head = head[:len(head)+read]
		switch {
		case errors.Is(err, io.EOF):
			return head, true, nil
		case err != nil:
			return head, false, err
		}
		if end := walkBoxes(head, false).end; read > 0 && end != endBoundary && end != endCutHeader {
			return head, false, nil
		}
	}
	return head, false, nil
}

// checkContent accepts video/mp4, and application/octet-stream (what object stores send for
// files uploaded without a type) only when the file-type box comes first; either way head, the
// start of the body (all of it when complete), must be laid out as an MP4 (see isMP4).
func checkContent(contentType string, head []byte, complete bool) error {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil {
		mediaType = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch mediaType {
	case "video/mp4":
		if !isMP4(head, complete, false) {
			return failf(nil, "the video host sent video/mp4, but the body is not an MP4 file")
		}
	case "application/octet-stream", "binary/octet-stream":
		if !isMP4(head, complete, true) {
			return failf(nil, "the video host sent %s that is not laid out like an MP4 file", mediaType)
		}
	case "":
		return failf(nil, "the video host sent no Content-Type; an MP4 video (video/mp4) was expected")
	default:
		return failf(nil, "the video host sent %s, not an MP4 video", truncate(mediaType, 60))
	}
	return nil
}
