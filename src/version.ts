// Replaced at bundle time by build.mjs (define: __VERSION__); falls back for tsx runs.
declare const __VERSION__: string | undefined;
export const VERSION: string = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';
