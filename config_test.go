package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/simulate"
)

func TestParseConfigProvider(t *testing.T) {
	type want struct {
		provider     api.Provider
		baseURL      string
		apiKey       string
		variable     string
		enableCreate bool
	}
	bothKeys := map[string]string{envAPIKey: "sk-gptge", envDashScopeKey: "sk-dashscope"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want want
	}{
		{"default", nil, bothKeys, want{api.ProviderGPTGE, api.DefaultBaseURL, "sk-gptge", envAPIKey, false}},
		{"dashscope, default region", []string{"--provider", "dashscope"}, bothKeys,
			want{api.ProviderDashScope, "https://dashscope.aliyuncs.com", "sk-dashscope", envDashScopeKey, false}},
		{"dashscope ignores GPTGE_API_KEY", []string{"--provider=dashscope"}, map[string]string{envAPIKey: "sk-gptge"},
			want{api.ProviderDashScope, "https://dashscope.aliyuncs.com", "", envDashScopeKey, false}},
		{"singapore", []string{"--provider", "dashscope", "--region", "singapore"}, bothKeys,
			want{api.ProviderDashScope, "https://dashscope-intl.aliyuncs.com", "sk-dashscope", envDashScopeKey, false}},
		{"virginia", []string{"--provider", "dashscope", "--region", "virginia"}, bothKeys,
			want{api.ProviderDashScope, "https://dashscope-us.aliyuncs.com", "sk-dashscope", envDashScopeKey, false}},
		{"region as a base URL", []string{"--provider", "dashscope", "--region", "https://ws1.ap-southeast-1.maas.aliyuncs.com/api/v1"}, bothKeys,
			want{api.ProviderDashScope, "https://ws1.ap-southeast-1.maas.aliyuncs.com", "sk-dashscope", envDashScopeKey, false}},
		{"dashscope simulated", []string{"--provider", "dashscope", "--simulate"}, nil,
			want{api.ProviderDashScope, simulate.BaseURL, simulatedAPIKey, envDashScopeKey, false}},
		{"gptge simulated through the base URL variable", nil, map[string]string{envBaseURL: "simulate"},
			want{api.ProviderGPTGE, simulate.BaseURL, simulatedAPIKey, envAPIKey, false}},
		{"create from the environment", nil, map[string]string{envEnableCreate: "1"},
			want{api.ProviderGPTGE, api.DefaultBaseURL, "", envAPIKey, true}},
		{"create from the environment, spelled true", nil, map[string]string{envEnableCreate: "true"},
			want{api.ProviderGPTGE, api.DefaultBaseURL, "", envAPIKey, true}},
		{"create off in the environment", nil, map[string]string{envEnableCreate: "0"},
			want{api.ProviderGPTGE, api.DefaultBaseURL, "", envAPIKey, false}},
		{"create from the flag", []string{"--enable-create"}, nil,
			want{api.ProviderGPTGE, api.DefaultBaseURL, "", envAPIKey, true}},
		{"the flag wins over the environment", []string{"--enable-create=false"}, map[string]string{envEnableCreate: "1"},
			want{api.ProviderGPTGE, api.DefaultBaseURL, "", envAPIKey, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatalf("parseConfig(%q): %v", tt.args, err)
			}
			got := want{cfg.provider, cfg.baseURL, cfg.apiKey, cfg.apiKeyVariable, cfg.enableCreate}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("parseConfig(%q) mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestParseConfigProviderErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown provider", []string{"--provider", "openai"}, nil, `--provider "openai": want gptge or dashscope`},
		{"region without dashscope", []string{"--region", "singapore"}, nil, "--region is for --provider dashscope"},
		{"unknown region", []string{"--provider", "dashscope", "--region", "hangzhou"}, nil, "want beijing, singapore, virginia, or a base URL"},
		{"base URL with dashscope", []string{"--provider", "dashscope", "--base-url", "https://example.com"}, nil, "--base-url is for --provider gptge"},
		{"unreadable create variable", nil, map[string]string{envEnableCreate: "yes please"}, envEnableCreate + `="yes please": want 1 or 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseConfig(%q) error = %v, want it to contain %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestHelpListsProviderSettings(t *testing.T) {
	var help strings.Builder
	_, _ = parseConfig([]string{"--help"}, func(string) string { return "" }, &help)
	for _, want := range []string{"-provider", "-region", "-enable-create", envDashScopeKey, envEnableCreate, "virginia"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("--help does not mention %s:\n%s", want, help.String())
		}
	}
}

func TestParseConfigHTTPErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"blank client token", []string{"--transport", "http"}, map[string]string{envAuthToken: "  \t"}, envAuthToken + " is set but blank"},
		{"origin pattern", []string{"--transport", "http", "--allowed-origins", "https://*.example.com"}, nil, `"https://*.example.com" is a pattern`},
		{"origin pattern among others", []string{"--allowed-origins", "https://app.example.com,*"}, nil, `"*" is a pattern`},
		{"no connections", []string{"--max-connections", "0"}, nil, "--max-connections"},
		{"negative calls per client", []string{"--max-calls-per-client", "-1"}, nil, "--max-calls-per-client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseConfig(%q) error = %v, want it to contain %q", tt.args, err, tt.want)
			}
		})
	}
}

// TestHTTPStartWarnings starts the http transport and stops it at once, and checks what it
// warned about.
func TestHTTPStartWarnings(t *testing.T) {
	const shortToken, clearText = "is shorter than 16 bytes", "travels in clear text"
	tests := []struct {
		name    string
		baseURL string
		token   string
		want    []string
		notWant []string
	}{
		{"short token, plain http upstream", "http://upstream.example/v1", "short-token", []string{shortToken, clearText}, nil},
		{"long token, https upstream", "https://upstream.example", "a-token-of-at-least-16-bytes", nil, []string{shortToken, clearText}},
		{"plain http on this machine", "http://127.0.0.1:9999", "", nil, []string{shortToken, clearText}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			env := map[string]string{envAPIKey: "sk-test", envAuthToken: tt.token}
			var stderr bytes.Buffer
			err := run(ctx, []string{"--transport", "http", "--addr", "127.0.0.1:0", "--base-url", tt.baseURL},
				func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, &stderr)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("log lacks %q:\n%s", w, stderr.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(stderr.String(), w) {
					t.Errorf("log has %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), tt.token) && tt.token != "" {
				t.Errorf("log reveals the token:\n%s", stderr.String())
			}
		})
	}
}

// runArgs runs the program in process with args and an empty environment and returns what it
// wrote and the error main would act on.
func runArgs(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut strings.Builder
	err = run(t.Context(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestHelp: --help (or -h) prints the whole help on stdout and ends without error (main exits
// 0); after a command it prints that command's help instead.
func TestHelp(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string
		notWant []string
	}{
		{[]string{"--help"}, []string{"Usage: video-task-mcp [flags]", "-poll-interval", "GOMEMLIMIT", "48MiB",
			"get TASK_ID", "wait TASK_ID", "Exit status"}, nil},
		{[]string{"-h"}, []string{"Usage: video-task-mcp [flags]", "-poll-interval"}, nil},
		{[]string{"--simulate", "get", "--help"}, []string{"Usage: video-task-mcp [flags] get TASK_ID", "Exit status", "video-task-mcp --help"},
			[]string{"-poll-interval", "-timeout"}},
		{[]string{"wait", "some-id", "-h"}, []string{"Usage: video-task-mcp [flags] wait TASK_ID", "-timeout", "(default 15m0s)", "3 the wait ended"},
			[]string{"-poll-interval"}},
		{[]string{"create", "--help"}, []string{"Usage: video-task-mcp [flags] --enable-create create", "-wait", "KEY=VALUE", "billed"},
			[]string{"-poll-interval"}},
	}
	for _, tt := range tests {
		stdout, stderr, err := runArgs(t, tt.args...)
		if !errors.Is(err, flag.ErrHelp) || stderr != "" {
			t.Errorf("run(%q) = %v, stderr %q; want flag.ErrHelp and nothing on stderr", tt.args, err, stderr)
		}
		for _, want := range tt.want {
			if !strings.Contains(stdout, want) {
				t.Errorf("run(%q) help does not mention %q:\n%s", tt.args, want, stdout)
			}
		}
		for _, notWant := range tt.notWant {
			if strings.Contains(stdout, notWant) {
				t.Errorf("run(%q) help mentions %q, which belongs to other help:\n%s", tt.args, notWant, stdout)
			}
		}
	}
}

// TestCommandLineErrors: a flag or argument refused is one line that names it and says what is
// wanted, with nothing printed before main prints it (no usage dump).
func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // the whole message, or with a trailing "…" its start
	}{
		{[]string{"--poll-interval", "soon"}, `--poll-interval: want a duration such as 1s or 500ms, not "soon"`},
		{[]string{"--wait-timeout=5"}, `--wait-timeout: want a duration such as 1s or 500ms, not "5"`},
		{[]string{"--max-qps", "lots"}, `--max-qps: want a number such as 10, not "lots"`},
		{[]string{"--simulate=maybe"}, `--simulate: want true or false, not "maybe"`},
		{[]string{"--simulate", "wait", "x", "--timeout", "soon"}, `--timeout: want a duration such as 1s or 500ms, not "soon"`},
		{[]string{"--simulate", "create", "--wait=later", "model=x"}, `--wait: want true or false, not "later"`},
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag; run video-task-mcp --help to see the flags"},
		{[]string{"--simulate", "wait", "x", "--poll-interval"}, "flag needs an argument: -poll-interval; run video-task-mcp wait --help to see the flags"},
		{[]string{"--simulate", "get", "../x"}, `get: the task id contains '/' at position 2; only letters, digits and - _ . : are allowed (run video-task-mcp get --help)`},
		{[]string{"--simulate", "wait", ".."}, `wait: the task id is "..", a name of a directory, not a task id (run video-task-mcp wait --help)`},
		{[]string{"--simulate", "frob"}, `unexpected argument "frob": the commands are get, wait and create (run video-task-mcp --help)`},
	}
	for _, tt := range tests {
		stdout, stderr, err := runArgs(t, tt.args...)
		if err == nil || err.Error() != tt.want || stdout != "" || stderr != "" {
			t.Errorf("run(%q) = %v, stdout %q, stderr %q; want only the error %q", tt.args, err, stdout, stderr, tt.want)
		}
	}
}

// TestParseConfigEmptyMeansUnset covers how an MCP bundle's host starts the server: it fills
// every setting of the manifest into the command line, and a setting the user left empty
// arrives as an empty value (--region=). Empty must mean "not given", never an error or a
// folder named "" or " ".
func TestParseConfigEmptyMeansUnset(t *testing.T) {
	type want struct {
		provider     api.Provider
		baseURL      string
		downloadDir  string
		enableCreate bool
	}
	tests := []struct {
		name string
		args []string
		want want
	}{
		{"every optional setting empty", []string{"--provider=", "--region=", "--download-dir=", "--base-url="},
			want{api.ProviderGPTGE, api.DefaultBaseURL, "", false}},
		{"gptge with an empty region", []string{"--provider=gptge", "--region=", "--enable-create=false", "--download-dir="},
			want{api.ProviderGPTGE, api.DefaultBaseURL, "", false}},
		{"white space is empty", []string{"--region= ", "--download-dir= \t", "--base-url= "},
			want{api.ProviderGPTGE, api.DefaultBaseURL, "", false}},
		{"dashscope with an empty region and base URL", []string{"--provider=dashscope", "--region=", "--base-url="},
			want{api.ProviderDashScope, "https://dashscope.aliyuncs.com", "", false}},
		{"a folder given", []string{"--provider=gptge", "--region=", "--enable-create=true", "--download-dir=/tmp/videos"},
			want{api.ProviderGPTGE, api.DefaultBaseURL, "/tmp/videos", true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, func(string) string { return "" }, io.Discard)
			if err != nil {
				t.Fatalf("parseConfig(%q): %v", tt.args, err)
			}
			got := want{cfg.provider, cfg.baseURL, cfg.downloadDir, cfg.enableCreate}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("parseConfig(%q) mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}
