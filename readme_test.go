package main

import (
	"os"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestREADMEStatesWhatIsServed: the README names every protocol version the server serves, and
// does not claim that error results carry structuredContent (they carry one text block).
func TestREADMEStatesWhatIsServed(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	_, section, ok := strings.Cut(readme, "\n## Protocol versions\n")
	if !ok {
		t.Fatal("README has no \"## Protocol versions\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, v := range mcp.ValidProtocolVersions {
		if !strings.Contains(section, "`"+v+"`") {
			t.Errorf("README's protocol versions do not name %s, which the server serves", v)
		}
	}
	if !strings.Contains(section, "server/discover") {
		t.Error("README's protocol versions do not say that 2026-07-28 starts with server/discover")
	}
	if strings.Contains(readme, "Every result carries `structuredContent`") {
		t.Error("README says every result carries structuredContent; error results do not")
	}
}
