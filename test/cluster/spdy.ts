// pods/portforward as kubectl 1.31+ speaks it: SPDY/3.1 tunnelled through a WebSocket (subprotocol
// "SPDY/3.1+portforward.k8s.io"; the binary messages carry the SPDY byte stream, nothing else). The
// client opens, per local connection, an "error" and a "data" stream whose headers name the port and a
// request id; the kubelet replies to each, dials the pod's port and copies bytes both ways, closing the
// error stream (empty = no error) when the connection is done.
//
// Enough of SPDY/3 for that: SYN_STREAM / SYN_REPLY with zlib-compressed header blocks (one zlib stream
// per direction, primed with the protocol's dictionary), DATA with FIN, RST_STREAM, PING echo; SETTINGS,
// WINDOW_UPDATE and GOAWAY are read and ignored (the Go client, moby/spdystream, keeps no windows).

import * as zlib from 'node:zlib';
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import type { PortForwardFault } from './faults.js';

export const SPDY_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const FLAG_FIN = 0x01;

// The SPDY/3 header dictionary: length-prefixed common header names and values, then common text.
const DICTIONARY_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
  'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive',
  'origin',
];
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

export const SPDY_DICTIONARY = Buffer.concat([
  ...DICTIONARY_WORDS.map((w) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    return Buffer.concat([len, Buffer.from(w, 'latin1')]);
  }),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);

/** One zlib stream per direction; each header block ends at a sync flush. */
class HeaderCodec {
  private readonly out: Buffer[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  private failed?: Error;
  private onFail?: (e: Error) => void;

  constructor(private readonly z: zlib.Deflate | zlib.Inflate) {
    z.on('data', (d: Buffer) => this.out.push(d));
    // a corrupt header block fails the session instead of leaving it waiting
    z.on('error', (e: Error) => {
      this.failed = e;
      this.onFail?.(e);
    });
  }

  run(input: Buffer): Promise<Buffer> {
    const next = this.chain.then(() => new Promise<Buffer>((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      this.onFail = reject;
      this.z.write(input);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => setImmediate(() => {
        const all = Buffer.concat(this.out.splice(0));
        if (this.z.destroyed) reject(new Error('header codec failed'));
        else resolve(all);
      }));
    }));
    this.chain = next.catch(() => undefined);
    return next;
  }
}

function encodeHeaders(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const entries = Object.entries(headers);
  parts.push(u32(entries.length));
  for (const [k, v] of entries) parts.push(u32(Buffer.byteLength(k)), Buffer.from(k), u32(Buffer.byteLength(v)), Buffer.from(v));
  return Buffer.concat(parts);
}

function decodeHeaders(block: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 4;
  const n = block.readUInt32BE(0);
  for (let k = 0; k < n; k++) {
    const nl = block.readUInt32BE(i);
    const name = block.subarray(i + 4, i + 4 + nl).toString('latin1').toLowerCase();
    i += 4 + nl;
    const vl = block.readUInt32BE(i);
    out[name] = block.subarray(i + 4, i + 4 + vl).toString('utf8');
    i += 4 + vl;
  }
  return out;
}

function controlFrame(type: number, flags: number, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | 3, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(data.length, 4);
  head[4] = flags;
  return Buffer.concat([head, data]);
}

function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE(data.length, 4);
  head[4] = flags;
  return Buffer.concat([head, data]);
}

interface Pair {
  port: number;
  error?: number;
  data?: number;
  socket?: Socket;
  /** client bytes that came before the dial finished */
  queued: Buffer[];
  clientDone: boolean;
}

/**
 * Serves one tunnelled SPDY session on `ws`. `connect(port)` dials the pod's port; `describe` names
 * the pod in error messages, as the kubelet does.
 */
