// Certificates of the simulated host API server, made with the openssl CLI at start: a CA, a serving
// certificate for 127.0.0.1/localhost and the admin client certificate (O=system:masters).

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClusterTls {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${stderr || err.message}`));
      else resolve();
    });
  });
}

const DAYS = '3650';

async function issue(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  await writeFile(join(dir, `${name}.ext`), extensions);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', DAYS, '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
}

export async function generateClusterTls(): Promise<ClusterTls> {
  const dir = await mkdtemp(join(tmpdir(), 'sim-cluster-tls-'));
  try {
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'ca.key', '-out', 'ca.crt', '-days', DAYS, '-subj', '/CN=sim-cluster-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'], dir);
    await Promise.all([
      issue(dir, 'server', '/CN=kube-apiserver',
        'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
        'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n'),
      issue(dir, 'admin', '/O=system:masters/CN=kubernetes-admin',
        'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'),
    ]);
    const read = (f: string) => readFile(join(dir, f), 'utf8');
    return {
      caCert: await read('ca.crt'),
      caKey: await read('ca.key'),
      serverCert: await read('server.crt'),
      serverKey: await read('server.key'),
      adminCert: await read('admin.crt'),
      adminKey: await read('admin.key'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
