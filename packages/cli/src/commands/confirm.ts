// A y/N prompt on the terminal. Without a terminal there is nobody to ask, so the answer is no and the
// command tells the user about --yes.
import { createInterface } from 'node:readline/promises';

export async function confirm(question: string): Promise<boolean> {
  if (process.stdin.isTTY !== true) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} y/N `)).trim());
  } finally {
    rl.close();
  }
}
