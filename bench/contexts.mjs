#!/usr/bin/env node
// `npm run bench:contexts`: runs bench/contexts.ts (the simulator is TypeScript) on Node >= 22 with tsx.
// All arguments are passed on; see bench/contexts.ts for them.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { node22 } from '../scripts/build-lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(node22(), ['--import', 'tsx', path.join(ROOT, 'bench/contexts.ts'), ...process.argv.slice(2)], { cwd: ROOT, stdio: 'inherit' });
process.exit(r.status ?? 1);
