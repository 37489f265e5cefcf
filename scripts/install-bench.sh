#!/usr/bin/env bash
# The install figures of BENCHMARKS.md: the size of each binary, archive and bundle of a
# release, and the time from starting the server to its answer to initialize, through
# `npx video-task-mcp` (launcher included), through the launcher alone, and as the bare
# binary, measured in turn in one run (median of 10 each). Needs Go, Node.js and npm; builds a whole release into a temporary
# folder (a few minutes on 2 cores) unless RELEASE_DIR names one built by scripts/release.
#
#   scripts/install-bench.sh
#   RELEASE_DIR=dist scripts/install-bench.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/go/bin:${PATH}"

work=$(mktemp -d -t video-task-mcp-install-bench-XXXXXX)
trap 'rm -rf "${work}"' EXIT
version=v0.0.0-bench
dist="${RELEASE_DIR:-}"
if [[ -z "${dist}" ]]; then
	dist="${work}/dist"
	go run ./scripts/release -out "${dist}" "${version}" >/dev/null
else
	version=$(sed -n 's/^video-task-mcp-\(v[^ ]*\)-linux-amd64\.tar\.gz$/\1/p' <(ls "${dist}"))
fi
npm_version="${version#v}"

echo "==> machine"
echo "nproc: $(nproc)"
go version
echo "node $(node --version), npm $(npm --version)"

echo
echo "==> sizes (bytes)"
printf '%-16s %10s %10s %10s\n' target binary archive bundle
for target in linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64 windows-arm64; do
	exe=video-task-mcp
	ext=tar.gz
	if [[ ${target} == windows-* ]]; then
		exe=video-task-mcp.exe
		ext=zip
	fi
	printf '%-16s %10d %10d %10d\n' "${target}" \
		"$(stat -c %s "${dist}/bin/${target}/${exe}")" \
		"$(stat -c %s "${dist}/video-task-mcp-${version}-${target}.${ext}")" \
		"$(stat -c %s "${dist}/video-task-mcp-${version}-${target}.mcpb")"
done
for tgz in "${dist}"/npm/*.tgz; do
	printf '%-34s %10d\n' "npm $(basename "${tgz}")" "$(stat -c %s "${tgz}")"
done

echo
echo "==> start to initialize answer, linux-x64 (median of 10, in turn)"
prefix="${work}/prefix"
mkdir -p "${prefix}"
(cd "${prefix}" && npm install --offline --no-audit --no-fund --cache "${work}/npm-cache" \
	--registry http://127.0.0.1:9/ \
	"${dist}/npm/video-task-mcp-${npm_version}.tgz" \
	"${dist}/npm/video-task-mcp-linux-x64-${npm_version}.tgz" >/dev/null)
cd "${prefix}"
node - "${dist}/bin/linux-amd64/video-task-mcp" <<'EOF'
const { spawn } = require("node:child_process");
const runs = 10;
const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "0" } } }) + "\n";

// time spawns command and resolves with the milliseconds until the first line on its stdout.
function time(command, args) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "ignore"],
      env: { ...process.env, GPTGE_BASE_URL: "simulate", npm_config_offline: "true" } });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (!out.includes('"serverInfo"')) reject(new Error("not an initialize answer: " + out));
        child.stdin.end();
        child.on("exit", () => resolve(ms));
      }
    });
    child.on("error", reject);
    child.stdin.write(initialize);
  });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return (s[4] + s[5]) / 2; };

(async () => {
  const npx = [], launcher = [], bare = [];
  for (let i = 0; i < runs; i++) {
    npx.push(await time("npx", ["--offline", "--no-install", "video-task-mcp"]));
    launcher.push(await time("node_modules/.bin/video-task-mcp", []));
    bare.push(await time(process.argv[2], []));
  }
  const f = (xs) => xs.map((x) => x.toFixed(0)).join(" ");
  console.log(`npx video-task-mcp             median ${median(npx).toFixed(1)} ms   runs: ${f(npx)}`);
  console.log(`launcher (what npx runs)       median ${median(launcher).toFixed(1)} ms   runs: ${f(launcher)}`);
  console.log(`bare binary                    median ${median(bare).toFixed(1)} ms   runs: ${f(bare)}`);
  console.log(`ratio npx / bare               ${(median(npx) / median(bare)).toFixed(1)}x`);
  console.log(`ratio launcher / bare          ${(median(launcher) / median(bare)).toFixed(1)}x`);
})().catch((err) => { console.error(err); process.exit(1); });
EOF
