import { describe, expect, it } from 'vitest';
import { logTail } from './log-tail.js';

const ESC = '\x1b';

/** A GitHub Actions job log as the API returns it: a BOM, a timestamp on every line, colours. */
function jobLog(): string {
  let second = 0;
  const lines: string[] = [];
  const add = (text: string) => {
    const s = String(second++ % 60).padStart(2, '0');
    lines.push(`2024-01-15T10:${String(20 + Math.floor(second / 60)).padStart(2, '0')}:${s}.1234567Z ${text}`);
  };
  add('##[group]Runner Image');
  add('Image: ubuntu-22.04');
  add('Version: 20240107.1.0');
  add('##[endgroup]');
  add('##[group]Run actions/checkout@v4');
  add('with:');
  add('  repository: acme/widgets');
  add('##[endgroup]');
  add('Syncing repository: acme/widgets');
  add('[command]/usr/bin/git version');
  add('git version 2.43.0');
  add('##[group]Run pip install -e .[test]');
  add(`${ESC}[36;1mpip install -e .[test]${ESC}[0m`);
  for (let i = 0; i < 80; i++) add(`Collecting package-${i}>=1.${i}.0 (from widgets==0.1.0)`);
  for (let i = 0; i < 80; i++) add(`  Downloading package_${i}-1.${i}.0-py3-none-any.whl (${100 + i} kB)`);
  add('Successfully installed widgets-0.1.0 ' + Array.from({ length: 40 }, (_, i) => `package-${i}-1.${i}.0`).join(' '));
  add('##[warning]pip is out of date');
  add('##[endgroup]');
  add('##[group]Run pytest -q');
  add(`${ESC}[36;1mpytest -q${ESC}[0m`);
  add('shell: /usr/bin/bash -e {0}');
  add('##[endgroup]');
  add(`${ESC}[1m============================= test session starts ==============================${ESC}[0m`);
  add('platform linux -- Python 3.12.1, pytest-7.4.4, pluggy-1.3.0');
  add('rootdir: /home/runner/work/widgets/widgets');
  add('collected 42 items');
  add('');
  add(`tests/test_config.py ${ESC}[32m.${ESC}[0m${ESC}[32m.${ESC}[0m${ESC}[31mF${ESC}[0m${ESC}[32m.${ESC}[0m     [ 30%]`);
  add(`tests/test_widgets.py ${ESC}[32m.............................${ESC}[0m   [100%]`);
  add('');
  add('=================================== FAILURES ===================================');
  add(`${ESC}[31m${ESC}[1m___________________________ test_load_empty_config ____________________________${ESC}[0m`);
  add('');
  add('    def test_load_empty_config(tmp_path):');
  add('        path = tmp_path / "widgets.toml"');
  add('        path.write_text("")');
  add('>       config = load_config(path)');
  add('');
  add('tests/test_config.py:18: ');
  add('_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ ');
  add('src/widgets/config.py:41: in load_config');
  add('    return Config(**data["widgets"])');
  add("E   TypeError: 'NoneType' object is not subscriptable");
  add('=========================== short test summary info ============================');
  add("FAILED tests/test_config.py::test_load_empty_config - TypeError: 'NoneType' object is not subscriptable");
  add(
    `${ESC}[31m========================= ${ESC}[1m1 failed${ESC}[0m, ${ESC}[32m41 passed${ESC}[0m${ESC}[31m in 2.31s${ESC}[0m${ESC}[31m =========================${ESC}[0m`,
  );
  add('##[error]Process completed with exit code 1.');
  add('Post job cleanup.');
  add('[command]/usr/bin/git version');
  add('git version 2.43.0');
  add("Temporarily overriding HOME='/home/runner/work/_temp/1a2b' before making global git config changes");
  add('[command]/usr/bin/git config --local --name-only --get-regexp core\\.sshCommand');
  add(
    "[command]/usr/bin/git submodule foreach --recursive sh -c \"git config --local --name-only --get-regexp 'core\\.sshCommand' && git config --local --unset-all 'core.sshCommand' || :\"",
  );
  add('Cleaning up orphan processes');
  for (let i = 0; i < 20; i++) add(`Terminate orphan process: pid (${4000 + i}) (dotnet)`);
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

describe('logTail', () => {
  const log = jobLog();

  it('keeps the failure and the lines before it, not the cleanup after', () => {
    expect(log.length).toBeGreaterThan(8000);
    const tail = logTail(log);
    expect(tail).toContain("E   TypeError: 'NoneType' object is not subscriptable");
    expect(tail).toContain('FAILED tests/test_config.py::test_load_empty_config');
    expect(tail).toContain('1 failed, 41 passed in 2.31s');
    expect(tail).toContain('Error: Process completed with exit code 1.');
    // Five lines after the error: the start of cleanup, not the orphan processes at the very end.
    expect(tail.split('\n').at(-1)).toBe('[command]/usr/bin/git config --local --name-only --get-regexp core\\.sshCommand');
    expect(tail).not.toContain('submodule foreach');
    expect(tail).not.toContain('Terminate orphan process');
    expect(tail.split('\n')).toHaveLength(150);
  });

  it('strips timestamps, colours and group markers, keeping group titles', () => {
    const tail = logTail(log, { maxLines: 1000, maxBytes: 1e6 });
    expect(tail).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    expect(tail).not.toContain(ESC);
    expect(tail).not.toContain('##[');
    expect(tail).not.toContain('\r');
    expect(tail.startsWith('Runner Image\n')).toBe(true);
    expect(tail).toContain('\nRun pytest -q\npytest -q\nshell: /usr/bin/bash -e {0}\n');
    expect(tail).toContain('\nWarning: pip is out of date\n');
    expect(tail).toContain('\ntests/test_config.py ..F.     [ 30%]\n');
  });

  it('takes the last lines when there is no error line', () => {
    const plain = Array.from({ length: 500 }, (_, i) => `2024-01-15T10:20:30.0000000Z line ${i}`).join('\n');
    const tail = logTail(plain, { maxLines: 10 });
    expect(tail.split('\n')).toEqual(Array.from({ length: 10 }, (_, i) => `line ${490 + i}`));
  });

  it('caps by bytes from the end, on a line boundary and a character boundary', () => {
    const tail = logTail(log, { maxBytes: 1000 });
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(1000);
    expect(tail).toContain('Error: Process completed with exit code 1.');
    expect(log).toContain(tail.split('\n')[0]!);
    const wide = logTail('é'.repeat(5000) + '🐛'.repeat(5000), { maxBytes: 1001 });
    expect(Buffer.byteLength(wide)).toBeLessThanOrEqual(1001);
    expect(wide).not.toContain('\uFFFD');
    expect(wide).toBe('🐛'.repeat(250));
  });

  it('handles empty and huge logs', () => {
    expect(logTail('')).toBe('');
    const huge = `${'2024-01-15T10:20:30.0000000Z noise line\n'.repeat(200_000)}2024-01-15T10:20:30.0000000Z ##[error]boom\n`;
    const started = performance.now();
    expect(logTail(huge).split('\n').at(-1)).toBe('Error: boom');
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
