#!/usr/bin/env bash
# Connection checks of video-task-mcp with Claude Code's own CLI (npm @anthropic-ai/claude-code,
# pinned in package.json): `claude mcp list` and `claude mcp get` connect to every configured
# server with no login and no network. Stdio, SSE and Streamable HTTP each connect; with
# MCP_AUTH_TOKEN set, a server added with the bearer header connects, and one added without it
# fails with a message that says to send the header. The CLI runs with a HOME of its own, so
# neither the user's configuration nor ours leaks either way.
# Usage: interop/claude-code.sh BINARY   (run.sh runs it after npm ci)
set -euo pipefail

bin=$1
interop="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
claude="${interop}/node_modules/.bin/claude"
[[ -x "$claude" ]] || { echo "claude not installed: run npm ci in interop/" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

export HOME="${work}/home"
mkdir -p "$HOME"
# Nothing in the environment may point the CLI at a real account or configuration.
unset ANTHROPIC_API_KEY CLAUDE_CONFIG_DIR
export DISABLE_AUTOUPDATER=1

free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# serve VAR TRANSPORT TOKEN: starts the simulator on a free port and sets VAR to its base URL
# (not printed: a command substitution would run it in a subshell that forgets the process).
serve() {
	local var=$1 transport=$2 token=$3 port log
	port=$(free_port)
	log="${work}/server-${transport}-${port}.log"
	MCP_AUTH_TOKEN="$token" "$bin" --simulate --transport "$transport" --addr "127.0.0.1:${port}" 2>"$log" &
	pids+=($!)
	local i
	for i in $(seq 100); do
		grep -q listening "$log" && break
		sleep 0.1
	done
	grep -q listening "$log" || { echo "the server did not start:" >&2; cat "$log" >&2; return 1; }
	printf -v "$var" 'http://127.0.0.1:%s' "$port"
}

token="interop-token-$RANDOM$RANDOM"
serve http_open http ""
serve sse_open sse ""
serve http_locked http "$token"
serve sse_locked sse "$token"

add() { "$claude" mcp add --scope user "$@" >/dev/null; }
add vt-stdio -- "$bin" --simulate
add --transport http vt-http "${http_open}/mcp"
add --transport sse vt-sse "${sse_open}/sse"
add --transport http vt-http-token "${http_locked}/mcp" --header "Authorization: Bearer ${token}"
add --transport sse vt-sse-token "${sse_locked}/sse" --header "Authorization: Bearer ${token}"
add --transport http vt-http-no-token "${http_locked}/mcp"
add --transport sse vt-sse-no-token "${sse_locked}/sse"

list=$("$claude" mcp list 2>&1)
echo "$list"
failed=0
# expect NAME PATTERN: the line of NAME in `claude mcp list` matches PATTERN.
expect() {
	local line
	line=$(grep -F "$1: " <<<"$list" || true)
	if grep -qE -- "$2" <<<"$line"; then
		echo "  PASS  $1"
	else
		echo "  FAIL  $1: want /$2/, got: ${line:-no line}"
		failed=1
	fi
}
for name in vt-stdio vt-http vt-sse vt-http-token vt-sse-token; do
	expect "$name" '✔ Connected'
done
# Without the header: refused, and told how to send the token. Never echoed back.
for name in vt-http-no-token vt-sse-no-token; do
	expect "$name" '✘ .*Authorization: Bearer <token>'
done
if grep -qF "$token" <<<"$list"; then
	echo "  FAIL  the token appears in claude mcp list"
	failed=1
fi

# claude mcp get shows the same for one server.
get=$("$claude" mcp get vt-http-no-token 2>&1)
echo "$get"
if grep -qE 'Status: ✘' <<<"$get" && grep -qF 'Authorization: Bearer <token>' <<<"$get"; then
	echo "  PASS  claude mcp get vt-http-no-token"
else
	echo "  FAIL  claude mcp get vt-http-no-token does not say to send the header"
	failed=1
fi
get=$("$claude" mcp get vt-stdio 2>&1)
if grep -qE 'Status: ✔ Connected' <<<"$get"; then
	echo "  PASS  claude mcp get vt-stdio"
else
	echo "  FAIL  claude mcp get vt-stdio: ${get}"
	failed=1
fi
exit $failed
