package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/jsonschema-go/jsonschema"
)

// VideoModel is what one Wan model accepts, as Model Studio's API references document it.
type VideoModel struct {
	Name string
	// ImageToVideo models animate img_url and take a resolution; text-to-video models take a
	// size.
	ImageToVideo bool
	// Sizes ("W*H") of a text-to-video model, DefaultSize the provider's default.
	Sizes       []string
	DefaultSize string
	// Resolutions of an image-to-video model, DefaultResolution the provider's default.
	Resolutions       []string
	DefaultResolution string
	// Durations in seconds; the first is the default.
	Durations []int
	// Audio: the model takes audio_url.
	Audio bool
}

// Sizes of each resolution tier of the text-to-video models, as "W*H": 16:9, 9:16, 1:1, then
// 4:3 and 3:4 where the tier has them.
var (
	sizes480P  = []string{"832*480", "480*832", "624*624"}
	sizes720P  = []string{"1280*720", "720*1280", "960*960", "1088*832", "832*1088"}
	sizes1080P = []string{"1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632"}
)

// videoModels is the model table. Sources: Model Studio's text-to-video and image-to-video
// API references (help.aliyun.com / alibabacloud.com, model-studio/text-to-video-api-reference
// and image-to-video-api-reference), checked against relays that document the same models.
var videoModels = []VideoModel{
	{Name: "wan2.5-t2v-preview", Sizes: concat(sizes480P, sizes720P, sizes1080P), DefaultSize: "1920*1080",
		Durations: []int{5, 10}, Audio: true},
	{Name: "wan2.2-t2v-plus", Sizes: concat(sizes480P, sizes1080P), DefaultSize: "1920*1080", Durations: []int{5}},
	{Name: "wanx2.1-t2v-turbo", Sizes: concat(sizes480P, sizes720P), DefaultSize: "1280*720", Durations: []int{5}},
	{Name: "wanx2.1-t2v-plus", Sizes: sizes720P, DefaultSize: "1280*720", Durations: []int{5}},
	{Name: "wan2.5-i2v-preview", ImageToVideo: true, Resolutions: []string{"480P", "720P", "1080P"},
		DefaultResolution: "1080P", Durations: []int{5, 10}, Audio: true},
	{Name: "wan2.2-i2v-plus", ImageToVideo: true, Resolutions: []string{"480P", "1080P"}, DefaultResolution: "1080P",
		Durations: []int{5}},
	{Name: "wanx2.1-i2v-turbo", ImageToVideo: true, Resolutions: []string{"480P", "720P"}, DefaultResolution: "720P",
		Durations: []int{5, 3, 4}},
	{Name: "wanx2.1-i2v-plus", ImageToVideo: true, Resolutions: []string{"720P"}, DefaultResolution: "720P",
		Durations: []int{5}},
}

// VideoModels returns the model table: the text-to-video models, then the image-to-video ones.
func VideoModels() []VideoModel {
	out := make([]VideoModel, len(videoModels))
	copy(out, videoModels)
	return out
}

// LookupVideoModel returns the model named name.
func LookupVideoModel(name string) (VideoModel, bool) {
	i := slices.IndexFunc(videoModels, func(m VideoModel) bool { return m.Name == name })
	if i < 0 {
		return VideoModel{}, false
	}
	return videoModels[i], true
}

// Bounds of create_video_task's inputs that no model states but a request needs.
const (
	// MaxSeed is the largest seed the provider takes.
	MaxSeed = 2147483647
	// MaxPromptLength and MaxNegativePromptLength, in characters, are well above what any
	// model reads (the provider truncates beyond 800 to 2000 and 500): they only refuse what
	// is plainly a mistake.
	MaxPromptLength         = 5000
	MaxNegativePromptLength = 2000
	// MaxURLLength bounds img_url and audio_url.
	MaxURLLength = 2048
)

