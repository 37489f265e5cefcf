package main

import (
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
