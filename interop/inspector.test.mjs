// The MCP Inspector CLI (@modelcontextprotocol/inspector, pinned in package.json) against
// video-task-mcp over every transport it supports: stdio, SSE and Streamable HTTP.
//
//   VIDEO_TASK_MCP_BIN=/path/to/video-task-mcp node --test inspector.test.mjs
//
// The Inspector runs on whatever `node` is first on PATH, as `npx @modelcontextprotocol/inspector`
// would for a user. It sends no progress token and gives a call 60 s, so the waits here use
// stories that finish in about a second.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { SIM_ARGS, serverBinary, serverEnv, startHTTPServer, uniqueID } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const inspectorCLI = join(here, 'node_modules', '@modelcontextprotocol', 'inspector', 'cli', 'build', 'cli.js');
const run = promisify(execFile);

/** Runs the Inspector CLI with args and returns its JSON answer. */
async function inspector(target, args) {
  const { stdout } = await run('node', [inspectorCLI, '--cli', ...target, ...args], {
    cwd: here,
    env: serverEnv(),
    timeout: 90_000,
    maxBuffer: 4 << 20,
  }).catch((err) => {
    throw new Error(`inspector ${[...target, ...args].join(' ')} failed (exit ${err.code}):\n${err.stdout}\n${err.stderr}`);
  });
  return JSON.parse(stdout);
}

const targets = {
  // Everything after the command is the server's own arguments.
  stdio: async () => ({ target: [serverBinary(), ...SIM_ARGS], stop: async () => {} }),
  sse: async () => {
    const s = await startHTTPServer('sse', 'inspector');
    return { target: [s.url, '--transport', 'sse'], stop: s.stop };
  },
  http: async () => {
    const s = await startHTTPServer('http', 'inspector');
    return { target: [s.url, '--transport', 'http'], stop: s.stop };
  },
};

for (const [kind, start] of Object.entries(targets)) {
  describe(`Inspector CLI over ${kind}`, () => {
    let server;
    before(async () => {
      server = await start();
    });
    after(async () => {
      await server?.stop();
    });

    it('tools/list', async () => {
      const res = await inspector(server.target, ['--method', 'tools/list']);
      assert.deepEqual(res.tools.map((t) => t.name).sort(), ['get_video_task', 'wait_for_video_task']);
      for (const t of res.tools) {
        assert.equal(t.annotations.readOnlyHint, true);
        assert.ok(t.outputSchema, `${t.name} outputSchema`);
      }
    });

    it('tools/call get_video_task', async () => {
      const res = await inspector(server.target, ['--method', 'tools/call', '--tool-name', 'get_video_task', '--tool-arg', 'task_id=sim-done']);
      assert.equal(res.isError ?? false, false, JSON.stringify(res));
      assert.equal(res.structuredContent.task_status, 'SUCCEEDED');
      assert.ok(res.content.some((c) => c.type === 'resource_link' && c.mimeType === 'video/mp4'));
    });

    it('tools/call wait_for_video_task', async () => {
      const id = uniqueID('sim-success', `inspector-${kind}`);
      const res = await inspector(server.target, ['--method', 'tools/call', '--tool-name', 'wait_for_video_task', '--tool-arg', `task_id=${id}`]);
      assert.equal(res.isError ?? false, false, JSON.stringify(res));
      assert.equal(res.structuredContent.task_status, 'SUCCEEDED');
      assert.equal(res.structuredContent.done, true);
      assert.ok(res.structuredContent.polls >= 5);
    });

    it('tools/call reports an unknown task as an error result', async () => {
      const res = await inspector(server.target, ['--method', 'tools/call', '--tool-name', 'get_video_task', '--tool-arg', 'task_id=sim-missing']);
      assert.equal(res.isError, true);
    });
  });
}

describe('Inspector CLI, the README demo', () => {
  it('GPTGE_BASE_URL=simulate with default polling: a wait finishes well within 60 s', async () => {
    const started = Date.now();
    const res = await inspector(['-e', 'GPTGE_BASE_URL=simulate', serverBinary()], [
      '--method', 'tools/call', '--tool-name', 'wait_for_video_task', '--tool-arg', 'task_id=sim-success',
    ]);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(res.structuredContent.task_status, 'SUCCEEDED', JSON.stringify(res));
    assert.ok(seconds < 30, `took ${seconds} s`);
    console.log(`# README demo: sim-success SUCCEEDED after ${res.structuredContent.polls} polls, ${res.structuredContent.waited_seconds} s waited (${seconds.toFixed(1)} s with start-up)`);
  });
});
