// SPDX-License-Identifier: GPL-2.0

//! KUnit inside the module: the tests of states and the benchmarks. They
//! make states with the module's own runtime (`crate::RUNTIME`), so they
//! sit with the crate root, above everything they test.

/// Benchmarks (suite `lunatik_bench`), compiled only into the module
/// `make bench` builds (`LUNATIK_BENCH=1`, Kbuild), never the one it ships.
#[cfg(lunatik_bench)]
mod bench;
/// Tests of states (suite `lunatik_state`).
mod state_tests;
