// SPDX-License-Identifier: GPL-2.0

//! The `data` library as the module registers it (rust/library.rs). Its
//! code, luadata/data.rs, is `core`-only and shared with the host tests,
//! which list it themselves (lua/host.rs).

use crate::library::Library;

/// The `data` library.
pub(crate) static LIBRARY: Library = Library::new("data", &[(c"data", crate::data::open)]);