// CreateVideoTaskInput is the input of create_video_task. Seed and PromptExtend are pointers
// so that "not given" differs from 0 and false; the schema has no null for them. The schema's
// descriptions are terse on purpose: the whole tools/list answer must stay small.
type CreateVideoTaskInput struct {
	Model          string `json:"model"`
	Prompt         string `json:"prompt"`
	NegativePrompt string `json:"negative_prompt,omitempty"`
	ImgURL         string `json:"img_url,omitempty" jsonschema:"i2v only, required: public http(s) URL of the first frame."`
	AudioURL       string `json:"audio_url,omitempty"`
	Size           string `json:"size,omitempty"`
	Resolution     string `json:"resolution,omitempty"`
	Duration       int    `json:"duration,omitempty"`
	Seed           *int64 `json:"seed,omitempty"`
	PromptExtend   *bool  `json:"prompt_extend,omitempty" jsonschema:"Provider rewrites the prompt (default on)."`
}

// CreateVideoTaskResult is the structuredContent of create_video_task: the new task, with what
// was asked for and the next step in summary.
type CreateVideoTaskResult struct {
	TaskID     string `json:"task_id"`
	TaskStatus string `json:"task_status"`
	Summary    string `json:"summary"`
	Model      string `json:"model"`
	RequestID  string `json:"request_id,omitempty"`
}

// Validate checks in against its model and returns it with the model's defaults filled in
// (size or resolution, duration) and surrounding white space trimmed. The error names every
// problem at once, each with the values allowed.
func (in CreateVideoTaskInput) Validate() (CreateVideoTaskInput, error) {
	in.Model = strings.ToLower(strings.TrimSpace(in.Model))
	in.Prompt = strings.TrimSpace(in.Prompt)
	in.NegativePrompt = strings.TrimSpace(in.NegativePrompt)
	in.ImgURL = strings.TrimSpace(in.ImgURL)
	in.AudioURL = strings.TrimSpace(in.AudioURL)
	in.Size = strings.TrimSpace(in.Size)
	in.Resolution = strings.ToUpper(strings.TrimSpace(in.Resolution))

	p := &problems{}
	in.checkText(p)
	if in.Duration < 0 {
		p.add("duration must be a positive number of seconds, not %d", in.Duration)
	}
	m, ok := LookupVideoModel(in.Model)
	switch {
	case !ok && in.Model == "":
		p.add("model is required; one of %s", modelNames())
	case !ok:
		p.add("model %q is not supported; one of %s", in.Model, modelNames())
	case m.ImageToVideo:
		in.checkImageToVideo(m, p)
	default:
		in.checkTextToVideo(m, p)
	}
	if ok {
		in.checkDurationAndAudio(m, p)
	}
	return in, errors.Join(p.errs...)
}

// problems collects what is wrong with an input.
type problems struct{ errs []error }

