// The official MCP TypeScript SDK client against video-task-mcp over stdio, the 2024-11-05
// HTTP+SSE transport and Streamable HTTP, with the built-in simulated upstream.
//
//   VIDEO_TASK_MCP_BIN=/path/to/video-task-mcp node --test sdk.test.mjs
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { LogCapture, SIM_ARGS, serverBinary, serverEnv, startHTTPServer, uniqueID } from './lib.mjs';

const TOOLS = ['get_video_task', 'wait_for_video_task'];

/** Connects an SDK client over the named transport; returns it with the server's log. */
async function connect(kind) {
  const client = new Client({ name: 'video-task-mcp-interop', version: '1.0.0' });
  if (kind === 'stdio') {
    const transport = new StdioClientTransport({
      command: serverBinary(),
      args: SIM_ARGS,
      env: serverEnv(),
      stderr: 'pipe',
    });
    const log = new LogCapture('sdk-stdio');
    log.attach(transport.stderr);
    await client.connect(transport);
    return { client, log, stop: async () => client.close() };
  }
  const server = await startHTTPServer(kind, 'sdk');
  const url = new URL(server.url);
  const transport = kind === 'sse' ? new SSEClientTransport(url) : new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  return {
    client,
    log: server.log,
    url,
    stop: async () => {
      await client.close();
      await server.stop();
    },
  };
}

/** Connects a second client to the same HTTP server, recording the ids of its tools/call requests. */
async function secondClient(kind, url) {
  const client = new Client({ name: 'video-task-mcp-interop-2', version: '1.0.0' });
  const transport = kind === 'sse' ? new SSEClientTransport(url) : new StreamableHTTPClientTransport(url);
  const callIDs = [];
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    if (message.method === 'tools/call') callIDs.push(message.id);
    return send(message, options);
  };
  await client.connect(transport);
  return { client, callIDs };
}

