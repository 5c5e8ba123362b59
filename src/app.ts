import type { FastifyInstance } from 'fastify';
import type { PgBoss } from 'pg-boss';
import { countOperatorTokenAccounts, usesOperatorTokens } from './billing/accounts.js';
import { CodeSearch } from './code-index/code-search.js';
import { CommitFiles } from './code-index/commit-files.js';
import { openAiSummarizer } from './code-index/summarize-snippets.js';
import { type Embedder, openAiEmbedder } from './code-index/embeddings.js';
import { startIndexWorkers } from './code-index/index-workers.js';
import { startIndexSync } from './code-index/sync-repositories.js';
import { commandLimits, type Config, storedGitHubAppSettings } from './config.js';
import { createFixEngine, type FixPipelineDeps } from './fix/fix-pipeline.js';
import { pruneContainers } from './sandbox/container.js';
import { pruneLeftovers } from './sandbox/prune-leftovers.js';
import { type SandboxChoice, selectSandbox } from './sandbox/select-driver.js';
import { SetupCache } from './sandbox/setup-cache.js';
import { FactsCache } from './localize/facts-cache.js';
import { openAiChatModel } from './llm/chat-model.js';
import { connectDatabase } from './db/connect.js';
import type { Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { type GitCredentials, staticCredentials } from './git/credentials.js';
import { appManifest, registerGitHubApp } from './github/app-registration.js';
import { startJobPullRequestWorker } from './github/deliver-job-pull-request.js';
import { type GitHubSettings, GitHubAppHolder, gitHubWebhookRoutes } from './github/github-app-holder.js';
import { gitHubJobHooks } from './github/job-hooks.js';
import { jobPullRequestTargets } from './github/job-pull-request-targets.js';
import { firstCredentials } from './github/installation-credentials.js';
import { RepositoryProbe } from './git/repository-probe.js';
import { buildHttpServer } from './http/server.js';
import { loadSecretKey } from './web/secret-key.js';
import { callbackBody } from './http/job-delivery-view.js';
import { randomToken } from './web/secrets.js';
import { UserInstallations } from './web/user-installations.js';
import { userRepositoryCredentials } from './web/user-repository-credentials.js';
import type { AppSetup } from './web/setup-routes.js';
import { KodahError } from './lib/errors.js';
import { type FixEngine, unconfiguredEngine } from './jobs/fix-engine.js';
import { startQueues } from './queues.js';
import { QueueDepth } from './jobs/queue-depth.js';
import type { ResolveHost } from './jobs/callback-url.js';
import { startCallbackWorker } from './jobs/deliver-callback.js';
import { bothSettled, jobDeliveryHooks } from './jobs/delivery-hooks.js';
import { startWorkers } from './jobs/workers.js';
import { type Clock, systemClock } from './lib/clock.js';
import { createLogger, type Logger } from './lib/logger.js';

export interface KodahOptions {
  config: Config;
  /** Serve the HTTP API. */
  http: boolean;
  /** Run workers in this process. */
  workers: boolean;
  log?: Logger;
  clock?: Clock;
  engine?: FixEngine;
  credentials?: GitCredentials;
  /** The resolver jobs' callbacks are checked and connected with (tests script one). */
  resolve?: ResolveHost;
}

export interface Kodah {
  config: Config;
  db: Database;
  boss: PgBoss;
  log: Logger;
  http: FastifyInstance | null;
  /** The API's base URL once listening, e.g. http://127.0.0.1:3000. */
  url: string | null;
  /** Where the operator registers the GitHub App (with the setup token), as the log says; null when an App was configured at start. */
  setupUrl: string | null;
  /** Stops taking requests and jobs, lets running jobs finish within the grace period, closes. */
  stop(): Promise<void>;
}

/** The fix pipeline with the configured model, git policy, sandbox and limits. */
export function fixDepsFor(config: Config, credentials: GitCredentials, sandbox: SandboxChoice): FixPipelineDeps {
  const { name, ...model } = config.model!;
  const { container } = config.sandbox;
  return {
    model: openAiChatModel({ ...model, model: name }),
    credentials,
    localizeCache: new FactsCache(),
    sandbox: {
      driver: sandbox.driver,
      problem: sandbox.problem,
      cache: new SetupCache(config.sandbox.cacheDir, config.sandbox.cacheBytes),
      allowedImages: [container.image, ...container.images],
    },
    settings: {
      policy: { allowedHosts: config.git.allowedHosts, allowLocal: config.git.allowLocal },
      mirrorDir: config.index.mirrorDir,
      worktreeDir: config.fix.worktreeDir,
      gitTimeoutMs: config.index.timeoutS * 1000,
      maxRepoBytes: config.index.maxRepoBytes,
      maxFiles: config.index.maxFiles,
      maxAttempts: config.fix.maxAttempts,
      contextTokens: config.fix.contextTokens,
      mode: config.fix.mode,
      candidates: config.fix.candidates,
      budget: config.fix.budget,
      testTimeoutMs: config.fix.testTimeoutS * 1000,
      sandboxLimits: commandLimits(config.sandbox),
      setupTimeoutMs: config.sandbox.setupTimeoutS * 1000,
      setupNetwork: config.sandbox.setupNetwork,
    },
  };
}

/** Wires one Kodah process: database, migrations, queue, workers and HTTP API, as asked. */
export async function startKodah(options: KodahOptions): Promise<Kodah> {
  const { config } = options;
  const log = options.log ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const db = await connectDatabase(config);
  let boss: PgBoss | undefined;
  let http: FastifyInstance | null = null;
  try {
    const applied = await migrate(db);
    if (applied.length) log.info({ applied }, 'database migrated');
    boss = await startQueues(db, config, log);
    // The App (from the environment, the data folder, or registered at /setup while running).
    const github = new GitHubAppHolder();
    // KODAH_GIT_TOKENS serve only the accounts the operator marked (kodah accounts operator-tokens).
    const operatorTokens = staticCredentials(config.git.tokens, (accountId) => usesOperatorTokens(db, accountId));
    // /setup is offered by a server without an App: its states are signed with the key too.
    const offersSetup = options.http && !config.github;
    // Workers need the key too: they read private repositories with what a signed-in user reaches.
    const secretKey = config.signIn || offersSetup ? await loadSecretKey(config, log) : null;
    const appApi = () => {
      const app = github.app;
      if (!app) throw new KodahError('internal', 'The GitHub App is not enabled in this process');
      return app.api;
    };
    // Only for an App configured at start: its id tells its installations from other Apps'.
    const userReach =
      config.github && config.signIn && secretKey
        ? new UserInstallations({
            db,
            key: secretKey,
            signIn: config.signIn,
            appId: config.github.appId,
            ttlMs: config.userAccessTtlS * 1000,
            clock,
            log: log.child({ name: 'user-installations' }),
          })
        : null;
    const credentials =
      options.credentials ??
      firstCredentials(
        github.credentials(db),
        operatorTokens,
        ...(userReach && config.github
          ? [userRepositoryCredentials(userReach, config.github.webUrl, (i, r) => appApi().repositoryToken(i, r, 'read'))]
          : []),
      );
    const probe = new RepositoryProbe({
      policy: { allowedHosts: config.git.allowedHosts, allowLocal: config.git.allowLocal },
      credentials,
      timeoutMs: config.git.checkTimeoutMs,
      ttlMs: config.git.cacheTtlS * 1000,
    });
    const embedder: Embedder | null = config.embeddings ? openAiEmbedder(config.embeddings) : null;
    const summarizer = config.summaries ? openAiSummarizer(config.summaries) : null;
    const search = new CodeSearch(db, embedder, summarizer?.model ?? null, config.index.searchMemoryBytes);
    const commitFiles = new CommitFiles(db, {
      policy: { allowedHosts: config.git.allowedHosts, allowLocal: config.git.allowLocal },
      mirrorDir: config.index.mirrorDir,
      credentials,
      timeoutMs: config.index.timeoutS * 1000,
      maxRepoBytes: config.index.maxRepoBytes,
      maxFiles: config.index.maxFiles,
      maxFileBytes: config.index.maxFileBytes,
    });
    if (options.workers) {
      const pruned = await pruneLeftovers([config.sandbox.scratchDir, config.fix.worktreeDir]);
      if (pruned.length) log.info({ pruned: pruned.length }, 'removed work trees and sandbox folders a stopped worker left');
      if (config.sandbox.driver === 'container') {
        // Dead workers' containers; and any twice a job's time limit old, which no live job holds (a
        // worker in a container that was recreated has another host name). An unreachable engine
        // is reported by selectSandbox below: it must not stop the start.
        const olderThanMs = 2 * config.worker.jobTimeoutS * 1000;
        const containers = await pruneContainers(config.sandbox.container.host, { olderThanMs }).catch((err: unknown) => {
          log.warn({ err }, 'could not look for sandbox containers a stopped worker left');
          return [];
        });
        if (containers.length) log.info({ pruned: containers.length }, 'removed sandbox containers a stopped worker left');
      }
    }
    // Only workers run repository code; the probe proves the driver works before the first job.
    const sandbox = options.workers && !options.engine && config.model ? await selectSandbox(config, log) : null;
    const engine =
      options.engine ?? (config.model && sandbox ? createFixEngine(fixDepsFor(config, credentials, sandbox)) : unconfiguredEngine);
    if (!options.engine && !config.model)
      log.warn(
        'no model configured (OPENAI_BASE_URL, KODAH_MODEL): POST /jobs answers 503, and a job handed to this worker fails and is refunded, until one is',
      );
    // Always: a job GitHub started is answered there, whenever its App came.
    const hooks = gitHubJobHooks(boss, log);
    // A settlement answers on GitHub (for the jobs it started) and sends what the job asked for.
    const onSettled = bothSettled(hooks.onSettled, jobDeliveryHooks(boss));
    const callbackPolicy = { allowLocal: config.git.allowLocal };
    const queueDepth = new QueueDepth(db, config.limits.maxQueuedJobs);
    const modelConfigured = Boolean(options.engine ?? config.model);
    const submit = { db, boss, probe, queueDepth, clock, rules: config.billing, limits: config.limits, modelConfigured };
    const workers = options.workers
      ? await startWorkers(boss, { db, probe, engine, log, onSettled, onStage: hooks.onStage }, config)
      : null;
    if (options.workers) {
      const callbacks = {
        db,
        policy: callbackPolicy,
        resolve: options.resolve,
        timeoutMs: config.callbacks.timeoutMs,
        render: callbackBody,
        log,
      };
      await startCallbackWorker(boss, callbacks, config.worker.concurrency);
    }
    const startApp = async (settings: GitHubSettings) => {
      // Probot and Octokit load only in a process that has an App (a second of CPU at start otherwise).
      const { gitHubDeps, startGitHubApp } = await import('./github/github-app.js');
      const parts = { db, boss: submit.boss, log, submit, probe, search, onSettled };
      const app = await startGitHubApp(config, settings, parts, options.workers);
      github.enable(app);
      if (options.workers) {
        // REST jobs that asked for a pull request (deliver: "pull_request") open it with the App.
        const { push } = gitHubDeps(config, settings, { ...parts, api: app.api });
        await startJobPullRequestWorker(
          { db, boss: submit.boss, api: app.api, settings, push, log: log.child({ name: 'github' }) },
          config.worker.concurrency,
        );
      }
    };
    if (config.github) await startApp(config.github);
    let signIn = config.signIn;
    const setup = offersSetup
      ? appSetup(
          config,
          () => github.app !== null,
          async (code) => {
            const { app, stored } = await registerGitHubApp(config, code);
            const settings = storedGitHubAppSettings(config.githubOptions, stored);
            await startApp(settings.github);
            // GITHUB_CLIENT_ID wins over the App's own client, as it will on the next start.
            signIn ??= settings.signIn;
            log.info(
              { app: app.html_url, file: config.githubAppFile },
              'GitHub App registered and enabled; processes on other machines take it at their next start',
            );
            return { name: app.name, htmlUrl: app.html_url };
          },
        )
      : null;
    const indexers = options.workers
      ? await startIndexWorkers(boss, { db, config, credentials, embedder, summarizer, log }, (id, commit) => search.segment(id, commit))
      : null;
    const sync =
      options.workers && config.index.syncIntervalS > 0
        ? startIndexSync({ db, boss, probe, log: log.child({ name: 'index-sync' }), intervalS: config.index.syncIntervalS })
        : null;
    let url: string | null = null;
    if (options.http) {
      http = await buildHttpServer({
        ...submit,
        config,
        log,
        search,
        commitFiles,
        github: gitHubWebhookRoutes(github),
        // The SDK loads only where Stripe is configured.
        stripe: config.stripe ? (await import('./billing/stripe-client.js')).createStripeClient(config.stripe) : null,
        onSettled,
        callbackPolicy,
        resolve: options.resolve,
        pullRequests: config.github ? jobPullRequestTargets(db, config.github) : null,
        secretKey,
        signIn: () => signIn,
        setup,
        userReach,
        appSlug: () => github.app?.api.appSlug() ?? Promise.resolve(null),
      });
      if (config.github)
        log.info({ appId: config.github.appId }, `GitHub App ${config.github.appId} enabled: webhooks at /api/github/webhooks`);
      if (!config.signIn) log.info('signing in with GitHub disabled: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET to enable it');
      const address = await http.listen({ port: config.port, host: config.host });
      url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
    }
    const setupUrl = setup ? `${config.publicUrl}/setup?token=${setup.token}` : null;
    // As Jenkins does: the way in is in the log of the one who started the server.
    if (setupUrl) {
      log.warn(`no GitHub App yet: to register one, open ${setupUrl} (or set APP_ID, PRIVATE_KEY_PATH and WEBHOOK_SECRET)`);
      // The manifest gives GitHub this address for webhooks: a local one never receives them.
      if (/^https?:\/\/(localhost|127\.|\[::1\])/.test(config.publicUrl))
        log.warn(`KODAH_PUBLIC_URL is ${config.publicUrl}: set it to the address GitHub reaches this server at before registering the App`);
    }
    log.info({ database: db.kind, http: url, workers: options.workers }, 'kodah started');
    if (Object.keys(config.git.tokens).length && !options.credentials && (await countOperatorTokenAccounts(db)) === 0) {
      const mark = '`npx kodah accounts operator-tokens you@example.com on`';
      log.warn(`KODAH_GIT_TOKENS is set but no account may use it: mark each account that may read private repositories with it, ${mark}`);
    }
    if (http && (await db.query('SELECT 1 FROM accounts LIMIT 1')).rows.length === 0) {
      // The commands work beside this process, on the embedded database too (db/serve-database.ts).
      log.warn(
        'no accounts yet: `npx kodah accounts create --email you@example.com` and `npx kodah keys create --account you@example.com`',
      );
    }
    const started = boss;
    let stopping: Promise<void> | undefined;
    return {
      config,
      db,
      boss: started,
      log,
      http,
      url,
      setupUrl,
      stop: () =>
        (stopping ??= (async () => {
          await http?.close();
          await started.stop({ graceful: true, timeout: config.worker.shutdownGraceS * 1000, close: true });
          github.stop();
          await sync?.stop();
          await workers?.stop(10_000);
          await indexers?.stop();
          await db.close();
          log.info('kodah stopped');
        })()),
    };
  } catch (err) {
    await http?.close().catch(() => {});
    await boss?.stop({ graceful: false }).catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
}

/** /setup's wiring: a fresh token for this start, Kodah's manifest, and registering at most one App at a time. */
function appSetup(
  config: Config,
  configured: () => boolean,
  register: (code: string) => Promise<{ name: string; htmlUrl: string }>,
): AppSetup {
  let registering = false;
  return {
    token: randomToken(),
    webUrl: config.githubOptions.webUrl,
    manifest: () => appManifest(config.publicUrl),
    configured,
    async register(code) {
      // Two tabs coming back at once would each make GitHub create an App; one is kept.
      if (registering || configured())
        throw new KodahError('conflict', 'A GitHub App is being registered already: wait for it, then reload.');
      registering = true;
      try {
        return await register(code);
      } finally {
        registering = false;
      }
    },
  };
}
