package api

// redactTask returns t with the API key removed from every string it carries, usage included.
// Relays quote the key they were sent, in bodies and in the prompts and messages they echo, in
// any escaping: the body was redacted before decoding, and its decoded strings are again here.
func (c *Client) redactTask(t *Task) *Task {
	if t == nil || !c.redactor.Active() {
		return t
	}
	r := c.redactor
	t.RequestID, t.ID, t.Status = r.String(t.RequestID), r.String(t.ID), TaskStatus(r.String(string(t.Status)))
	t.SubmitTime, t.ScheduledTime, t.EndTime = r.String(t.SubmitTime), r.String(t.ScheduledTime), r.String(t.EndTime)
	t.VideoURL, t.OrigPrompt, t.ActualPrompt = r.String(t.VideoURL), r.String(t.OrigPrompt), r.String(t.ActualPrompt)
	t.Code, t.Message = r.String(t.Code), r.String(t.Message)
	if t.Usage != nil {
		t.Usage = c.redactValue(map[string]any(t.Usage)).(map[string]any)
	}
	return t
}

// redactValue redacts a decoded JSON value: strings, and the keys and elements of objects and
// arrays.
func (c *Client) redactValue(v any) any {
	switch v := v.(type) {
	case string:
		return c.redactor.String(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[c.redactor.String(k)] = c.redactValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = c.redactValue(e)
		}
		return out
	}
	return v
}

// redactError returns e with the API key removed from the upstream's words and from its
// cause's message.
func (c *Client) redactError(e *Error) *Error {
	if e == nil || !c.redactor.Active() {
		return e
	}
	r := c.redactor
	e.Code, e.Message, e.RequestID = r.String(e.Code), r.String(e.Message), r.String(e.RequestID)
	if e.Err != nil {
		if msg := e.Err.Error(); r.String(msg) != msg {
			e.Err = &redactedError{msg: r.String(msg), err: e.Err}
		}
	}
	return e
}

// redactedError is an error whose message had a secret removed. It still unwraps to the
// original, so that errors.Is and errors.As see the cause.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
