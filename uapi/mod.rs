// SPDX-License-Identifier: GPL-2.0

//! What the module shares with userspace, `core`-only and compiled into
//! the `lunatik` command too (tools/lunatik/src/lib.rs): the numbers of
//! the netlink protocol, mirrored from netlink/lunatik.yaml, and the rule
//! for state names. Their items are `pub` for that crate.

/// State names: 1 to `NAME_MAX` bytes of `[A-Za-z0-9_./:-]`.
pub(crate) mod name;
/// The family's commands, attributes and enums.
pub(crate) mod protocol;
