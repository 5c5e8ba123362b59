import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseUsd } from './lib/money.js';

const flag = z.enum(['0', '1', 'true', 'false', 'yes', 'no', '']).transform((v) => v === '1' || v === 'true' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The non-empty items of a comma-separated value, trimmed. */
const commaSeparated = (v: string) =>
  v
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

const hostList = z
  .string()
  .transform((v) => commaSeparated(v).map((h) => h.toLowerCase()))
  .pipe(z.array(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, 'a host name such as github.com')).min(1));

/** `host=token,host2=token2`: credentials for private repositories on hosts other than GitHub. */
const tokenMap = z.string().transform((v, ctx) => {
  const out: Record<string, string> = {};
  for (const pair of commaSeparated(v)) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) {
      ctx.addIssue({ code: 'custom', message: 'expected host=token pairs separated by commas' });
      return z.NEVER;
    }
    out[pair.slice(0, eq).toLowerCase()] = pair.slice(eq + 1);
  }
  return out;
});

const httpUrl = z
  .string()
  .refine((v) => /^https?:\/\/[^/]/.test(v) && URL.canParse(v), 'an http(s) URL')
  .transform((v) => v.replace(/\/+$/, ''));

const usdCents = z.string().transform((v, ctx) => {
  try {
    const cents = parseUsd(v);
    if (cents > 0) return cents;
  } catch {
    // fall through to the issue below
  }
  ctx.addIssue({ code: 'custom', message: 'a positive amount in US dollars such as 0.50' });
  return z.NEVER;
});

/** A price in US dollars per million tokens; empty means unset. */
const usdPerMTok = z.string().transform((v, ctx) => {
  if (v.trim() === '') return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return n;
  ctx.addIssue({ code: 'custom', message: 'a price in US dollars per million tokens such as 0.15' });
  return z.NEVER;
});

/** A comma-separated list of container image names (may be empty). */
function imageList() {
  return z
    .string()
    .transform(commaSeparated)
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, 'image names such as python:3.12-slim')))
    .default([]);
}

/** An optional http(s) URL; empty counts as unset, and a bad value is named as such (a union's error would not say). */
const optionalHttpUrl = z
  .string()
  .transform((v) => (v === '' ? undefined : v))
  .pipe(httpUrl.optional())
  .optional();

/** Optional, and an empty value (`VAR=` in a .env file or compose) counts as unset. */
const unsetWhenEmpty = <T extends z.ZodType>(schema: T) => schema.optional().or(z.literal('').transform(() => undefined));

