import type { SandboxCommand } from '../jobs/fix-engine.js';
import type { Sandbox, SandboxRun } from '../sandbox/sandbox.js';

/** A sandbox run as the job records it for the user. */
export function sandboxCommand(phase: SandboxCommand['phase'], sandbox: Sandbox, run: SandboxRun): SandboxCommand {
  return {
    phase,
    command: run.command,
    sandbox: sandbox.driver,
    exitCode: run.exitCode,
    limit: run.limit,
    seconds: run.seconds,
    outputTail: run.outputTail,
  };
}
