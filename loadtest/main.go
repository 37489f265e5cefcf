// Command loadtest measures the server as its users run it: many concurrent waits over
// Streamable HTTP against a loopback fake upstream, start-up and idle memory over stdio, the
// cost of a tools/call over stdio next to a plain GET, and the binary's size.
//
//	go run ./loadtest                       # 1,000 concurrent waits on 200 task ids
//	go run ./loadtest -n 100 -ids 1         # 100 callers on one task id
//	go run ./loadtest -max-qps 10           # the same at the server's default rate limit
//	go run ./loadtest -mode stdio-limits    # a 100 MB line, SIGTERM with 1,200 calls, ping under 2,000 waits
//	go run ./loadtest -mode all             # everything BENCHMARKS.md reports
//	go run ./loadtest -mode held -n 1000    # connections whose declared body never comes
//	go run ./loadtest -mode slow-reader -n 100  # SSE sessions whose clients stop reading
//	go run ./loadtest -mode second-client -n 2000  # another client's calls under one client's load
//	go run ./loadtest -mode replicas -max-qps 20    # three servers sharing one Redis (redis-server), and without it
//
// It builds the server from this module (or runs -bin), prints its figures, and exits non-zero
// when a correctness check fails: a wait lost, the upstream rate above --max-qps, or a task
// polled more often than one caller would poll it. Targets on time and memory are printed as
// met or missed and do not change the exit status: they depend on the machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	mode string
	bin  string

	// waits mode
	n               int
	ids             int
	polls           int
	maxQPS          float64
	pollInterval    time.Duration
	maxPollInterval time.Duration
	waitTimeout     time.Duration
	protocol        string
	probeEvery      time.Duration
	runningProbes   int
	sampleEvery     time.Duration
	goroutinesEvery time.Duration
	serverEnv       string
	serverLog       string

	// stdio modes
	startupRuns int
	rttIters    int
	idleRuns    int
	stdioArgs   string
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "waits", "what to measure: waits, one-id (waits with -n 100 -ids 1), default-qps (waits with the server's default -max-qps 10), startup, idle-mem, stdio-rtt, stdio-limits, size, held (-n held-body connections), slow-reader (-n SSE sessions that stop reading), second-client (another client's get_video_task under -n SSE streams, then -n waits, from one client), replicas (three servers sharing one Redis, with one killed, with Redis stopped, and without Redis; needs redis-server), or all")
	flag.StringVar(&o.bin, "bin", "", "server binary to run (default: go build this module into a temporary directory)")
	flag.IntVar(&o.n, "n", 1000, "concurrent wait_for_video_task calls")
	flag.IntVar(&o.ids, "ids", 200, "distinct task ids the waits are spread over (callers come in groups on the same id)")
	flag.IntVar(&o.polls, "polls", 3, "upstream requests a task needs to reach SUCCEEDED (PENDING, then RUNNING, before)")
	flag.Float64Var(&o.maxQPS, "max-qps", 50, "the server's --max-qps")
	flag.DurationVar(&o.pollInterval, "poll-interval", time.Second, "the server's --poll-interval")
	flag.DurationVar(&o.maxPollInterval, "max-poll-interval", 5*time.Second, "the server's --max-poll-interval")
	flag.DurationVar(&o.waitTimeout, "wait-timeout", 120*time.Second, "the server's --wait-timeout: every wait's budget")
	flag.StringVar(&o.protocol, "protocol", "", "MCP protocol version the waits' clients ask for (default: mcp-go's choice)")
	flag.DurationVar(&o.probeEvery, "probe-every", 100*time.Millisecond, "pause between get_video_task probes during the waits")
	flag.IntVar(&o.runningProbes, "running-probes", 4, "concurrent get_video_task probers of RUNNING tasks during the waits, each on its own id")
	flag.DurationVar(&o.sampleEvery, "sample-every", 200*time.Millisecond, "how often the server's memory is sampled during the waits")
	flag.DurationVar(&o.goroutinesEvery, "goroutines-every", 200*time.Millisecond, "how often the server's goroutines are counted during the waits (a goroutine profile; it costs the server memory)")
	flag.StringVar(&o.serverEnv, "server-env", "", "extra environment of the server, comma-separated NAME=VALUE pairs (e.g. GOMEMLIMIT=48MiB for an experiment)")
	flag.StringVar(&o.serverLog, "server-log", "", "write the log (stderr) of the waits' server to this file")
	flag.IntVar(&o.startupRuns, "startup-runs", 30, "stdio start-ups timed by -mode startup")
	flag.IntVar(&o.rttIters, "rtt-iters", 2000, "round trips of each kind timed by -mode stdio-rtt")
	flag.IntVar(&o.idleRuns, "idle-runs", 5, "idle stdio servers measured by -mode idle-mem")
	flag.StringVar(&o.stdioArgs, "stdio-args", "", "extra server flags of -mode stdio-limits, space-separated (e.g. --max-stdio-calls 2000)")
	flag.Parse()
	if flag.NArg() > 0 {
		fatalf("unexpected argument %q (see -help)", flag.Arg(0))
	}

	// Internal: the waits modes run this program again in this mode as their fake upstream.
	if o.mode == "upstream-process" {
		if err := serveUpstreamProcess(o.polls); err != nil {
			fatalf("%v", err)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failures, err := run(ctx, o)
	if err != nil {
		fatalf("%v", err)
	}
	if len(failures) > 0 {
		fmt.Println()
		fmt.Println("FAILED:")
		for _, f := range failures {
			fmt.Println("  -", f)
		}
		os.Exit(1)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadtest: "+format+"\n", args...)
	os.Exit(2)
}

// run measures what o.mode asks for and returns the correctness checks that failed.
func run(ctx context.Context, o options) ([]string, error) {
	modes := []string{o.mode}
	if o.mode == "all" {
		modes = []string{"size", "startup", "idle-mem", "stdio-rtt", "stdio-limits", "waits", "one-id", "default-qps", "replicas"}
	}
	for _, m := range modes {
		switch m {
		case "waits", "one-id", "default-qps", "startup", "idle-mem", "stdio-rtt", "stdio-limits", "size", "held", "slow-reader", "second-client", "replicas":
		default:
			return nil, fmt.Errorf("-mode %q: want waits, one-id, default-qps, startup, idle-mem, stdio-rtt, stdio-limits, size, held, slow-reader, second-client, replicas or all", m)
		}
	}
	if o.n < 1 || o.ids < 1 || o.polls < 1 || o.maxQPS <= 0 || o.runningProbes < 1 {
		return nil, errors.New("-n, -ids, -polls, -max-qps and -running-probes must be positive")
	}

	workDir, err := os.MkdirTemp("", "video-task-mcp-loadtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(workDir)
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(workDir, "video-task-mcp")
		if err := goBuild(ctx, root, bin); err != nil {
			return nil, err
		}
	}
	printMachine(bin)

	var failures []string
	for _, m := range modes {
		if ctx.Err() != nil {
			return failures, ctx.Err()
		}
		var f []string
		var err error
		switch m {
		case "size":
			err = measureSize(ctx, root, workDir)
		case "startup":
			err = measureStartup(ctx, bin, workDir, o.startupRuns)
		case "idle-mem":
			err = measureIdleMemory(ctx, bin, workDir, o.idleRuns)
		case "stdio-rtt":
			err = measureStdioRTT(ctx, bin, o.rttIters)
		case "stdio-limits":
			f, err = measureStdioLimits(ctx, bin, strings.Fields(o.stdioArgs))
		case "waits":
			f, err = runWaits(ctx, bin, o)
		case "one-id":
			one := o
			one.n, one.ids = 100, 1
			f, err = runWaits(ctx, bin, one)
		case "held":
			err = runHeld(ctx, bin, o)
		case "slow-reader":
			err = runSlowReader(ctx, bin, o)
		case "second-client":
			if err = runSecondClient(ctx, bin, o, "sse"); err == nil {
				err = runSecondClient(ctx, bin, o, "http")
			}
		case "replicas":
			f, err = runReplicas(ctx, bin, workDir, o)
		case "default-qps":
			def := o
			def.maxQPS = 10
			f, err = runWaits(ctx, bin, def)
		}
		if err != nil {
			return failures, fmt.Errorf("%s: %w", m, err)
		}
		failures = append(failures, f...)
	}
	return failures, nil
}

// moduleRoot is the directory of this module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run loadtest inside the video-task-mcp module (go run ./loadtest)")
	}
	return filepath.Dir(gomod), nil
}

// goBuild builds the server at root into out, with extra go build flags.
func goBuild(ctx context.Context, root, out string, flags ...string) error {
	args := append([]string{"build", "-o", out}, flags...)
	args = append(args, ".")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

func printMachine(bin string) {
	goVersion, _ := exec.Command("go", "version").Output()
	nproc, _ := exec.Command("nproc").Output()
	fmt.Printf("machine: %s CPUs (nproc), %s; server binary %s\n",
		strings.TrimSpace(string(nproc)), strings.TrimSpace(string(goVersion)), bin)
}

// section prints a heading.
func section(title string) {
	fmt.Printf("\n== %s ==\n", title)
}

// target prints a target line: the figure, the target, and whether it was met.
func target(name string, met bool, figure, want string) {
	verdict := "met"
	if !met {
		verdict = "MISSED"
	}
	fmt.Printf("  target %-46s %-28s (want %s): %s\n", name, figure, want, verdict)
}
