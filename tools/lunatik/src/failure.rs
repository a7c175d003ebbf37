//! The command's failures, their exit codes, and how the kernel's
//! errors map to them.

use lunatik::client::{Client, KernelError, RequestError};
use lunatik::name::{Name, NameError};
use lunatik::protocol;

/// A failure of the command, with its exit code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    #[error("{0}")]
    Script(String),
    #[error(
        "the lunatik module is not loaded (no generic netlink family LUNATIK; load lunatik.ko)"
    )]
    NotLoaded,
    #[error("no such state: {0}")]
    NoSuchState(String),
    #[error("a state named {0} already exists")]
    NameTaken(String),
    #[error("{0}")]
    Invalid(String),
    #[error("permission denied: CAP_NET_ADMIN is required")]
    PermissionDenied,
    #[error("script too large: {0}")]
    TooLarge(String),
    #[error("{0}")]
    Other(String),
}

impl Failure {
    /// The exit code (docs/cli.md lists them).
    pub(crate) fn code(&self) -> u8 {
        match self {
            Failure::Script(_) => 1,
            // 2 is clap's code for a usage error.
            Failure::NotLoaded => 3,
            Failure::NoSuchState(_) => 4,
            Failure::NameTaken(_) => 5,
            Failure::Invalid(_) => 6,
            Failure::PermissionDenied => 7,
            Failure::TooLarge(_) => 8,
            Failure::Other(_) => 9,
        }
    }
}

/// Maps a request's failure on state `name` to the command's.
pub(crate) fn failure(e: RequestError, name: &str) -> Failure {
    match e {
        RequestError::NotLoaded => Failure::NotLoaded,
        RequestError::Kernel(KernelError {
            errno, ref message, ..
        }) => match errno {
            libc::EPERM | libc::EACCES => Failure::PermissionDenied,
            libc::ENOENT => Failure::NoSuchState(name.to_string()),
            libc::EEXIST => Failure::NameTaken(name.to_string()),
            libc::EFBIG | libc::EMSGSIZE => Failure::TooLarge(
                message
                    .clone()
                    .unwrap_or_else(|| format!("the limit is {} bytes", protocol::SOURCE_MAX)),
            ),
            _ => Failure::Other(format!("kernel refused the request: {e}")),
        },
        other => Failure::Other(other.to_string()),
    }
}

pub(crate) fn connect() -> Result<Client, Failure> {
    Client::connect().map_err(|e| match e {
        RequestError::NotLoaded => Failure::NotLoaded,
        RequestError::Kernel(KernelError {
            errno: libc::EPERM, ..
        }) => Failure::PermissionDenied,
        other => Failure::Other(other.to_string()),
    })
}

pub(crate) fn check_name(name: &str) -> Result<(), Failure> {
    Name::new(name.as_bytes()).map(|_| ()).map_err(|e| {
        Failure::Invalid(format!(
            "invalid state name {name:?}: {}",
            match e {
                NameError::Empty => "empty".to_string(),
                NameError::TooLong => format!("longer than {} bytes", protocol::NAME_MAX),
                NameError::BadByte(b) => format!("byte {:?} is not in [A-Za-z0-9_./:-]", b as char),
            }
        ))
    })
}
