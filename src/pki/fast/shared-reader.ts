// One jsrsasign certificate reader per thread, reused for every certificate. Pure, no I/O.
//
// Replaces: `new X509()` per certificate: a new X509 defines all of its methods as closures, a
//   good part of the cost of reading a certificate. Reading resets the state jsrsasign keeps
//   between calls to the constructor's initial values (the fields below), so nothing of the
//   previous certificate remains.
// Fallback: a new X509 per certificate (x509.ts), always when the fast paths are off (switch.ts).
// Oracle test: test/pki/x509.test.ts (certificates of every shape read one after the other give
//   what a fresh reader gives); test/unit/internals.test.ts fails when jsrsasign's reader no
//   longer has these fields.

import jsrsasign from './jsrsasign.js';

type JsX509 = InstanceType<typeof jsrsasign.X509>;
/** The fields jsrsasign's X509 constructor sets and readCertHex reads or fills. */
export type ReaderState = { hex: string | null; version: number; foffset: number; aExtInfo: unknown };

let shared: JsX509 | undefined;

/** The thread's one reader, as it is: for jsrsasign's functions that read only their arguments. */
export function sharedReader(): JsX509 {
  return (shared ??= new jsrsasign.X509());
}

/** The thread's one reader, loaded with `hex` (DER as hex). */
export function readWithSharedReader(hex: string): JsX509 {
  const js = sharedReader();
  const state = js as unknown as ReaderState;
  state.hex = null;
  state.version = 0;
  state.foffset = 0;
  state.aExtInfo = null;
  js.readCertHex(hex);
  return js;
}
