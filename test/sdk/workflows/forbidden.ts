/** Not loadable in the sandbox: imports a Node built-in (the bundler must refuse it by name). */
import { readFileSync } from 'node:fs';

export async function readsAFile(): Promise<string> {
  return readFileSync('/etc/hostname', 'utf8');
}
