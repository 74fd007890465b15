// Entry point. Keep this file tiny: it must not import the Kubernetes client,
// jsrsasign or the YAML parser, so --version and --help start fast.
import { VERSION } from './version.js';

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === 'version')) {
    process.stdout.write(`kubectl-vcluster_certs ${VERSION}\n`);
    return 0;
  }
  const { runCli } = await import('./cli/index.js');
  return runCli(argv);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`error: ${err?.message ?? err}\n`); process.exitCode = 3; },
);
