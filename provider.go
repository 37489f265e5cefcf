package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/video-task-mcp/video-task-mcp/api"
	"github.com/video-task-mcp/video-task-mcp/simulate"
)

// Environment variables of the provider and submission settings.
const (
	// envDashScopeKey holds the key when the provider is dashscope.
	envDashScopeKey = "DASHSCOPE_API_KEY"
	// envEnableCreate, set to 1 (or true), offers create_video_task like --enable-create.
	envEnableCreate = "VIDEO_TASK_ENABLE_CREATE"
)

// providerFlags are the flags of the provider and submission settings, before resolution.
type providerFlags struct {
	provider     string
	region       string
	enableCreate bool
}

// addProviderFlags defines --provider, --region and --enable-create on fs.
func addProviderFlags(fs *flag.FlagSet, pf *providerFlags) {
	fs.StringVar(&pf.provider, "provider", string(api.ProviderGPTGE), "upstream: gptge (api.gpt.ge, key in "+envAPIKey+") or dashscope (Alibaba Cloud Model Studio, key in "+envDashScopeKey+")")
	fs.StringVar(&pf.region, "region", "", "with --provider dashscope: beijing (default), singapore, virginia, or a base URL such as a workspace endpoint")
	fs.BoolVar(&pf.enableCreate, "enable-create", false, "offer the create_video_task tool, which submits billed tasks (env "+envEnableCreate+"=1; off by default)")
}

// resolveProvider completes cfg from the provider flags and the environment, once the rest of
// parseConfig has run: the provider, its base URL and key, the variable that names the key,
// and whether submissions are offered. Flags win over the environment.
func resolveProvider(cfg *config, fs *flag.FlagSet, pf providerFlags, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	provider, err := api.ParseProvider(pf.provider)
	if err != nil {
		return fmt.Errorf("--provider %q: want gptge or dashscope", pf.provider)
	}
	cfg.provider = provider

	cfg.enableCreate = pf.enableCreate
	if !set["enable-create"] {
		if cfg.enableCreate, err = parseEnvBool(getenv(envEnableCreate)); err != nil {
			return fmt.Errorf("%s=%q: want 1 or 0", envEnableCreate, getenv(envEnableCreate))
		}
	}

	switch provider {
	case api.ProviderDashScope:
		if set["base-url"] && !cfg.simulate {
			return errors.New("--base-url is for --provider gptge; with --provider dashscope, give --region a region or a base URL")
		}
		cfg.apiKeyVariable = envDashScopeKey
		cfg.apiKey = strings.TrimSpace(getenv(envDashScopeKey))
		if cfg.simulate {
			cfg.baseURL = simulate.BaseURL
			cfg.apiKey = firstNonEmpty(cfg.apiKey, simulatedAPIKey)
			return nil
		}
		if cfg.baseURL, err = api.DashScopeBaseURL(pf.region); err != nil {
			return fmt.Errorf("--%w", err)
		}
	default:
		if set["region"] {
			return errors.New("--region is for --provider dashscope; the gptge provider takes --base-url")
		}
		cfg.apiKeyVariable = envAPIKey
	}
	return nil
}

// parseEnvBool reads a boolean variable: unset or empty is false.
func parseEnvBool(v string) (bool, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return false, nil
	}
	return strconv.ParseBool(v)
}
