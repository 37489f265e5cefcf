package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

func TestIDKey(t *testing.T) {
	same := [][]string{
		{`1`, `1.0`, ` 1 `, `1e0`},
		{`"1"`, `"\u0031"`},
		{`"a b"`, ` "a b"`},
	}
	for _, group := range same {
		for _, id := range group[1:] {
			if got, want := idKey(json.RawMessage(id)), idKey(json.RawMessage(group[0])); got != want {
				t.Errorf("idKey(%s) = %q, want %q as for %s", id, got, want, group[0])
			}
		}
	}
	if idKey(json.RawMessage(`1`)) == idKey(json.RawMessage(`"1"`)) {
		t.Errorf("idKey(1) = idKey(\"1\"): a number and a string id must differ")
	}
	for _, id := range []string{`7`, `"x"`, `"7"`} {
		if got := idKey(keyID(idKey(json.RawMessage(id)))); got != idKey(json.RawMessage(id)) {
			t.Errorf("keyID(idKey(%s)) does not round-trip: %q", id, got)
		}
	}
}

func TestPendingCalls(t *testing.T) {
	p := newPendingCalls()
	p.begin(json.RawMessage(`1`))
	p.begin(json.RawMessage(`2`))
	p.cancel(json.RawMessage(`2.0`))
	p.cancel(json.RawMessage(`3`)) // never begun: nothing to cancel
	if got := p.len(); got != 2 {
		t.Fatalf("len() = %d, want 2", got)
	}
	if p.finish(json.RawMessage(`1`)) {
		t.Errorf("finish(1) = drop, want it kept: 1 was not cancelled")
	}
	p.cancel(json.RawMessage(`1`)) // already answered: nothing changes
	if !p.finish(json.RawMessage(`2`)) {
		t.Errorf("finish(2) = keep, want it dropped: 2 was cancelled while it ran")
	}
	if p.finish(json.RawMessage(`3`)) {
		t.Errorf("finish(3) = drop, want a response to no recorded request kept")
	}
	select {
	case <-p.drained():
	default:
		t.Errorf("drained() not closed with every request answered")
	}
	p.begin(json.RawMessage(`"a"`))
	p.begin(json.RawMessage(`"b"`))
	p.cancel(json.RawMessage(`"b"`))
	if got := p.unanswered(); len(got) != 1 || got[0] != idKey(json.RawMessage(`"a"`)) {
		t.Errorf("unanswered() = %q, want only the uncancelled \"a\"", got)
	}
	if got := p.len(); got != 0 {
		t.Errorf("len() after unanswered() = %d, want 0", got)
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
		if i == 1 && string(requestIDPrefix(line)) != "42" {
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
		{`{"jsonrpc":"2.0","method":"tools/call","params":{"arguments":"xxxx`, ``},
		{`[1,2`, ``},
		{`not json`, ``},
	}
	for _, c := range cases {
		if got := string(requestIDPrefix([]byte(c.start))); got != c.want {
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
		var buf lockedBuffer
		out := &stdioOut{w: &buf, calls: newPendingCalls()}
		for id := range calls {
			out.calls.begin(json.RawMessage(fmt.Sprint(id)))
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
			answers[string(m.ID)]++
		}
		for id := range calls {
			if n := answers[fmt.Sprint(id)]; n != 1 {
				t.Fatalf("round %d: request %d got %d answers, want exactly 1; output:\n%s", round, id, n, buf.String())
			}
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
