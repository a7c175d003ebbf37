// SPDX-License-Identifier: GPL-2.0

//! Generic netlink for the control plane: the family and safe views of
//! what it receives and sends, over control/netlink.c (declared in
//! control/netlink.h). Every raw `bindings::` call of the control plane is
//! in these files.

/// A dump in progress and the messages it writes.
pub(crate) mod dump;
/// The family's registration and its `events` group.
pub(crate) mod family;
/// A message under construction.
pub(crate) mod message;
/// A request and its attributes.
pub(crate) mod request;
