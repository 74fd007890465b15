// The WebSocket side of pods/exec and pods/portforward, framed as the kubelet does it: binary messages
// whose first byte is the channel. exec: 0 stdin, 1 stdout, 2 stderr, 3 status (a metav1.Status JSON),
// 4 resize, and with v5.channel.k8s.io 255 = "close this stream" (`[255, 0]` ends stdin).
// portforward (v4.channel.k8s.io): per requested port a data channel 2i and an error channel 2i+1, the
// first frame on each carrying the port as 2 bytes little endian.
//
// kubectl <= 1.30 speaks SPDY for exec, which this simulator does not implement (the API server answers
// such requests with a 400 Status); kubectl 1.31+ and @kubernetes/client-node use these WebSockets.

import type { WebSocket, RawData } from 'ws';
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { ExecFault, PortForwardFault } from './faults.js';

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
export const PORTFORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'portforward.k8s.io'];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;
const HIGH_WATER = 4 * 1024 * 1024;

function frame(channel: number, data?: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + (data?.length ?? 0));
  out[0] = channel;
  data?.copy(out, 1);
  return out;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data as ArrayBuffer);
}

export function exitStatus(argv: string[], code: number): object {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

export function startFailureStatus(command: string): object {
  const message =
    `Internal error occurred: error executing command in container: failed to exec in container: failed to start exec: ` +
    `OCI runtime exec failed: exec failed: unable to start container process: exec: "${command}": executable file not found in $PATH: unknown`;
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 };
}

export interface ExecStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Runs `spawnChild()` and bridges its stdio to the WebSocket; sends the exit status on channel 3. */
export function bridgeExec(
  ws: WebSocket,
  argv: string[],
  streams: ExecStreams,
  spawnChild: () => ChildProcess,
  fault?: ExecFault,
): void {
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  // The kubelet announces the connection with an empty frame on the lowest writable channel.
  ws.send(frame(streams.stdout ? STDOUT : streams.stderr ? STDERR : STATUS));
  if (fault && (fault.dropAfterBytes ?? 0) === 0 && fault.dropAfterStdinBytes === undefined) {
    ws.terminate();
    return;
  }
  const child = spawnChild();
  let sentBytes = 0;
  let stdinBytes = 0;
  let dropped = false;
  const drop = () => {
    dropped = true;
    child.kill('SIGKILL');
    ws.terminate();
  };
  const paused = new Set<NodeJS.ReadableStream>();
  const forward = (channel: number, stream: NodeJS.ReadableStream | null, wanted: boolean) => {
    stream?.on('data', (chunk: Buffer) => {
      if (dropped || !wanted || ws.readyState !== ws.OPEN) return;
      let data = chunk;
      if (fault?.dropAfterBytes !== undefined && sentBytes + data.length >= fault.dropAfterBytes) {
        data = data.subarray(0, fault.dropAfterBytes - sentBytes);
        if (data.length > 0) ws.send(frame(channel, data));
        drop();
        return;
      }
      sentBytes += data.length;
      ws.send(frame(channel, data), () => {
        if (paused.has(stream) && ws.bufferedAmount < HIGH_WATER / 4) {
          paused.delete(stream);
          stream.resume();
        }
      });
      if (ws.bufferedAmount > HIGH_WATER) {
        paused.add(stream);
        stream.pause();
      }
    });
  };
  // With a TTY there is no separate stderr stream.
  forward(STDOUT, child.stdout, streams.stdout);
  forward(streams.tty ? STDOUT : STDERR, child.stderr, streams.tty ? streams.stdout : streams.stderr);

  ws.on('message', (raw: RawData) => {
    const msg = toBuffer(raw);
    if (msg.length === 0 || dropped) return;
    const channel = msg[0];
    if (channel === STDIN && child.stdin) {
      const data = msg.subarray(1);
      stdinBytes += data.length;
      if (fault?.dropAfterStdinBytes !== undefined && stdinBytes >= fault.dropAfterStdinBytes) {
        drop();
        return;
      }
      if (!child.stdin.write(data)) {
        ws.pause();
        child.stdin.once('drain', () => ws.resume());
      }
    } else if (v5 && channel === CLOSE && msg[1] === STDIN) {
      child.stdin?.end();
    }
  });
  child.stdin?.on('error', () => undefined);
  // A client that goes away ends stdin; the command runs to its end, as in a real container.
  ws.on('close', () => child.stdin?.end());
  child.on('error', (err) => {
    if (ws.readyState === ws.OPEN) {
      ws.send(frame(STATUS, Buffer.from(JSON.stringify(startFailureStatus(`${argv[0]}: ${err.message}`)))));
      ws.close(1000);
    }
  });
  child.on('close', (code, signal) => {
    if (dropped || ws.readyState !== ws.OPEN) return;
    const exit = code ?? (signal ? 128 + (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 } as Record<string, number>)[signal] ?? 1) : 1);
    ws.send(frame(STATUS, Buffer.from(JSON.stringify(exitStatus(argv, exit)))));
    ws.close(1000);
  });
}

/** Sends a status on channel 3 and closes: for commands that cannot start. */
export function failExec(ws: WebSocket, status: object): void {
  ws.send(frame(STATUS, Buffer.from(JSON.stringify(status))));
  ws.close(1000);
}

/** Bridges one forwarded port (channels 0 and 1) to a TCP connection made by `connect`. */
export function bridgePortForward(
  ws: WebSocket,
  port: number,
  podDescription: string,
  connect: () => Promise<Socket>,
  fault?: PortForwardFault,
): void {
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16LE(port);
  ws.send(frame(0, portBytes));
  ws.send(frame(1, portBytes));
  if (fault && (fault.dropAfterBytes ?? 0) === 0) {
    ws.terminate();
    return;
  }
  const queued: Buffer[] = [];
  let socket: Socket | undefined;
  let sent = 0;
  ws.on('message', (raw: RawData) => {
    const msg = toBuffer(raw);
    if (msg.length === 0 || msg[0] !== 0) return;
    const data = msg.subarray(1);
    if (socket) socket.write(data);
    else queued.push(data);
  });
  ws.on('close', () => socket?.end());
  connect().then(
    (s) => {
      socket = s;
      if (ws.readyState !== ws.OPEN) {
        s.destroy();
        return;
      }
      for (const d of queued.splice(0)) s.write(d);
      s.on('data', (chunk: Buffer) => {
        if (ws.readyState !== ws.OPEN) return;
        if (fault?.dropAfterBytes !== undefined && sent + chunk.length >= fault.dropAfterBytes) {
          ws.terminate();
          s.destroy();
          return;
        }
        sent += chunk.length;
        ws.send(frame(0, chunk));
      });
      s.on('error', () => ws.close(1000));
      s.on('close', () => {
        if (ws.readyState === ws.OPEN) ws.close(1000);
      });
    },
    (err: Error) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(frame(1, Buffer.from(`error forwarding port ${port} to pod ${podDescription}: ${err.message}`)));
      ws.close(1000);
    },
  );
}