function text(result) {
  return result.content
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

for (const kind of ['stdio', 'sse', 'http']) {
  describe(`TypeScript SDK over ${kind}`, () => {
    let conn;
    before(async () => {
      conn = await connect(kind);
    });
    after(async () => {
      await conn?.stop();
    });

    it('lists both tools with annotations and schemas', async () => {
      // listTools also primes the client's outputSchema validators used by callTool.
      const { tools } = await conn.client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
      for (const tool of tools) {
        assert.ok(tool.title, `${tool.name} has a title`);
        assert.deepEqual(
          {
            readOnlyHint: tool.annotations?.readOnlyHint,
            destructiveHint: tool.annotations?.destructiveHint,
            idempotentHint: tool.annotations?.idempotentHint,
            openWorldHint: tool.annotations?.openWorldHint,
          },
          { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
          `${tool.name} annotations`,
        );
        assert.equal(tool.inputSchema.type, 'object');
        assert.deepEqual(tool.inputSchema.required, ['task_id']);
        assert.equal(tool.outputSchema?.type, 'object', `${tool.name} declares an outputSchema`);
        for (const field of ['task_id', 'task_status', 'done', 'summary']) {
          assert.ok(tool.outputSchema.properties[field], `${tool.name} outputSchema has ${field}`);
        }
      }
    });

    it('gets a finished task; structuredContent passes the SDK outputSchema check', async () => {
      await conn.client.listTools();
      const res = await conn.client.callTool({ name: 'get_video_task', arguments: { task_id: 'sim-done' } });
      assert.equal(res.isError ?? false, false, text(res));
      const sc = res.structuredContent;
      assert.equal(sc.task_id, 'sim-done');
      assert.equal(sc.task_status, 'SUCCEEDED');
      assert.equal(sc.done, true);
      assert.match(sc.video_url, /^https:\/\/.+\.mp4\?Expires=\d+&OSSAccessKeyId=.+&Signature=.+/);
      const expires = Number(new URL(sc.video_url).searchParams.get('Expires'));
      assert.equal(sc.video_url_expires_at, new Date(expires * 1000).toISOString().replace('.000Z', 'Z'));
      assert.deepEqual(sc.usage, { video_count: 1, video_ratio: '832*480', video_duration: 5 });
      const link = res.content.find((c) => c.type === 'resource_link');
      assert.ok(link, 'a resource_link to the video');
      assert.equal(link.uri, sc.video_url);
      assert.equal(link.name, 'sim-done.mp4');
      assert.equal(link.mimeType, 'video/mp4');
      assert.match(text(res), /^Task sim-done: SUCCEEDED/);
    });

    it('waits with progress until SUCCEEDED', async () => {
      await conn.client.listTools();
      const id = uniqueID('sim-success', kind);
      const progress = [];
      const res = await conn.client.callTool(
        { name: 'wait_for_video_task', arguments: { task_id: id, timeout_seconds: 30 } },
        undefined,
        { onprogress: (p) => progress.push(p), timeout: 40_000 },
      );
      assert.equal(res.isError ?? false, false, text(res));
      assert.equal(res.structuredContent.task_status, 'SUCCEEDED');
      assert.equal(res.structuredContent.done, true);
      assert.ok(res.structuredContent.video_url);
      // PENDING once and RUNNING three times: four polls that find it unfinished.
      assert.ok(res.structuredContent.polls >= 5, `polls = ${res.structuredContent.polls}, want at least 5`);
      assert.ok(progress.length >= 1, `got ${progress.length} progress notifications, want some`);
      for (let i = 1; i < progress.length; i++) {
        assert.ok(progress[i].progress > progress[i - 1].progress, `progress not strictly increasing: ${JSON.stringify(progress)}`);
      }
      for (const p of progress) {
        assert.match(p.message ?? '', /PENDING|RUNNING/, `progress message ${JSON.stringify(p)}`);
      }
      console.log(`# ${kind}: ${progress.length} progress notifications over ${res.structuredContent.polls} polls: ${progress.map((p) => p.progress).join(', ')}`);
    });

    it('waits until FAILED: a finished task, not an error', async () => {
      await conn.client.listTools();
      const id = uniqueID('sim-fail', kind);
      const res = await conn.client.callTool({ name: 'wait_for_video_task', arguments: { task_id: id, timeout_seconds: 30 } });
      assert.equal(res.isError ?? false, false, text(res));
      assert.equal(res.structuredContent.task_status, 'FAILED');
      assert.equal(res.structuredContent.error.code, 'DataInspectionFailed');
    });

    // The SDK aborts a call by sending notifications/cancelled and keeps the request open. Over
    // stdio and SSE that stops the wait at once. Over stateless Streamable HTTP the server
    // cannot tell which client sent it, so it ignores it (one client's cancel must never end
    // another's call), and the wait ends with its budget.
    it('stops polling the upstream when the wait is aborted', async () => {
      await conn.client.listTools();
      const id = uniqueID('sim-slow', kind);
      const controller = new AbortController();
      let notifications = 0;
      const budget = kind === 'http' ? 3 : 60;
      const started = Date.now();
      const call = conn.client.callTool(
        { name: 'wait_for_video_task', arguments: { task_id: id, timeout_seconds: budget } },
        undefined,
        {
          signal: controller.signal,
          timeout: 70_000,
          onprogress: () => {
            notifications += 1;
          },
        },
      );
      const outcome = call.then(
        (r) => ({ result: r }),
        (e) => ({ error: e }),
      );
      await conn.log.waitFor(() => conn.log.upstreamQueries(id) >= 3, `3 upstream queries of ${id}`);
      controller.abort('interop test aborts the wait');
      const { result, error } = await outcome;
      assert.ok(error, `the aborted call settled with a result instead of an error: ${JSON.stringify(result)}`);
      assert.ok(notifications >= 1, 'progress arrived before the abort');

      // Let the server hear of it (over HTTP, let the budget run out), then watch the
      // upstream: no more queries of this task.
      await sleep(500);
      if (kind === 'http') {
        const before = conn.log.upstreamQueries(id);
        await sleep(Math.max(0, started + budget * 1000 - Date.now()));
        assert.ok(conn.log.upstreamQueries(id) > before, 'over stateless HTTP the wait polls on until its budget');
        await sleep(500);
      }
      const settled = conn.log.upstreamQueries(id);
      await sleep(1500); // five max poll intervals
      const later = conn.log.upstreamQueries(id);
      assert.equal(later, settled, `upstream queries of ${id} went on after the abort: ${settled} → ${later}`);
      console.log(`# ${kind}: polling stopped after ${settled} upstream queries of ${id}`);

      // The session is still usable.
      const res = await conn.client.callTool({ name: 'get_video_task', arguments: { task_id: 'sim-done' } });
      assert.equal(res.structuredContent.task_status, 'SUCCEEDED');
    });

    if (kind !== 'stdio') {
      // Request ids are only unique per client, and two clients' calls share them as a rule.
      // Over SSE a cancellation acts on its own session's calls only; over stateless
      // Streamable HTTP its sender cannot be known, and the server ignores it.
      it("ignores another client's cancellation of the same request id", async () => {
        const a = await secondClient(kind, conn.url);
        const b = await secondClient(kind, conn.url);
        try {
          const id = uniqueID('sim-slow', `${kind}-cross`);
          const call = a.client.callTool({ name: 'wait_for_video_task', arguments: { task_id: id, timeout_seconds: 2 } });
          await conn.log.waitFor(() => conn.log.upstreamQueries(id) >= 2, `2 upstream queries of ${id}`);
          await b.client.notification({ method: 'notifications/cancelled', params: { requestId: a.callIDs[0], reason: 'not yours' } });
          const res = await call;
          assert.equal(res.isError ?? false, false, `client A's wait was cancelled by client B: ${text(res)}`);
          assert.equal(res.structuredContent.done, false, 'the wait ran out of budget, as it should');
        } finally {
          await a.client.close();
          await b.client.close();
        }
      });
    }

    it('reports an unknown task as an error result', async () => {
      await conn.client.listTools();
      const res = await conn.client.callTool({ name: 'get_video_task', arguments: { task_id: 'sim-missing' } });
      assert.equal(res.isError, true);
      assert.match(text(res), /does not know task sim-missing/);
      assert.match(text(res), /task_not_exist/);
      assert.ok(text(res).length < 1000);
    });

    it('refuses bad arguments with error results', async () => {
      await conn.client.listTools();
      const cases = [
        { name: 'get_video_task', arguments: { task_id: 'a/b' }, want: /Invalid input.*'\/'/s },
        { name: 'wait_for_video_task', arguments: { task_id: 'a/b' }, want: /Invalid input/ },
        { name: 'wait_for_video_task', arguments: { task_id: 'sim-done', timeout_seconds: 0 }, want: /Invalid input.*between 1 and 3600/s },
        { name: 'wait_for_video_task', arguments: { task_id: 'sim-done', timeout_seconds: 3601 }, want: /between 1 and 3600/ },
        { name: 'get_video_task', arguments: {}, want: /task_id is required/ },
      ];
      for (const c of cases) {
        const res = await conn.client.callTool({ name: c.name, arguments: c.arguments });
        assert.equal(res.isError, true, `${c.name}(${JSON.stringify(c.arguments)}) isError`);
        assert.match(text(res), c.want, `${c.name}(${JSON.stringify(c.arguments)})`);
      }
    });
  });
}
