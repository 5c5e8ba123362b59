import type { FastifyInstance } from 'fastify';
import type { PgBoss } from 'pg-boss';
import { countOperatorTokenAccounts, usesOperatorTokens } from './billing/accounts.js';
import { createStripeClient } from './billing/stripe-client.js';
import { CodeSearch } from './code-index/code-search.js';
import { CommitFiles } from './code-index/commit-files.js';
import { openAiSummarizer } from './code-index/summarize-snippets.js';
import { type Embedder, openAiEmbedder } from './code-index/embeddings.js';
import { startIndexWorkers } from './code-index/index-workers.js';
import { startIndexSync } from './code-index/sync-repositories.js';
import type { Config } from './config.js';
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
import { startJobPullRequestWorker } from './github/deliver-job-pull-request.js';
import { GitHubApi, gitHubDeps, gitHubJobHooks, gitHubWebhookRoutes, startGitHubWorkers } from './github/github-app.js';
import { jobPullRequestTargets } from './github/job-pull-request-targets.js';
import { firstCredentials, installationCredentials } from './github/installation-credentials.js';
import { RepositoryProbe } from './git/repository-probe.js';
import { callbackBody } from './http/job-delivery-view.js';
import { buildHttpServer } from './http/server.js';
import { loadSecretKey } from './web/secret-key.js';
import { type FixEngine, unconfiguredEngine } from './jobs/fix-engine.js';
import { startQueues } from './queues.js';
import { QueueDepth } from './jobs/queue-depth.js';
import { startWorkers } from './jobs/workers.js';
import type { ResolveHost } from './jobs/callback-url.js';
import { startCallbackWorker } from './jobs/deliver-callback.js';
import { bothSettled, jobDeliveryHooks } from './jobs/delivery-hooks.js';
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
  /** Stops taking requests and jobs, lets running jobs finish within the grace period, closes. */
  stop(): Promise<void>;
}

/** The fix pipeline with the configured model, git policy, sandbox and limits. */
export function fixDepsFor(config: Config, credentials: GitCredentials, sandbox: SandboxChoice): FixPipelineDeps {
  const { name, ...model } = config.model!;
  const { container, memoryBytes, processes, diskBytes, outputTailBytes, maxOutputBytes } = config.sandbox;
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
      sandboxLimits: { memoryBytes, processes, diskBytes, outputTailBytes, maxOutputBytes },
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
    const github = config.github ? new GitHubApi(config.github, log.child({ name: 'github' })) : null;
    // KODAH_GIT_TOKENS serve only the accounts the operator marked (kodah accounts operator-tokens).
    const operatorTokens = staticCredentials(config.git.tokens, (accountId) => usesOperatorTokens(db, accountId));
    const credentials =
      options.credentials ??
      (github ? firstCredentials(installationCredentials(db, github, config.github!.webUrl), operatorTokens) : operatorTokens);
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
    const hooks = github ? gitHubJobHooks(boss, log) : null;
    // A settlement answers on GitHub (for the jobs it started) and sends what the job asked for.
    const onSettled = bothSettled(hooks?.onSettled, jobDeliveryHooks(boss));
    const callbackPolicy = { allowLocal: config.git.allowLocal };
    const queueDepth = new QueueDepth(db, config.limits.maxQueuedJobs);
    const modelConfigured = Boolean(options.engine ?? config.model);
    const submit = { db, boss, probe, queueDepth, clock, rules: config.billing, limits: config.limits, modelConfigured };
    const workers = options.workers
      ? await startWorkers(boss, { db, probe, engine, log, onSettled, onStage: hooks?.onStage }, config)
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
    const githubWorkers =
      options.workers && github && hooks
        ? await startGitHubWorkers(
            gitHubDeps(config, { db, boss, api: github, log, submit, probe, search, onSettled }),
            config.worker.concurrency,
          )
        : null;
    if (githubWorkers) {
      const { push, settings } = gitHubDeps(config, { db, boss, api: github!, log, submit, probe, search, onSettled });
      await startJobPullRequestWorker(
        { db, boss, api: github!, settings, push, log: log.child({ name: 'github' }) },
        config.worker.concurrency,
      );
    }
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
        github: config.github ? await gitHubWebhookRoutes(config.github, { db, boss, log }) : null,
        stripe: config.stripe ? createStripeClient(config.stripe) : null,
        onSettled,
        callbackPolicy,
        resolve: options.resolve,
        pullRequests: config.github ? jobPullRequestTargets(db, config.github) : null,
        secretKey: config.signIn ? await loadSecretKey(config, log) : null,
      });
      if (config.github)
        log.info({ appId: config.github.appId }, `GitHub App ${config.github.appId} enabled: webhooks at /api/github/webhooks`);
      else log.info('GitHub App disabled: set APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET to enable it');
      if (!config.signIn) log.info('signing in with GitHub disabled: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET to enable it');
      const address = await http.listen({ port: config.port, host: config.host });
      url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
    }
    log.info({ database: db.kind, http: url, workers: options.workers }, 'kodah started');
    if (Object.keys(config.git.tokens).length && !options.credentials && (await countOperatorTokenAccounts(db)) === 0) {
      const mark = '`npx kodah accounts operator-tokens you@example.com on`';
      log.warn(
        `KODAH_GIT_TOKENS is set but no account may use it: mark each account that may read private repositories with it, ${db.kind === 'pglite' ? `stop the server, then ${mark}` : mark}`,
      );
    }
    if (http && (await db.query('SELECT 1 FROM accounts LIMIT 1')).rows.length === 0) {
      log.warn(
        db.kind === 'pglite'
          ? 'no accounts yet: stop the server, then `npx kodah accounts create --email you@example.com` and `npx kodah keys create --account you@example.com`'
          : 'no accounts yet: `npx kodah accounts create --email you@example.com` and `npx kodah keys create --account you@example.com`',
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
      stop: () =>
        (stopping ??= (async () => {
          await http?.close();
          await started.stop({ graceful: true, timeout: config.worker.shutdownGraceS * 1000, close: true });
          githubWorkers?.stop();
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
