package schema_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/jsonschema-go/jsonschema"

	"github.com/video-task-mcp/video-task-mcp/schema"
)

func seed(v int64) *int64 { return &v }

// TestModelTable pins the documented values of every model, so that a change to the table is
// a deliberate diff.
func TestModelTable(t *testing.T) {
	p480 := []string{"832*480", "480*832", "624*624"}
	p720 := []string{"1280*720", "720*1280", "960*960", "1088*832", "832*1088"}
	p1080 := []string{"1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632"}
	cat := func(l ...[]string) []string { return slices.Concat(l...) }
	want := []schema.VideoModel{
		{Name: "wan2.5-t2v-preview", Sizes: cat(p480, p720, p1080), DefaultSize: "1920*1080", Durations: []int{5, 10}, Audio: true},
		{Name: "wan2.2-t2v-plus", Sizes: cat(p480, p1080), DefaultSize: "1920*1080", Durations: []int{5}},
		{Name: "wanx2.1-t2v-turbo", Sizes: cat(p480, p720), DefaultSize: "1280*720", Durations: []int{5}},
		{Name: "wanx2.1-t2v-plus", Sizes: p720, DefaultSize: "1280*720", Durations: []int{5}},
		{Name: "wan2.5-i2v-preview", ImageToVideo: true, Resolutions: []string{"480P", "720P", "1080P"}, DefaultResolution: "1080P", Durations: []int{5, 10}, Audio: true},
		{Name: "wan2.2-i2v-plus", ImageToVideo: true, Resolutions: []string{"480P", "1080P"}, DefaultResolution: "1080P", Durations: []int{5}},
		{Name: "wanx2.1-i2v-turbo", ImageToVideo: true, Resolutions: []string{"480P", "720P"}, DefaultResolution: "720P", Durations: []int{5, 3, 4}},
		{Name: "wanx2.1-i2v-plus", ImageToVideo: true, Resolutions: []string{"720P"}, DefaultResolution: "720P", Durations: []int{5}},
	}
	if diff := cmp.Diff(want, schema.VideoModels()); diff != "" {
		t.Errorf("model table mismatch (-want +got):\n%s", diff)
	}
	for _, m := range schema.VideoModels() {
		if m.ImageToVideo && !slices.Contains(m.Resolutions, m.DefaultResolution) ||
			!m.ImageToVideo && !slices.Contains(m.Sizes, m.DefaultSize) || m.Durations[0] != 5 {
			t.Errorf("%s: its defaults are not among its values", m.Name)
		}
	}
}

func TestCreateValidateAcceptsAndFillsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   schema.CreateVideoTaskInput
		want schema.CreateVideoTaskInput
	}{
		{"t2v defaults", schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: " a cat "},
			schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "a cat", Size: "1920*1080", Duration: 5}},
		{"t2v everything", schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "a cat", NegativePrompt: "dogs",
			AudioURL: "https://example.com/a.mp3", Size: "480*832", Duration: 10, Seed: seed(0)},
			schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "a cat", NegativePrompt: "dogs",
				AudioURL: "https://example.com/a.mp3", Size: "480*832", Duration: 10, Seed: seed(0)}},
		{"model in capitals", schema.CreateVideoTaskInput{Model: " WAN2.2-T2V-Plus ", Prompt: "p"},
			schema.CreateVideoTaskInput{Model: "wan2.2-t2v-plus", Prompt: "p", Size: "1920*1080", Duration: 5}},
		{"size written with x", schema.CreateVideoTaskInput{Model: "wanx2.1-t2v-turbo", Prompt: "p", Size: "1280x720"},
			schema.CreateVideoTaskInput{Model: "wanx2.1-t2v-turbo", Prompt: "p", Size: "1280*720", Duration: 5}},
		{"wan2.2 t2v 480P", schema.CreateVideoTaskInput{Model: "wan2.2-t2v-plus", Prompt: "p", Size: "624*624"},
			schema.CreateVideoTaskInput{Model: "wan2.2-t2v-plus", Prompt: "p", Size: "624*624", Duration: 5}},
		{"wanx2.1 plus default", schema.CreateVideoTaskInput{Model: "wanx2.1-t2v-plus", Prompt: "p"},
			schema.CreateVideoTaskInput{Model: "wanx2.1-t2v-plus", Prompt: "p", Size: "1280*720", Duration: 5}},
		{"i2v defaults", schema.CreateVideoTaskInput{Model: "wan2.5-i2v-preview", Prompt: "p", ImgURL: "https://example.com/a.png"},
			schema.CreateVideoTaskInput{Model: "wan2.5-i2v-preview", Prompt: "p", ImgURL: "https://example.com/a.png", Resolution: "1080P", Duration: 5}},
		{"i2v lower-case resolution", schema.CreateVideoTaskInput{Model: "wan2.2-i2v-plus", Prompt: "p", ImgURL: "http://example.com/a.png", Resolution: "480p"},
			schema.CreateVideoTaskInput{Model: "wan2.2-i2v-plus", Prompt: "p", ImgURL: "http://example.com/a.png", Resolution: "480P", Duration: 5}},
		{"turbo i2v 3 s", schema.CreateVideoTaskInput{Model: "wanx2.1-i2v-turbo", Prompt: "p", ImgURL: "https://x.example/a.png", Duration: 3},
			schema.CreateVideoTaskInput{Model: "wanx2.1-i2v-turbo", Prompt: "p", ImgURL: "https://x.example/a.png", Resolution: "720P", Duration: 3}},
		{"i2v with audio", schema.CreateVideoTaskInput{Model: "wan2.5-i2v-preview", Prompt: "p", ImgURL: "https://x.example/a.png", AudioURL: "https://x.example/a.wav", Resolution: "480P"},
			schema.CreateVideoTaskInput{Model: "wan2.5-i2v-preview", Prompt: "p", ImgURL: "https://x.example/a.png", AudioURL: "https://x.example/a.wav", Resolution: "480P", Duration: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Validate()
			if err != nil {
				t.Fatalf("Validate(%+v) = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCreateValidateRefuses covers every rule of every model: each refusal names what is
// wrong and the values allowed.
func TestCreateValidateRefuses(t *testing.T) {
	img := "https://example.com/a.png"
	tests := []struct {
		name string
		in   schema.CreateVideoTaskInput
		want []string // every one must be in the error
	}{
		{"no model", schema.CreateVideoTaskInput{Prompt: "p"}, []string{"model is required", "wan2.5-t2v-preview", "wanx2.1-i2v-plus"}},
		{"unknown model", schema.CreateVideoTaskInput{Model: "wan2.6-t2v", Prompt: "p"}, []string{`model "wan2.6-t2v" is not supported`, "wan2.2-t2v-plus"}},
		{"no prompt", schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "  "}, []string{"prompt is required"}},
		{"prompt too long", schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: strings.Repeat("猫", schema.MaxPromptLength+1)}, []string{"prompt is 5001 characters"}},
		{"negative prompt too long", schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "p", NegativePrompt: strings.Repeat("x", schema.MaxNegativePromptLength+1)}, []string{"negative_prompt is 2001"}},
		{"negative seed", schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "p", Seed: seed(-1)}, []string{"seed must be between 0 and 2147483647, not -1"}},
		{"seed too large", schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "p", Seed: seed(1 << 31)}, []string{"seed must be between 0 and 2147483647"}},
		// Text-to-video rules.
		{"t2v with img_url", schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "p", ImgURL: img}, []string{"img_url is for image-to-video models", "wan2.5-t2v-preview is text-to-video"}},
		{"t2v with resolution", schema.CreateVideoTaskInput{Model: "wan2.2-t2v-plus", Prompt: "p", Resolution: "480P"}, []string{"resolution is for image-to-video models", "takes size (832*480, "}},
		{"wan2.5 t2v odd size", schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "p", Size: "1000*1000"}, []string{`size "1000*1000" is not offered by wan2.5-t2v-preview`, "1248*1632"}},
		{"wan2.2 t2v 720P size", schema.CreateVideoTaskInput{Model: "wan2.2-t2v-plus", Prompt: "p", Size: "1280*720"}, []string{`size "1280*720" is not offered by wan2.2-t2v-plus; allowed: 832*480, 480*832, 624*624, 1920*1080`}},
		{"turbo t2v 1080P size", schema.CreateVideoTaskInput{Model: "wanx2.1-t2v-turbo", Prompt: "p", Size: "1920*1080"}, []string{"not offered by wanx2.1-t2v-turbo; allowed: 832*480, 480*832, 624*624, 1280*720"}},
		{"plus t2v 480P size", schema.CreateVideoTaskInput{Model: "wanx2.1-t2v-plus", Prompt: "p", Size: "832*480"}, []string{"not offered by wanx2.1-t2v-plus; allowed: 1280*720, 720*1280, 960*960, 1088*832, 832*1088"}},
		{"wan2.5 t2v 15 s", schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "p", Duration: 15}, []string{"duration 15 is not offered by wan2.5-t2v-preview; allowed: 5, 10 seconds"}},
		{"wan2.2 t2v 10 s", schema.CreateVideoTaskInput{Model: "wan2.2-t2v-plus", Prompt: "p", Duration: 10}, []string{"duration 10 is not offered by wan2.2-t2v-plus; allowed: 5 seconds"}},
		{"turbo t2v 3 s", schema.CreateVideoTaskInput{Model: "wanx2.1-t2v-turbo", Prompt: "p", Duration: 3}, []string{"allowed: 5 seconds"}},
		{"plus t2v 10 s", schema.CreateVideoTaskInput{Model: "wanx2.1-t2v-plus", Prompt: "p", Duration: 10}, []string{"allowed: 5 seconds"}},
		{"wan2.2 t2v audio", schema.CreateVideoTaskInput{Model: "wan2.2-t2v-plus", Prompt: "p", AudioURL: "https://e.example/a.mp3"}, []string{"audio_url is not supported by wan2.2-t2v-plus; only wan2.5-t2v-preview and wan2.5-i2v-preview take it"}},
		{"turbo t2v audio", schema.CreateVideoTaskInput{Model: "wanx2.1-t2v-turbo", Prompt: "p", AudioURL: "https://e.example/a.mp3"}, []string{"audio_url is not supported by wanx2.1-t2v-turbo"}},
		{"wan2.5 t2v audio not a URL", schema.CreateVideoTaskInput{Model: "wan2.5-t2v-preview", Prompt: "p", AudioURL: "song.mp3"}, []string{"audio_url must be a public http or https URL"}},
		// Image-to-video rules.
		{"i2v without img_url", schema.CreateVideoTaskInput{Model: "wan2.5-i2v-preview", Prompt: "p"}, []string{"img_url is required for wan2.5-i2v-preview"}},
		{"i2v file URL", schema.CreateVideoTaskInput{Model: "wan2.2-i2v-plus", Prompt: "p", ImgURL: "file:///tmp/a.png"}, []string{"img_url must be a public http or https URL"}},
		{"i2v data URI", schema.CreateVideoTaskInput{Model: "wan2.2-i2v-plus", Prompt: "p", ImgURL: "data:image/png;base64,AAAA"}, []string{"img_url must be a public http or https URL"}},
		{"i2v URL too long", schema.CreateVideoTaskInput{Model: "wan2.2-i2v-plus", Prompt: "p", ImgURL: "https://e.example/" + strings.Repeat("a", schema.MaxURLLength)}, []string{"img_url is 2066 bytes long"}},
		{"i2v with size", schema.CreateVideoTaskInput{Model: "wan2.5-i2v-preview", Prompt: "p", ImgURL: img, Size: "832*480"}, []string{"size is for text-to-video models; wan2.5-i2v-preview takes resolution (480P, 720P, 1080P)"}},
		{"wan2.5 i2v 2K", schema.CreateVideoTaskInput{Model: "wan2.5-i2v-preview", Prompt: "p", ImgURL: img, Resolution: "2K"}, []string{`resolution "2K" is not offered by wan2.5-i2v-preview; allowed: 480P, 720P, 1080P`}},
		{"wan2.2 i2v 720P", schema.CreateVideoTaskInput{Model: "wan2.2-i2v-plus", Prompt: "p", ImgURL: img, Resolution: "720P"}, []string{"allowed: 480P, 1080P"}},
		{"turbo i2v 1080P", schema.CreateVideoTaskInput{Model: "wanx2.1-i2v-turbo", Prompt: "p", ImgURL: img, Resolution: "1080P"}, []string{"allowed: 480P, 720P"}},
		{"plus i2v 480P", schema.CreateVideoTaskInput{Model: "wanx2.1-i2v-plus", Prompt: "p", ImgURL: img, Resolution: "480P"}, []string{"not offered by wanx2.1-i2v-plus; allowed: 720P"}},
		{"wan2.5 i2v 3 s", schema.CreateVideoTaskInput{Model: "wan2.5-i2v-preview", Prompt: "p", ImgURL: img, Duration: 3}, []string{"allowed: 5, 10 seconds"}},
		{"wan2.2 i2v 10 s", schema.CreateVideoTaskInput{Model: "wan2.2-i2v-plus", Prompt: "p", ImgURL: img, Duration: 10}, []string{"allowed: 5 seconds"}},
		{"turbo i2v 10 s", schema.CreateVideoTaskInput{Model: "wanx2.1-i2v-turbo", Prompt: "p", ImgURL: img, Duration: 10}, []string{"not offered by wanx2.1-i2v-turbo; allowed: 3, 4, 5 seconds"}},
		{"plus i2v 4 s", schema.CreateVideoTaskInput{Model: "wanx2.1-i2v-plus", Prompt: "p", ImgURL: img, Duration: 4}, []string{"allowed: 5 seconds"}},
		{"wan2.2 i2v audio", schema.CreateVideoTaskInput{Model: "wan2.2-i2v-plus", Prompt: "p", ImgURL: img, AudioURL: "https://e.example/a.mp3"}, []string{"audio_url is not supported by wan2.2-i2v-plus"}},
		{"plus i2v audio", schema.CreateVideoTaskInput{Model: "wanx2.1-i2v-plus", Prompt: "p", ImgURL: img, AudioURL: "https://e.example/a.mp3"}, []string{"audio_url is not supported by wanx2.1-i2v-plus"}},
		// Every problem at once.
		{"several problems", schema.CreateVideoTaskInput{Model: "wanx2.1-i2v-turbo", ImgURL: "ftp://x", Size: "1*1", Duration: 7, Seed: seed(-5)},
			[]string{"prompt is required", "seed must be", "img_url must be", "size is for text-to-video", "duration 7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.in.Validate()
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error", tt.in)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestCreateSchemas(t *testing.T) {
	in, out := schema.CreateVideoTaskInputSchema(), schema.CreateVideoTaskResultSchema()
	for name, raw := range map[string]json.RawMessage{"input": in, "result": out} {
		if bytes.Contains(raw, []byte(`"null"`)) {
			t.Errorf("%s schema has a null type: %s", name, raw)
		}
	}
	if bytes.Contains(out, []byte(`"enum"`)) {
		t.Errorf("result schema has an enum; task_status must accept new values: %s", out)
	}
	// Keep tools/list small: the three tools together aim under about 6 KB.
	if n := len(in) + len(out); n > 2200 {
		t.Errorf("create_video_task schemas total %d bytes, want at most 2200", n)
	}
	s := schema.CreateVideoTaskInputJSONSchema()
	var models []any
	var sizes []string
	for _, m := range schema.VideoModels() {
		models = append(models, m.Name)
		for _, sz := range m.Sizes {
			if !slices.Contains(sizes, sz) {
				sizes = append(sizes, sz)
			}
		}
	}
	if diff := cmp.Diff(models, s.Properties["model"].Enum); diff != "" {
		t.Errorf("model enum differs from the table (-table +schema):\n%s", diff)
	}
	for _, sz := range sizes {
		if !slices.Contains(s.Properties["size"].Enum, any(sz)) {
			t.Errorf("size enum lacks %s", sz)
		}
	}
	if diff := cmp.Diff([]string{"model", "prompt"}, s.Required); diff != "" {
		t.Errorf("required differs (-want +got):\n%s", diff)
	}
	if got := s.Properties["audio_url"].Description; !strings.HasPrefix(got, "wan2.5 models only") {
		t.Errorf("audio_url description = %q, want it to name the wan2.5 models", got)
	}
	for _, want := range []string{"wan2.2-t2v-plus 480P/1080P", "wanx2.1-t2v-plus 720P", "wan2.5-t2v-preview any"} {
		if !strings.Contains(s.Properties["size"].Description, want) {
			t.Errorf("size description lacks %q: %s", want, s.Properties["size"].Description)
		}
	}
	for _, want := range []string{"wanx2.1-i2v-turbo: 3, 4, 5", "wan2.5 models: 5, 10", "others: 5"} {
		if !strings.Contains(s.Properties["duration"].Description, want) {
			t.Errorf("duration description lacks %q: %s", want, s.Properties["duration"].Description)
		}
	}

	tests := []struct {
		input string
		valid bool
	}{
		{`{"model":"wan2.5-t2v-preview","prompt":"a cat"}`, true},
		{`{"model":"wan2.5-i2v-preview","prompt":"a cat","img_url":"https://e.example/a.png","resolution":"720P","duration":10,"seed":0,"prompt_extend":false}`, true},
		{`{"prompt":"a cat"}`, false},
		{`{"model":"wan2.6-t2v","prompt":"a cat"}`, false},
		{`{"model":"wan2.5-t2v-preview","prompt":""}`, false},
		{`{"model":"wan2.5-t2v-preview","prompt":"p","size":"1000*1000"}`, false},
		{`{"model":"wan2.5-t2v-preview","prompt":"p","duration":7}`, false},
		{`{"model":"wan2.5-t2v-preview","prompt":"p","seed":-1}`, false},
		{`{"model":"wan2.5-t2v-preview","prompt":"p","watermark":true}`, false},
	}
	resolved, err := s.Resolve(&jsonschema.ResolveOptions{})
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	for _, tt := range tests {
		var v any
		if err := json.Unmarshal([]byte(tt.input), &v); err != nil {
			t.Fatal(err)
		}
		if err := resolved.Validate(v); (err == nil) != tt.valid {
			t.Errorf("validate(%s) = %v, want valid %v", tt.input, err, tt.valid)
		}
	}
}
