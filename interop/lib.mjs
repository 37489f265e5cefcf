// Shared helpers of the interop checks: where the server binary is, free ports, and starting
// the server on an HTTP transport with its log captured.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The built server, from VIDEO_TASK_MCP_BIN (run.sh builds it). */
export function serverBinary() {
  const bin = process.env.VIDEO_TASK_MCP_BIN;
  if (!bin) {
    throw new Error('VIDEO_TASK_MCP_BIN is not set: build the server (go build -o /tmp/video-task-mcp .) and point it there');
  }
  return bin;
}

/** Flags every check runs the server with: the built-in upstream and fast polling. */
export const SIM_ARGS = ['--simulate', '--poll-interval', '100ms', '--max-poll-interval', '300ms'];

/** Environment of the server: debug logs (one line per simulated upstream query). */
export function serverEnv(extra = {}) {
  const env = { ...process.env, LOG_LEVEL: 'debug', ...extra };
  delete env.GPTGE_API_KEY; // the simulator needs none; prove it
  delete env.MCP_AUTH_TOKEN;
  return env;
}

/** A TCP port nobody listens on right now. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Collects a server's stderr as text and as lines; when INTEROP_LOG_DIR is set, also in
 * <dir>/<name>.log, so that a failed run can show what the server said.
 */
export class LogCapture {
  constructor(name) {
    this.text = '';
    this.file = null;
    const dir = process.env.INTEROP_LOG_DIR;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      this.file = join(dir, `${name}-${process.pid}.log`);
    }
  }
  attach(stream) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      this.text += chunk;
      if (this.file) appendFileSync(this.file, chunk);
    });
  }
  lines() {
    return this.text.split('\n');
  }
  /** Lines the simulated upstream logged for one task id: one per upstream request. */
  upstreamQueries(taskID) {
    return this.lines().filter((l) => l.includes('simulated upstream answered') && l.includes(`task_id=${taskID} `)).length;
  }
  async waitFor(predicate, what, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.text)) {
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; server log:\n${this.text}`);
      }
      await sleep(25);
    }
  }
}

/**
 * Starts the server on an HTTP transport ("sse" or "http") on a free loopback port and waits
 * until it listens. Returns the endpoint URL, the log and a stop function.
 */
export async function startHTTPServer(transport, label) {
  const port = await freePort();
  const args = [...SIM_ARGS, '--transport', transport, '--addr', `127.0.0.1:${port}`];
  const child = spawn(serverBinary(), args, { env: serverEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  const log = new LogCapture(`${label}-${transport}-${port}`);
  log.attach(child.stderr);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let gone = null;
  exited.then((r) => {
    gone = r;
  });
  await log.waitFor((t) => t.includes('listening') || gone !== null, `the ${transport} server to listen`);
  if (gone !== null) {
    throw new Error(`server exited (${JSON.stringify(gone)}) before listening:\n${log.text}`);
  }
  const path = transport === 'sse' ? '/sse' : '/mcp';
  return {
    url: `http://127.0.0.1:${port}${path}`,
    base: `http://127.0.0.1:${port}`,
    port,
    log,
    child,
    async stop() {
      if (gone === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** A task id of the given story that no other check uses, so stories do not interfere. */
let seq = 0;
export function uniqueID(story, label) {
  seq += 1;
  return `${story}-${label}-${process.pid}-${seq}`;
}
