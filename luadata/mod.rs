// SPDX-License-Identifier: GPL-2.0

//! The `data` library: views of memory, such as packet bytes, for scripts
//! (docs/libraries.md). Its code, luadata/data.rs (the Lua functions, no
//! `unsafe`) over luadata/data/view.rs (the raw memory a view shows and
//! its lending), is `core`-only and shared with the host tests
//! (lua/host.rs); it is the one module of a library others see, since the
//! packet libraries (luanetfilter/, luaxdp/) lend its views.

use crate::states::library::Library;

/// The views and their Lua functions.
#[allow(unreachable_pub, dead_code)]
pub(crate) mod data;

/// The `data` library.
pub(crate) static LIBRARY: Library = Library::new("data", &[(c"data", data::OPEN)]);
