#!/usr/bin/env bash
# check-layers.sh [DIR]: fails if a file of the module imports a file of a
# higher layer, or if the module's files import each other in a circle
# (docs/architecture.md, "Layers"). DIR is the repository (default: this
# one). Imports are the `crate::NAME` paths outside comments; module names
# map to files through the `mod` lines of rust/lunatik_main.rs.
# check-layers.sh --self-test: proves the check catches an upward import
# and a circle inside a layer, and passes the tree as it is.
# check-layers.sh --list: prints the files of each layer, then checks.
set -euo pipefail
. "$(dirname "$0")/env.sh"
here=$(cd "$(dirname "$0")/.." && pwd)

check() {
	python3 - "$1" <<'EOF'
import os, re, sys

root = sys.argv[1]
# The layers, lowest first: a file may import its own layer and those
# below. Keep in step with docs/architecture.md, "Layers".
LAYERS = [
    ("Lua core", ["lua/*.rs", "rust/name.rs", "rust/protocol.rs", "rust/ratelimit.rs"]),
    ("kernel glue", ["rust/cpu.rs", "rust/bh_lock.rs", "rust/kalloc.rs", "rust/net.rs",
                     "rust/random.rs"]),
    ("states", ["rust/library.rs", "rust/machine.rs", "rust/softirq_vm.rs",
                "rust/state.rs", "rust/registry.rs", "rust/softirq_index.rs",
                "rust/script.rs"]),
    ("libraries", ["lua?*/*.rs"]),
    ("control plane", ["rust/control.rs", "rust/genl/*.rs", "rust/events.rs"]),
    ("module root", ["rust/lunatik_main.rs", "rust/bench.rs", "rust/state_tests.rs"]),
]
import fnmatch

def layer_of(path):
    for i, (_, globs) in enumerate(LAYERS):
        if any(fnmatch.fnmatch(path, g) for g in globs):
            return i
    return None

# Module name -> file, from the crate root's `mod` lines.
main = os.path.join(root, "rust/lunatik_main.rs")
mods, pending = {}, None
for line in open(main):
    m = re.match(r'\s*#\[path = "([^"]+)"\]', line)
    if m:
        pending = os.path.normpath(os.path.join("rust", m.group(1)))
        continue
    m = re.match(r"\s*(?:pub(?:\([a-z]+\))?\s+)?mod (\w+);", line)
    if m:
        mods[m.group(1)] = pending or "rust/%s.rs" % m.group(1)
        pending = None
    elif not line.strip().startswith("#["):
        pending = None
mods["crate"] = "rust/lunatik_main.rs"

def imports(path):
    text = open(os.path.join(root, path)).read()
    text = re.sub(r"//[^\n]*", "", text)        # comments, doc comments
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)  # string literals
    names = set(re.findall(r"\bcrate::(\w+)", text))
    for group in re.findall(r"\bcrate::\{([^}]*)\}", text, re.S):
        names.update(re.findall(r"(?:^|,)\s*(\w+)", group))
    return names - {"self"}

errors, edges = [], set()
files = {"rust/lunatik_main.rs"} | set(mods.values())
for path in sorted(files):
    lp = layer_of(path)
    if lp is None:
        errors.append("%s: in no layer (add it to scripts/check-layers.sh)" % path)
        continue
    for name in sorted(imports(path)):
        target = mods.get(name)
        if target is None:
            continue  # a macro or an item of the crate root
        if target == path:
            continue
        lt = layer_of(target)
        edges.add((path, target))
        if lt is not None and lt > lp:
            errors.append("%s (%s) imports crate::%s, %s (%s)"
                          % (path, LAYERS[lp][0], name, target, LAYERS[lt][0]))

# A circle: depth-first search over the import graph.
graph = {}
for a, b in edges:
    graph.setdefault(a, []).append(b)
state, stack = {}, []
def visit(n):
    state[n] = 1
    stack.append(n)
    for m in sorted(graph.get(n, [])):
        if state.get(m) == 1:
            errors.append("import circle: " + " -> ".join(stack[stack.index(m):] + [m]))
        elif m not in state:
            visit(m)
    stack.pop()
    state[n] = 2
for n in sorted(graph):
    if n not in state:
        visit(n)

if os.environ.get("LAYERS_LIST"):
    for i, (name, _) in enumerate(LAYERS):
        print("%d %s: %s" % (i, name, " ".join(sorted(f for f in files if layer_of(f) == i))))

for e in errors:
    print("check-layers: " + e, file=sys.stderr)
if errors:
    sys.exit(1)
print("check-layers: %d files in %d layers, %d imports, none upward, no circle"
      % (len(files), len(LAYERS), len(edges)))
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
	# The VM core naming a library, as rust/machine.rs once did.
	echo 'use crate::control::Control;' >>"$tmp/t/lua/vm.rs"
	! check "$tmp/t" 2>/dev/null || die "self-test: missed lua/vm.rs importing the control plane"
	copy
	echo 'use crate::{ffi, netfilter};' >>"$tmp/t/rust/machine.rs"
	! check "$tmp/t" 2>/dev/null || die "self-test: missed a grouped upward import"
	copy
	# A circle inside one layer: state.rs imports machine.rs already.
	echo 'use crate::state::State;' >>"$tmp/t/rust/machine.rs"
	! check "$tmp/t" 2>/dev/null || die "self-test: missed an import circle"
	log "layer check self-test passed"
	exit 0
fi

if [ "${1:-}" = --list ]; then
	LAYERS_LIST=1 check "$here"
	exit
fi

check "${1:-$here}"
