import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** What one exec does: its output (frames of stdout 1 / stderr 2), then its exit code; or it hangs until its container dies. */
export interface FakeExecScript {
  output?: Array<[1 | 2, string | Buffer]>;
  exitCode?: number;
  /** Runs until the container is killed or removed. */
  hang?: boolean;
  /** Exits with `exitCode`, but its output stays open (a process it started in the background holds it). */
  holdOpen?: boolean;
  /** Called when the exec starts (a test may write into the work tree then, as the command would). */
  onStart?: () => void;
}

export interface FakeContainer {
  id: string;
  name: string;
  /** The body of its create request. */
  config: any;
  running: boolean;
  killed: boolean;
  oomKilled: boolean;
  created: number;
  /** The commands of its execs (bash -c's argument), in order. */
  commands: string[];
}

export interface FakeDockerRequest {
  method: string;
  /** Without the API version prefix, with the query. */
  path: string;
  body: any;
}

export interface FakeDocker {
  /** The unix socket the fake listens on. */
  socketPath: string;
  /** Every API call, in order. */
  requests: FakeDockerRequest[];
  /** Containers made and not removed. */
  containers: Map<string, FakeContainer>;
  /** Ids of removed containers. */
  removed: string[];
  /** Images the engine has. */
  images: Set<string>;
  /** Answer exec starts with a 101 upgrade (as Docker does when asked), or with a 200 and the stream as its body. */
  upgrade: boolean;
  /** How each exec behaves, from its command; default: no output, exit code 0. */
  onExec(handler: (command: string, container: FakeContainer) => FakeExecScript): void;
  /** Stops a container as if its main process had died. */
  stop(id: string): void;
  /** Adds a container made by someone else (a dead worker), for prune tests. */
  addContainer(name: string, labels: Record<string, string>, createdSecondsAgo?: number): FakeContainer;
  close(): Promise<void>;
}

interface FakeExec {
  id: string;
  container: FakeContainer;
  command: string;
  running: boolean;
  exitCode: number | null;
  /** Ends the hijacked stream (the process died with its container). */
  end?: () => void;
}

