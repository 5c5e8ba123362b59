import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });

/** The layer rule's messages for one import written in `file`. */
async function layerErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { x } from '${source}';\nexport const y = x;\n`, { filePath: path.join(root, file) });
  return result!.messages.filter((m) => m.ruleId === 'kodah/layers').map((m) => m.message);
}

describe('the layer rule of src/', () => {
  it('lets imports point down the layers and within a module', async () => {
    expect(await layerErrors('src/jobs/example.ts', '../billing/credits.js')).toEqual([]);
    expect(await layerErrors('src/localize/example.ts', '../code/bm25.js')).toEqual([]);
    expect(await layerErrors('src/github/example.ts', './github-api.js')).toEqual([]);
    expect(await layerErrors('src/fix/example.ts', '../jobs/fix-engine.js')).toEqual([]);
    expect(await layerErrors('src/cli/example.ts', '../app.js')).toEqual([]);
  });

  it('refuses imports that point up or sideways, and says which way they may go', async () => {
    expect(await layerErrors('src/lib/example.ts', '../db/database.js')).toEqual([
      expect.stringMatching(/lib\/ may not import db\/: db\/ is a higher layer/),
    ]);
    expect(await layerErrors('src/git/example.ts', '../billing/credits.js')).toEqual([
      expect.stringMatching(/git\/ may not import billing\//),
    ]);
    expect(await layerErrors('src/code-index/example.ts', '../localize/localize.js')).toEqual([expect.stringMatching(/same layer/)]);
    expect(await layerErrors('src/mcp/example.ts', '../http/routes/search.js')).toEqual([expect.stringMatching(/same layer/)]);
    expect(await layerErrors('src/jobs/example.ts', '../fix/fix-pipeline.js')).toEqual([expect.stringMatching(/same layer/)]);
    expect(await layerErrors('src/jobs/example.ts', '../github/tasks.js')).toEqual([expect.stringMatching(/higher layer/)]);
  });

  it('treats web/ as an edge: it stands on billing/ and db/, http/ serves it, it never imports http/ or github/', async () => {
    expect(await layerErrors('src/web/example.ts', '../billing/api-keys.js')).toEqual([]);
    expect(await layerErrors('src/web/example.ts', '../db/database.js')).toEqual([]);
    expect(await layerErrors('src/http/example.ts', '../web/web-routes.js')).toEqual([]);
    expect(await layerErrors('src/web/example.ts', '../http/auth.js')).toEqual([expect.stringMatching(/same layer/)]);
    expect(await layerErrors('src/web/example.ts', '../github/github-api.js')).toEqual([expect.stringMatching(/same layer/)]);
    expect(await layerErrors('src/billing/example.ts', '../web/sessions.js')).toEqual([expect.stringMatching(/higher layer/)]);
  });

  it('keeps test code out of production code, and unknown folders out of src/', async () => {
    expect(await layerErrors('src/http/example.ts', '../../test/helpers/test-app.js')).toEqual([
      expect.stringMatching(/production code stands on its own/),
    ]);
    expect(await layerErrors('src/http/example.test.ts', '../../test/helpers/test-app.js')).toEqual([]);
    expect(await layerErrors('src/widgets/example.ts', '../lib/errors.js')).toEqual([
      expect.stringMatching(/src\/widgets is not in the layer table/),
    ]);
  });

  it('the tree as it is has no violation', async () => {
    const results = await eslint.lintFiles(['src/**/*.ts']);
    const violations = results.flatMap((r) =>
      r.messages.filter((m) => m.ruleId === 'kodah/layers').map((m) => `${path.relative(root, r.filePath)}:${m.line} ${m.message}`),
    );
    expect(violations).toEqual([]);
  });
});
