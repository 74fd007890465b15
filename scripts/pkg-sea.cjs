// Runs @yao-pkg/pkg's simple-SEA builder with a sea-config that the pkg CLI does not
// expose: `useCodeCache: true` stores V8's compiled code for the bundle in the binary
// (measured: --version 58 ms -> 22 ms on linux-x64). Same blob generator, postject
// injection and macOS signing as `pkg --sea`; only the config differs.
//
// Usage (on Node >= 22, cwd = project root, HOME = seeded pkg cache home):
//   node scripts/pkg-sea.cjs '{"input":"dist/bundle.cjs","useCodeCache":true,
//     "targets":[{"nodeRange":"node22.23.3","platform":"linux","arch":"x64","output":"dist/x"}]}'
// Exit 64: this pkg version has no usable sea() export; the caller falls back to the CLI.
'use strict';

const spec = JSON.parse(process.argv[2]);
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
  () => {},
  (err) => {
    process.stderr.write(`pkg-sea: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
