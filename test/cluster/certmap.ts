// Test-side copy of upstream's certMap (reference vcluster-pki.md §3): PKI file (relative to /data/pki)
// -> key in the `<name>-certs` host secret. Written independently of src/ on purpose.

const SAME_NAME = [
  'admin.conf',
  'controller-manager.conf',
  'scheduler.conf',
  'apiserver.crt',
  'apiserver.key',
  'apiserver-etcd-client.crt',
  'apiserver-etcd-client.key',
  'apiserver-kubelet-client.crt',
  'apiserver-kubelet-client.key',
  'ca.crt',
  'ca.key',
  'server-ca.crt',
  'server-ca.key',
  'client-ca.crt',
  'client-ca.key',
  'front-proxy-ca.crt',
  'front-proxy-ca.key',
  'front-proxy-client.crt',
  'front-proxy-client.key',
  'sa.key',
  'sa.pub',
];

const ETCD = [
  'ca.crt',
  'ca.key',
  'server.crt',
  'server.key',
  'peer.crt',
  'peer.key',
  'healthcheck-client.crt',
  'healthcheck-client.key',
];

/** The 29 certMap entries: file path relative to the PKI dir -> secret key. */
export const CERT_MAP: ReadonlyMap<string, string> = new Map<string, string>([
  ...SAME_NAME.map((f): [string, string] => [f, f]),
  ...ETCD.map((f): [string, string] => [`etcd/${f}`, `etcd-${f}`]),
]);

/** Secret key -> file path (inverse of CERT_MAP). */
export const SECRET_KEY_TO_FILE: ReadonlyMap<string, string> = new Map(
  [...CERT_MAP].map(([file, key]): [string, string] => [key, file]),
);

/** PKI files -> secret `data` (base64). certMap files use their mapped key; unknown files keep their basename. */
export function filesToSecretData(files: Map<string, Buffer>): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [file, content] of files) {
    const key = CERT_MAP.get(file) ?? file.slice(file.lastIndexOf('/') + 1);
    data[key] = Buffer.from(content).toString('base64');
  }
  return data;
}

/** Secret `data` (base64) -> PKI files. certMap keys go to their paths; unknown keys to a file of the same name. */
export function secretDataToFiles(data: Record<string, string>): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const [key, b64] of Object.entries(data)) {
    files.set(SECRET_KEY_TO_FILE.get(key) ?? key, Buffer.from(b64, 'base64'));
  }
  return files;
}