export function serveSpdyPortForward(ws: WebSocket, podDescription: string, connect: (port: number) => Promise<Socket>, fault?: PortForwardFault): void {
  const inflate = new HeaderCodec(zlib.createInflate({ dictionary: SPDY_DICTIONARY }));
  const deflate = new HeaderCodec(zlib.createDeflate({ dictionary: SPDY_DICTIONARY, level: 9 }));
  let pending = Buffer.alloc(0);
  // Frames are handled, and sent, strictly in order: a header block must be (de)compressed before
  // the frames after it.
  let inbound: Promise<unknown> = Promise.resolve();
  let outbound: Promise<unknown> = Promise.resolve();
  const pairs = new Map<string, Pair>();
  const byStream = new Map<number, Pair>();
  let sent = 0;
  let closed = false;

  const send = (make: () => Buffer | Promise<Buffer>) => {
    outbound = outbound.then(async () => {
      const frame = await make();
      if (closed || ws.readyState !== ws.OPEN) return;
      if (fault?.dropAfterBytes !== undefined && sent + frame.length > fault.dropAfterBytes) {
        shutdown();
        return;
      }
      sent += frame.length;
      ws.send(frame);
    }).catch(() => shutdown());
  };
  const shutdown = () => {
    if (closed) return;
    closed = true;
    for (const p of pairs.values()) p.socket?.destroy();
    ws.terminate();
  };
  const fin = (streamId: number | undefined, data = Buffer.alloc(0)) => {
    if (streamId !== undefined) send(() => dataFrame(streamId, FLAG_FIN, data));
  };

  const start = (pair: Pair) => {
    connect(pair.port).then(
      (s) => {
        if (closed) {
          s.destroy();
          return;
        }
        pair.socket = s;
        for (const d of pair.queued.splice(0)) s.write(d);
        if (pair.clientDone) s.end();
        s.on('data', (chunk: Buffer) => send(() => dataFrame(pair.data!, 0, chunk)));
        s.on('error', () => undefined);
        s.on('close', () => {
          fin(pair.data);
          fin(pair.error);
        });
      },
      (err: Error) => {
        fin(pair.error, Buffer.from(`error forwarding port ${pair.port} to pod ${podDescription}: ${err.message}`));
        fin(pair.data);
      },
    );
  };

  const onSynStream = async (flags: number, body: Buffer) => {
    const streamId = body.readUInt32BE(0) & 0x7fffffff;
    const headers = decodeHeaders(await inflate.run(body.subarray(10)));
    send(() => deflate.run(encodeHeaders({})).then((block) => {
      const id = Buffer.alloc(4);
      id.writeUInt32BE(streamId);
      return controlFrame(SYN_REPLY, 0, Buffer.concat([id, block]));
    }));
    const key = headers.requestid ?? '';
    const pair = pairs.get(key) ?? { port: Number(headers.port), queued: [], clientDone: false };
    pairs.set(key, pair);
    byStream.set(streamId, pair);
    if (headers.streamtype === 'error') pair.error = streamId;
    else if (headers.streamtype === 'data') {
      pair.data = streamId;
      if (flags & FLAG_FIN) pair.clientDone = true;
      start(pair);
    }
  };

  const onFrame = async (frame: Buffer) => {
    if (frame[0]! & 0x80) {
      const type = frame.readUInt16BE(2);
      const flags = frame[4]!;
      const body = frame.subarray(8);
      if (type === SYN_STREAM) await onSynStream(flags, body);
      else if (type === PING) send(() => frame);
      else if (type === RST_STREAM) byStream.get(body.readUInt32BE(0) & 0x7fffffff)?.socket?.destroy();
      return;
    }
    const streamId = frame.readUInt32BE(0) & 0x7fffffff;
    const flags = frame[4]!;
    const pair = byStream.get(streamId);
    if (!pair || streamId !== pair.data) return;
    const data = frame.subarray(8);
    if (pair.socket) {
      if (data.length) pair.socket.write(data);
      if (flags & FLAG_FIN) pair.socket.end();
    } else {
      if (data.length) pair.queued.push(data);
      if (flags & FLAG_FIN) pair.clientDone = true;
    }
  };

  if (fault && (fault.dropAfterBytes ?? 0) === 0) {
    ws.terminate();
    return;
  }
  ws.on('message', (raw: RawData) => {
    pending = Buffer.concat([pending, Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as Buffer)]);
    while (pending.length >= 8) {
      const len = pending.readUInt32BE(4) & 0xffffff;
      if (pending.length < 8 + len) break;
      const frame = pending.subarray(0, 8 + len);
      pending = pending.subarray(8 + len);
      inbound = inbound.then(() => onFrame(frame)).catch(() => shutdown());
    }
  });
  ws.on('close', () => {
    closed = true;
    for (const p of pairs.values()) p.socket?.destroy();
  });
}