/** Every environment variable Kodah reads, with its default. Nothing else reads process.env. */
const schema = z
  .object({
    PORT: int(0, 65535).default(3000),
    // Loopback unless asked: plain HTTP belongs behind a TLS proxy, not on every interface (the image sets 0.0.0.0).
    HOST: z.string().min(1).default('127.0.0.1'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATABASE_URL: unsetWhenEmpty(z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// connection URL')),
    DATABASE_POOL_MAX: int(1, 200).default(10),
    KODAH_DATA_DIR: z.string().min(1).default('./.kodah'),
    KODAH_FIX_PRICE_USD: usdCents.default(50),
    KODAH_FREE_FIXES_PER_MONTH: int(0, 10_000).default(10),
    KODAH_CHARGE_UNFIXED: flag.default(false),
    KODAH_GIT_HOSTS: hostList.default(['github.com']),
    KODAH_ALLOW_LOCAL_GIT: flag.default(false),
    KODAH_GIT_TOKENS: tokenMap.default({}),
    KODAH_REPO_CHECK_TIMEOUT_MS: int(500, 120_000).default(10_000),
    KODAH_REPO_CACHE_TTL_S: int(0, 3600).default(60),
    KODAH_MAX_RUNNING_JOBS_PER_ACCOUNT: int(1, 10_000).default(1),
    KODAH_MAX_QUEUED_JOBS: int(1, 1_000_000).default(100),
    KODAH_RETRY_AFTER_S: int(1, 3600).default(30),
    KODAH_CALLBACK_TIMEOUT_S: int(1, 60).default(10),
    KODAH_CALLBACK_RETRIES: int(0, 20).default(6),
    KODAH_CALLBACK_RETRY_DELAY_S: int(1, 600).default(10),
    KODAH_WORKER_CONCURRENCY: int(1, 256).default(2),
    KODAH_JOB_TIMEOUT_S: int(10, 86_400).default(1800),
    KODAH_JOB_RETRIES: int(0, 20).default(2),
    KODAH_JOB_HEARTBEAT_S: int(10, 3600).default(30),
    KODAH_SUPERVISE_INTERVAL_S: int(1, 600).default(15),
    KODAH_SHUTDOWN_GRACE_S: int(0, 3600).default(30),
    KODAH_INDEX_MAX_REPO_MB: int(1, 1_000_000).default(4096),
    KODAH_INDEX_MAX_FILES: int(1, 10_000_000).default(250_000),
    KODAH_INDEX_MAX_FILE_KB: int(1, 100_000).default(1024),
    KODAH_INDEX_TIMEOUT_S: int(10, 86_400).default(3600),
    KODAH_INDEX_THREADS: int(0, 64).default(0),
    KODAH_INDEX_SYNC_INTERVAL_S: int(0, 30 * 86_400).default(1800),
    KODAH_INDEX_MAX_REPOSITORIES: int(1, 1_000_000).default(100),
    KODAH_SEARCH_MEMORY_MB: int(1, 1_000_000).default(1024),
    KODAH_EMBEDDINGS_BASE_URL: unsetWhenEmpty(z.string().url()),
    KODAH_EMBEDDINGS_API_KEY: z.string().default(''),
    KODAH_EMBEDDINGS_MODEL: z.string().min(1).default('text-embedding-3-small'),
    // Snippet summaries: their own OpenAI-compatible endpoint, or the fix model's when unset.
    KODAH_SUMMARY_BASE_URL: unsetWhenEmpty(z.string().url()),
    KODAH_SUMMARY_API_KEY: z.string().regex(/^\S*$/, 'an API key without spaces or line breaks').optional(),
    KODAH_SUMMARY_MODEL: unsetWhenEmpty(z.string().min(1)),
    KODAH_INDEX_SUMMARY_MAX_TOKENS: int(0, 1_000_000_000).default(2_000_000),
    OPENAI_BASE_URL: unsetWhenEmpty(
      z.string().refine((v) => /^https?:\/\/[^/]/.test(v) && URL.canParse(v), 'an http(s) URL such as http://localhost:8000/v1'),
    ),
    // A key read with $(cat file) keeps its newline; fetch would then reject the header and quote it.
    OPENAI_API_KEY: z.string().regex(/^\S*$/, 'an API key without spaces or line breaks').default(''),
    KODAH_MODEL: z.string().min(1).default('gpt-4o-mini'),
    KODAH_MODEL_TIMEOUT_S: int(1, 3600).default(120),
    KODAH_MODEL_MAX_RETRIES: int(0, 10).default(3),
    KODAH_MODEL_CONTEXT_TOKENS: int(4000, 10_000_000).default(128_000),
    KODAH_MODEL_PRICE_INPUT_PER_MTOK_USD: usdPerMTok.optional(),
    KODAH_MODEL_PRICE_OUTPUT_PER_MTOK_USD: usdPerMTok.optional(),
    KODAH_FIX_MAX_ATTEMPTS: int(1, 10).default(3),
    KODAH_FIX_CONTEXT_TOKENS: int(1000, 500_000).default(24_000),
    KODAH_FIX_TEST_TIMEOUT_S: int(1, 3600).default(300),
    KODAH_FIX_MODE: z.enum(['agent', 'single-shot', 'auto']).default('auto'),
    KODAH_FIX_CANDIDATES: int(1, 8).default(1),
    KODAH_FIX_MAX_STEPS: int(1, 500).default(60),
    KODAH_FIX_MAX_TOKENS: int(1000, 100_000_000).default(2_000_000),
    KODAH_FIX_MAX_COST_USD: z.coerce.number().positive().max(1000).default(2),
    KODAH_FIX_TIME_LIMIT_S: int(10, 86_400).optional(),
    KODAH_FIX_COMMAND_TIMEOUT_S: int(1, 3600).default(120),
    KODAH_SANDBOX: z.enum(['auto', 'bubblewrap', 'container', 'none']).default('auto'),
    KODAH_SANDBOX_MEMORY_MB: int(64, 1_000_000).default(2048),
    KODAH_SANDBOX_PROCESSES: int(8, 100_000).default(256),
    KODAH_SANDBOX_DISK_MB: int(16, 10_000_000).default(4096),
    KODAH_SANDBOX_OUTPUT_TAIL_KB: int(1, 1024).default(16),
    KODAH_SANDBOX_MAX_OUTPUT_MB: int(1, 10_000).default(64),
    KODAH_SANDBOX_SETUP_TIMEOUT_S: int(1, 86_400).default(900),
    KODAH_SANDBOX_SETUP_NETWORK: flag.default(false),
    KODAH_SANDBOX_PATHS: z
      .string()
      .transform(commaSeparated)
      .pipe(z.array(z.string().regex(/^\/[^,]*$/, 'absolute paths separated by commas')))
      .default([]),
    KODAH_SANDBOX_CACHE_MB: int(0, 10_000_000).default(4096),
    KODAH_SANDBOX_DOCKER_HOST: z
      .string()
      .regex(/^(unix:\/\/\/|tcp:\/\/|http:\/\/)/, 'unix:///path/to/docker.sock or tcp://host:port')
      .default('unix:///var/run/docker.sock'),
    KODAH_SANDBOX_IMAGE: z.string().min(1).default('kodah-sandbox:latest'),
    KODAH_SANDBOX_IMAGES: imageList(),
    KODAH_SANDBOX_CPUS: z.coerce.number().positive().max(1024).default(2),
    KODAH_SANDBOX_CONTAINER_USER: unsetWhenEmpty(z.string().regex(/^\d+:\d+$/, 'uid:gid in numbers, such as 1000:1000')),
    KODAH_SANDBOX_SELINUX_RELABEL: flag.default(false),
    // The GitHub App, with Probot's variable names; all three of the first group, or none.
    APP_ID: unsetWhenEmpty(z.string().regex(/^\d+$/, 'the numeric App ID from the App settings page')),
    PRIVATE_KEY: unsetWhenEmpty(z.string()),
    PRIVATE_KEY_PATH: unsetWhenEmpty(z.string()),
    WEBHOOK_SECRET: unsetWhenEmpty(z.string()),
    GITHUB_API_URL: httpUrl.default('https://api.github.com'),
    GITHUB_URL: httpUrl.default('https://github.com'),
    KODAH_GITHUB_LABEL: z.string().min(1).max(50).default('kodah-fix'),
    KODAH_GITHUB_INDEX_REPOSITORIES: flag.default(false),
    KODAH_GITHUB_CI_ATTEMPTS: int(0, 10).default(1),
    KODAH_GITHUB_CI_FORKS: flag.default(false),
    KODAH_GITHUB_WRITE_INTERVAL_MS: int(0, 60_000).default(1000),
    // Signing in on the pages with GitHub (the App's OAuth credentials, Probot's names): both, or neither.
    GITHUB_CLIENT_ID: unsetWhenEmpty(z.string().regex(/^[\w.-]+$/, "the App's Client ID from its settings page")),
    GITHUB_CLIENT_SECRET: unsetWhenEmpty(z.string().regex(/^\S+$/, 'a client secret without spaces or line breaks')),
    // Encrypts stored GitHub tokens and signs sign-in states; generated into KODAH_DATA_DIR when unset.
    KODAH_SECRET_KEY: unsetWhenEmpty(
      z
        .string()
        .refine(
          (v) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(v.trim()) && Buffer.from(v.trim(), 'base64').length === 32,
          '32 random bytes in base64: openssl rand -base64 32',
        ),
    ),
    // Buying credits with Stripe Checkout: the key and the webhook secret together, or neither.
    STRIPE_SECRET_KEY: unsetWhenEmpty(z.string().regex(/^(sk|rk)_\S+$/, 'a Stripe secret key such as sk_live_… or rk_live_…')),
    STRIPE_WEBHOOK_SECRET: unsetWhenEmpty(z.string().regex(/^whsec_\S+$/, "the endpoint's signing secret, whsec_…")),
    STRIPE_API_BASE: optionalHttpUrl,
    KODAH_CHECKOUT_MIN_USD: usdCents.default(500),
    KODAH_CHECKOUT_MAX_USD: usdCents.default(50_000),
    KODAH_PUBLIC_URL: optionalHttpUrl,
    // GitHub logins that see the operator page; compared without case, as GitHub compares them.
    KODAH_ADMINS: z
      .string()
      .transform((v) => commaSeparated(v).map((login) => login.toLowerCase()))
      .pipe(z.array(z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,38})$/, 'GitHub logins separated by commas')))
      .default([]),
    KODAH_USER_ACCESS_TTL_S: int(0, 3600).default(60),
  })
  .superRefine((e, ctx) => {
    if ((e.GITHUB_CLIENT_ID === undefined) !== (e.GITHUB_CLIENT_SECRET === undefined)) {
      const missing = e.GITHUB_CLIENT_ID === undefined ? 'GITHUB_CLIENT_ID' : 'GITHUB_CLIENT_SECRET';
      ctx.addIssue({
        code: 'custom',
        path: [missing],
        message: 'signing in with GitHub needs both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (or neither: then it is off)',
      });
    }
    const app = {
      APP_ID: e.APP_ID,
      'PRIVATE_KEY or PRIVATE_KEY_PATH': e.PRIVATE_KEY ?? e.PRIVATE_KEY_PATH,
      WEBHOOK_SECRET: e.WEBHOOK_SECRET,
    };
    const given = Object.entries(app).filter(([, v]) => v !== undefined);
    if (given.length > 0 && given.length < 3) {
      for (const [name, value] of Object.entries(app)) {
        if (value === undefined)
          ctx.addIssue({
            code: 'custom',
            path: [name.split(' ')[0]!],
            message: `the GitHub App needs ${name} too (or unset ${given.map(([n]) => n).join(', ')})`,
          });
      }
    }
    // A fix that may outlive its queue job would be taken from its worker mid-way.
    if (e.KODAH_FIX_TIME_LIMIT_S !== undefined && e.KODAH_FIX_TIME_LIMIT_S > e.KODAH_JOB_TIMEOUT_S - 60) {
      ctx.addIssue({
        code: 'custom',
        path: ['KODAH_FIX_TIME_LIMIT_S'],
        message: `at most KODAH_JOB_TIMEOUT_S minus 60 s (${e.KODAH_JOB_TIMEOUT_S - 60}): checkout and delivery need time too`,
      });
    }
    if ((e.STRIPE_SECRET_KEY === undefined) !== (e.STRIPE_WEBHOOK_SECRET === undefined)) {
      const missing = e.STRIPE_SECRET_KEY === undefined ? 'STRIPE_SECRET_KEY' : 'STRIPE_WEBHOOK_SECRET';
      ctx.addIssue({
        code: 'custom',
        path: [missing],
        message: 'purchases need both STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET (or neither: then they are off)',
      });
    }
    if (e.KODAH_CHECKOUT_MIN_USD > e.KODAH_CHECKOUT_MAX_USD) {
      ctx.addIssue({ code: 'custom', path: ['KODAH_CHECKOUT_MIN_USD'], message: 'at most KODAH_CHECKOUT_MAX_USD' });
    }
    // Half a price would silently under-count every job's cost.
    if ((e.KODAH_MODEL_PRICE_INPUT_PER_MTOK_USD === undefined) !== (e.KODAH_MODEL_PRICE_OUTPUT_PER_MTOK_USD === undefined)) {
      const missing = e.KODAH_MODEL_PRICE_INPUT_PER_MTOK_USD === undefined ? 'INPUT' : 'OUTPUT';
      ctx.addIssue({
        code: 'custom',
        path: [`KODAH_MODEL_PRICE_${missing}_PER_MTOK_USD`],
        message: 'set both model prices (input and output) or neither',
      });
    }
  });

