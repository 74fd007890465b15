// The top-level --help is baked in at build time (main.ts serves it without loading yargs):
// it must stay byte-identical to what yargs renders live, and be used only where that holds.
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BINARY, execFileP, runCli } from '../e2e/helpers.js';

const test = suite('prebuilt --help');

test('equals the live yargs help for the plugin name, for --help and -h', async () => {
  for (const flag of ['--help', '-h']) {
    const baked = await runCli([flag]);
    const live = await runCli([flag], { VCERTS_LIVE_HELP: '1' });
    assert.is(baked.code, 0);
    assert.is(live.code, 0);
    assert.is(baked.stdout, live.stdout, `${flag}: the baked help drifted from the live one`);
    assert.match(baked.stdout, /^kubectl vcluster-certs <command> \[options\]/);
    for (const c of ['check', 'rotate', 'rotate-ca', 'backups', 'restore', 'completion']) assert.match(baked.stdout, new RegExp(`kubectl vcluster-certs ${c}\\b`));
  }
});

test('another name gets the live help with that name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vcerts-help-'));
  try {
    symlinkSync(BINARY, join(dir, 'vcerts'));
    const { stdout } = await execFileP(join(dir, 'vcerts'), ['--help']);
    assert.match(stdout, /^vcerts <command> \[options\]/);
    assert.match(stdout, /^ {2}vcerts check \[name\]/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
