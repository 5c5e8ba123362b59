import { type LanguageName, languageOf, type TsNode, withTree } from './tree-sitter.js';

/** A function, method or class cut from a file, or a window of lines of a file no grammar covers. */
export interface Snippet {
  name: string;
  /** "Class.method" for a method, the name otherwise. */
  qualifiedName: string;
  kind: 'function' | 'method' | 'class' | 'lines';
  /** The class (or impl, module, struct) the definition sits in, if any. */
  enclosing: string | null;
  language: LanguageName | 'text';
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  /** The head of the definition, up to its body, whitespace collapsed. */
  signature: string;
  text: string;
}

type Kind = 'function' | 'class';

/** TSX is TypeScript with JSX: the same definitions. */
const TYPESCRIPT_DEFINITIONS: Record<string, Kind> = {
  function_declaration: 'function',
  generator_function_declaration: 'function',
  method_definition: 'function',
  class_declaration: 'class',
  abstract_class_declaration: 'class',
  interface_declaration: 'class',
  variable_declarator: 'function',
};

/** The definition nodes of each grammar. */
const DEFINITIONS: Record<LanguageName, Record<string, Kind>> = {
  python: { function_definition: 'function', class_definition: 'class' },
  javascript: {
    function_declaration: 'function',
    generator_function_declaration: 'function',
    method_definition: 'function',
    class_declaration: 'class',
    variable_declarator: 'function',
  },
  typescript: TYPESCRIPT_DEFINITIONS,
  tsx: TYPESCRIPT_DEFINITIONS,
  go: { function_declaration: 'function', method_declaration: 'function', type_spec: 'class' },
  java: {
    method_declaration: 'function',
    constructor_declaration: 'function',
    class_declaration: 'class',
    interface_declaration: 'class',
    enum_declaration: 'class',
    record_declaration: 'class',
  },
  rust: { function_item: 'function', struct_item: 'class', enum_item: 'class', trait_item: 'class', impl_item: 'class' },
  c: { function_definition: 'function', struct_specifier: 'class' },
  cpp: { function_definition: 'function', class_specifier: 'class', struct_specifier: 'class' },
  ruby: { method: 'function', singleton_method: 'function', class: 'class', module: 'class' },
  php: {
    function_definition: 'function',
    method_declaration: 'function',
    class_declaration: 'class',
    interface_declaration: 'class',
    trait_declaration: 'class',
  },
  csharp: {
    method_declaration: 'function',
    constructor_declaration: 'function',
    class_declaration: 'class',
    struct_declaration: 'class',
    interface_declaration: 'class',
    record_declaration: 'class',
  },
};

const NAME_TYPES = new Set([
  'identifier',
  'field_identifier',
  'property_identifier',
  'type_identifier',
  'qualified_identifier',
  'destructor_name',
  'operator_name',
  'constant',
  'name',
]);

function nameOf(node: TsNode): string | null {
  const named = node.childForFieldName('name') ?? (node.type === 'impl_item' ? node.childForFieldName('type') : null);
  if (named) return named.text;
  // C and C++ bury the name in the declarator: `int *foo(int)` → function_declarator → identifier.
  let declarator = node.childForFieldName('declarator');
  while (declarator && !NAME_TYPES.has(declarator.type)) declarator = declarator.childForFieldName('declarator');
  return declarator?.text ?? null;
}

function isFunctionValue(node: TsNode): boolean {
  const value = node.childForFieldName('value');
  return value !== null && /^(arrow_function|function_expression|function|generator_function)$/.test(value.type);
}

