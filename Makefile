# SPDX-License-Identifier: GPL-2.0
#
# The front door. `make` builds lunatik.ko; `make check` runs every test;
# `make demo` boots a VM and shows the module at work. See README.md.
#
# When invoked by Kbuild (KERNELRELEASE set), only the Kbuild file matters.
ifneq ($(KERNELRELEASE),)
include $(src)/Kbuild
else

LLVM ?= -19
export LIBCLANG_PATH ?= /usr/lib/llvm$(LLVM)/lib
export PATH := $(HOME)/.cargo/bin:$(PATH)

# Without KDIR, the module is built against the selftest kernel cached
# outside the repository (scripts/kernel.sh builds it on first use).
ifeq ($(KDIR),)
KDIR_DEP := kernel
KDIR = $(shell scripts/kernel.sh)
endif

MODULE_MAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM)

.PHONY: all module deps kernel lua-source check host-test asan module-werror \
	no-fpu ynl-check layers cli selftests bench lua-bench demo vm clean bpf \
	install uninstall

all: module

module: $(KDIR_DEP) lua-source
	$(MODULE_MAKE) modules

deps:
	scripts/deps.sh

kernel: deps
	@scripts/kernel.sh >/dev/null

# Lua 5.5.1 from the lua-src crate, patched, in build/lua/src.
lua-source:
	scripts/lua-source.sh

host-test: lua-source
	cargo test --workspace --locked

# The host tests of lua/ again, Lua's C under ASan and UBSan and the Rust
# under ASan, with the Lua API fuzzer at 1,000,000 calls, then negative
# controls proving an overflow is caught (scripts/asan.sh; its own target
# directory, target/asan, so the normal build is not rebuilt).
asan: lua-source
	scripts/asan.sh

# The YNL spec is valid and the generated family code matches it.
ynl-check:
	scripts/ynl.sh --check

# No file imports a higher layer and no import circle exists
# (docs/architecture.md, "Layers"), after proving the check catches both.
layers:
	scripts/check-layers.sh --self-test
	scripts/check-layers.sh

