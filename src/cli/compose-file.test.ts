import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../config.js';
import { buildCli } from './build-cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  volumes?: string[];
  ports?: string[];
  deploy?: { replicas?: number };
  security_opt?: string[];
  stop_grace_period?: string;
}

/** Compose's `${NAME:-default}` and `${NAME}` with nothing set in the shell: the defaults. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::?-([^}]*))?\}/g, (_m, _name: string, fallback?: string) => fallback ?? '');
}

function compose(): Record<string, Service> {
  // Merge keys (`<<: *kodah`) are YAML 1.1, which Compose reads.
  const file = parse(readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
  return file.services;
}

/** The `kodah …` command line checked against the CLI: the command exists and takes each option. */
function cliCommand(argv: string[]): Command {
  expect(argv[0]).toBe('kodah');
  const program = buildCli({});
  const command = program.commands.find((c) => c.name() === argv[1]);
  expect(command, `kodah ${argv[1]} is not a command`).toBeDefined();
  for (const arg of argv.slice(2)) {
    expect(
      command!.options.some((o) => o.long === arg),
      `kodah ${argv[1]} has no option ${arg}`,
    ).toBe(true);
  }
  return command!;
}

describe('compose.yaml: PostgreSQL, the API and N workers', () => {
  const services = compose();
  // A variable without a value comes from the shell when set there; with nothing set, it is left out.
  const env = (s: Service) =>
    Object.fromEntries(
      Object.entries(s.environment ?? {})
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, interpolate(String(v))]),
    );

  it('has a PostgreSQL service with a health check and a volume, the others waiting for it to be healthy', () => {
    const pg = services.postgres!;
    expect(pg.image).toMatch(/^postgres:\d+/);
    expect(pg.healthcheck?.test?.join(' ')).toMatch(/pg_isready -U kodah -d kodah/);
    expect(pg.volumes).toContainEqual(expect.stringMatching(/^[\w-]+:\/var\/lib\/postgresql\/data$/));
    for (const name of ['api', 'worker']) expect(services[name]!.depends_on?.postgres?.condition).toBe('service_healthy');
  });

  it("runs the CLI's real commands, API only and workers only, with a configuration the server accepts", () => {
    const { api, worker, postgres } = services as Record<string, Service>;
    expect(cliCommand(api!.command!).name()).toBe('serve');
    expect(api!.command).toContain('--no-workers');
    expect(cliCommand(worker!.command!).name()).toBe('worker');
    const pgEnv = env(postgres!);
    for (const s of [api!, worker!]) {
      expect(s.build).toBe('.');
      const vars = env(s);
      // Both need DATABASE_URL (the CLI refuses them without it); it must name the postgres service's database.
      const url = new URL(vars.DATABASE_URL!);
      expect([url.hostname, url.username, url.password, url.pathname]).toEqual([
        'postgres',
        pgEnv.POSTGRES_USER,
        pgEnv.POSTGRES_PASSWORD,
        `/${pgEnv.POSTGRES_DB}`,
      ]);
      // Every variable is one Kodah reads, and the values (empty ones included) pass its validation.
      const config = loadConfig(vars);
      expect(config.databaseUrl).toBe(vars.DATABASE_URL);
      expect(config.github).toBeNull();
      expect(config.model).toBeNull();
      expect(s.stop_grace_period).toBe('40s');
    }
  });

  it('gives the API the port on loopback and the data volume, and the workers replicas, their sandbox and no HTTP health check', () => {
    const { api, worker } = services as Record<string, Service>;
    expect(api!.ports).toEqual(['127.0.0.1:3000:3000']);
    expect(api!.volumes).toContainEqual(expect.stringMatching(/:\/data$/));
    expect(worker!.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(worker!.security_opt).toEqual(['seccomp=unconfined', 'apparmor=unconfined', 'systempaths=unconfined']);
    expect(worker!.healthcheck?.disable).toBe(true);
    expect(worker!.ports).toBeUndefined();
  });

  it('builds an image with tini as PID 1, listening on every interface of its container, with kodah on the PATH', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    expect(dockerfile).toMatch(/apt-get install[^\n]*\\\n(?:[^\n]*\\\n)*[^\n]*\btini\b/);
    expect(dockerfile).toMatch(/^ENV [^\n]*\bHOST=0\.0\.0\.0\b/m);
    expect(dockerfile).toMatch(/ln -s \/app\/bin\/kodah\.js \/usr\/local\/bin\/kodah/);
    expect(cliCommand(['kodah', 'start']).name()).toBe('start');
    expect(dockerfile).toMatch(/^CMD \["kodah", "start"\]$/m);
  });
});
