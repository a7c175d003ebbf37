// SPDX-License-Identifier: GPL-2.0

//! The `events` multicast group: what scripts print and the errors of
//! their callbacks, sent to the listeners in the state's namespace.
//!
//! Senders are rate-limited per replica (states/ratelimit.rs) before they get
//! here. Sending is best effort: a message that finds no memory, or no
//! listener, is dropped, and the script never sees a failure.

use crate::control::genl::family;
use crate::control::genl::message::{Message, Put};
use crate::glue::net::NetRef;
use crate::uapi::name::Name;
use crate::uapi::protocol::{self, attr};

/// Sends `message` from the state `name` to the listeners of `net`, as an
/// error of kind `kind` (a `protocol::error_kind` value) when given;
/// `atomic` where sleeping is not allowed.
pub(crate) fn send(net: NetRef, name: &Name, message: &[u8], kind: Option<u32>, atomic: bool) {
    if !family::has_event_listeners(net) {
        return;
    }
    let message = &message[..message.len().min(protocol::VALUE_MAX)];
    let size = protocol::nla_total(name.as_bytes().len() + 1)
        + protocol::nla_total(message.len() + 1)
        + protocol::nla_total(4);
    let Ok(mut msg) = Message::event(size, atomic) else {
        return;
    };
    let built = msg
        .put_str(attr::NAME, name.as_bytes())
        .and_then(|()| msg.put_str(attr::MESSAGE, message))
        .and_then(|()| kind.map_or(Ok(()), |k| msg.put_u32(attr::ERROR_KIND, k)));
    if built.is_ok() {
        // Best effort, as the module documentation says.
        let _ = msg.multicast(net);
    }
}
