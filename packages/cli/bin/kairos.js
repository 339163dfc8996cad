#!/usr/bin/env node
// Runs the TypeScript sources directly. tsx's loader is registered inside this process rather than
// through the tsx CLI, which would spawn a second process: @temporalio/testing stops the dev server
// by killing the pid it spawned, and that must be the server itself.
import { register } from 'tsx/esm/api';

// tsconfig: false, so that whatever tsconfig.json happens to be in the caller's cwd is not applied.
register({ tsconfig: false });
const { runCli } = await import('../src/main.ts');
await runCli(process.argv);
