// The HTTP API against a real in-process server (SQLite in memory): the routes come from the proto
// annotations and every call goes through the handlers the gRPC frontend uses.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../server.js';
import { createLogger } from '../logger.js';
import { startHttpFrontend, type HttpFrontend } from './http-server.js';

let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startServer({
    ip: '127.0.0.1',
    port: 0,
    dbFilename: ':memory:',
    namespaces: ['default', 'other'],
    logLevel: 'never',
    logFormat: 'text',
    dynamicConfig: new Map(),
    searchAttributes: new Map(),
    headless: false,
    uiPort: 0,
    httpPort: undefined,
    metricsPort: undefined,
  });
  base = `http://${server.uiAddress ?? ''}/api/v1`;
});

afterAll(async () => {
  await server.close();
});

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${url}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('HTTP API', () => {
  it('starts, describes, lists, counts, signals and terminates a workflow', async () => {
    const started = await call('POST', '/namespaces/default/workflows/http-1', {
      workflowType: { name: 'greet' },
      taskQueue: { name: 'q' },
      input: ['Kairos'],
      requestId: 'r-1',
    });
    expect(started.status).toBe(200);
    expect(started.json['runId']).toMatch(/[0-9a-f-]{36}/);

    const described = await call('GET', '/namespaces/default/workflows/http-1');
    expect(described.json).toMatchObject({
      workflowExecutionInfo: { execution: { workflowId: 'http-1' }, type: { name: 'greet' }, status: 'WORKFLOW_EXECUTION_STATUS_RUNNING' },
    });

    const listed = await call('GET', `/namespaces/default/workflows?query=${encodeURIComponent("WorkflowType = 'greet'")}`);
    expect((listed.json['executions'] as unknown[]).length).toBe(1);

    const signalled = await call('POST', '/namespaces/default/workflows/http-1/signal/poke', { input: [{ n: 1 }] });
    expect(signalled.status).toBe(200);

    const history = await call('GET', '/namespaces/default/workflows/http-1/history', undefined, { accept: 'application/json+no-payload-shorthand' });
    const events = history.json['history'] as { events: Array<Record<string, unknown>> };
    expect(events.events.map((e) => e['eventType'])).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED');
    const first = events.events[0] ?? {};
    expect(first['eventId']).toBe('1');
    expect(first['eventTime']).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    const startAttrs = first['workflowExecutionStartedEventAttributes'] as { input: { payloads: Array<{ data: string }> } };
    expect(Buffer.from(startAttrs.input.payloads[0]?.data ?? '', 'base64').toString()).toBe('"Kairos"');

    const shorthandHistory = await call('GET', '/namespaces/default/workflows/http-1/history');
    const shortFirst = (shorthandHistory.json['history'] as { events: Array<Record<string, unknown>> }).events[0] ?? {};
    expect(shortFirst['workflowExecutionStartedEventAttributes']).toMatchObject({ input: ['Kairos'] });

    const terminated = await call('POST', '/namespaces/default/workflows/http-1/terminate', { reason: 'done here' });
    expect(terminated.status).toBe(200);
    const count = await call('GET', `/namespaces/default/workflow-count?query=${encodeURIComponent('GROUP BY ExecutionStatus')}`);
    expect(count.json).toMatchObject({ count: '1' });
    // A group value carries a `type` besides its encoding, so it stays a full payload message.
    const groups = count.json['groups'] as Array<{ groupValues: Array<{ data: string }> }>;
    expect(Buffer.from(groups[0]?.groupValues[0]?.data ?? '', 'base64').toString()).toBe('"Terminated"');
  });

  it('answers namespaces, search attributes, task queues and system info', async () => {
    const namespaces = await call('GET', '/namespaces');
    const names = (namespaces.json['namespaces'] as Array<{ namespaceInfo: { name: string } }>).map((n) => n.namespaceInfo.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'other']));
    expect((await call('GET', '/namespaces/other')).json).toMatchObject({ namespaceInfo: { name: 'other' } });
    expect((await call('GET', '/namespaces/default/search-attributes')).json).toHaveProperty('systemAttributes');
    expect((await call('GET', '/namespaces/default/task-queues/q?taskQueueType=TASK_QUEUE_TYPE_WORKFLOW')).status).toBe(200);
    expect((await call('GET', '/system-info')).json).toHaveProperty('serverVersion');
  });

  it('maps errors to HTTP statuses with a google.rpc.Status body', async () => {
    const missing = await call('GET', '/namespaces/default/workflows/nope');
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ code: 5 });
    const badQuery = await call('GET', `/namespaces/default/workflows?query=${encodeURIComponent('Nope = 1')}`);
    expect(badQuery.status).toBe(400);
    const badJson = await fetch(`${base}/namespaces/default/workflows/x/signal/s`, { method: 'POST', body: '{' });
    expect(badJson.status).toBe(400);
    const badTime = await call('POST', '/namespaces/default/workflows/x', { workflowType: { name: 't' }, taskQueue: { name: 'q' }, workflowRunTimeout: 'soon' });
    expect(badTime.status).toBe(400);
    expect(String(badTime.json['message'])).toContain('workflowRunTimeout');
    expect((await call('GET', '/no/such/thing')).status).toBe(404);
    expect((await call('DELETE', '/namespaces/default/workflows')).status).toBe(405);
  });

  it('serves the UI files and falls back to index.html for UI routes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kairos-ui-'));
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>ui</title>');
    writeFileSync(path.join(dir, 'assets', 'app-1.js'), 'console.log(1)');
    let frontend: HttpFrontend | undefined;
    try {
      frontend = await startHttpFrontend(
        { workflowService: {}, operatorService: {}, logger: createLogger({ level: 'never', format: 'text' }), uiDirectory: dir, serveUi: true },
        '127.0.0.1',
        0,
      );
      const root = `http://${frontend.address}`;
      expect(await (await fetch(`${root}/namespaces/default/workflows/abc`)).text()).toContain('<title>ui</title>');
      const asset = await fetch(`${root}/assets/app-1.js`);
      expect(asset.headers.get('content-type')).toContain('javascript');
      expect((await fetch(`${root}/assets/missing.js`)).status).toBe(404);
      expect((await fetch(`${root}/..%2f..%2fetc%2fpasswd`)).status).not.toBe(200);
      expect((await fetch(`${root}/api/v1/namespaces`)).status).toBe(501); // a route without a handler
    } finally {
      await frontend?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
