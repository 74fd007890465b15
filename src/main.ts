// Entry point. Keep this file tiny: it must not import the Kubernetes client,
// jsrsasign or the YAML parser, so --version and --help start fast.
import { helpWidth, invokedName, PLUGIN_NAME } from './cli/name.js';
import { versionLine } from './version.js';

// The top-level --help as yargs renders it for PLUGIN_NAME, captured at build time (build.mjs); undefined under tsx.
declare const __TOP_HELP__: string | null | undefined;

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === 'version')) {
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  // Rendered once at build time, so --help need not load yargs; a test proves it equals the live text.
  const prebuilt = typeof __TOP_HELP__ === 'string' ? __TOP_HELP__ : null;
  if (prebuilt && argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h') && helpWidth() === 100
    && invokedName() === PLUGIN_NAME && !process.env.VCERTS_LIVE_HELP) {
    process.stdout.write(prebuilt);
    return 0;
  }
  // The bundle run by an older node (npm install -g skips engines checks unless asked): the
  // Kubernetes client fails obscurely there, so say what is needed instead.
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MIN_NODE_MAJOR) {
    process.stderr.write(`error: kubectl-vcluster_certs needs Node.js ${MIN_NODE_MAJOR} or newer, this is ${process.versions.node}; use the standalone binary (no Node.js needed) or upgrade Node.js\n`);
    return 3;
  }
  const { runCli } = await import('./cli/index.js');
  return runCli(argv);
}

/** @kubernetes/client-node 2.x needs Node.js 22. */
const MIN_NODE_MAJOR = 22;

/** Exit once stdout and stderr are flushed: an abandoned connection must not keep us alive. */
function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(
  (code) => exitWhenFlushed(code),
  (err) => {
    process.stderr.write(`error: ${err?.message ?? err}\n`);
    exitWhenFlushed(3);
  },
);
