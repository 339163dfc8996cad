// The worker's log sink. Defaults to the console; pass your own to route worker logs elsewhere.
export interface WorkerLogger {
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export const consoleLogger: WorkerLogger = {
  warn: (message, meta) => console.warn(`[kairos-worker] ${message}`, meta ?? ''),
  error: (message, meta) => console.error(`[kairos-worker] ${message}`, meta ?? ''),
};