export interface Config {
  port: number;
  host: string;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  /** PostgreSQL when set; otherwise the embedded PGlite database under dataDir. */
  databaseUrl: string | undefined;
  databasePoolMax: number;
  dataDir: string;
  /** chargeUnfixed: a job that ends without a fix keeps its debit (by default it is refunded). */
  billing: { fixPriceCents: number; freeFixesPerMonth: number; chargeUnfixed: boolean };
  git: {
    allowedHosts: readonly string[];
    allowLocal: boolean;
    tokens: Readonly<Record<string, string>>;
    checkTimeoutMs: number;
    cacheTtlS: number;
  };
  limits: { maxRunningJobsPerAccount: number; maxQueuedJobs: number; retryAfterS: number };
  /** Jobs' callbacks: each attempt's time limit, and the retries (with doubling delays) after a network error, 5xx or 429. */
  callbacks: { timeoutMs: number; retries: number; retryDelayS: number };
  index: {
    /** Bare mirrors, one per remote, shared by indexing and fixing. */
    mirrorDir: string;
    maxRepoBytes: number;
    maxFiles: number;
    /** Larger files are listed but neither stored nor cut into snippets. */
    maxFileBytes: number;
    timeoutS: number;
    /** Threads that cut snippets; 0 means one per core. */
    threads: number;
    /** Every repository's remote is checked this often and indexed again when it moved; 0: never. */
    syncIntervalS: number;
    /** Repositories one account may have in the index. */
    maxRepositories: number;
    /** The search segments one process holds between searches, least recently used evicted past it. */
    searchMemoryBytes: number;
  };
  /** Vector search beside BM25, when an OpenAI-compatible embeddings endpoint is configured. */
  embeddings: { baseUrl: string; apiKey: string; model: string } | null;
  /** The chat model that writes a summary of each snippet while indexing; null when off (summaryModel). */
  summaries: { baseUrl: string; apiKey: string; model: string; timeoutMs: number; maxRetries: number; maxTokensPerRun: number } | null;
  /** The chat model that writes fixes: any OpenAI-compatible endpoint; null when none is configured. */
  model: {
    baseUrl: string;
    apiKey: string;
    name: string;
    /** Per attempt; the client retries `maxRetries` times on timeouts, 429 and 5xx. */
    timeoutMs: number;
    maxRetries: number;
    /** The conversation the model takes, in tokens: the agent drops old tool answers before it is full. */
    contextTokens: number;
    /** Null when unknown: costs then count as 0. */
    pricing: { inputPerMTokUsd: number; outputPerMTokUsd: number } | null;
  } | null;
  fix: {
    /** Model answers per job before it fails with what was tried. */
    maxAttempts: number;
    /** The code shown to the model, in (estimated) tokens. */
    contextTokens: number;
    testTimeoutS: number;
    /** `auto`: the agent when the model takes tools (asked once per model), else single-shot. */
    mode: 'agent' | 'single-shot' | 'auto';
    /** Independent agent runs per job; the one passing the most tests wins. */
    candidates: number;
    /** The agent's budgets per candidate; a repository's `.github/kodah.yml` may only lower them. */
    budget: { steps: number; tokens: number; costUsd: number; timeS: number; commandTimeoutS: number };
    /** Work trees of running jobs, one per attempt. */
    worktreeDir: string;
  };
  /** Where repository and model code runs: see src/sandbox/. */
  sandbox: {
    /** `auto`: bubblewrap when it works here, else nothing runs. */
    driver: 'auto' | 'bubblewrap' | 'container' | 'none';
    /** Per command; a repository's `.github/kodah.yml` may only lower them. The wall time of tests is fix.testTimeoutS. */
    memoryBytes: number;
    processes: number;
    diskBytes: number;
    outputTailBytes: number;
    maxOutputBytes: number;
    setupTimeoutS: number;
    /** Network for a repository's `setup` commands (never for tests or the model's commands). */
    setupNetwork: boolean;
    /** Further host paths visible read-only inside. */
    extraPaths: readonly string[];
    /** Each open sandbox's HOME and /tmp on the host. */
    scratchDir: string;
    /** Prepared environments (what `setup` made), per repository and lockfiles. */
    cacheDir: string;
    cacheBytes: number;
    container: {
      /** The Docker (or Podman) Engine API: unix:///var/run/docker.sock or tcp://host:port. */
      host: string;
      image: string;
      /** Further images a repository may name in `.github/kodah.yml`. */
      images: readonly string[];
      cpus: number;
      /** uid:gid commands run as; null: the driver's default (the server's own, or 1000:1000 for a root server). */
      user: string | null;
      /** Relabel work trees for SELinux (`:z`), as an enforcing host needs. */
      selinuxRelabel: boolean;
    };
  };
  /**
   * The GitHub App: from APP_ID, the private key and WEBHOOK_SECRET, else from the App registered at
   * /setup (githubAppFile); null when neither is there. The environment wins over the file.
   */
  github: {
    appId: number;
    /** PEM; read from PRIVATE_KEY_PATH at start-up when given as a path. */
    privateKey: string;
    /** The key's file, when it came from one: hidden from sandboxes. */
    privateKeyPath: string | null;
    webhookSecret: string;
    /** REST API base: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server. */
    apiUrl: string;
    /** Web and git base: repositories are cloned from `${webUrl}/${owner}/${name}.git`. */
    webUrl: string;
    /** The issue label that starts a fix; a repository's `.github/kodah.yml` may rename it. */
    label: string;
    /** Index repositories in the background when the App is given access to them. */
    indexRepositories: boolean;
    /** Fix attempts per head commit and failed check; 0 turns failed-check fixes off. */
    ciAttempts: number;
    /** Also act on failed checks of pull requests from forks (answered with a comment only). */
    ciForks: boolean;
    /** Spacing of mutating requests per installation (GitHub asks for one a second). */
    writeIntervalMs: number;
  } | null;
  /** The GitHub settings that are not one App's own: an App registered at /setup while Kodah runs takes these. */
  githubOptions: Omit<NonNullable<Config['github']>, 'appId' | 'privateKey' | 'privateKeyPath' | 'webhookSecret'>;
  /** Where the App registered from the browser is kept: KODAH_DATA_DIR/github-app.json (mode 0600). */
  githubAppFile: string;
  /**
   * Signing in on the pages with GitHub's OAuth; from GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, else
   * the client of the App registered at /setup; null without either.
   */
  signIn: {
    clientId: string;
    clientSecret: string;
    /** Where the authorize and access_token endpoints are (GITHUB_URL). */
    webUrl: string;
    /** Where /user and /user/emails are (GITHUB_API_URL). */
    apiUrl: string;
  } | null;
  /** How long what GitHub says a signed-in user can reach through the App's installations is reused. */
  userAccessTtlS: number;
  /** KODAH_ADMINS: the GitHub logins (lower case) that see the operator page once signed in. */
  admins: readonly string[];
  /** KODAH_SECRET_KEY's 32 bytes; null: the key generated once into dataDir (see web/secret-key.ts). */
  secretKey: Buffer | null;
  /** Where people reach this server (links Stripe sends them back to); default http://localhost:PORT. */
  publicUrl: string;
  /** Buying credits with Stripe Checkout; null (purchases off) without STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET. */
  stripe: {
    secretKey: string;
    webhookSecret: string;
    /** Where the SDK sends requests (a fake in tests); null: Stripe's own API. */
    api: { host: string; port: number; protocol: 'http' | 'https' } | null;
    /** The bounds of one purchase. */
    minCents: number;
    maxCents: number;
  } | null;
  worker: {
    concurrency: number;
    jobTimeoutS: number;
    retries: number;
    heartbeatS: number;
    superviseIntervalS: number;
    shutdownGraceS: number;
  };
}

