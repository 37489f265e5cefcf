package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// TestParseMessage checks which messages the server counts as requests awaiting an answer,
// under which key, and which cancel which request: as mcp-go reads them.
func TestParseMessage(t *testing.T) {
	cases := []struct {
		line    string
		request bool
		key     string // the id as mcp-go writes it back, for a request or a cancellation
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, true, `1`},
		{`{"jsonrpc":"2.0","id":1.0e0,"method":"tools/list"}`, true, `1`},
		{`{"jsonrpc":"2.0","id":-0.0,"method":"tools/list"}`, true, `-0`},
		{`{"jsonrpc":"2.0","id":"\u0031","method":"tools/list"}`, true, `"1"`},
		{`{"jsonrpc":"2.0","id":{ "b" : 1, "a" : "<" },"method":"tools/list"}`, true, `{"a":"\u003c","b":1}`},
		{`{"jsonrpc":"2.0","id":[1.0],"method":"tools/list"}`, true, `[1]`},
		{`{"jsonrpc":"1.0","id":true,"method":"tools/list"}`, true, `true`},
		{`{"jsonrpc":"2.0","id":5}`, true, `5`}, // mcp-go answers: method not found
		{`{"jsonrpc":"2.0","id":5,"method":"tools/list","result":null}`, true, `5`},
		{`{"jsonrpc":"2.0","id":5,"method":"tools/list","result":{}}`, false, ``},
		{`{"jsonrpc":"2.0","id":5,"result":1e400}`, false, ``},
		{`{"jsonrpc":"2.0","id":null,"method":"tools/list"}`, false, ``},
		{`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":{ "b" : 1, "a" : 2 }}}`, false, `{"a":2,"b":1}`},
		{`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"7"}}`, false, `"7"`},
		{`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"RequestId":7}}`, false, ``},
		{`{"jsonrpc":"1.0","method":"notifications/cancelled","params":{"requestId":7}}`, false, ``},
		{`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7},"result":1e400}`, false, ``},
		{`{"jsonrpc":"2.0","method":"notifications/cancelled","params":[7]}`, false, ``},
	}
	for _, c := range cases {
		m, ok := parseMessage([]byte(c.line))
		if !ok {
			t.Errorf("parseMessage(%s) failed, want it read", c.line)
			continue
		}
		if got := m.isRequest(); got != c.request {
			t.Errorf("parseMessage(%s).isRequest() = %v, want %v", c.line, got, c.request)
		}
		key := ""
		if m.isRequest() {
			key = idKey(m.ID)
		} else if id, ok := cancelledID([]byte(c.line), m); ok {
			key = idKey(id)
		}
		if key != c.key {
			t.Errorf("key of %s = %s, want %s", c.line, key, c.key)
		}
	}
	// Messages mcp-go cannot read, and answers with a null id.
	for _, line := range []string{
		`{"jsonrpc":2,"id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":1e400,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":1,"method":["tools/list"]}`,
		`[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"} {}`,
	} {
		if _, ok := parseMessage([]byte(line)); ok {
			t.Errorf("parseMessage(%s) succeeded, want it to fail as mcp-go's reading does", line)
		}
	}
}

func TestPendingCalls(t *testing.T) {
	p := newPendingCalls()
	p.begin(1.0)
	p.begin(2.0)
	if !p.cancel(2.0) {
		t.Errorf("cancel(2) = false, want true: 2 awaits its answer")
	}
	if p.cancel(3.0) {
		t.Errorf("cancel(3) = true, want false: 3 was never begun")
	}
	if got := p.len(); got != 2 {
		t.Fatalf("len() = %d, want 2", got)
	}
	if p.finish(1.0) {
		t.Errorf("finish(1) = drop, want it kept: 1 was not cancelled")
	}
	if p.cancel(1.0) {
		t.Errorf("cancel(1) = true, want false: 1 was answered")
	}
	if !p.finish(2.0) {
		t.Errorf("finish(2) = keep, want it dropped: 2 was cancelled while it ran")
	}
	if p.finish(3.0) {
		t.Errorf("finish(3) = drop, want a response to no recorded request kept")
	}
	select {
	case <-p.drained():
	default:
		t.Errorf("drained() not closed with every request answered")
	}
	p.begin("a")
	p.begin("b")
	p.cancel("b")
	if got := p.unanswered(); len(got) != 1 || got[0] != `"a"` {
		t.Errorf("unanswered() = %q, want only the uncancelled \"a\"", got)
	}
	if got := p.len(); got != 0 {
		t.Errorf("len() after unanswered() = %d, want 0", got)
	}
}

