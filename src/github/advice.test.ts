import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../lib/errors.js';
import { ADVICE } from './advice.js';

/** Every code, checked by the compiler: a code added to ErrorCode and missing here does not compile. */
const EVERY_CODE: Record<ErrorCode, true> = {
  unauthorized: true,
  invalid_input: true,
  not_found: true,
  payment_required: true,
  job_in_progress: true,
  at_capacity: true,
  too_early: true,
  job_failed: true,
  no_fix: true,
  conflict: true,
  ref_not_found: true,
  repository_unavailable: true,
  model_unavailable: true,
  model_no_tools: true,
  engine_not_configured: true,
  timeout: true,
  shutdown: true,
  superseded: true,
  worker_lost: true,
  internal: true,
};

describe('ADVICE', () => {
  it('has an entry for every error code, and nothing else', () => {
    expect(Object.keys(ADVICE).sort()).toEqual(Object.keys(EVERY_CODE).sort());
    for (const code of Object.keys(EVERY_CODE) as ErrorCode[]) expect(ADVICE[code], code).not.toBeUndefined();
  });

  it('says what it said for the refusals people meet today', () => {
    // payment_required is both "No credits remaining" and "Private repos require paid credits".
    expect(ADVICE.payment_required).toMatch(/^Add credits to the Kodah account of this installation/);
    expect(ADVICE.payment_required).toMatch(/private repositories take paid credits/);
    expect(ADVICE.payment_required).toMatch(/then comment `\/kodah retry`\.$/);
    expect(ADVICE.job_in_progress).toBe('Wait for the fix that is running to finish, or stop it with `/kodah cancel`.');
    expect(ADVICE.at_capacity).toBe('Kodah is busy right now: comment `/kodah retry` in a few minutes.');
    expect(ADVICE.unauthorized).toBe('Only people with write access to this repository can ask Kodah for a fix.');
    for (const code of ['not_found', 'invalid_input'] as const) expect(ADVICE[code]).toBe('Comment `/kodah help` for the commands.');
  });

  it('tells the operator of a model without function calling what to set', () => {
    expect(ADVICE.model_no_tools).toMatch(/cannot call functions/);
    expect(ADVICE.model_no_tools).toContain('KODAH_FIX_MODE=single-shot');
  });
});
