// A small structured logger. Lines go to stderr so that stdout stays free for what a command prints
// on purpose (the start-dev banner, `-o json` output).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'never';
export type LogFormat = 'json' | 'pretty' | 'text';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'never'];
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty', 'text'];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line it writes. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Where finished lines go (each ends with a newline); stderr unless given. */
  readonly sink?: (line: string) => void;
  /** The clock stamped on each line; injected so tests get stable output. */
  readonly now?: () => Date;
}

type EmittingLevel = Exclude<LogLevel, 'never'>;

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, never: 100 };

export function createLogger(options: LoggerOptions): Logger {
  const threshold = SEVERITY[options.level];
  const sink = options.sink ?? ((line: string) => void process.stderr.write(line));
  const now = options.now ?? (() => new Date());
  const render = RENDERERS[options.format];

  const make = (bound: LogFields): Logger => {
    const emit = (level: EmittingLevel, msg: string, fields: LogFields | undefined): void => {
      if (SEVERITY[level] < threshold) return;
      sink(render(now(), level, msg, fields === undefined ? bound : { ...bound, ...fields }) + '\n');
    };
    return {
      debug: (msg, fields) => emit('debug', msg, fields),
      info: (msg, fields) => emit('info', msg, fields),
      warn: (msg, fields) => emit('warn', msg, fields),
      error: (msg, fields) => emit('error', msg, fields),
      child: (fields) => make({ ...bound, ...fields }),
    };
  };
  return make({});
}

type Renderer = (time: Date, level: EmittingLevel, msg: string, fields: LogFields) => string;

const RENDERERS: Record<LogFormat, Renderer> = {
  json: (time, level, msg, fields) => {
    const record: LogFields = { time: time.toISOString(), level, msg };
    for (const [key, value] of Object.entries(fields)) {
      if (!(key in record)) record[key] = toJsonValue(value);
    }
    return safeStringify(record);
  },
  // logfmt, the shape Go's slog text handler (and so the `temporal` CLI) prints.
  text: (time, level, msg, fields) => {
    let line = `time=${time.toISOString()} level=${level.toUpperCase()} msg=${logfmtValue(msg)}`;
    for (const [key, value] of Object.entries(fields)) line += ` ${key}=${logfmtValue(formatValue(value))}`;
    return line;
  },
  pretty: (time, level, msg, fields) => {
    let line = `${time.toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}`;
    let stack: string | undefined;
    for (const [key, value] of Object.entries(fields)) {
      if (key === 'stack' && typeof value === 'string') stack = value;
      else line += ` ${key}=${logfmtValue(formatValue(value))}`;
    }
    // A stack trace reads best on its own lines, indented under the message.
    return stack === undefined ? line : `${line}\n  ${stack.split('\n').join('\n  ')}`;
  },
};

function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return safeStringify(toJsonValue(value));
}

function logfmtValue(text: string): string {
  return text === '' || /[\s"=\\]/.test(text) || hasControlChar(text) ? JSON.stringify(text) : text;
}

function hasControlChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20) return true;
  return false;
}

function toJsonValue(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** JSON.stringify that never throws: a log line must not take the process down. */
function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
      if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) return '[Circular]';
        seen.add(v);
      }
      return v;
    });
  } catch (err) {
    return JSON.stringify({ unserializable: String(err) });
  }
}
