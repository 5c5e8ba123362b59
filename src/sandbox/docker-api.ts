import { randomBytes } from 'node:crypto';
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';

/**
 * A small client of the Docker Engine API, which Podman's compatible API answers too: JSON
 * requests, and the hijacked stream of an exec. Spoken with node:http over a unix socket or TCP.
 */

/** The API version asked for: Docker 20.10 and later, and Podman's compatible API, answer it. */
export const DOCKER_API_VERSION = 'v1.41';

/** Docker's socket; Podman's is /run/podman/podman.sock (rootless: $XDG_RUNTIME_DIR/podman/podman.sock). */
export const DEFAULT_DOCKER_HOST = '/var/run/docker.sock';

/** Where the engine listens, as node:http needs it. */
export type DockerEndpoint = { socketPath: string } | { host: string; port: number };

/**
 * `/var/run/docker.sock`, `unix:///run/podman/podman.sock`, `tcp://10.0.0.5:2375` or
 * `http://10.0.0.5:2375` as an endpoint. TLS (`https://`, DOCKER_TLS_VERIFY) is not spoken.
 */
export function parseDockerHost(address: string): DockerEndpoint {
  const text = address.trim();
  if (text.startsWith('/')) return { socketPath: text };
  if (text.startsWith('unix://')) {
    const socketPath = text.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new Error(`container engine address ${address}: a unix socket needs an absolute path`);
    return { socketPath };
  }
  const match = /^(?:tcp|http):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(text);
  if (match) return { host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
  throw new Error(
    `container engine address ${JSON.stringify(address)}: expected a unix socket path (/var/run/docker.sock, unix:///run/podman/podman.sock) or tcp://host:port`,
  );
}

function describeEndpoint(endpoint: DockerEndpoint): string {
  return 'socketPath' in endpoint ? endpoint.socketPath : `tcp://${endpoint.host}:${endpoint.port}`;
}

/** A request the engine refused (`status` and its `message`), or could not be sent (`status` null). */
export class ContainerEngineError extends Error {
  readonly status: number | null;
  /** The `message` field of the engine's answer. */
  readonly daemonMessage: string | null;

  constructor(message: string, status: number | null, daemonMessage: string | null, cause?: unknown) {
    super(message, { cause });
    this.name = 'ContainerEngineError';
    this.status = status;
    this.daemonMessage = daemonMessage;
  }
}

export interface DockerResponse {
  status: number;
  body: unknown;
}

export interface DockerClientOptions {
  /** Longest wait for the answer of one API call (not for an exec's stream). */
  timeoutMs?: number;
}

/** Reads a whole answer; JSON when it parses, else text. */
async function readBody(res: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The engine's explanation in an error answer: Docker's and Podman's `message`, or the text. */
export function daemonMessage(body: unknown): string | null {
  if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string') return body.message;
  if (typeof body === 'string' && body.trim() !== '') return body.trim().slice(0, 500);
  return null;
}

export class DockerClient {
  readonly endpoint: DockerEndpoint;
  private readonly timeoutMs: number;

  constructor(address: string, options: DockerClientOptions = {}) {
    this.endpoint = parseDockerHost(address);
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** Where the engine is, for messages. */
  get address(): string {
    return describeEndpoint(this.endpoint);
  }

  private options(method: string, path: string, headers: Record<string, string | number>): RequestOptions {
    // agent: false: one connection a call, so that no hijacked or broken socket is reused.
    return { ...this.endpoint, method, path: `/${DOCKER_API_VERSION}${path}`, headers, agent: false };
  }

  private unreachable(method: string, path: string, err: unknown): ContainerEngineError {
    const why = err instanceof Error ? err.message : String(err);
    return new ContainerEngineError(
      `Cannot reach the container engine at ${this.address} (${method} ${path}: ${why}): is Docker or Podman running, and may this user open its socket?`,
      null,
      null,
      err,
    );
  }

  /** One API call; any status comes back (the caller decides what a 404 means). */
  call(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<DockerResponse> {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = payload
      ? { 'content-type': 'application/json', 'content-length': payload.length }
      : {};
    return new Promise<DockerResponse>((resolve, reject) => {
      const req = request(this.options(method, path, headers), (res) => {
        readBody(res).then((parsed) => resolve({ status: res.statusCode ?? 0, body: parsed }), reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
      req.on('error', (err) => reject(this.unreachable(method, path, err)));
      req.end(payload ?? undefined);
    });
  }

  /** One API call that must succeed (2xx); its JSON answer. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call(method, path, body);
    if (res.status >= 200 && res.status < 300) return res.body as T;
    throw this.refused(method, path, res);
  }

  refused(method: string, path: string, res: DockerResponse, what = `${method} ${path}`): ContainerEngineError {
    const said = daemonMessage(res.body);
    return new ContainerEngineError(`The container engine refused ${what}: ${res.status} ${said ?? '(no message)'}`, res.status, said);
  }

  /**
   * Starts an exec and hands back its output stream, hijacked as the docker CLI does it (an
   * `Upgrade: tcp` request answered by 101); an engine that answers 200 and streams the body
   * works too. Destroying the stream drops the connection; the process runs on regardless.
   */
  hijack(path: string, body: unknown): Promise<Readable> {
    const payload = Buffer.from(JSON.stringify(body));
    const headers = { 'content-type': 'application/json', 'content-length': payload.length, connection: 'Upgrade', upgrade: 'tcp' };
    return new Promise<Readable>((resolve, reject) => {
      const req = request(this.options('POST', path, headers));
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer in ${this.timeoutMs} ms`)));
      req.on('upgrade', (_res, socket, head) => {
        req.setTimeout(0);
        socket.setTimeout(0);
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        req.setTimeout(0);
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(res);
          return;
        }
        readBody(res).then((parsed) => reject(this.refused('POST', path, { status, body: parsed })), reject);
      });
      req.on('error', (err) => reject(this.unreachable('POST', path, err)));
      req.end(payload);
    });
  }
}

/** Stream numbers of the multiplexed format. */
export const STDOUT = 1;
export const STDERR = 2;

/**
 * A parser of the engine's multiplexed stream (a non-TTY exec's output): frames of an 8-byte
 * header — stream (0 stdin, 1 stdout, 2 stderr, 3 engine error), three zero bytes, the payload's
 * size as a big-endian uint32 — then the payload. Chunks may split frames anywhere. Should the
 * first bytes not look like a header (an engine streaming raw), everything passes as stdout.
 */
export function demultiplexer(onFrame: (stream: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  let raw: boolean | null = null;
  return (chunk) => {
    if (raw) {
      onFrame(STDOUT, chunk);
      return;
    }
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (raw === null && pending.length > 0) {
      const looksMultiplexed = pending[0]! <= 3 && pending.subarray(1, Math.min(4, pending.length)).every((b) => b === 0);
      if (!looksMultiplexed) {
        raw = true;
        onFrame(STDOUT, pending);
        pending = Buffer.alloc(0);
        return;
      }
      if (pending.length >= 4) raw = false;
    }
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const stream = pending[0]!;
      if (size > 0) onFrame(stream, pending.subarray(8, 8 + size));
      pending = pending.subarray(8 + size);
    }
  };
}

/** The label every sandbox container carries, so that leftovers can be found. */
export const SANDBOX_LABEL = 'io.kodah.sandbox';
const HOST_LABEL = 'io.kodah.sandbox.host';
const PID_LABEL = 'io.kodah.sandbox.pid';
const INSTANCE_LABEL = 'io.kodah.sandbox.instance';

/** Which process made a container: leftovers of a dead one may be pruned by a live one. */
export interface ContainerOwner {
  host: string;
  pid: number;
  instance: string;
}

let ownInstance: string | null = null;
function currentOwner(): ContainerOwner {
  ownInstance ??= randomBytes(8).toString('hex');
  return { host: hostname(), pid: process.pid, instance: ownInstance };
}

/** The labels of a sandbox container: what it is, and which process made it. */
export function sandboxLabels(owner: ContainerOwner = currentOwner()): Record<string, string> {
  return { [SANDBOX_LABEL]: '1', [HOST_LABEL]: owner.host, [PID_LABEL]: String(owner.pid), [INSTANCE_LABEL]: owner.instance };
}

/** Whether an engine answers at `host` (GET /_ping): for choosing a driver at start-up. */
export async function probeContainerEngine(host: string = DEFAULT_DOCKER_HOST): Promise<boolean> {
  const api = new DockerClient(host, { timeoutMs: 3000 });
  const res = await api.call('GET', '/_ping').catch(() => null);
  return res?.status === 200;
}

export interface PruneOptions {
  /** Also remove sandbox containers of other hosts or live processes once older than this. */
  olderThanMs?: number;
}

/**
 * Removes the sandbox containers a dead worker left (made on this host by a process that is
 * gone, or by an earlier life of this one); with `olderThanMs`, any sandbox container that old.
 * The names removed.
 */
export async function pruneContainers(host: string = DEFAULT_DOCKER_HOST, options: PruneOptions = {}): Promise<string[]> {
  const api = new DockerClient(host);
  const filters = encodeURIComponent(JSON.stringify({ label: [SANDBOX_LABEL] }));
  const list = await api.json<Array<{ Id: string; Names?: string[]; Labels?: Record<string, string>; Created?: number }>>(
    'GET',
    `/containers/json?all=true&filters=${filters}`,
  );
  const me = currentOwner();
  const removed: string[] = [];
  for (const container of list) {
    const labels = container.Labels ?? {};
    if (labels[SANDBOX_LABEL] === undefined) continue;
    const pid = Number(labels[PID_LABEL]);
    const mine = labels[HOST_LABEL] === me.host;
    const deadOwner = mine && (pid === me.pid ? labels[INSTANCE_LABEL] !== me.instance : !processAlive(pid));
    const ageMs = Date.now() - (container.Created ?? Infinity) * 1000;
    if (!deadOwner && !(options.olderThanMs !== undefined && ageMs > options.olderThanMs)) continue;
    const res = await api.call('DELETE', `/containers/${container.Id}?force=true&v=true`);
    if (res.status >= 300 && res.status !== 404 && res.status !== 409) throw api.refused('DELETE', `/containers/${container.Id}`, res);
    removed.push(container.Names?.[0]?.replace(/^\//, '') ?? container.Id);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, only someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
