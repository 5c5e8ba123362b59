import type { Logger } from '../lib/logger.js';
import type { Octokit } from './github-api.js';
import type { GitHubDeps } from './github-deps.js';
import { type RepoName, repoName } from './repo-access.js';

/**
 * What every handler of one GitHub event (or one delivery of an answer) works with, built once:
 * the installation it acts as, and a logger whose every line says which delivery, installation
 * and repository it is about.
 */
export interface InstallationContext {
  deps: GitHubDeps;
  installationId: number;
  /** The X-GitHub-Delivery id; null for work on a stored task (status updates, answers). */
  delivery: string | null;
  /** The installation's client (GitHubApi keeps one per installation for the process's life). */
  readonly octokit: Octokit;
  log: Logger;
}

/** The context of an event about one repository (issues, comments, checks, answers). */
export interface RepoContext extends InstallationContext {
  /** `owner/name`, as the payload or the task row gives it. */
  fullName: string;
  repo: RepoName;
}

/** A webhook event's context about one repository: it always has its delivery id. */
export type RepoEventContext = RepoContext & { delivery: string };

interface ContextIds<D extends string | null> {
  delivery: D;
  installationId: number;
}

/** The context of an event or task: with a repository when `fullName` is given, installation-wide otherwise. */
export function eventContext<D extends string | null>(
  deps: GitHubDeps,
  ids: ContextIds<D> & { fullName: string },
): RepoContext & { delivery: D };
export function eventContext<D extends string | null>(deps: GitHubDeps, ids: ContextIds<D>): InstallationContext & { delivery: D };
export function eventContext(deps: GitHubDeps, ids: ContextIds<string | null> & { fullName?: string }): InstallationContext | RepoContext {
  const { delivery, installationId, fullName } = ids;
  const log = deps.log.child({
    ...(delivery === null ? {} : { delivery }),
    installationId,
    ...(fullName === undefined ? {} : { repo: fullName }),
  });
  const context: InstallationContext = {
    deps,
    installationId,
    delivery,
    // Looked up on use: installation events never call GitHub and need no client.
    get octokit() {
      return deps.api.installation(installationId);
    },
    log,
  };
  return fullName === undefined ? context : Object.assign(context, { fullName, repo: repoName(fullName) });
}
