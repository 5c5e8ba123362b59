import { describe, expect, it } from 'vitest';
import { compareRuns, failedTests, namedTests, passedCount, summarizeRun } from './test-outcomes.js';

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
