import { describe, expect, it } from 'vitest';
import { compareRuns, failedTests, namedTests, passedCount, summarizeRun, whyTestsCannotRun } from './test-outcomes.js';

const PYTEST = `..F.E
=========================== short test summary info ============================
FAILED tests/test_cart.py::test_strings - TypeError: unsupported operand
FAILED tests/test_cart.py::test_param[a-b] - assert 1 == 2
ERROR tests/test_db.py::test_connect - ConnectionError
2 failed, 3 passed, 1 error in 0.12s
`;

describe('test outcomes', () => {
  it('reads failing test ids and the passed count from pytest, unittest, Go and Jest output', () => {
    expect(failedTests(PYTEST)).toEqual([
      'tests/test_cart.py::test_strings',
      'tests/test_cart.py::test_param[a-b]',
      'tests/test_db.py::test_connect',
    ]);
    expect(passedCount(PYTEST)).toBe(3);
    expect(failedTests('FAIL: test_total (cart.tests.TestCart)\nERROR: test_io (cart.tests.TestIo)\n')).toEqual([
      'cart.tests.TestCart.test_total',
      'cart.tests.TestIo.test_io',
    ]);
    expect(passedCount('Ran 7 tests in 0.01s\n\nFAILED (failures=1)\nFAIL: test_total (cart.tests.TestCart)\n')).toBe(6);
    expect(failedTests('--- FAIL: TestTotal (0.00s)\n    --- FAIL: TestTotal/strings (0.00s)\n')).toEqual([
      'TestTotal',
      'TestTotal/strings',
    ]);
    expect(failedTests('  ✕ adds strings (3 ms)\n  ✓ adds numbers\n')).toEqual(['adds strings']);
    // Prose that merely mentions failure is not a test id.
    expect(failedTests('ERROR: could not install\nFAILED to build wheel\n')).toEqual([]);
  });

  it('names the tests a report or a CI log names', () => {
    expect(namedTests('CI says FAILED tests/test_cart.py::test_strings. Also tests/unit/test_x.py::TestA::test_b.')).toEqual([
      'tests/test_cart.py::test_strings',
      'tests/unit/test_x.py::TestA::test_b',
    ]);
  });

  it('accepts a run that breaks nothing and fixes what it must; names what it broke', () => {
    const before = summarizeRun('pytest', { exitCode: 1, seconds: 1, outputTail: PYTEST });
    const fixed = summarizeRun('pytest', { exitCode: 1, seconds: 1, outputTail: 'ERROR tests/test_db.py::test_connect - x\n' });
    expect(compareRuns(before, fixed, ['tests/test_cart.py::test_strings'])).toEqual([]);
    const broke = summarizeRun('pytest', {
      exitCode: 1,
      seconds: 1,
      outputTail: 'FAILED tests/test_cart.py::test_numbers - x\nFAILED tests/test_cart.py::test_strings - x\n',
    });
    expect(compareRuns(before, broke, ['tests/test_cart.py::test_strings'])).toEqual([
      'These tests must pass with the fix and still fail: tests/test_cart.py::test_strings.',
      'These tests passed before the edits and fail with them: tests/test_cart.py::test_numbers.',
    ]);
    // Without ids only the exit code can be compared: green before must stay green.
    const green = summarizeRun('make test', { exitCode: 0, seconds: 1, outputTail: 'ok\n' });
    const red = summarizeRun('make test', { exitCode: 2, seconds: 1, outputTail: 'boom\n' });
    expect(compareRuns(green, red, [])).toEqual(['The tests `make test` passed before the edits and fail with them (exit code 2).']);
    expect(compareRuns(green, { ...red, exitCode: null }, [])[0]).toMatch(/stopped before they finished/);
  });
});

describe('tests that cannot run', () => {
  const run = (exitCode: number | null, outputTail: string) => ({ exitCode, outputTail });

  it('names a missing command, a missing runner module, and pytest usage errors', () => {
    expect(whyTestsCannotRun('pytsst -q', run(127, 'sh: 1: pytsst: not found\n'))).toMatch(/not found \(exit code 127\)/);
    expect(whyTestsCannotRun('./t.sh', run(126, 'sh: 1: ./t.sh: Permission denied\n'))).toMatch(/could not be executed/);
    expect(whyTestsCannotRun('python3 -m pytest -q', run(1, '/usr/bin/python3: No module named pytest\n'))).toBe(
      'Python has no module named pytest (exit code 1)',
    );
    expect(whyTestsCannotRun('pytest', run(1, "Traceback …\nModuleNotFoundError: No module named 'pytest'\n"))).toMatch(
      /no module named pytest/,
    );
    expect(whyTestsCannotRun('python -m pytest tests/nope.py', run(4, 'ERROR: file or directory not found: tests/nope.py\n'))).toMatch(
      /exit code 4/,
    );
    expect(whyTestsCannotRun('pytest -q', run(5, '\nno tests ran in 0.01s\n'))).toMatch(/collected no tests/);
  });

  it('lets runs that ran pass, failing tests and an import error inside a collected test included', () => {
    expect(whyTestsCannotRun('pytest', run(0, '3 passed'))).toBeNull();
    expect(whyTestsCannotRun('pytest', run(1, PYTEST))).toBeNull();
    expect(whyTestsCannotRun('pytest', run(null, ''))).toBeNull();
    const collection = "E   ModuleNotFoundError: No module named 'cart.utils'\nERROR tests/test_cart.py\n1 error in 0.1s\n";
    expect(whyTestsCannotRun('pytest', run(2, collection))).toBeNull();
    // Exit codes 4 and 5 are pytest's: another runner's 4 is its own business.
    expect(whyTestsCannotRun('go test ./...', run(4, 'FAIL'))).toBeNull();
  });
});

it('reads the test ids of a 64 KB report made of path characters at once (a watchdog: it took 4 s)', () => {
  const report = `${'a/'.repeat(32_000)} fails: tests/test_a.py::test_b[1-2].`;
  expect(namedTests(report)).toEqual(['tests/test_a.py::test_b[1-2]']);
}, 2_000);
