#!/usr/bin/env bash
# ynl.sh [--check]: validates netlink/lunatik.yaml against the kernel's
# genetlink schema and generates, with the kernel's own YNL generator, the
# family's policies and ops table (netlink/lunatik-nl-gen.[ch]) and its
# uAPI header (netlink/uapi/linux/lunatik.h). With --check, fails if the
# committed files differ from what the spec generates.
set -euo pipefail
. "$(dirname "$0")/env.sh"

"$(dirname "$0")/kernel-source.sh"
check=0
[ "${1:-}" = --check ] && check=1

# The generator reads the schema from the spec's grandparent directory and
# looks for the kernel's top directory (a MAINTAINERS file) above the spec
# to name it in its header comment; give it that layout in a scratch tree.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/netlink" "$work/out/uapi/linux"
touch "$work/MAINTAINERS"
cp "$KERNEL_SRC/Documentation/netlink/genetlink.yaml" "$work/"
cp "$REPO_DIR/netlink/lunatik.yaml" "$work/netlink/"

gen() {
	(cd "$work/out" && /usr/bin/python3 "$KERNEL_SRC/tools/net/ynl/pyynl/ynl_gen_c.py" \
		--spec "$work/netlink/lunatik.yaml" "$@")
}
gen --mode kernel --source -o lunatik-nl-gen.c
gen --mode kernel --header -o lunatik-nl-gen.h
gen --mode uapi --header -o uapi/linux/lunatik.h

status=0
for f in lunatik-nl-gen.c lunatik-nl-gen.h uapi/linux/lunatik.h; do
	if [ "$check" = 1 ]; then
		if ! cmp -s "$work/out/$f" "$REPO_DIR/netlink/$f"; then
			echo "error: netlink/$f is not what netlink/lunatik.yaml generates (run scripts/ynl.sh)" >&2
			diff -u "$REPO_DIR/netlink/$f" "$work/out/$f" >&2 || true
			status=1
		fi
	else
		mkdir -p "$(dirname "$REPO_DIR/netlink/$f")"
		cp "$work/out/$f" "$REPO_DIR/netlink/$f"
	fi
done
[ "$check" = 1 ] && [ "$status" = 0 ] && log "netlink/lunatik.yaml is valid and matches the generated files"
exit $status
