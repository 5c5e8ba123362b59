/**
 * The Python program that runs a bug report's examples in the job's sandbox and prints which of
 * the repository's functions they called (trace-examples.ts sends it and reads its answer).
 *
 * Examples are the report's `>>>` and `In [n]:` sessions and its fenced blocks that parse as
 * Python (a block mixing code with its output keeps the lines that parse alone). Each top-level
 * statement runs on its own, so one that fails (a name the reporter defined elsewhere, the bug
 * itself) does not stop the rest; imports run untraced, since loading a module calls half a
 * package. The examples' own output is dropped: the last line is the answer, and nothing they
 * print can push it out of the kept tail.
 *
 * Placeholders: __REPORT__ (the report, base64), __PACKAGE__ (the package to import * from first,
 * as a doctest namespace would, or ''), __PRELUDE__ (Python run first, base64, untraced),
 * __SECONDS__ (the time for all statements), __MARK__.
 */
export const EXAMPLE_TRACER = String.raw`
import ast, base64, io, json, os, re, signal, sys, time

ROOT = os.getcwd()
REPORT = base64.b64decode('__REPORT__').decode('utf-8', 'replace').replace('\r', '')
PACKAGE = '__PACKAGE__'
PRELUDE = base64.b64decode('__PRELUDE__').decode('utf-8', 'replace')
DEADLINE = time.monotonic() + __SECONDS__
PROMPT = re.compile(r'^\s*(?:>>>|\.\.\.)(?: |$)|^\s*In \[\d+\]: ')
STRIP = re.compile(r'^\s*(?:>>> ?|\.\.\. ?|In \[\d+\]: )')

def parses(code):
    try:
        ast.parse(code)
        return True
    except (SyntaxError, ValueError):
        return False

def trivial(line):
    body = ast.parse(line).body
    return all(isinstance(s, ast.Expr) and isinstance(s.value, (ast.Name, ast.Constant)) for s in body)

def examples(text):
    found = []
    fence = '(?:' + chr(96) * 3 + '|~~~)'
    fenced = re.findall(r'^[ \t]*' + fence + r'[^\n]*\n(.*?)^[ \t]*' + fence, text, re.S | re.M)
    for block in fenced + [text]:
        lines = block.split('\n')
        prompts = [l for l in lines if PROMPT.match(l)]
        if prompts:
            found.append('\n'.join(STRIP.sub('', l) for l in prompts))
        elif block is not text:
            if parses(block):
                found.append(block)
            else:
                kept = [l for l in lines if l.strip() and not l[0].isspace() and parses(l) and not trivial(l)]
                if kept:
                    found.append('\n'.join(kept))
    unique = []
    for code in found:
        if code.strip() and code not in unique:
            unique.append(code)
    return unique

calls = {}
def profile(frame, event, arg):
    if event != 'call':
        return
    code = frame.f_code
    path = code.co_filename
    # A virtual environment setup made in the work tree is not the repository's code.
    if code.co_name.startswith('<') or not path.startswith(ROOT + os.sep) or os.sep + 'site-packages' + os.sep in path:
        return
    # Python 3.11 names a method by its class too (Float.__eq__).
    name = getattr(code, 'co_qualname', code.co_name)
    names = calls.setdefault(path[len(ROOT) + 1:], {})
    names[name] = names.get(name, 0) + 1

class Overtime(BaseException):
    pass

def overtime(*_):
    raise Overtime()

def run(code, namespace, traced):
    signal.signal(signal.SIGALRM, overtime)
    signal.setitimer(signal.ITIMER_REAL, max(0.1, DEADLINE - time.monotonic()))
    out, err = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        if traced:
            sys.setprofile(profile)
        exec(code, namespace)
        return True
    except BaseException:
        return False
    finally:
        sys.setprofile(None)
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr = out, err

sys.path[:0] = [p for p in (os.path.join(ROOT, 'src'), ROOT) if os.path.isdir(p)]
namespace = {'__name__': '__main__'}
if PRELUDE:
    run(PRELUDE, namespace, False)
if PACKAGE:
    run('import %s\nfrom %s import *' % (PACKAGE, PACKAGE), namespace, False)
statements = ran = 0
for example in examples(REPORT):
    try:
        tree = ast.parse(example)
    except (SyntaxError, ValueError):
        continue
    for node in tree.body:
        if time.monotonic() >= DEADLINE:
            break
        statements += 1
        traced = not isinstance(node, (ast.Import, ast.ImportFrom))
        ran += run(compile(ast.Module([node], []), '<report>', 'exec'), namespace, traced)

answer = {'statements': statements, 'ran': ran, 'files': {}}
size = 0
for path, names in sorted(calls.items(), key=lambda item: -sum(item[1].values()))[:200]:
    kept = sorted(names, key=lambda n: -names[n])[:40]
    size += len(path) + sum(len(n) + 3 for n in kept)
    if size > 10000:
        break
    answer['files'][path] = kept
os.write(1, ('\n__MARK__ ' + json.dumps(answer, separators=(',', ':')) + '\n').encode())
`;
