package tools

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/internal/download"
	"github.com/video-task-mcp/video-task-mcp/schema"
)

// Keeping the video: with Deps.DownloadDir set, the download_video tool saves a SUCCEEDED task's
// video into that directory.
//
// Why a tool of its own rather than a save_video argument on get_video_task and
// wait_for_video_task:
//   - Honest annotations. The query tools only read and say so (readOnlyHint), which lets hosts
//     run them without asking. Saving a file changes the user's machine: download_video says
//     readOnlyHint=false (still not destructive, and idempotent), so hosts that ask before a
//     write ask here and only here. An argument would force a choice between a false hint on
//     the query tools and a confirmation prompt on every wait.
//   - Its own time budget. A wait may spend most of the ~60 s that clients allow a call; a
//     download added to the end of it could push the call past that limit and lose both.
//   - Nothing changes when the flag is off, and little when it is on: the query tools'
//     definitions are the same either way (their snapshots hold), and the extra tool costs
//     about 1.9 KB of tools/list (mostly the shared output schema) only for users who asked
//     for downloads.
//
// What an argument would have had going for it, that the model finds it on the tool it already
// calls, is covered by the summary: with downloads on, every SUCCEEDED result of the query tools
// names download_video (see withSaveHint).

// DownloadVideoName is the name of the tool that saves a finished video.
const DownloadVideoName = "download_video"

const downloadVideoDescription = "Save the video of a SUCCEEDED Bailian (Wan) task into the user's download directory " +
	"on the server's machine and return its local_path, so that it outlives the video URL, which expires 24 hours " +
	"after the task ends. The task_id comes from the response that submitted the task. Call it once " +
	"wait_for_video_task or get_video_task reports SUCCEEDED; an unfinished task is reported, not waited for. " +
	"Calling it again reuses the saved file."

func downloadVideoTool() mcp.Tool {
	return mcp.Tool{
		Name:            DownloadVideoName,
		Title:           "Download video",
		Description:     downloadVideoDescription,
		RawInputSchema:  schema.GetVideoTaskInputSchema(),
		RawOutputSchema: schema.TaskResultSchema(),
		Annotations: mcp.ToolAnnotation{
			Title: "Download video",
			// It writes one file into the directory the user chose for this, never replaces
			// a file, and writes the same file however often it is called.
			ReadOnlyHint:    mcp.ToBoolPtr(false),
			DestructiveHint: mcp.ToBoolPtr(false),
			IdempotentHint:  mcp.ToBoolPtr(true),
			OpenWorldHint:   mcp.ToBoolPtr(true),
		},
	}
}

// downloadVideo is download_video: the task's status as get_video_task finds it, and for a
// SUCCEEDED task its video saved on disk.
func (h *handlers) downloadVideo() toolFunc[schema.GetVideoTaskInput, downloaded] {
	return toolFunc[schema.GetVideoTaskInput, downloaded]{
		op:    opQuery,
		input: getInput,
		call: func(ctx context.Context, _ mcp.CallToolRequest, in schema.GetVideoTaskInput) (downloaded, error) {
			return h.download(ctx, in.TaskID)
		},
		render: downloadResult,
		task:   func(in schema.GetVideoTaskInput) string { return in.TaskID },
	}
}

// downloaded is what download_video found: the task's result and, when local_path is set,
// the size of the saved copy; or, when saving failed, why.
type downloaded struct {
	result   schema.TaskResult
	size     int64
	notSaved *notSaved
}

// notSaved is the failure to save a SUCCEEDED task's video. The task's result stands, and its
// video URL works until it expires.
type notSaved struct {
	dir, url, expires string
	err               error
}

func (e *notSaved) Error() string { return "saving the video failed: " + e.err.Error() }
func (e *notSaved) Unwrap() error { return e.err }

// text says what failed and what to do next, as r reads it.
func (e *notSaved) text(r reader) string {
	return fmt.Sprintf("The task SUCCEEDED, but saving its video into %s failed: %s. The video URL works until %s: %s, or download it from %s.",
		e.dir, truncate(e.err.Error(), 300), e.expires, r.next("call download_video again to retry", "run the same command again to retry"), e.url)
}

// download queries task id and, when it has SUCCEEDED, saves its video into the download
// directory and returns the result with local_path. A download that fails leaves the task's
// result intact, with the failure in the summary: the video URL still works, and the caller
// can try again.
func (h *handlers) download(ctx context.Context, id string) (downloaded, error) {
	r, err := h.query(ctx, id)
	if err != nil {
		return downloaded{}, err
	}
	if api.TaskStatus(r.TaskStatus) != api.StatusSucceeded || r.VideoURL == "" {
		if r.Done {
			r.Summary += " There is no video to save."
		} else {
			r.Summary += " Once it has SUCCEEDED, call download_video again to save the video."
		}
		return downloaded{result: r}, nil
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if h.stopping != nil {
		go func() {
			select {
			case <-h.stopping:
				cancel(download.ErrStopping)
			case <-ctx.Done():
			}
		}()
	}
	saved, err := h.downloads.Save(ctx, id, r.VideoURL)
	if err != nil {
		h.logger.WarnContext(ctx, "video not saved", "task_id", id, "video_url", redactQuery(r.VideoURL),
			"error", err.Error(), "cause", errors.Unwrap(err))
		fail := &notSaved{dir: h.downloads.Dir(), url: r.VideoURL, expires: expiryText(r), err: err}
		r.Summary = fail.text(reader{})
		return downloaded{result: r, notSaved: fail}, nil
	}
	if !saved.Reused {
		h.logger.InfoContext(ctx, "video saved", "task_id", id, "path", saved.Path, "bytes", saved.Size)
	}
	r.LocalPath = saved.Path
	how := "The video is saved"
	if saved.Reused {
		how = "The video was already saved"
	}
	r.Summary = fmt.Sprintf("%s at %s (%s); this copy does not expire. The video URL works until %s.",
		how, saved.Path, download.FormatBytes(saved.Size), expiryText(r))
	return downloaded{result: r, size: saved.Size}, nil
}

// downloadResult renders download_video's result: toolResult's, with a resource_link to the
// saved copy after the one to the video URL.
func downloadResult(d downloaded) *mcp.CallToolResult {
	res := toolResult(d.result)
	if d.result.LocalPath != "" {
		res.Content = append(res.Content, localVideoLink(d.result, d.size))
	}
	return res
}

func expiryText(r schema.TaskResult) string {
	if r.VideoURLExpiresAt != "" {
		return r.VideoURLExpiresAt
	}
	return "24 hours after the task ended"
}

// fileURI is the file:// URI of an absolute path.
func fileURI(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive path, C:/…
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// localVideoLink is the resource_link to a saved video of size bytes.
func localVideoLink(r schema.TaskResult, size int64) mcp.ResourceLink {
	link := mcp.NewResourceLink(fileURI(r.LocalPath), filepath.Base(r.LocalPath),
		"Video of task "+r.TaskID+" saved on the server's machine; this copy does not expire.", "video/mp4")
	link.Size = &size
	return link
}

// withSaveHint tells the model, in a SUCCEEDED result of a query, that download_video can keep
// the video. Without downloads r stays as it is.
func (h *handlers) withSaveHint(r schema.TaskResult) schema.TaskResult {
	if h.downloads != nil && api.TaskStatus(r.TaskStatus) == api.StatusSucceeded && r.VideoURL != "" {
		r.Summary += " To keep the video after the link expires, call download_video with the same task_id: it saves a copy into the download directory the user set for this server."
	}
	return r
}