/** Variables whose values must never be echoed, not even in an error about them. */
const SECRET = new Set([
  'DATABASE_URL',
  'KODAH_GIT_TOKENS',
  'KODAH_EMBEDDINGS_API_KEY',
  'KODAH_SUMMARY_API_KEY',
  'OPENAI_API_KEY',
  'PRIVATE_KEY',
  'WEBHOOK_SECRET',
  'GITHUB_CLIENT_SECRET',
  'KODAH_SECRET_KEY',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
]);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The App's private key: PRIVATE_KEY itself (a PEM, with real or escaped line breaks, or the PEM
 * in base64 as some secret stores want it) or the file PRIVATE_KEY_PATH names.
 */
function readPrivateKey(inline: string | undefined, file: string | undefined): string {
  let pem: string;
  if (inline) {
    pem = inline.includes('-----BEGIN') ? inline.replace(/\\n/g, '\n') : Buffer.from(inline, 'base64').toString('utf8');
  } else {
    try {
      pem = readFileSync(file!, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `Invalid configuration:\n  PRIVATE_KEY_PATH: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(pem)) {
    throw new ConfigError(
      `Invalid configuration:\n  ${inline ? 'PRIVATE_KEY' : 'PRIVATE_KEY_PATH'}: not a PEM private key (download one from the App's settings page)`,
    );
  }
  return pem;
}

/** The file in KODAH_DATA_DIR that keeps the App registered from the browser. */
export const GITHUB_APP_FILE = 'github-app.json';

/** The GitHub App registered from the browser (/setup), as Kodah keeps it (see github/app-registration.ts). */
export const storedGitHubApp = z.object({
  id: z.number().int().positive(),
  slug: z.string().min(1),
  html_url: z.string().regex(/^https?:\/\//),
  pem: z.string().regex(/-----BEGIN (RSA )?PRIVATE KEY-----/),
  webhook_secret: z.string().min(1),
  client_id: z.string().regex(/^[\w.-]+$/),
  client_secret: z.string().regex(/^\S+$/),
  /** GITHUB_URL when it was registered: the App exists on that GitHub only. */
  github_url: z.string(),
});
export type StoredGitHubApp = z.infer<typeof storedGitHubApp>;

/** The App's and sign-in's settings for a stored App. */
export function storedGitHubAppSettings(
  options: Config['githubOptions'],
  app: StoredGitHubApp,
): { github: NonNullable<Config['github']>; signIn: NonNullable<Config['signIn']> } {
  return {
    github: { appId: app.id, privateKey: app.pem, privateKeyPath: null, webhookSecret: app.webhook_secret, ...options },
    signIn: { clientId: app.client_id, clientSecret: app.client_secret, webUrl: options.webUrl, apiUrl: options.apiUrl },
  };
}

/** The stored App, or null when none was registered; a damaged file or one from another GitHub stops the start. */
function readStoredGitHubApp(file: string, webUrl: string): StoredGitHubApp | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(
      `Invalid configuration:\n  ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let app: StoredGitHubApp;
  try {
    app = storedGitHubApp.parse(JSON.parse(text));
  } catch {
    throw new ConfigError(
      `Invalid configuration:\n  ${file}: not a GitHub App as Kodah stores it; restore it from a backup, or delete it and register the App again at /setup`,
    );
  }
  if (app.github_url !== webUrl) {
    throw new ConfigError(
      `Invalid configuration:\n  GITHUB_URL: the App in ${file} was registered on ${app.github_url} (got ${JSON.stringify(webUrl)}); set GITHUB_URL to it, or delete the file to register another App`,
    );
  }
  return app;
}

/** STRIPE_API_BASE as the SDK takes it: host, port and protocol apart. */
function stripeApi(base: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = new URL(base);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}

/**
 * The summary model, on when KODAH_SUMMARY_MODEL or KODAH_SUMMARY_BASE_URL asks for it (summaries
 * cost tokens on every index run, so a fix model alone does not turn them on); what is not given
 * is the fix model's endpoint, key or name.
 */
function summaryModel(e: z.infer<typeof schema>): Config['summaries'] {
  if (e.KODAH_SUMMARY_MODEL === undefined && e.KODAH_SUMMARY_BASE_URL === undefined) return null;
  const baseUrl = e.KODAH_SUMMARY_BASE_URL ?? e.OPENAI_BASE_URL;
  if (!baseUrl || e.KODAH_INDEX_SUMMARY_MAX_TOKENS === 0) return null;
  const own = e.KODAH_SUMMARY_BASE_URL !== undefined;
  return {
    baseUrl,
    apiKey: e.KODAH_SUMMARY_API_KEY ?? (own ? '' : e.OPENAI_API_KEY),
    model: e.KODAH_SUMMARY_MODEL ?? e.KODAH_MODEL,
    timeoutMs: e.KODAH_MODEL_TIMEOUT_S * 1000,
    maxRetries: e.KODAH_MODEL_MAX_RETRIES,
    maxTokensPerRun: e.KODAH_INDEX_SUMMARY_MAX_TOKENS,
  };
}

/**
 * What one command in the sandbox may use, the wall time aside (each caller sets its own: setup,
 * tests, the model's commands): the server's limits, which a repository's settings may only lower.
 */
export function commandLimits(sandbox: Config['sandbox']) {
  const { memoryBytes, processes, diskBytes, outputTailBytes, maxOutputBytes } = sandbox;
  return { memoryBytes, processes, diskBytes, outputTailBytes, maxOutputBytes };
}

/** Reads and validates the environment once; a bad value names its variable and what it wants. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      return `  ${name}: ${i.message}${SECRET.has(name) ? '' : ` (got ${JSON.stringify(env[name])})`}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const githubOptions = {
    apiUrl: e.GITHUB_API_URL,
    webUrl: e.GITHUB_URL,
    label: e.KODAH_GITHUB_LABEL,
    indexRepositories: e.KODAH_GITHUB_INDEX_REPOSITORIES,
    ciAttempts: e.KODAH_GITHUB_CI_ATTEMPTS,
    ciForks: e.KODAH_GITHUB_CI_FORKS,
    writeIntervalMs: e.KODAH_GITHUB_WRITE_INTERVAL_MS,
  };
  const githubAppFile = path.join(path.resolve(e.KODAH_DATA_DIR), GITHUB_APP_FILE);
  // An App in the environment is the operator's choice: the stored one is then not even read.
  const storedApp = e.APP_ID ? null : readStoredGitHubApp(githubAppFile, e.GITHUB_URL);
  const stored = storedApp ? storedGitHubAppSettings(githubOptions, storedApp) : null;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    dataDir: path.resolve(e.KODAH_DATA_DIR),
    billing: {
      fixPriceCents: e.KODAH_FIX_PRICE_USD,
      freeFixesPerMonth: e.KODAH_FREE_FIXES_PER_MONTH,
      chargeUnfixed: e.KODAH_CHARGE_UNFIXED,
    },
    git: {
      allowedHosts: e.KODAH_GIT_HOSTS,
      allowLocal: e.KODAH_ALLOW_LOCAL_GIT,
      tokens: e.KODAH_GIT_TOKENS,
      checkTimeoutMs: e.KODAH_REPO_CHECK_TIMEOUT_MS,
      cacheTtlS: e.KODAH_REPO_CACHE_TTL_S,
    },
    limits: {
      maxRunningJobsPerAccount: e.KODAH_MAX_RUNNING_JOBS_PER_ACCOUNT,
      maxQueuedJobs: e.KODAH_MAX_QUEUED_JOBS,
      retryAfterS: e.KODAH_RETRY_AFTER_S,
    },
    callbacks: {
      timeoutMs: e.KODAH_CALLBACK_TIMEOUT_S * 1000,
      retries: e.KODAH_CALLBACK_RETRIES,
      retryDelayS: e.KODAH_CALLBACK_RETRY_DELAY_S,
    },
    index: {
      mirrorDir: path.join(path.resolve(e.KODAH_DATA_DIR), 'mirrors'),
      maxRepoBytes: e.KODAH_INDEX_MAX_REPO_MB * 1024 * 1024,
      maxFiles: e.KODAH_INDEX_MAX_FILES,
      maxFileBytes: e.KODAH_INDEX_MAX_FILE_KB * 1024,
      timeoutS: e.KODAH_INDEX_TIMEOUT_S,
      threads: e.KODAH_INDEX_THREADS,
      syncIntervalS: e.KODAH_INDEX_SYNC_INTERVAL_S,
      maxRepositories: e.KODAH_INDEX_MAX_REPOSITORIES,
      searchMemoryBytes: e.KODAH_SEARCH_MEMORY_MB * 1024 * 1024,
    },
    embeddings: e.KODAH_EMBEDDINGS_BASE_URL
      ? { baseUrl: e.KODAH_EMBEDDINGS_BASE_URL, apiKey: e.KODAH_EMBEDDINGS_API_KEY, model: e.KODAH_EMBEDDINGS_MODEL }
      : null,
    summaries: summaryModel(e),
    model: e.OPENAI_BASE_URL
      ? {
          baseUrl: e.OPENAI_BASE_URL,
          apiKey: e.OPENAI_API_KEY,
          name: e.KODAH_MODEL,
          timeoutMs: e.KODAH_MODEL_TIMEOUT_S * 1000,
          maxRetries: e.KODAH_MODEL_MAX_RETRIES,
          contextTokens: e.KODAH_MODEL_CONTEXT_TOKENS,
          pricing:
            e.KODAH_MODEL_PRICE_INPUT_PER_MTOK_USD !== undefined && e.KODAH_MODEL_PRICE_OUTPUT_PER_MTOK_USD !== undefined
              ? { inputPerMTokUsd: e.KODAH_MODEL_PRICE_INPUT_PER_MTOK_USD, outputPerMTokUsd: e.KODAH_MODEL_PRICE_OUTPUT_PER_MTOK_USD }
              : null,
        }
      : null,
    fix: {
      maxAttempts: e.KODAH_FIX_MAX_ATTEMPTS,
      contextTokens: e.KODAH_FIX_CONTEXT_TOKENS,
      testTimeoutS: e.KODAH_FIX_TEST_TIMEOUT_S,
      mode: e.KODAH_FIX_MODE,
      candidates: e.KODAH_FIX_CANDIDATES,
      budget: {
        steps: e.KODAH_FIX_MAX_STEPS,
        tokens: e.KODAH_FIX_MAX_TOKENS,
        costUsd: e.KODAH_FIX_MAX_COST_USD,
        // 20 minutes, or less when the queue job is shorter.
        timeS: e.KODAH_FIX_TIME_LIMIT_S ?? Math.max(10, Math.min(1200, e.KODAH_JOB_TIMEOUT_S - 60)),
        commandTimeoutS: e.KODAH_FIX_COMMAND_TIMEOUT_S,
      },
      worktreeDir: path.join(path.resolve(e.KODAH_DATA_DIR), 'worktrees'),
    },
    sandbox: {
      driver: e.KODAH_SANDBOX,
      memoryBytes: e.KODAH_SANDBOX_MEMORY_MB * 1024 * 1024,
      processes: e.KODAH_SANDBOX_PROCESSES,
      diskBytes: e.KODAH_SANDBOX_DISK_MB * 1024 * 1024,
      outputTailBytes: e.KODAH_SANDBOX_OUTPUT_TAIL_KB * 1024,
      maxOutputBytes: e.KODAH_SANDBOX_MAX_OUTPUT_MB * 1024 * 1024,
      setupTimeoutS: e.KODAH_SANDBOX_SETUP_TIMEOUT_S,
      setupNetwork: e.KODAH_SANDBOX_SETUP_NETWORK,
      extraPaths: e.KODAH_SANDBOX_PATHS,
      scratchDir: path.join(path.resolve(e.KODAH_DATA_DIR), 'sandbox'),
      cacheDir: path.join(path.resolve(e.KODAH_DATA_DIR), 'sandbox-cache'),
      cacheBytes: e.KODAH_SANDBOX_CACHE_MB * 1024 * 1024,
      container: {
        host: e.KODAH_SANDBOX_DOCKER_HOST,
        image: e.KODAH_SANDBOX_IMAGE,
        images: e.KODAH_SANDBOX_IMAGES,
        cpus: e.KODAH_SANDBOX_CPUS,
        user: e.KODAH_SANDBOX_CONTAINER_USER ?? null,
        selinuxRelabel: e.KODAH_SANDBOX_SELINUX_RELABEL,
      },
    },
    github:
      e.APP_ID && e.WEBHOOK_SECRET
        ? {
            appId: Number(e.APP_ID),
            privateKey: readPrivateKey(e.PRIVATE_KEY, e.PRIVATE_KEY_PATH),
            privateKeyPath: !e.PRIVATE_KEY && e.PRIVATE_KEY_PATH ? path.resolve(e.PRIVATE_KEY_PATH) : null,
            webhookSecret: e.WEBHOOK_SECRET,
            ...githubOptions,
          }
        : (stored?.github ?? null),
    githubOptions,
    githubAppFile,
    signIn:
      e.GITHUB_CLIENT_ID && e.GITHUB_CLIENT_SECRET
        ? { clientId: e.GITHUB_CLIENT_ID, clientSecret: e.GITHUB_CLIENT_SECRET, webUrl: e.GITHUB_URL, apiUrl: e.GITHUB_API_URL }
        : (stored?.signIn ?? null),
    userAccessTtlS: e.KODAH_USER_ACCESS_TTL_S,
    admins: e.KODAH_ADMINS,
    secretKey: e.KODAH_SECRET_KEY ? Buffer.from(e.KODAH_SECRET_KEY.trim(), 'base64') : null,
    publicUrl: e.KODAH_PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    stripe:
      e.STRIPE_SECRET_KEY && e.STRIPE_WEBHOOK_SECRET
        ? {
            secretKey: e.STRIPE_SECRET_KEY,
            webhookSecret: e.STRIPE_WEBHOOK_SECRET,
            api: e.STRIPE_API_BASE ? stripeApi(e.STRIPE_API_BASE) : null,
            minCents: e.KODAH_CHECKOUT_MIN_USD,
            maxCents: e.KODAH_CHECKOUT_MAX_USD,
          }
        : null,
    worker: {
      concurrency: e.KODAH_WORKER_CONCURRENCY,
      jobTimeoutS: e.KODAH_JOB_TIMEOUT_S,
      retries: e.KODAH_JOB_RETRIES,
      heartbeatS: e.KODAH_JOB_HEARTBEAT_S,
      superviseIntervalS: e.KODAH_SUPERVISE_INTERVAL_S,
      shutdownGraceS: e.KODAH_SHUTDOWN_GRACE_S,
    },
  });
}