function signatureOf(node: TsNode, source: string): string {
  const body = node.childForFieldName('body');
  const end = body ? body.startIndex : source.indexOf('\n', node.startIndex) === -1 ? source.length : source.indexOf('\n', node.startIndex);
  return source
    .slice(node.startIndex, Math.max(end, node.startIndex))
    .replace(/\s+/g, ' ')
    .replace(/[\s{:]+$/, '')
    .slice(0, 240);
}

/**
 * Nodes no definition we cut can sit inside: statements and expressions. The walk does not enter
 * them, which halves the time of a file (most of a syntax tree is expressions).
 */
const OPAQUE = new Set([
  'expression_statement',
  'return_statement',
  'raise_statement',
  'assert_statement',
  'throw_statement',
  'import_statement',
  'import_from_statement',
  'import_declaration',
  'use_declaration',
  'using_directive',
  'preproc_include',
  'call',
  'call_expression',
  'invocation_expression',
  'method_invocation',
  'argument_list',
  'arguments',
  'binary_operator',
  'binary_expression',
  'boolean_operator',
  'comparison_operator',
  'unary_operator',
  'not_operator',
  'assignment',
  'augmented_assignment',
  'subscript',
  'attribute',
  'member_expression',
  'field_expression',
  'parameters',
  'formal_parameters',
  'parameter_list',
  'type_parameters',
  'string',
  'string_literal',
  'interpreted_string_literal',
  'raw_string_literal',
  'template_string',
  'concatenated_string',
  'comment',
  'line_comment',
  'block_comment',
  'list',
  'dictionary',
  'tuple',
  'set',
  'identifier',
  'integer',
  'float',
  'number',
]);

const WINDOW = 60;

export function lineWindows(path: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i += WINDOW) {
    const end = Math.min(lines.length, i + WINDOW);
    const name = `${path}:${i + 1}-${end}`;
    out.push({
      name,
      qualifiedName: name,
      kind: 'lines',
      enclosing: null,
      language: 'text',
      startLine: i + 1,
      endLine: end,
      signature: '',
      text: lines.slice(i, end).join('\n'),
    });
  }
  return out;
}

/**
 * Cuts a file into its functions, methods and classes with tree-sitter (WASM, no native build),
 * each with its enclosing class and signature; files no grammar covers fall back to line windows.
 * The tree is walked with a cursor: a node object is made only for the definitions themselves.
 */
export async function extractSnippets(path: string, text: string): Promise<Snippet[]> {
  const language = languageOf(path);
  if (!language) return lineWindows(path, text);
  const kinds = DEFINITIONS[language];
  return withTree(language, text, (_root, tree) => {
    const out: Snippet[] = [];
    const cursor = tree.walk();
    // The enclosing class of each open level of the walk.
    const enclosingAt: Array<string | null> = [null];
    try {
      for (;;) {
        const enclosing = enclosingAt[enclosingAt.length - 1]!;
        let inner = enclosing;
        let kind = kinds[cursor.nodeType];
        if (kind) {
          const node = cursor.currentNode;
          if (node.type === 'variable_declarator' && !isFunctionValue(node)) kind = undefined;
          // `struct cart *c` in a parameter list names a type; only a specifier with a body defines one.
          if (/_specifier$/.test(node.type) && !node.childForFieldName('body')) kind = undefined;
          const name = kind ? nameOf(node) : null;
          if (kind && name) {
            const method = kind === 'function' && enclosing !== null;
            out.push({
              name,
              qualifiedName: method ? `${enclosing}.${name}` : name,
              kind: kind === 'class' ? 'class' : method ? 'method' : 'function',
              enclosing,
              language,
              startLine: cursor.startPosition.row + 1,
              endLine: cursor.endPosition.row + 1,
              signature: signatureOf(node, text),
              text: text.slice(cursor.startIndex, cursor.endIndex),
            });
            if (kind === 'class') inner = name;
          }
        }
        if (!OPAQUE.has(cursor.nodeType) && cursor.gotoFirstChild()) {
          enclosingAt.push(inner);
          continue;
        }
        while (!cursor.gotoNextSibling()) {
          if (!cursor.gotoParent()) return out;
          enclosingAt.pop();
        }
      }
    } finally {
      cursor.delete();
    }
  });
}

/** Where a text no longer parses: the lines of tree-sitter's ERROR and MISSING nodes (empty when clean). */
export async function syntaxErrors(path: string, text: string): Promise<number[]> {
  const language = languageOf(path);
  if (!language) return [];
  return withTree(language, text, (root) => {
    const lines: number[] = [];
    const visit = (node: TsNode) => {
      if (!node.hasError && !node.isMissing) return;
      if (node.type === 'ERROR' || node.isMissing) lines.push(node.startPosition.row + 1);
      for (const child of node.children) visit(child);
    };
    visit(root);
    return [...new Set(lines)].sort((a, b) => a - b);
  });
}
