package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// toolFunc is a tool as the server carries it: the decoder of its arguments, the domain
// function that does the work over the contract's types, and how its result is rendered. Every
// tool reads "parse → domain call → render"; other callers (the video-task:// resource, one
// tool building on another) call the domain function itself.
type toolFunc[In, Out any] struct {
	op    operation
	input *inputDecoder[In]
	// call does the work. It gets the request only for what belongs to the protocol, such as
	// a progress token.
	call   func(ctx context.Context, req mcp.CallToolRequest, in In) (Out, error)
	render func(Out) *mcp.CallToolResult
	// task names the task a call is about, for the message of its failure; nil for none.
	task func(In) string
}

// handler is t as an mcp-go tool handler. A failure is an error result worded by
// describeError; the Go error stays nil, so that the model reads what to do.
func (t toolFunc[In, Out]) handler(h *handlers) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		in, err := t.input.decode(req.GetRawArguments())
		if err != nil {
			return h.errorResult(t.op, "", err), nil
		}
		out, err := t.call(ctx, req, in)
		if err != nil {
			var id string
			if t.task != nil {
				id = t.task(in)
			}
			return h.errorResult(t.op, id, err), nil
		}
		return t.render(out), nil
	}
}
