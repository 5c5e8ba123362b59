import type { ErrorCode } from '../lib/errors.js';

const HELP = 'Comment `/kodah help` for the commands.';
const RETRY_LATER = 'Comment `/kodah retry` in a few minutes.';

/**
 * What a person can do about a request Kodah refused, by the refusal's error code: the sentence
 * under the reason in the comment (null: nothing to add). The type makes the table cover every
 * code, so a new code does not compile until someone decides what to tell people about it.
 */
export const ADVICE: Record<ErrorCode, string | null> = {
  // The job API's refusals (jobs/submit-job.ts), as the App meets them.
  payment_required:
    'Add credits to the Kodah account of this installation (fixes in private repositories take paid credits), then comment `/kodah retry`.',
  job_in_progress: 'Wait for the fix that is running to finish, or stop it with `/kodah cancel`.',
  at_capacity: 'Kodah is busy right now: comment `/kodah retry` in a few minutes.',
  unauthorized: 'Only people with write access to this repository can ask Kodah for a fix.',
  not_found: HELP,
  ref_not_found: HELP,
  invalid_input: HELP,
  conflict: HELP,
  superseded: HELP,
  job_failed: 'Comment `/kodah fix <more context>` to try again with more to go on.',
  no_fix: 'Comment `/kodah fix <more context>` to try again with more to go on, or fix what stopped the tests (see above) first.',
  engine_not_configured: 'Ask whoever runs this Kodah server to configure its model.',
  // Waiting does not help: the server's set-up has to change.
  model_no_tools:
    'The model this Kodah server uses cannot call functions: whoever runs it should set `KODAH_FIX_MODE=single-shot` (or `auto`), or configure a model with function calling.',
  // Passing trouble, on GitHub's side, the model's or Kodah's.
  too_early: RETRY_LATER,
  repository_unavailable: RETRY_LATER,
  model_unavailable: RETRY_LATER,
  timeout: RETRY_LATER,
  shutdown: RETRY_LATER,
  worker_lost: RETRY_LATER,
  internal: RETRY_LATER,
};
