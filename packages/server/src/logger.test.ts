import { describe, expect, it } from 'vitest';
import { createLogger, type LogFormat, type LogLevel } from './logger.js';

const at = new Date('2025-01-02T03:04:05.678Z');

function capture(level: LogLevel, format: LogFormat) {
  const lines: string[] = [];
  const logger = createLogger({ level, format, sink: (line) => lines.push(line), now: () => at });
  return { logger, lines };
}

describe('createLogger', () => {
  it('writes one JSON object per line with the bound and given fields', () => {
    const { logger, lines } = capture('debug', 'json');
    logger.child({ component: 'grpc' }).info('rpc', { method: 'StartWorkflowExecution', ms: 1.5, big: 10n });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      time: '2025-01-02T03:04:05.678Z',
      level: 'info',
      msg: 'rpc',
      component: 'grpc',
      method: 'StartWorkflowExecution',
      ms: 1.5,
      big: '10',
    });
  });

  it('drops lines below the level, and everything at "never"', () => {
    const warn = capture('warn', 'text');
    warn.logger.debug('d');
    warn.logger.info('i');
    warn.logger.warn('w');
    warn.logger.error('e');
    expect(warn.lines.map((l) => /level=(\w+)/.exec(l)?.[1])).toEqual(['WARN', 'ERROR']);
    const never = capture('never', 'json');
    never.logger.error('e');
    expect(never.lines).toEqual([]);
  });

  it('prints logfmt for text, quoting values that need it', () => {
    const { logger, lines } = capture('info', 'text');
    logger.warn('namespace missing', { namespace: 'my ns', id: 7, error: new Error('boom') });
    expect(lines[0]).toBe(
      'time=2025-01-02T03:04:05.678Z level=WARN msg="namespace missing" namespace="my ns" id=7 error="Error: boom"\n',
    );
  });

  it('prints pretty one-liners, with a stack trace indented below', () => {
    const { logger, lines } = capture('info', 'pretty');
    logger.error('handler failed', { path: '/x', stack: 'Error: boom\n    at f (a.ts:1:1)' });
    expect(lines[0]).toBe('2025-01-02T03:04:05.678Z ERROR handler failed path=/x\n  Error: boom\n      at f (a.ts:1:1)\n');
  });

  it('never throws on values JSON cannot hold', () => {
    const { logger, lines } = capture('info', 'json');
    const loop: Record<string, unknown> = {};
    loop['self'] = loop;
    logger.info('odd', { loop });
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ loop: { self: '[Circular]' } });
  });
});
