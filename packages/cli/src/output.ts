// Where command output goes and how it looks. Data goes to stdout (a table or key/value block for
// people, JSON for scripts); progress and errors go to stderr, so `-o json | jq` always sees clean JSON.
// Colour is used only when stdout is a terminal, NO_COLOR is unset and --color does not say otherwise.

export type OutputFormat = 'text' | 'json' | 'jsonl';
export type ColorMode = 'auto' | 'always' | 'never';

export interface Terminal {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function processTerminal(): Terminal {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

const ANSI = /\x1b\[[0-9;]*m/g;

export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  magenta(text: string): string;
}

function sgr(open: number, close: number): (text: string) => string {
  return (text) => `\x1b[${open}m${text}\x1b[${close}m`;
}

const PLAIN: Style = { bold: String, dim: String, red: String, green: String, yellow: String, cyan: String, magenta: String };
const COLORED: Style = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
  magenta: sgr(35, 39),
};

export function useColor(mode: ColorMode, terminal: Terminal): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  const noColor = terminal.env['NO_COLOR'];
  return terminal.stdout.isTTY === true && (noColor === undefined || noColor === '');
}

/** A column of a table: its header and how to right-align numbers. */
export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
}

export class Output {
  readonly style: Style;
  constructor(
    readonly format: OutputFormat,
    color: boolean,
    private readonly terminal: Terminal,
  ) {
    this.style = color ? COLORED : PLAIN;
  }

  get isText(): boolean {
    return this.format === 'text';
  }

  line(text = ''): void {
    this.terminal.stdout.write(`${text}\n`);
  }

  /** One JSON document: pretty for `json`, one line for `jsonl`. */
  json(value: unknown): void {
    this.line(this.format === 'jsonl' ? JSON.stringify(value) : JSON.stringify(value, null, 2));
  }

  /** A list of records: an array for `json`, one record per line for `jsonl`. */
  jsonList(values: readonly unknown[]): void {
    if (this.format === 'jsonl') for (const value of values) this.line(JSON.stringify(value));
    else this.line(JSON.stringify(values, null, 2));
  }

  /** Padded columns with a header row; cells may contain colour codes. */
  table(columns: readonly Column[], rows: readonly (readonly string[])[]): void {
    const widths = columns.map((column, i) => Math.max(column.header.length, ...rows.map((row) => visibleLength(row[i] ?? ''))));
    const render = (cells: readonly string[]): string =>
      cells
        .map((cell, i) => {
          const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(cell)));
          if (i === cells.length - 1 && columns[i]?.align !== 'right') return cell; // no trailing spaces
          return columns[i]?.align === 'right' ? pad + cell : cell + pad;
        })
        .join('  ');
    this.line(this.style.bold(render(columns.map((column) => column.header))));
    for (const row of rows) this.line(render(row));
  }

  /** `  Key   value` lines, keys padded to one width; undefined values are skipped. */
  keyValues(pairs: readonly (readonly [string, string | undefined])[], indent = 2): void {
    const present = pairs.filter((pair): pair is readonly [string, string] => pair[1] !== undefined && pair[1] !== '');
    const width = Math.max(0, ...present.map(([key]) => key.length));
    for (const [key, value] of present) {
      const lines = value.split('\n');
      this.line(`${' '.repeat(indent)}${this.style.bold(key.padEnd(width))}  ${lines[0] ?? ''}`);
      for (const more of lines.slice(1)) this.line(`${' '.repeat(indent + width + 2)}${more}`);
    }
  }

  heading(text: string): void {
    this.line(this.style.bold(text));
  }

  /** Shows a spinner with `label()` on stderr while waiting; does nothing unless stderr is a terminal. */
  progress(label: () => string): Progress {
    if (this.terminal.stderr.isTTY !== true) return { stop() {} };
    const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let frame = 0;
    const stderr = this.terminal.stderr;
    const draw = (): void => {
      stderr.write(`\r\x1b[2K${frames[frame++ % frames.length] ?? ''} ${label()}`);
    };
    draw();
    const timer = setInterval(draw, 100);
    timer.unref();
    return {
      stop() {
        clearInterval(timer);
        stderr.write('\r\x1b[2K');
      },
    };
  }

  /** A note for people on stderr (never mixed into data on stdout). */
  note(text: string): void {
    this.terminal.stderr.write(`${text}\n`);
  }
}

export interface Progress {
  stop(): void;
}
