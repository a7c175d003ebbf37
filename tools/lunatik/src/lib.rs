//! The userspace side of lunatik-rs: the `LUNATIK` generic netlink family
//! as Rust types, and a client for it. The `lunatik` command is built on
//! this crate.

#[path = "../../../uapi/name.rs"]
pub mod name;
#[path = "../../../uapi/protocol.rs"]
pub mod protocol;

pub mod cli;
pub mod client;
pub mod log;
pub mod message;
