// The one door for the fast paths under src/pki/fast/. Each of them answers a question a
// library (jsrsasign, js-yaml, node:crypto's key decoder) answers too, only cheaper, and hands
// back whatever it is not sure of; an oracle test holds each to the library's answers.
//
// VCERTS_NO_FAST=1 in the environment (read once, here) turns all of them off, so every answer
// comes from the libraries; `npm test` runs the PKI tests both ways. setFastPaths() does the
// same from a test. `fastUses` counts the answers the fast paths gave, so a test can show which
// path ran (the ASN.1 helpers are told apart by which function jsrsasign holds).

export type FastPath = 'sharedReader' | 'san' | 'rsaKeyMatch' | 'rsaBits' | 'kubeconfigYaml' | 'certDer';

let enabled = process.env.VCERTS_NO_FAST !== '1';
const listeners: Array<(on: boolean) => void> = [];

/** Answers given by each fast path since the process started. */
export const fastUses: Record<FastPath, number> = { sharedReader: 0, san: 0, rsaKeyMatch: 0, rsaBits: 0, kubeconfigYaml: 0, certDer: 0 };

export function fastPathsOn(): boolean {
  return enabled;
}

/** Turns every fast path on or off (those installed into a library are taken out again). */
export function setFastPaths(on: boolean): void {
  enabled = on;
  for (const l of listeners) l(on);
}

/** Runs `apply` now and on every switch. */
export function onFastPathsSwitch(apply: (on: boolean) => void): void {
  listeners.push(apply);
  apply(enabled);
}

/** `fast()` when the fast paths are on and it answers (counted as `path`), else `library()`. */
export function fastOr<T>(path: FastPath, fast: () => T | undefined, library: () => T): T {
  if (enabled) {
    const v = fast();
    if (v !== undefined) {
      fastUses[path]++;
      return v;
    }
  }
  return library();
}
