// Runs @yao-pkg/pkg's simple-SEA builder with a sea-config that the pkg CLI does not
// expose: `useCodeCache: true` stores V8's compiled code for the bundle in the binary
// (measured: --version 58 ms -> 22 ms on linux-x64). Same blob generator, postject
// injection and macOS signing as `pkg --sea`; only the config differs.
//
// Reproducibility: V8 serialises the code cache's hash tables in an order that follows the
// generating process's string hash seed, which V8 draws at random per process, so every
// blob differed by a few dozen bytes. The blob generator (`node --experimental-sea-config`,
// spawned by pkg) therefore gets `--random-seed=<seed>`, which fixes the hash seed too.
// `--hash-seed` would do the same but enters V8's flag hash, and a binary started without
// it rejects the cache ("Code cache data rejected"); `--random-seed` is left out of that
// hash, so the cache stays valid in every process. Only the generating process is seeded:
// the shipped binary draws its own seeds at run time.
// The blob also records the main script's path as the generator was given it (and the code
// cache hashes it), and pkg hands over an absolute one: builds in two checkouts or output
// directories differed there. The generator runs in the script's directory with its bare
// file name instead.
//
// Usage (on Node >= 22, cwd = project root, HOME = seeded pkg cache home):
//   node scripts/pkg-sea.cjs '{"input":"dist/bundle.cjs","useCodeCache":true,"v8Seed":1,
//     "targets":[{"nodeRange":"node22.23.3","platform":"linux","arch":"x64","output":"dist/x"}]}'
// Exit 64: this pkg version has no usable sea() export; the caller falls back to the CLI.
// Exit 65: pkg no longer spawns the generator through child_process.execFile, so neither
// the seed nor the main script's name could be applied (the blob would not reproduce).
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');

const spec = JSON.parse(process.argv[2]);
const seed = spec.v8Seed === undefined ? null : Number(spec.v8Seed);
let generatorRuns = 0;
if (seed !== null && (!Number.isInteger(seed) || seed === 0)) throw new Error('v8Seed must be a non-zero integer (0 means "random" to V8)');
// Must be in place before sea.js loads: it promisifies execFile once, at load time.
const execFile = childProcess.execFile;
childProcess.execFile = function execFileForBlob(file, args, ...rest) {
  if (!Array.isArray(args) || args[0] !== '--experimental-sea-config') return execFile.call(this, file, args, ...rest);
  generatorRuns++;
  const configFile = args[1];
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  const dir = path.dirname(config.main);
  config.main = path.basename(config.main);
  fs.writeFileSync(configFile, JSON.stringify(config));
  const options = typeof rest[0] === 'function' || rest[0] === undefined ? {} : rest.shift();
  const seedArgs = seed === null ? [] : [`--random-seed=${seed}`];
  return execFile.call(this, file, [...seedArgs, ...args], { ...options, cwd: dir }, ...rest);
};

let sea;
try {
  sea = require('@yao-pkg/pkg/lib-es5/sea.js').default;
} catch {
  sea = undefined;
}
if (typeof sea !== 'function') {
  process.stderr.write('pkg-sea: @yao-pkg/pkg has no lib-es5/sea.js default export\n');
  process.exit(64);
}
sea(spec.input, {
  targets: spec.targets,
  signature: true,
  seaConfig: { useCodeCache: Boolean(spec.useCodeCache) },
}).then(
  () => {
    if (generatorRuns !== 1) {
      process.stderr.write(`pkg-sea: expected pkg to run the SEA blob generator once through child_process.execFile, saw ${generatorRuns} runs; the blob may not reproduce\n`);
      process.exit(65);
    }
  },
  (err) => {
    process.stderr.write(`pkg-sea: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
