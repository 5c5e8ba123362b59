// The layers of src/ and the direction their imports may take, as an ESLint rule. Each folder
// (or top-level file) of src/ is a module; a module may import its own files and the modules of
// lower tiers, never sideways or up, except for the few pairs named in ALSO. The table is the
// architecture of README.md's layout section: change both together.
import path from 'node:path';

/** Lowest first. */
const TIERS = [
  ['lib', 'config'],
  ['db', 'git', 'code', 'llm', 'sandbox'],
  ['billing', 'code-index', 'localize'],
  ['jobs', 'fix'],
  ['http', 'web', 'github', 'mcp'],
  ['app', 'queues', 'cli'],
];

/** Imports within a tier that are part of the design. */
const ALSO = [
  ['config', 'lib'], // config parses money with lib's helpers
  ['fix', 'jobs'], // the pipeline implements jobs' FixEngine interface
  ['http', 'mcp'], // the API serves the MCP server at /mcp
  ['http', 'web'], // the API serves the pages
  ['cli', 'app'], // commands start the process that app.ts wires
  ['cli', 'queues'],
  ['app', 'queues'],
];

const tierOf = new Map(TIERS.flatMap((names, tier) => names.map((name) => [name, tier])));

/** The module of a path inside src/ ('jobs' for src/jobs/x.ts, 'app' for src/app.ts), or null outside. */
function moduleOf(file, srcDir) {
  const rel = path.relative(srcDir, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return rel.split(path.sep)[0].replace(/(\.test)?\.[cm]?[jt]s$/, '');
}

/** Why `from` may not import `to`, or null when it may. */
export function layerViolation(from, to) {
  if (from === to) return null;
  if (ALSO.some(([a, b]) => a === from && b === to)) return null;
  const a = tierOf.get(from);
  const b = tierOf.get(to);
  if (a === undefined) return `src/${from} is not in the layer table (scripts/eslint-layers.js): add it to a tier`;
  if (b === undefined) return `src/${to} is not in the layer table (scripts/eslint-layers.js): add it to a tier`;
  if (b < a) return null;
  return b === a
    ? `${from}/ and ${to}/ are in the same layer: neither imports the other (move the shared part down a layer)`
    : `${from}/ may not import ${to}/: ${to}/ is a higher layer (imports point down: ${TIERS.map((t) => t.join(', ')).join(' < ')})`;
}

const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports of src/ point down the layers' },
    schema: [],
    messages: { layer: '{{why}}', outside: 'src/ may not import {{what}}: production code stands on its own' },
  },
  create(context) {
    const file = context.filename;
    const srcDir = path.join(context.cwd, 'src');
    const from = moduleOf(file, srcDir);
    if (from === null) return {};
    const isTest = /\.test\.ts$/.test(file);
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), source);
      const to = moduleOf(target, srcDir);
      if (to === null) {
        if (!isTest) context.report({ node, messageId: 'outside', data: { what: path.relative(context.cwd, target) } });
        return;
      }
      const why = layerViolation(from, to);
      if (why) context.report({ node, messageId: 'layer', data: { why } });
    };
    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    };
  },
};

export default { rules: { layers: layersRule } };
