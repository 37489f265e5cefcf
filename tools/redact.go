package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/video-task-mcp/video-task-mcp/internal/redact"
)

// redactResults removes r's secrets from every tool result: its text, its resource links and
// its structuredContent. The api client already removes the key from what the upstream says;
// this also covers what a caller sent and a result repeats (a task id, a model name), so that
// no result gives back the key or the clients' bearer token, whoever wrote it.
func redactResults(r *redact.Redactor) server.ToolHandlerMiddleware {
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			res, err := next(ctx, req)
			if res == nil || !r.Active() {
				return res, err
			}
			for i, c := range res.Content {
				switch c := c.(type) {
				case mcp.TextContent:
					c.Text = r.String(c.Text)
					res.Content[i] = c
				case mcp.ResourceLink:
					c.URI, c.Name, c.Description = r.String(c.URI), r.String(c.Name), r.String(c.Description)
					res.Content[i] = c
				}
			}
			if res.StructuredContent != nil {
				res.StructuredContent = redactStructured(r, res.StructuredContent)
			}
			return res, err
		}
	}
}

// redactResources is redactResults for resource reads: the contents and the error of a read of
// video-task://{id}, where the id is the caller's and could be a secret.
func redactResources(r *redact.Redactor) server.ResourceHandlerMiddleware {
	return func(next server.ResourceHandlerFunc) server.ResourceHandlerFunc {
		return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			contents, err := next(ctx, req)
			if !r.Active() {
				return contents, err
			}
			if err != nil {
				err = errors.New(r.String(err.Error()))
			}
			for i, c := range contents {
				if c, ok := c.(mcp.TextResourceContents); ok {
					c.URI, c.Text = r.String(c.URI), r.String(c.Text)
					contents[i] = c
				}
			}
			return contents, err
		}
	}
}

// redactStructured returns v, or, when its JSON carries a secret, that JSON redacted and
// decoded again.
func redactStructured(r *redact.Redactor, v any) any {
	out, ok := redactJSON(r, v)
	if !ok {
		// Not expected; rather no structured content than a secret in it.
		return map[string]any{"redacted": true}
	}
	return out
}

// redactJSON returns v, or, when its JSON carries one of r's secrets, that JSON redacted and
// decoded again into a T; ok is false when that fails. The redactor replaces a secret inside a
// JSON string with plain text, so the JSON stays valid.
func redactJSON[T any](r *redact.Redactor, v T) (_ T, ok bool) {
	if !r.Active() {
		return v, true
	}
	raw, err := json.Marshal(v)
	if err != nil {
		var zero T
		return zero, false
	}
	clean := r.Bytes(raw)
	if bytes.Equal(clean, raw) {
		return v, true
	}
	var out T
	if json.Unmarshal(clean, &out) != nil {
		var zero T
		return zero, false
	}
	return out, true
}
