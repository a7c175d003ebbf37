#!/usr/bin/env bash
# Fetches the Debian kernel source package into the cache and unpacks it.
# It uses a private apt configuration so the system's apt sources stay
# untouched, and takes the Debian mirror from the machine's own apt sources,
# so no host name is written in the repository.
set -euo pipefail
. "$(dirname "$0")/env.sh"

[ -f "$KERNEL_SRC/.lunatik-unpacked" ] && exit 0

# The first Debian archive URI this machine's apt uses (deb822 or one-line
# format), skipping the security archive, which carries no backports.
debian_mirror() {
	local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
	{
		sed -n 's/^URIs:[[:space:]]*//p' "${files[@]}" 2>/dev/null | tr ' ' '\n'
		sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' "${files[@]}" 2>/dev/null
	} | grep -E '/debian/?$' | grep -v security | head -n 1 || true
}

mirror=$(debian_mirror)
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*"

apt_dir=$CACHE_DIR/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$CACHE_DIR/dl"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $KERNEL_SUITE main" \
	>"$apt_dir/sources.list"
apt_opts=(
	-o "Dir::Etc::SourceList=$apt_dir/sources.list"
	-o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$apt_dir/lists"
	-o "Dir::Cache=$apt_dir/cache"
	-o Dir::State::status=/dev/null
	-o APT::Sandbox::User=root
)

deb=$CACHE_DIR/dl/${KERNEL_PKG}_${KERNEL_PKG_VERSION}_all.deb
if [ ! -f "$deb" ]; then
	log "fetching $KERNEL_PKG $KERNEL_PKG_VERSION from $KERNEL_SUITE"
	apt-get "${apt_opts[@]}" -qq update
	(cd "$CACHE_DIR/dl" && apt-get "${apt_opts[@]}" -qq download "$KERNEL_PKG=$KERNEL_PKG_VERSION")
	# apt-get download names the file with the epoch-less, URL-escaped version.
	mv "$CACHE_DIR/dl/${KERNEL_PKG}_"*"_all.deb" "$deb" 2>/dev/null || true
	[ -f "$deb" ] || die "download of $KERNEL_PKG failed"
fi

log "unpacking the kernel source into $KERNEL_SRC"
tmp=$(mktemp -d "$CACHE_DIR/unpack.XXXXXX")
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$KERNEL_PKG.tar.xz" | tar -xJ -C "$tmp"
rm -rf "$KERNEL_SRC"
mv "$tmp/$KERNEL_PKG" "$KERNEL_SRC"
rmdir "$tmp"
touch "$KERNEL_SRC/.lunatik-unpacked"
