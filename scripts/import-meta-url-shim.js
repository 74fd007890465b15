// Injected by esbuild (scripts/build-lib.mjs): in the CJS bundle `import.meta.url`
// is empty, and yargs/yargs-parser crash in createRequire(import.meta.url).
import { pathToFileURL } from 'node:url';

export const import_meta_url = pathToFileURL(__filename).href;
