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

.PHONY: all module deps kernel lua-source check host-test module-werror \
	selftests demo vm clean

all: module

module: $(KDIR_DEP)
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

# The module with every C and Rust warning turned into an error.
module-werror: $(KDIR_DEP)
	$(MODULE_MAKE) LUNATIK_WERROR=1 modules

selftests: module-werror
	selftests/run-vm.sh check $(KDIR)

check: deps
	$(MAKE) host-test
	$(MAKE) selftests

demo: module
	selftests/run-vm.sh demo $(KDIR)

vm: module
	selftests/run-vm.sh shell $(KDIR)

# Removes Kbuild's outputs without needing (or building) a kernel tree.
clean:
	rm -f *.ko *.o *.mod *.mod.c .*.cmd Module.symvers modules.order
	rm -f rust/*.o rust/.*.cmd rust/*.d
	rm -rf target build

endif
