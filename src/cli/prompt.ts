import { createInterface } from 'node:readline/promises';

/** An interactive confirmation, or undefined when nobody is there to answer. */
export function terminalAsk(): ((question: string, expect: string) => Promise<boolean>) | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return async (question, expect) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = (await rl.question(question)).trim();
      return expect === 'y' ? /^y(es)?$/i.test(answer) : answer === expect;
    } finally {
      rl.close();
    }
  };
}

/** Step lines on stderr, so stdout stays clean for -o json. */
export function progressPrinter(): (line: string) => void {
  const tty = !!process.stderr.isTTY;
  return (line) => process.stderr.write(tty ? `  \u2713 ${line}\n` : `${line}\n`);
}