function frame(stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The few endpoints of the Docker Engine API that the container driver calls, over HTTP on a
 * unix socket in a temporary folder; exec starts are hijacked and stream multiplexed frames,
 * each split in two writes so that the client has to put them together again.
 */
export async function startFakeDocker(): Promise<FakeDocker> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kodah-fake-docker-'));
  const socketPath = path.join(dir, 'docker.sock');
  const requests: FakeDockerRequest[] = [];
  const containers = new Map<string, FakeContainer>();
  const removed: string[] = [];
  const execs = new Map<string, FakeExec>();
  const images = new Set<string>();
  let handler: (command: string, container: FakeContainer) => FakeExecScript = () => ({});
  let ids = 0;
  const newId = () => (++ids).toString(16).padStart(64, '0');

  const send = (res: ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) res.writeHead(status).end();
    else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const die = (container: FakeContainer) => {
    container.running = false;
    for (const exec of execs.values()) {
      if (exec.container === container && exec.running) {
        exec.running = false;
        exec.exitCode = 137;
        exec.end?.();
      }
    }
  };

  /** Runs an exec's script, writing frames with `write`; `end` when it is over. */
  const runExec = async (exec: FakeExec, write: (b: Buffer) => void, end: () => void) => {
    exec.running = true;
    exec.end = end;
    const script = handler(exec.command, exec.container);
    script.onStart?.();
    for (const [stream, text] of script.output ?? []) {
      const bytes = frame(stream, Buffer.from(text));
      const cut = Math.min(5, bytes.length);
      write(bytes.subarray(0, cut));
      await wait(2);
      write(bytes.subarray(cut));
      await wait(2);
      if (!exec.running) return;
    }
    if (script.hang) return;
    exec.exitCode = script.exitCode ?? 0;
    exec.running = false;
    if (!script.holdOpen) end();
  };

  const fake: FakeDocker = {
    socketPath,
    requests,
    containers,
    removed,
    images,
    upgrade: true,
    onExec: (h) => void (handler = h),
    stop: (id) => die(containers.get(id)!),
    addContainer(name, labels, createdSecondsAgo = 0) {
      const container: FakeContainer = {
        id: newId(),
        name,
        config: { Labels: labels },
        running: true,
        killed: false,
        oomKilled: false,
        created: Math.floor(Date.now() / 1000) - createdSecondsAgo,
        commands: [],
      };
      containers.set(container.id, container);
      return container;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        for (const exec of execs.values()) exec.end?.();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    const route = url.pathname.replace(/^\/v\d+\.\d+/, '');
    const body = raw ? JSON.parse(raw) : null;
    requests.push({ method: req.method ?? '', path: route + url.search, body });
    const find = (id: string) => containers.get(id) ?? [...containers.values()].find((c) => c.name === id);
    let m: RegExpExecArray | null;

    if (req.method === 'GET' && route === '/_ping') return res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    if (req.method === 'GET' && route === '/info') return send(res, 200, { NCPU: 4 });
    if (req.method === 'GET' && (m = /^\/images\/(.+)\/json$/.exec(route))) {
      return images.has(m[1]!) ? send(res, 200, { Id: `sha256:${m[1]}` }) : send(res, 404, { message: `No such image: ${m[1]}` });
    }
    if (req.method === 'POST' && route === '/containers/create') {
      if (!images.has(body.Image)) return send(res, 404, { message: `No such image: ${body.Image}` });
      const name = url.searchParams.get('name') ?? newId();
      if (find(name)) return send(res, 409, { message: `Conflict. The container name "/${name}" is already in use` });
      const container = fake.addContainer(name, body.Labels ?? {});
      container.config = body;
      container.running = false;
      return send(res, 201, { Id: container.id, Warnings: [] });
    }
    if (req.method === 'GET' && route === '/containers/json') {
      const label = JSON.parse(url.searchParams.get('filters') ?? '{}').label?.[0];
      const list = [...containers.values()].filter((c) => label === undefined || c.config.Labels?.[label] !== undefined);
      return send(
        res,
        200,
        list.map((c) => ({ Id: c.id, Names: [`/${c.name}`], Labels: c.config.Labels ?? {}, Created: c.created })),
      );
    }
    if ((m = /^\/containers\/([^/]+)(\/[a-z]+)?$/.exec(route))) {
      const container = find(m[1]!);
      if (!container) return send(res, 404, { message: `No such container: ${m[1]}` });
      const action = `${req.method} ${m[2] ?? ''}`;
      if (action === 'POST /start') {
        container.running = true;
        return send(res, 204);
      }
      if (action === 'GET /json')
        return send(res, 200, { Id: container.id, State: { Running: container.running, OOMKilled: container.oomKilled } });
      if (action === 'POST /kill') {
        if (!container.running) return send(res, 409, { message: `Container ${container.id} is not running` });
        container.killed = true;
        die(container);
        return send(res, 204);
      }
      if (action === 'DELETE ') {
        if (container.running && url.searchParams.get('force') !== 'true') return send(res, 409, { message: 'stop the container first' });
        die(container);
        containers.delete(container.id);
        removed.push(container.id);
        return send(res, 204);
      }
      if (action === 'POST /exec') {
        if (!container.running) return send(res, 409, { message: `Container ${container.id} is not running` });
        const command = String(body.Cmd?.[2] ?? '');
        container.commands.push(command);
        const exec: FakeExec = { id: newId(), container, command, running: false, exitCode: null };
        execs.set(exec.id, exec);
        return send(res, 201, { Id: exec.id });
      }
    }
    if ((m = /^\/exec\/([^/]+)\/(start|json)$/.exec(route))) {
      const exec = execs.get(m[1]!);
      if (!exec) return send(res, 404, { message: `No such exec instance: ${m[1]}` });
      if (m[2] === 'json') return send(res, 200, { ID: exec.id, Running: exec.running, ExitCode: exec.exitCode });
      // A start without an upgrade: a 200 whose body is the stream.
      res.writeHead(200, { 'content-type': 'application/vnd.docker.multiplexed-stream' });
      void runExec(
        exec,
        (b) => res.write(b),
        () => res.end(),
      );
      return;
    }
    send(res, 404, { message: `fake-docker: ${req.method} ${route} is not faked` });
  };

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => handle(req, res, raw));
  });
  // Exec starts ask for an upgrade, as the docker CLI does: answer 101 and stream on the socket.
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://docker');
    const route = url.pathname.replace(/^\/v\d+\.\d+/, '');
    requests.push({ method: req.method ?? '', path: route, body: null });
    const exec = execs.get(/^\/exec\/([^/]+)\/start$/.exec(route)?.[1] ?? '');
    if (!exec) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n{"message":"no such exec"}');
      return;
    }
    // Without `upgrade`, an engine that ignores the request for one: a 200 whose body runs until the connection closes.
    socket.write(
      fake.upgrade
        ? 'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'
        : 'HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n',
    );
    void runExec(
      exec,
      (b) => socket.write(b),
      () => socket.end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return fake;
}