func (p *problems) add(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

func (p *problems) addErr(err error) {
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

// checkText checks what every model takes alike: the prompts and the seed.
func (in CreateVideoTaskInput) checkText(p *problems) {
	switch n := utf8.RuneCountInString(in.Prompt); {
	case n == 0:
		p.add("prompt is required: describe the video")
	case n > MaxPromptLength:
		p.add("prompt is %d characters long; at most %d are allowed", n, MaxPromptLength)
	}
	if n := utf8.RuneCountInString(in.NegativePrompt); n > MaxNegativePromptLength {
		p.add("negative_prompt is %d characters long; at most %d are allowed", n, MaxNegativePromptLength)
	}
	if in.Seed != nil && (*in.Seed < 0 || *in.Seed > MaxSeed) {
		p.add("seed must be between 0 and %d, not %d", MaxSeed, *in.Seed)
	}
}

// checkImageToVideo checks the image and resolution of an image-to-video model, filling in
// its default resolution.
func (in *CreateVideoTaskInput) checkImageToVideo(m VideoModel, p *problems) {
	if in.ImgURL == "" {
		p.add("img_url is required for %s: the public URL of the first frame", m.Name)
	} else {
		p.addErr(checkURL("img_url", in.ImgURL))
	}
	if in.Size != "" {
		p.add("size is for text-to-video models; %s takes resolution (%s)", m.Name, strings.Join(m.Resolutions, ", "))
	}
	switch {
	case in.Resolution == "":
		in.Resolution = m.DefaultResolution
	case !slices.Contains(m.Resolutions, in.Resolution):
		p.add("resolution %q is not offered by %s; allowed: %s", in.Resolution, m.Name, strings.Join(m.Resolutions, ", "))
	}
}

// checkTextToVideo checks the size of a text-to-video model, filling in its default size.
func (in *CreateVideoTaskInput) checkTextToVideo(m VideoModel, p *problems) {
	if in.ImgURL != "" {
		p.add("img_url is for image-to-video models; %s is text-to-video (an i2v model such as %s animates an image)", m.Name, firstI2V())
	}
	if in.Resolution != "" {
		p.add("resolution is for image-to-video models; %s takes size (%s)", m.Name, strings.Join(m.Sizes, ", "))
	}
	switch {
	case in.Size == "":
		in.Size = m.DefaultSize
	case !slices.Contains(m.Sizes, normalizeSize(in.Size)):
		p.add("size %q is not offered by %s; allowed: %s", in.Size, m.Name, strings.Join(m.Sizes, ", "))
	default:
		in.Size = normalizeSize(in.Size)
	}
}

// checkDurationAndAudio checks the duration and audio against m, filling in its default
// duration.
func (in *CreateVideoTaskInput) checkDurationAndAudio(m VideoModel, p *problems) {
	switch {
	case in.Duration == 0:
		in.Duration = m.Durations[0]
	case in.Duration < 0: // said above
	case !slices.Contains(m.Durations, in.Duration):
		p.add("duration %d is not offered by %s; allowed: %s seconds", in.Duration, m.Name, joinInts(sortedInts(m.Durations)))
	}
	switch {
	case in.AudioURL == "":
	case !m.Audio:
		p.add("audio_url is not supported by %s; only %s take it", m.Name, strings.Join(audioModels(), " and "))
	default:
		p.addErr(checkURL("audio_url", in.AudioURL))
	}
}

// normalizeSize accepts "1280x720" and "1280×720" for "1280*720", as people write it.
func normalizeSize(s string) string {
	s = strings.ReplaceAll(s, " ", "")
	s = strings.ReplaceAll(s, "×", "*")
	return strings.ReplaceAll(strings.ToLower(s), "x", "*")
}

func checkURL(field, raw string) error {
	if len(raw) > MaxURLLength {
		return fmt.Errorf("%s is %d bytes long; at most %d are allowed", field, len(raw), MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s must be a public http or https URL the provider can download, not %q", field, truncateRunes(raw, 80))
	}
	return nil
}

func modelNames() string {
	names := make([]string, len(videoModels))
	for i, m := range videoModels {
		names[i] = m.Name
	}
	return strings.Join(names, ", ")
}

func audioModels() []string {
	var names []string
	for _, m := range videoModels {
		if m.Audio {
			names = append(names, m.Name)
		}
	}
	return names
}

func firstI2V() string {
	for _, m := range videoModels {
		if m.ImageToVideo {
			return m.Name
		}
	}
	return ""
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func sortedInts(v []int) []int {
	out := slices.Clone(v)
	slices.Sort(out)
	return out
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// CreateVideoTaskInputSchema returns the input schema of create_video_task: the models,
// sizes, resolutions and durations as enums, with which model takes which in the
// descriptions.
func CreateVideoTaskInputSchema() json.RawMessage {
	return mustMarshal(CreateVideoTaskInputJSONSchema())
}

// CreateVideoTaskInputJSONSchema is CreateVideoTaskInputSchema as a *jsonschema.Schema. Its
// descriptions come from the model table, so that they cannot drift from the validation.
func CreateVideoTaskInputJSONSchema() *jsonschema.Schema {
	s := mustFor[CreateVideoTaskInput]()
	var names []string
	durations := []int{}
	for _, m := range videoModels {
		names = append(names, m.Name)
		for _, d := range m.Durations {
			if !slices.Contains(durations, d) {
				durations = append(durations, d)
			}
		}
	}
	slices.Sort(durations)

	s.Properties["model"].Enum = anySlice(names)
	s.Properties["prompt"].MinLength = ptr(1)
	s.Properties["audio_url"].Description = modelsWhere(func(m VideoModel) bool { return m.Audio }) +
		" only: public http(s) URL of a wav/mp3 (3-30 s)."

	size := s.Properties["size"]
	size.Description = "t2v only, W*H. 480P: " + strings.Join(sizes480P, " ") + "; 720P: " + strings.Join(sizes720P, " ") +
		"; 1080P: the rest. " + tiersNote(false) + ". Default: 16:9, top tier."
	size.Enum = anySlice(concat(sizes480P, sizes720P, sizes1080P))

	res := s.Properties["resolution"]
	res.Description = "i2v only. " + tiersNote(true) + ". Default: top tier."
	res.Enum = anySlice([]string{"480P", "720P", "1080P"})

	duration := s.Properties["duration"]
	var longer []string
	for _, set := range distinctDurations() {
		if len(set) > 1 {
			longer = append(longer, modelsWhere(func(m VideoModel) bool { return slices.Equal(sortedInts(m.Durations), set) })+
				": "+joinInts(set))
		}
	}
	duration.Description = "Seconds, default 5. " + strings.Join(longer, "; ") + "; others: 5."
	duration.Enum = anySlice(durations)

	seed := s.Properties["seed"]
	seed.Minimum = ptr(0.0)
	seed.Maximum = ptr(float64(MaxSeed))
	return s
}

// modelsWhere names the models that match, compactly: a family whose every model matches is
// "wan2.5 models", others are named one by one.
func modelsWhere(match func(VideoModel) bool) string {
	family := func(name string) string { f, _, _ := strings.Cut(name, "-"); return f }
	var parts []string
	for _, m := range videoModels {
		if !match(m) {
			continue
		}
		f := family(m.Name)
		whole := true
		for _, other := range videoModels {
			if family(other.Name) == f && !match(other) {
				whole = false
			}
		}
		switch {
		case !whole:
			parts = append(parts, m.Name)
		case !slices.Contains(parts, f+" models"):
			parts = append(parts, f+" models")
		}
	}
	return strings.Join(parts, ", ")
}

// distinctDurations lists the distinct sets of durations the models take, sorted.
func distinctDurations() [][]int {
	var sets [][]int
	for _, m := range videoModels {
		d := sortedInts(m.Durations)
		if !slices.ContainsFunc(sets, func(s []int) bool { return slices.Equal(s, d) }) {
			sets = append(sets, d)
		}
	}
	return sets
}

// tiersNote says which resolution tiers each model offers: "wan2.5-t2v-preview any;
// wan2.2-t2v-plus 480P/1080P; …".
func tiersNote(i2v bool) string {
	var parts []string
	for _, m := range videoModels {
		if m.ImageToVideo != i2v {
			continue
		}
		tiers := m.Resolutions
		if !i2v {
			tiers = nil
			for _, t := range []struct {
				name  string
				sizes []string
			}{{"480P", sizes480P}, {"720P", sizes720P}, {"1080P", sizes1080P}} {
				if slices.Contains(m.Sizes, t.sizes[0]) {
					tiers = append(tiers, t.name)
				}
			}
		}
		if len(tiers) == 3 {
			parts = append(parts, m.Name+" any")
		} else {
			parts = append(parts, m.Name+" "+strings.Join(tiers, "/"))
		}
	}
	return strings.Join(parts, "; ")
}

func anySlice[T any](v []T) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

// CreateVideoTaskResultSchema returns the output schema of create_video_task.
func CreateVideoTaskResultSchema() json.RawMessage {
	return mustMarshal(CreateVideoTaskResultJSONSchema())
}

// CreateVideoTaskResultJSONSchema is CreateVideoTaskResultSchema as a *jsonschema.Schema, for
// validating results. task_status has no enum, as in TaskResultSchema.
func CreateVideoTaskResultJSONSchema() *jsonschema.Schema {
	return mustFor[CreateVideoTaskResult]()
}
