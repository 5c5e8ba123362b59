/**
 * The Python program that runs a bug report's examples in the job's sandbox and prints which of
 * the repository's functions they called (trace-examples.ts sends it and reads its answer).
 *
 * Examples are the report's `>>>` and `In [n]:` sessions and its fenced blocks that parse as
 * Python (a block mixing code with its output keeps the lines that parse alone). Each top-level
 * statement runs on its own, so one that fails (a name the reporter defined elsewhere, the bug
 * itself) does not stop the rest; imports run untraced, since loading a module calls half a
 * package, and so do the module bodies a statement's own lazy imports run. A statement that
 * stops on a name the reporter's session had (sympy's `x`, numpy's `np`) runs again after the
 * import the repository's own doctests most often use for that name.
 * The examples' own output is dropped: the last line is the answer, and nothing they
 * print can push it out of the kept tail. A statement that stops on an error raised in the
 * repository's code leaves that traceback's frames of the repository (`raised`): the example has
 * reproduced a failure, and shown where it happens as a reporter's traceback would. An exit, an
 * OSError (the sandbox has no network, nor the reporter's files) and an ImportError (nor every
 * optional dependency) are not counted.
 *
 * Placeholders: __REPORT__ (the report, base64), __PACKAGE__ (the package to import * from first,
 * as a doctest namespace would, or ''), __PRELUDE__ (Python run first, base64, untraced),
 * __SECONDS__ (the time for all statements), __BYTES__ (the answer's size at most), __MARK__.
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
    pattern = re.compile(r'^[ \t]*' + fence + r'[^\n]*\n(.*?)^[ \t]*' + fence + r'[^\n]*$', re.S | re.M)
    # Sessions inside a fence are read with their block, the rest of the text on its own.
    outside = pattern.sub('', text)
    for block in pattern.findall(text) + [outside]:
        lines = block.split('\n')
        prompts = [l for l in lines if PROMPT.match(l)]
        if prompts:
            found.append('\n'.join(STRIP.sub('', l) for l in prompts))
        elif block is not outside:
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
importing = 0
# (path, function) -> the depth it was seen at, innermost of the repository's frames 0.
raised = {}
RAISED_FRAMES = 10
RAISED_ERRORS = 5
errors = 0

def note_raised(error):
    global errors
    frames = []
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        path = code.co_filename
        # As profile() counts: the repository's own functions (a comprehension's frame is its function's).
        if not code.co_name.startswith('<') and path.startswith(ROOT + os.sep) and os.sep + 'site-packages' + os.sep not in path:
            frames.append((path[len(ROOT) + 1:], getattr(code, 'co_qualname', code.co_name)))
        tb = tb.tb_next
    if not frames or errors >= RAISED_ERRORS:
        return
    errors += 1
    for depth, frame in enumerate(reversed(frames[-RAISED_FRAMES:])):
        raised[frame] = min(depth, raised.get(frame, depth))

def loaded_by_import(frame):
    caller = frame.f_back
    return caller is not None and caller.f_code.co_name == '_call_with_frames_removed'

def profile(frame, event, arg):
    # A module body run by an import the statement triggers (sympy imports half its packages
    # lazily) calls whatever that module builds at load time, not what the example does. A body
    # run on purpose (runpy, as python -m does) is not an import's and counts.
    global importing
    code = frame.f_code
    if code.co_name == '<module>' and event in ('call', 'return') and loaded_by_import(frame):
        importing += 1 if event == 'call' else -1
        return
    if event != 'call' or importing:
        return
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
    """True when it ran; the name it missed when it stopped on an undefined one; False otherwise."""
    global importing
    signal.signal(signal.SIGALRM, overtime)
    signal.setitimer(signal.ITIMER_REAL, max(0.1, DEADLINE - time.monotonic()))
    out, err = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        if traced:
            importing = 0
            sys.setprofile(profile)
        exec(code, namespace)
        return True
    except Overtime:
        return False
    except BaseException as e:
        # A command-line entry point's sys.exit() is how it ends, not an error; an OSError (no
        # network, a file the reporter had) or an ImportError (an optional dependency) says what
        # the sandbox lacks, not where the bug is.
        if traced and not isinstance(e, (SystemExit, OSError, ImportError)):
            note_raised(e)
        return (isinstance(e, NameError) and getattr(e, 'name', None)) or False
    finally:
        sys.setprofile(None)
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr = out, err

DOCTEST_IMPORT = re.compile(r'^\s*>>>\s+(from\s+([\w.]+)\s+import\s+([\w\s,]+?)|import\s+([\w.]+)(?:\s+as\s+(\w+))?)\s*$')
imports = None

def doctest_imports():
    """How the repository's own doctests bring in each name, the most common way first:
    reporters leave out what their session had (sympy's x from sympy.abc, numpy as np)."""
    seen = {}
    top = os.path.join(ROOT, 'src', PACKAGE) if PACKAGE and os.path.isdir(os.path.join(ROOT, 'src', PACKAGE)) else os.path.join(ROOT, PACKAGE)
    until = min(DEADLINE, time.monotonic() + 3)
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not d.startswith('.') and d not in ('node_modules', 'site-packages')]
        if time.monotonic() > until:
            break
        for file in files:
            if not file.endswith(('.py', '.rst', '.md', '.txt')):
                continue
            try:
                with open(os.path.join(folder, file), encoding='utf-8', errors='replace') as f:
                    text = f.read(2000000)
            except OSError:
                continue
            if '>>>' not in text:
                continue
            for line in text.split('\n'):
                m = DOCTEST_IMPORT.match(line) if '>>>' in line else None
                if not m:
                    continue
                if m.group(2):
                    for part in m.group(3).split(','):
                        words = part.split()
                        if len(words) == 1:
                            key = (words[0], 'from %s import %s' % (m.group(2), words[0]))
                        elif len(words) == 3 and words[1] == 'as':
                            key = (words[2], 'from %s import %s as %s' % (m.group(2), words[0], words[2]))
                        else:
                            continue
                        seen[key] = seen.get(key, 0) + 1
                else:
                    name = m.group(5) or m.group(4).split('.')[0]
                    key = (name, m.group(0).strip()[3:].strip())
                    seen[key] = seen.get(key, 0) + 1
    best = {}
    for (name, statement), count in seen.items():
        if count > best.get(name, ('', 0))[1]:
            best[name] = (statement, count)
    return {name: statement for name, (statement, _) in best.items()}

def run_statement(code, namespace, traced):
    """Runs one statement; a name it lacks that the repository's doctests import is imported
    (untraced) and the statement run again, a few times at most."""
    global imports
    for _ in range(6):
        outcome = run(code, namespace, traced)
        if not isinstance(outcome, str) or not PACKAGE:
            return outcome is True
        if imports is None:
            imports = doctest_imports()
        statement = imports.get(outcome)
        if statement is None or run(statement, namespace, False) is not True:
            return False
    return False

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
        ran += run_statement(compile(ast.Module([node], []), '<report>', 'exec'), namespace, traced)

# Every file called, most called first, in the bytes the kept tail has room for: as many of each
# file's functions (most called first) as fit beside all the files, then fewer files if none do.
files = sorted(calls.items(), key=lambda item: -sum(item[1].values()))[:500]
def packed(count, names):
    return {path: sorted(called, key=lambda n: -called[n])[:names] for path, called in files[:count]}
# The errors' frames, innermost first, take a quarter of the room at most; the files the rest.
errors_seen = [[path, name, depth] for (path, name), depth in sorted(raised.items(), key=lambda item: item[1])]
while errors_seen and len(json.dumps(errors_seen)) > __BYTES__ // 4:
    errors_seen.pop()
answer = {'statements': statements, 'ran': ran, 'files': {}, 'raised': errors_seen}
for names in (40, 20, 10, 5, 2, 1, 0):
    answer['files'] = packed(len(files), names)
    if len(json.dumps(answer)) <= __BYTES__:
        break
count = len(files)
while count and len(json.dumps(answer)) > __BYTES__:
    count = count * 3 // 4
    answer['files'] = packed(count, 0)
os.write(1, ('\n__MARK__ ' + json.dumps(answer, separators=(',', ':')) + '\n').encode())
`;
