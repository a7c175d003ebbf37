#!/usr/bin/env bash
# check-layers.sh [DIR]: fails if a file of the module imports a file of a
# higher layer, or if the module's files import each other in a circle
# (docs/architecture.md, "Layers"). DIR is the repository (default: this
# one). Nothing here lists files or modules: the layers are the `// Layer
# N, NAME` lines of the crate root, lunatik_main.rs, each over the `mod`
# lines of its subsystems; the files are the module tree under them,
# found by Rust's own rules (`mod x;` in a `mod.rs` or the root is
# `x.rs` or `x/mod.rs` beside it, in any other `y.rs` it is `y/x.rs` or
# `y/x/mod.rs`), and a `#[path]` anywhere in the crate is an error, since
# it would make the tree differ from the folders. A file is in the layer
# of its subsystem; the root is in the highest. Imports are the
# `crate::`, `super::` and `self::` paths outside comments, grouped ones
# included; each names the deepest module file its path reaches (an
# exported macro, its file). Between
# a module and its own submodules (a `mod.rs` re-exporting its files, a
# file naming its parent's re-exports) no circle is counted; between the
# crate root's modules, the subsystems, none is allowed.
# check-layers.sh --self-test: proves the check catches an upward import
# (plain and grouped), a circle inside a layer, a circle between two
# libraries and a `#[path]`, and passes the tree as it is.
# check-layers.sh --list: prints the files of each layer, then checks.
set -euo pipefail
. "$(dirname "$0")/env.sh"
here=$(cd "$(dirname "$0")/.." && pwd)

check() {
	python3 - "$1" <<'EOF'
import os, re, sys

root_dir = sys.argv[1]
ROOT = "lunatik_main.rs"
errors = []

def source(path):
    """The file's text without comments and string literals."""
    text = open(os.path.join(root_dir, path)).read()
    text = re.sub(r"//[^\n]*", "", text)              # comments, doc comments
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)  # string literals

# The layers and their subsystems, from the crate root.
layers, top = [], {}   # [name], subsystem -> layer index
for line in open(os.path.join(root_dir, ROOT)):
    m = re.match(r"\s*// Layer (\d+), ([^:.]+)", line)
    if m:
        if int(m.group(1)) != len(layers):
            errors.append("%s: layer %s out of order" % (ROOT, m.group(1)))
        layers.append(m.group(2).strip())
        continue
    m = re.match(r"\s*(?:pub(?:\([a-z]+\))?\s+)?mod (\w+);", line)
    if m:
        if not layers:
            errors.append("%s: mod %s above the first `// Layer` line" % (ROOT, m.group(1)))
        else:
            top[m.group(1)] = len(layers) - 1
if not layers:
    errors.append("%s: no `// Layer N, NAME` lines" % ROOT)

# The module tree: module path (a tuple) -> file, and back.
files, modpath = {(): ROOT}, {ROOT: ()}
def walk(path, mp):
    text = source(path)
    if re.search(r"#\[path\b", text):
        errors.append("%s: #[path] (the module tree must be the folder tree)" % path)
    base = os.path.dirname(path)
    if os.path.basename(path) not in ("mod.rs", ROOT):
        base = os.path.join(base, os.path.basename(path)[:-3])
    for name in re.findall(r"(?m)^\s*(?:pub(?:\([a-z]+\))?\s+)?mod (\w+)\s*;", text):
        cands = [os.path.normpath(os.path.join(base, name + ".rs")),
                 os.path.normpath(os.path.join(base, name, "mod.rs"))]
        found = [c for c in cands if os.path.exists(os.path.join(root_dir, c))]
        if len(found) != 1:
            errors.append("%s: mod %s is %s" % (path, name, " and ".join(found) or
                                                "neither " + " nor ".join(cands)))
            continue
        files[mp + (name,)] = found[0]
        modpath[found[0]] = mp + (name,)
        walk(found[0], mp + (name,))
walk(ROOT, ())

def layer_of(path):
    mp = modpath[path]
    return top.get(mp[0]) if mp else len(layers) - 1

