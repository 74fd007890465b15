// Just enough of the Kubernetes protobuf encoding to read a SelfSubjectAccessReview, which kubectl
// 1.32+ `auth can-i` sends as application/vnd.kubernetes.protobuf (answers go back as JSON, which the
// client also accepts). Envelope: magic "k8s\0", then runtime.Unknown {1: typeMeta, 2: raw, ...}.

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Fields = Map<number, (Buffer | bigint)[]>;

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

/** Decodes one message level: field number -> values (length-delimited as Buffer, varints as bigint). */
function decode(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let pos = 0;
  while (pos < buf.length) {
    const [key, next] = readVarint(buf, pos);
    pos = next;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    let value: Buffer | bigint;
    if (wire === 0) {
      [value, pos] = readVarint(buf, pos);
    } else if (wire === 2) {
      const [len, p] = readVarint(buf, pos);
      value = buf.subarray(p, p + Number(len));
      pos = p + Number(len);
    } else if (wire === 1) {
      value = buf.subarray(pos, pos + 8);
      pos += 8;
    } else if (wire === 5) {
      value = buf.subarray(pos, pos + 4);
      pos += 4;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

function str(f: Fields, n: number): string | undefined {
  const v = f.get(n)?.[0];
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

function sub(f: Fields, n: number): Fields | undefined {
  const v = f.get(n)?.[0];
  return Buffer.isBuffer(v) ? decode(v) : undefined;
}

export function isProtobuf(contentType: string | undefined): boolean {
  return (contentType ?? '').startsWith('application/vnd.kubernetes.protobuf');
}

/** The JSON form of a protobuf-encoded authorization.k8s.io/v1 SelfSubjectAccessReview. */
export function decodeSelfSubjectAccessReview(body: Buffer): object {
  if (!body.subarray(0, 4).equals(MAGIC)) throw new Error('missing the k8s protobuf magic prefix');
  const unknown = decode(body.subarray(4));
  const raw = unknown.get(2)?.[0];
  if (!Buffer.isBuffer(raw)) throw new Error('protobuf envelope without raw object');
  const ssar = decode(raw);
  const spec = sub(ssar, 2) ?? new Map();
  const ra = sub(spec, 1);
  const nra = sub(spec, 2);
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: {
      ...(ra
        ? {
            resourceAttributes: {
              namespace: str(ra, 1) ?? '', verb: str(ra, 2) ?? '', group: str(ra, 3) ?? '', version: str(ra, 4) ?? '',
              resource: str(ra, 5) ?? '', subresource: str(ra, 6) ?? '', name: str(ra, 7) ?? '',
            },
          }
        : {}),
      ...(nra ? { nonResourceAttributes: { path: str(nra, 1) ?? '', verb: str(nra, 2) ?? '' } } : {}),
    },
  };
}