# The eBPF programs of luaxdp/bpf (docs/xdp.md), in build/bpf, against a
# vmlinux.h generated from the BTF of the kernel they will run on (never
# committed).
BPF_OUT := build/bpf
BPF_SRC := $(wildcard luaxdp/bpf/*.bpf.c)
BPF_OBJS := $(patsubst luaxdp/bpf/%.bpf.c,$(BPF_OUT)/%.o,$(BPF_SRC)) $(BPF_OUT)/sni_luaxdp.o
BPF_CFLAGS := -g -O2 -target bpf -fms-extensions -Wno-microsoft-anon-tag -D__TARGET_ARCH_x86 -I$(BPF_OUT) -Iluaxdp/bpf -Wall -Werror

bpf: $(KDIR_DEP)
	@mkdir -p $(BPF_OUT)
	bpftool btf dump file $(KDIR)/vmlinux format c >$(BPF_OUT)/vmlinux.h.new
	@cmp -s $(BPF_OUT)/vmlinux.h.new $(BPF_OUT)/vmlinux.h || mv $(BPF_OUT)/vmlinux.h.new $(BPF_OUT)/vmlinux.h
	@rm -f $(BPF_OUT)/vmlinux.h.new
	$(MAKE) --no-print-directory $(BPF_OBJS)

$(BPF_OUT)/%.o: luaxdp/bpf/%.bpf.c luaxdp/bpf/lua_kfuncs.h luaxdp/bpf/tls.h $(BPF_OUT)/vmlinux.h
	clang$(LLVM) $(BPF_CFLAGS) -c $< -o $@

# Lunatik's key and kfunc, for its examples/filter/sni.lua.
$(BPF_OUT)/sni_luaxdp.o: luaxdp/bpf/sni.bpf.c luaxdp/bpf/lua_kfuncs.h luaxdp/bpf/tls.h $(BPF_OUT)/vmlinux.h
	clang$(LLVM) $(BPF_CFLAGS) -DLUAXDP -DSTATE='"examples/filter/sni"' -c $< -o $@

# The lunatik command-line tool and the selftests' traffic generators,
# netlink fuzzer and fault injector (selftests/tools), all copied into the
# selftest VM;
# `make install` installs only the command.
cli:
	cargo build --release --locked -p lunatik -p lunatik-selftest-tools

# The module with every C and Rust warning turned into an error.
module-werror: $(KDIR_DEP) lua-source
	$(MODULE_MAKE) LUNATIK_WERROR=1 modules

# No x87/MMX/SSE/AVX instruction in the module (after proving the check
# catches one).
no-fpu: module-werror
	scripts/check-no-fpu.sh --self-test
	scripts/check-no-fpu.sh lunatik.ko

selftests: module-werror cli bpf
	selftests/run-vm.sh check $(KDIR)

# Benchmarks in the VM, on the bench kernel (built and cached on first
# use, never used by `make check`); they print a table of figures, they do
# not pass or fail. LUNATIK_UPSTREAM=/path/to/lunatik adds a column for an
# upstream Lunatik checkout (docs/bench.md).
bench: deps lua-source cli lua-bench
	scripts/bench.sh

# The host build of the project's Lua, run in the bench VM to compare
# CPU-bound Lua with the kernel's.
lua-bench: lua-source
	cargo build --release --locked -p lunatik-lua --bin lunatik-lua-bench

check: deps
	$(MAKE) layers
	$(MAKE) host-test
	$(MAKE) asan
	$(MAKE) ynl-check
	$(MAKE) no-fpu
	$(MAKE) selftests

demo: module cli bpf
	selftests/run-vm.sh demo $(KDIR)

vm: module cli bpf
	selftests/run-vm.sh shell $(KDIR)

# Installs what `make` and `make cli` built (it builds nothing, so it can
# run as root after an unprivileged build): the module into
# /lib/modules/RELEASE/extra (RELEASE is KDIR's kernel release) and its
# modules.dep, the lunatik command, its man pages and shell completions
# (generated from the command's own definition) under PREFIX, and the
# examples under /lib/modules/lua/examples and the Lua modules of lib/
# (net, struct) under /lib/modules/lua. DESTDIR stages it all into
# another root (the selftest VM's, for one).
PREFIX ?= /usr/local
KRELEASE = $(shell cat $(KDIR)/include/config/kernel.release)
MODDIR = $(DESTDIR)/lib/modules/$(KRELEASE)/extra
SCRIPTDIR = $(DESTDIR)/lib/modules/lua
BINDIR = $(DESTDIR)$(PREFIX)/bin
MANDIR = $(DESTDIR)$(PREFIX)/share/man/man1
BASHDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHDIR = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
GENDOC = build/gendoc
LUALIB = $(wildcard lib/*.lua)
# depmod works on DESTDIR's tree, not the running system's, when staging.
DEPMOD = depmod $(if $(DESTDIR),-b $(abspath $(DESTDIR))) $(KRELEASE)

install:
	@test -f lunatik.ko || { echo "error: lunatik.ko is not built (run make)" >&2; exit 1; }
	@test -x target/release/lunatik -a -x target/release/lunatik-gendoc || \
		{ echo "error: the lunatik command is not built (run make cli)" >&2; exit 1; }
	@test -n "$(KRELEASE)" || { echo "error: no kernel release in $(KDIR)" >&2; exit 1; }
	install -D -m 644 lunatik.ko $(MODDIR)/lunatik.ko
	$(DEPMOD)
	install -D -m 755 target/release/lunatik $(BINDIR)/lunatik
	rm -rf $(GENDOC)
	target/release/lunatik-gendoc $(GENDOC)
	install -d $(MANDIR) $(BASHDIR) $(ZSHDIR) $(FISHDIR)
	install -m 644 $(GENDOC)/man1/*.1 $(MANDIR)/
	install -m 644 $(GENDOC)/completions/lunatik.bash $(BASHDIR)/lunatik
	install -m 644 $(GENDOC)/completions/_lunatik $(ZSHDIR)/_lunatik
	install -m 644 $(GENDOC)/completions/lunatik.fish $(FISHDIR)/lunatik.fish
	cd examples && find . -name '*.lua' -exec install -D -m 644 {} $(abspath $(SCRIPTDIR))/examples/{} \;
	install -D -m 644 -t $(SCRIPTDIR) $(LUALIB)

# Removes what `make install` put in place (with the same DESTDIR, PREFIX
# and KDIR), and the directories it leaves empty.
uninstall:
	rm -f $(MODDIR)/lunatik.ko $(BINDIR)/lunatik $(MANDIR)/lunatik.1 $(MANDIR)/lunatik-*.1
	rm -f $(BASHDIR)/lunatik $(ZSHDIR)/_lunatik $(FISHDIR)/lunatik.fish
	rm -rf $(SCRIPTDIR)/examples
	rm -f $(addprefix $(SCRIPTDIR)/,$(notdir $(LUALIB)))
	-rmdir $(MODDIR) $(SCRIPTDIR) 2>/dev/null
	if [ -d $(DESTDIR)/lib/modules/$(KRELEASE) ]; then $(DEPMOD); fi

# Removes Kbuild's outputs without needing (or building) a kernel tree.
clean:
	rm -f *.ko *.o *.mod *.mod.c .*.cmd *.d Module.symvers modules.order
	rm -f $(foreach d,glue states control uapi kunit lua lua/klibc lua?* netlink,$(d)/*.o $(d)/.*.cmd)
	rm -rf target build

endif