# Every `crate::`/`super::`/`self::` path, groups expanded, as a module
# path from the crate root.
TOKEN = re.compile(r"\s*(::|\{|\}|,|\*|\w+)")
def paths(path):
    text, here_mp, out = source(path), modpath[path], []
    for m in re.finditer(r"\b(crate|super|self)\b(?=\s*::)", text):
        start = here_mp if m.group(1) != "crate" else ()
        if m.group(1) == "super":
            start = here_mp[:-1]
        pos = m.end()
        def tree(prefix, pos):
            # prefix, then `::` and a segment or a group, repeatedly
            while True:
                t = TOKEN.match(text, pos)
                if not t or t.group(1) != "::":
                    out.append(prefix)
                    return pos
                pos = t.end()
                t = TOKEN.match(text, pos)
                if not t:
                    out.append(prefix)
                    return pos
                tok = t.group(1)
                if tok == "{":
                    pos = t.end()
                    while True:
                        t = TOKEN.match(text, pos)
                        if not t or t.group(1) == "}":
                            return t.end() if t else pos
                        if t.group(1) == ",":
                            pos = t.end()
                            continue
                        sub = t.group(1)
                        sub_prefix = prefix if sub == "self" else (
                            prefix[:-1] if sub == "super" else prefix + (sub,))
                        pos = tree(sub_prefix, t.end())
                elif tok == "super":
                    prefix, pos = prefix[:-1], t.end()
                elif tok == "*":
                    out.append(prefix)
                    return t.end()
                else:
                    prefix, pos = prefix + (tok,), t.end()
        tree(start, pos)
    return out

# `#[macro_export]` macros live at the crate root but belong to their file.
macros = {}
for path in modpath:
    for name in re.findall(r"#\[macro_export\]\s*macro_rules!\s*(\w+)", source(path)):
        macros[(name,)] = path

def target(mp):
    """The deepest module file a path reaches."""
    if mp[:1] in macros:
        return macros[mp[:1]]
    while mp not in files:
        mp = mp[:-1]
    return files[mp]

edges = set()
for path in sorted(modpath):
    lp = layer_of(path)
    if lp is None:
        continue  # reported above
    for p in sorted(set(paths(path))):
        tgt = target(p)
        if tgt == path:
            continue
        lt = layer_of(tgt)
        if lt is not None and lt > lp:
            errors.append("%s (%s) imports crate::%s, %s (%s)"
                          % (path, layers[lp], "::".join(p), tgt, layers[lt]))
        a, b = modpath[path], modpath[tgt]
        if a[:len(b)] != b and b[:len(a)] != a:  # not a module and its own
            edges.add((path, tgt))

# A circle: depth-first search over the import graph, of files and of
# subsystems (the crate root's modules: two libraries, say, whose files
# meet only through a `mod.rs`).
def circles(edges, what):
    graph = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
    state, stack = {}, []
    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, [])):
            if state.get(m) == 1:
                errors.append("%s circle: %s" % (what, " -> ".join(stack[stack.index(m):] + [m])))
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2
    for n in sorted(graph):
        if n not in state:
            visit(n)
def subsystem(path):
    return (modpath[path] or ("crate",))[0]
circles(edges, "import")
circles({(subsystem(a), subsystem(b)) for a, b in edges if subsystem(a) != subsystem(b)},
        "subsystem")

if os.environ.get("LAYERS_LIST"):
    for i, name in enumerate(layers):
        print("%d %s: %s" % (i, name, " ".join(sorted(f for f in modpath if layer_of(f) == i))))

for e in errors:
    print("check-layers: " + e, file=sys.stderr)
if errors:
    sys.exit(1)
print("check-layers: %d files in %d layers, %d imports, none upward, no circle"
      % (len(modpath), len(layers), len(edges)))
EOF
}

if [ "${1:-}" = --self-test ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	copy() {
		rm -rf "$tmp/t"
		mkdir -p "$tmp/t"
		(cd "$here" && git ls-files -co --exclude-standard -- '*.rs') |
			(cd "$here" && xargs cp --parents -t "$tmp/t")
	}
	copy
	check "$tmp/t" >/dev/null || die "self-test: the tree as it is fails"
	# The Lua core naming a library, as the states layer once did.
	echo 'use crate::control::Control;' >>"$tmp/t/lua/interp.rs"
	! check "$tmp/t" 2>/dev/null || die "self-test: missed lua/interp.rs importing the control plane"
	copy
	echo 'use crate::{lua::ffi, luanetfilter::LIBRARY};' >>"$tmp/t/states/replica.rs"
	! check "$tmp/t" 2>/dev/null || die "self-test: missed a grouped upward import"
	copy
	# A circle inside one layer: state.rs imports replica.rs already.
	echo 'use super::state::State;' >>"$tmp/t/states/replica.rs"
	! check "$tmp/t" 2>/dev/null || die "self-test: missed an import circle"
	copy
	# A circle between two libraries: luanetfilter lends luadata's views.
	echo 'use crate::luanetfilter::LIBRARY;' >>"$tmp/t/luadata/data.rs"
	! check "$tmp/t" 2>/dev/null || die "self-test: missed a circle between libraries"
	copy
	# A file outside its folder's tree.
	printf '#[path = "../lua/ffi.rs"]\nmod ffi2;\n' >>"$tmp/t/states/mod.rs"
	! check "$tmp/t" 2>/dev/null || die "self-test: missed a #[path]"
	log "layer check self-test passed"
	exit 0
fi

if [ "${1:-}" = --list ]; then
	LAYERS_LIST=1 check "$here"
	exit
fi

check "${1:-$here}"
