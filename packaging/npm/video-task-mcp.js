#!/usr/bin/env node
// The command of the npm package video-task-mcp. The server itself is a Go binary: npm installs
// the one for this machine as an optional dependency named video-task-mcp-<platform>-<arch>
// (each declares its os and cpu, so npm skips the others). This runs it with the same
// arguments, hands it stdin, stdout and stderr as they are (stdout carries only JSON-RPC),
// passes on SIGINT and SIGTERM, and exits with its status.
"use strict";

const { spawn } = require("node:child_process");
const path = require("node:path");

const supported = ["darwin-arm64", "darwin-x64", "linux-arm64", "linux-x64", "win32-arm64", "win32-x64"];

function fail(message) {
  process.stderr.write("video-task-mcp: " + message + "\n");
  process.exit(1);
}

function binaryPath() {
  const platform = process.platform + "-" + process.arch;
  if (!supported.includes(platform)) {
    fail("no binary for " + platform + " (there are binaries for " + supported.join(", ") +
      "); build the server from source with Go instead, as its README says");
  }
  const pkg = "video-task-mcp-" + platform;
  let dir;
  try {
    dir = path.dirname(require.resolve(pkg + "/package.json"));
  } catch {
    fail("the package " + pkg + ", which holds the binary for " + platform +
      ", is not installed; install video-task-mcp again without --omit=optional or --no-optional");
  }
  return path.join(dir, "bin", process.platform === "win32" ? "video-task-mcp.exe" : "video-task-mcp");
}

const binary = binaryPath();
const child = spawn(binary, process.argv.slice(2), { stdio: "inherit", windowsHide: true });

const forwarded = ["SIGINT", "SIGTERM"];
for (const signal of forwarded) {
  process.on(signal, () => child.kill(signal));
}

child.on("error", (err) => fail("cannot start " + binary + ": " + err.message));
child.on("exit", (code, signal) => {
  if (signal) {
    // End the same way, so whoever started this sees the signal, not an exit code.
    for (const s of forwarded) {
      process.removeAllListeners(s);
    }
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code);
});
