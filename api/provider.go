package api

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Provider is the kind of upstream a Client talks to. Both serve the same DashScope task bodies
// and error envelopes; they differ in their paths and in one header.
type Provider string

// The providers.
const (
	// ProviderGPTGE is the api.gpt.ge aggregator (the default): GET {base}/task/{id},
	// POST {base}/task/bailian/text2video and …/image2video.
	ProviderGPTGE Provider = "gptge"
	// ProviderDashScope is Alibaba Cloud Model Studio (DashScope) itself:
	// GET {base}/api/v1/tasks/{id}, POST {base}/api/v1/services/aigc/video-generation/video-synthesis
	// with X-DashScope-Async: enable.
	ProviderDashScope Provider = "dashscope"
)

// Providers lists the providers, the default first.
func Providers() []Provider { return []Provider{ProviderGPTGE, ProviderDashScope} }

// ParseProvider reads a provider name; the empty string is the default, ProviderGPTGE.
func ParseProvider(s string) (Provider, error) {
	p := Provider(strings.ToLower(strings.TrimSpace(s)))
	switch p {
	case "":
		return ProviderGPTGE, nil
	case ProviderGPTGE, ProviderDashScope:
		return p, nil
	}
	return "", fmt.Errorf("provider %q: want gptge or dashscope", s)
}

// WithProvider sets the provider (default ProviderGPTGE). Give it the base URL to match:
// DefaultBaseURL for gptge, DashScopeBaseURL for dashscope.
func WithProvider(p Provider) Option {
	return func(c *Client) error {
		if !slices.Contains(Providers(), p) {
			return fmt.Errorf("api: provider %q: want gptge or dashscope", p)
		}
		c.provider = p
		return nil
	}
}

// Provider returns the provider the client talks to.
func (c *Client) Provider() Provider {
	if c.provider == "" {
		return ProviderGPTGE
	}
	return c.provider
}

// DashScopeRegion is one region of Model Studio with its DashScope endpoint. API keys belong
// to one region: a key from one is refused by the others.
type DashScopeRegion struct {
	// Name is what --region takes.
	Name string
	// ID is Alibaba Cloud's region id, also accepted.
	ID      string
	BaseURL string
}

// DashScopeRegions are the regions whose DashScope endpoint Model Studio documents, the
// default first.
func DashScopeRegions() []DashScopeRegion {
	return []DashScopeRegion{
		{Name: "beijing", ID: "cn-beijing", BaseURL: "https://dashscope.aliyuncs.com"},
		{Name: "singapore", ID: "ap-southeast-1", BaseURL: "https://dashscope-intl.aliyuncs.com"},
		{Name: "virginia", ID: "us-east-1", BaseURL: "https://dashscope-us.aliyuncs.com"},
	}
}

// DefaultDashScopeRegion is the region used when none is given.
const DefaultDashScopeRegion = "beijing"

// DashScopeBaseURL resolves a region: a region name (beijing, singapore, virginia), its region
// id (cn-beijing, ap-southeast-1, us-east-1), or a base URL such as a workspace endpoint
// (https://{WorkspaceId}.ap-southeast-1.maas.aliyuncs.com). A base URL that ends in /api/v1, as
// the SDKs' base_http_api_url does, has that suffix dropped: the client adds it. The empty
// string is DefaultDashScopeRegion.
func DashScopeBaseURL(region string) (string, error) {
	region = strings.TrimSpace(region)
	if region == "" {
		region = DefaultDashScopeRegion
	}
	if strings.Contains(region, "://") {
		u, err := url.Parse(strings.TrimRight(region, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("region %q: a base URL must be an absolute http or https URL", region)
		}
		u.Path = strings.TrimSuffix(u.Path, "/api/v1")
		u.RawPath = ""
		return u.String(), nil
	}
	var names []string
	for _, r := range DashScopeRegions() {
		if strings.EqualFold(region, r.Name) || strings.EqualFold(region, r.ID) {
			return r.BaseURL, nil
		}
		names = append(names, r.Name)
	}
	return "", fmt.Errorf("region %q: want %s, or a base URL", region, strings.Join(names, ", "))
}

// queryPath is the path, after the base URL, of the collection that task ids are looked up in.
func (c *Client) queryPath() string {
	if c.Provider() == ProviderDashScope {
		return "/api/v1/tasks/"
	}
	return "/task/"
}

// submitPath is the path, after the base URL, that a submission of kind is posted to.
func (c *Client) submitPath(kind VideoKind) string {
	if c.Provider() == ProviderDashScope {
		return "/api/v1/services/aigc/video-generation/video-synthesis"
	}
	if kind == ImageToVideo {
		return "/task/bailian/image2video"
	}
	return "/task/bailian/text2video"
}
