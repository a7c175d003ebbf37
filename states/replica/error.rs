// SPDX-License-Identifier: GPL-2.0

//! How an entry into Lua fails: the kind of failure, in the kernel's and
//! the protocol's numbers, and Lua's message.

use crate::uapi::protocol::error_kind;
use kernel::prelude::*;

/// Bytes of the last error kept in a replica's statistics.
pub(crate) const LAST_ERROR_MAX: usize = 256;

/// How an entry into Lua failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The chunk did not compile.
    Syntax,
    /// The code raised an error.
    Runtime,
    /// An allocation failed: the memory cap, or the kernel out of memory.
    Memory,
    /// The entry ran out of its instruction budget.
    Budget,
}

impl ErrorKind {
    /// The kernel error code that stands for this failure (the XDP kfuncs
    /// return it negated; docs/architecture.md, "XDP").
    pub(crate) fn errno(self) -> Error {
        match self {
            ErrorKind::Syntax => EINVAL,
            ErrorKind::Runtime => EIO,
            ErrorKind::Memory => ENOMEM,
            ErrorKind::Budget => ECANCELED,
        }
    }

    /// The kind's number in the netlink protocol (`enum lunatik_error_kind`).
    pub(crate) fn protocol(self) -> u32 {
        match self {
            ErrorKind::Syntax => error_kind::SYNTAX,
            ErrorKind::Runtime => error_kind::RUNTIME,
            ErrorKind::Memory => error_kind::MEMORY,
            ErrorKind::Budget => error_kind::BUDGET,
        }
    }
}

/// A failed entry: what went wrong and Lua's message, with its traceback
/// for runtime errors.
#[derive(Debug)]
pub(crate) struct RunError {
    /// The kind of failure.
    pub(crate) kind: ErrorKind,
    /// The message; empty if copying it failed for lack of memory.
    pub(crate) message: KVec<u8>,
}
