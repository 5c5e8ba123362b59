/**
 * Every branch Kodah pushes a fix to starts with this (deliver-task.ts names them). A branch name
 * is only a hint — anyone who can push may name a branch so — so it serves as a cheap first look
 * (the webhook intake, "never fix a fix"); whether a pull request is Kodah's is its task row's word.
 */
export const KODAH_BRANCH_PREFIX = 'kodah/';

/** Whether a branch name (from any payload, so of any type) is one of Kodah's. */
export const isKodahBranch = (ref: unknown): boolean => typeof ref === 'string' && ref.startsWith(KODAH_BRANCH_PREFIX);
