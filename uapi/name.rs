// SPDX-License-Identifier: GPL-2.0

//! State names: up to 63 bytes of `[A-Za-z0-9_./:-]` (docs/architecture.md,
//! "States").
//!
//! `core`-only, so the control plane and its userspace tool validate names
//! with the same rule as the module.

/// Longest name, in bytes: the protocol's limit, defined once there.
pub use super::protocol::NAME_MAX;

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than [`NAME_MAX`] bytes.
    TooLong,
    /// The name holds a byte outside `[A-Za-z0-9_./:-]`.
    BadByte(u8),
}

/// A valid state name, stored with a trailing NUL for C.
///
/// # Invariants
///
/// `bytes[..len]` is a valid name and `bytes[len..]` is all zero.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Name {
    bytes: [u8; NAME_MAX + 1],
    len: u8,
}

impl Name {
    /// Validates `name`.
    pub fn new(name: &[u8]) -> Result<Self, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > NAME_MAX {
            return Err(NameError::TooLong);
        }
        if let Some(&b) = name
            .iter()
            .find(|&&b| !(b.is_ascii_alphanumeric() || b"_./:-".contains(&b)))
        {
            return Err(NameError::BadByte(b));
        }
        let mut bytes = [0; NAME_MAX + 1];
        bytes[..name.len()].copy_from_slice(name);
        // The length fits: it was checked against NAME_MAX above.
        Ok(Self {
            bytes,
            len: name.len() as u8,
        })
    }

    /// The name's bytes, without the NUL.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The name as a C string.
    pub fn as_cstr(&self) -> &core::ffi::CStr {
        // The invariant puts a NUL right after the name and none inside it.
        core::ffi::CStr::from_bytes_until_nul(&self.bytes).unwrap_or(c"")
    }
}