// TestPendingCallsLookalikeIDs: mcp-go files calls by the printed form of their ids, so a
// cancellation is kept from it while another unanswered id prints the same, and passed on
// again once that one is answered (mcp-go may then have forgotten the call: see cancel.go).
// Either way the cancelled call's response is dropped.
func TestPendingCallsLookalikeIDs(t *testing.T) {
	p := newPendingCalls()
	p.begin(60.0) // as the number 60 is read
	p.begin("60")
	if p.cancel(60.0) {
		t.Errorf("cancel(60) = pass with \"60\" running, want it kept from mcp-go")
	}
	if p.finish("60") {
		t.Errorf("finish(\"60\") = drop, want it kept: only 60 was cancelled")
	}
	p.begin(7.0)
	p.begin(map[string]any{"a": 7.0})
	p.begin("map[a:7]")
	if p.cancel(map[string]any{"a": 7.0}) {
		t.Errorf("cancel({\"a\":7}) = pass with \"map[a:7]\" running, want it kept from mcp-go")
	}
	if !p.cancel(7.0) {
		t.Errorf("cancel(7) = kept, want it passed: no other id prints as 7")
	}
	p.finish("map[a:7]")
	if !p.cancel(60.0) {
		t.Errorf("cancel(60) = kept once \"60\" was answered, want it passed")
	}
	for _, id := range []any{60.0, map[string]any{"a": 7.0}, 7.0} {
		if !p.finish(id) {
			t.Errorf("finish(%v) = keep, want it dropped: it was cancelled", id)
		}
	}
	if got := p.len(); got != 0 {
		t.Errorf("len() = %d, want 0", got)
	}
}

func TestReadLine(t *testing.T) {
	const limit = 100
	long := `{"jsonrpc":"2.0","id":42,"method":"x","params":{"p":"` + strings.Repeat("y", 500) + `"}}`
	input := "short\n" + long + "\n" + strings.Repeat("z", limit) + "\nlast"
	r := bufio.NewReaderSize(strings.NewReader(input), 16)
	want := []struct {
		line    string
		tooLong bool
		err     error
	}{
		{"short\n", false, nil},
		{"", true, nil},
		{"", true, nil}, // with its newline, limit+1 bytes
		{"last", false, io.EOF},
	}
	for i, w := range want {
		line, tooLong, err := readLine(r, limit)
		if tooLong != w.tooLong || err != w.err || (!tooLong && string(line) != w.line) {
			t.Errorf("readLine #%d = %q, %v, %v; want %q, %v, %v", i, line, tooLong, err, w.line, w.tooLong, w.err)
		}
		if i == 1 && idKey(requestIDPrefix(line)) != "42" {
			t.Errorf("readLine #%d kept %q of an overlong line, want its start with the id 42", i, line)
		}
		if tooLong && len(line) > idPrefixBytes {
			t.Errorf("readLine #%d kept %d bytes of an overlong line, want at most %d", i, len(line), idPrefixBytes)
		}
	}
}

func TestRequestIDPrefix(t *testing.T) {
	cases := []struct{ start, want string }{
		{`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"a":"xxxxx`, `42`},
		{`{"jsonrpc":"2.0","params":{"nested":{"id":1}},"id":"s-1","method":"x"`, `"s-1"`},
		{`{"jsonrpc":"2.0","method":"tools/call","params":{"arguments":"xxxx`, `null`},
		{`[1,2`, `null`},
		{`not json`, `null`},
	}
	for _, c := range cases {
		if got := idKey(requestIDPrefix([]byte(c.start))); got != c.want {
			t.Errorf("requestIDPrefix(%q) = %q, want %q", c.start, got, c.want)
		}
	}
}

// TestStdioOutCloseRacesAnswers checks that every request gets exactly one answer when the
// server stops while its answers are still being written: either the answer goes out, or
// close answers the request with an error, never neither. Each round races 50 answers with
// close; a response once dropped after close had counted it answered.
func TestStdioOutCloseRacesAnswers(t *testing.T) {
	const rounds, calls = 100, 50
	for round := range rounds {
		var buf logBuffer
		out := &stdioOut{w: &buf, calls: newPendingCalls()}
		for id := range calls {
			out.calls.begin(float64(id)) // as a number id is read
		}
		var wg sync.WaitGroup
		for id := range calls {
			wg.Go(func() {
				fmt.Fprintf(out, `{"jsonrpc":"2.0","id":%d,"result":{}}`+"\n", id)
			})
		}
		out.close()
		wg.Wait()
		answers := make(map[string]int)
		for line := range strings.Lines(buf.String()) {
			var m message
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("round %d: output line %q is not JSON: %v", round, line, err)
			}
			answers[idKey(m.ID)]++
		}
		for id := range calls {
			if n := answers[fmt.Sprint(id)]; n != 1 {
				t.Fatalf("round %d: request %d got %d answers, want exactly 1; output:\n%s", round, id, n, buf.String())
			}
		}
	}
}
