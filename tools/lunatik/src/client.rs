//! A generic netlink socket speaking the `LUNATIK` family: resolving it,
//! requests with acknowledgements and extended error messages, dumps, and
//! the `events` group.

use crate::message::Lunatik;
use crate::protocol;
use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP,
    NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::{GenlCtrlAttrs, McastGrpAttrs};
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{GenlFamily, GenlMessage};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
use std::io;
use std::os::fd::AsRawFd;

/// Socket buffer size asked for: a run request carries up to 1 MiB of
/// source, more than the default socket buffers admit.
const SOCKET_BUFFER: usize = 8 << 20;

/// A failure reported by the kernel: an errno and the extended ack's
/// message, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// The positive errno.
    pub errno: i32,
    /// The extack message.
    pub message: Option<String>,
    /// The attribute the kernel said was missing.
    pub missing: Option<u16>,
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let os = io::Error::from_raw_os_error(self.errno);
        match &self.message {
            Some(m) => write!(f, "{m} ({os})"),
            None => write!(f, "{os}"),
        }
    }
}

/// What a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The family is not registered: the module is not loaded.
    #[error(
        "the lunatik module is not loaded (no generic netlink family {})",
        protocol::FAMILY_NAME
    )]
    NotLoaded,
    /// The kernel refused the request.
    #[error("{0}")]
    Kernel(KernelError),
    /// The socket failed.
    #[error("netlink: {0}")]
    Io(#[from] io::Error),
    /// A reply did not parse.
    #[error("malformed reply from the kernel: {0}")]
    Decode(String),
}

/// A socket bound to the family.
pub struct Client {
    sock: Socket,
    family: u16,
    events: Option<u32>,
    seq: u32,
}

/// `NETLINK_EXT_ACK` and `NETLINK_CAP_ACK` socket options, and the
/// extended ack attributes (`include/uapi/linux/netlink.h`).
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;
const NLM_F_ACK_TLVS: u16 = 0x200;
/// Size of a netlink message header.
const NLMSG_HDRLEN: usize = 16;

fn setsockopt_int(sock: &Socket, opt: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: a plain setsockopt with a valid int option on our own socket.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Parses the extended ack attributes after an error's original header.
fn parse_extack(rest: &[u8], flags: u16) -> (Option<String>, Option<u16>) {
    if flags & NLM_F_ACK_TLVS == 0 || rest.len() < NLMSG_HDRLEN {
        return (None, None);
    }
    let (mut msg, mut missing) = (None, None);
    for (ty, p) in protocol::Attrs::new(&rest[NLMSG_HDRLEN..]) {
        match ty {
            NLMSGERR_ATTR_MSG => {
                msg = Some(
                    String::from_utf8_lossy(protocol::get_str(p))
                        .trim_end()
                        .to_string(),
                )
            }
            NLMSGERR_ATTR_MISS_TYPE => missing = protocol::get_u32(p).map(|v| v as u16),
            _ => {}
        }
    }
    (msg, missing)
}

impl Client {
    /// Opens a socket and resolves the family and its `events` group.
    pub fn connect() -> Result<Self, RequestError> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        sock.set_ext_ack(true)?;
        sock.set_cap_ack(true)?;
        // The forced sizes need CAP_NET_ADMIN; without it the plain ones
        // give what the system allows (a run request may then be refused,
        // but without CAP_NET_ADMIN the kernel refuses it anyway).
        for (force, plain) in [
            (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
            (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
        ] {
            if setsockopt_int(&sock, force, SOCKET_BUFFER as libc::c_int).is_err() {
                let _ = setsockopt_int(&sock, plain, SOCKET_BUFFER as libc::c_int);
            }
        }
        let mut client = Self {
            sock,
            family: 0,
            events: None,
            seq: 0,
        };
        client.resolve()?;
        Ok(client)
    }

    fn resolve(&mut self) -> Result<(), RequestError> {
        let ctrl = GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(
                Lunatik::family_name().to_string(),
            )],
        };
        let replies =
            match self.exchange(GenlMessage::from_payload(ctrl), NLM_F_REQUEST | NLM_F_ACK) {
                Err(RequestError::Kernel(KernelError {
                    errno: libc::ENOENT,
                    ..
                })) => return Err(RequestError::NotLoaded),
                other => other?,
            };
        for reply in replies {
            let reply: GenlMessage<GenlCtrl> = reply;
            for nla in reply.payload.nlas {
                match nla {
                    GenlCtrlAttrs::FamilyId(id) => self.family = id,
                    GenlCtrlAttrs::McastGroups(groups) => {
                        for group in groups {
                            let name = group.iter().find_map(|a| match a {
                                McastGrpAttrs::Name(n) => Some(n.clone()),
                                _ => None,
                            });
                            let id = group.iter().find_map(|a| match a {
                                McastGrpAttrs::Id(i) => Some(*i),
                                _ => None,
                            });
                            if name.as_deref() == Some(protocol::EVENTS_GROUP) {
                                self.events = id;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        if self.family == 0 {
            return Err(RequestError::NotLoaded);
        }
        Ok(())
    }

    /// The family's id.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// Sends one request and collects its replies until the ack (or the
    /// end of the dump).
    fn exchange<F>(
        &mut self,
        mut msg: GenlMessage<F>,
        flags: u16,
    ) -> Result<Vec<GenlMessage<F>>, RequestError>
    where
        F: GenlFamily + netlink_packet_core::Emitable + std::fmt::Debug,
        F: netlink_packet_core::ParseableParametrized<[u8], netlink_packet_generic::GenlHeader>,
    {
        if F::family_name() != "nlctrl" {
            msg.set_resolved_family_id(self.family);
        }
        self.seq = self.seq.wrapping_add(1);
        let mut nl = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(msg));
        nl.header.flags = flags;
        nl.header.sequence_number = self.seq;
        nl.finalize();
        let mut buf = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut buf);
        self.send_raw(&buf)?;
        let mut replies = Vec::new();
        loop {
            let datagram = self.recv_raw()?;
            let mut off = 0;
            while off < datagram.len() {
                let len = NetlinkBuffer::new_checked(&datagram[off..])
                    .map_err(|e| RequestError::Decode(e.to_string()))?
                    .length() as usize;
                let bytes = &datagram[off..off + len.min(datagram.len() - off)];
                off += (len + 3) & !3;
                let m = NetlinkMessage::<GenlMessage<F>>::deserialize(bytes)
                    .map_err(|e| RequestError::Decode(e.to_string()))?;
                if m.header.sequence_number != self.seq {
                    continue;
                }
                let hflags = m.header.flags;
                match m.payload {
                    NetlinkPayload::InnerMessage(inner) => {
                        replies.push(inner);
                        if flags & NLM_F_DUMP != NLM_F_DUMP && flags & NLM_F_ACK == 0 {
                            return Ok(replies);
                        }
                    }
                    NetlinkPayload::Error(e) => {
                        if e.code.is_none() {
                            return Ok(replies);
                        }
                        let (message, missing) = parse_extack(&e.header, hflags);
                        return Err(RequestError::Kernel(KernelError {
                            errno: -e.raw_code(),
                            message,
                            missing,
                        }));
                    }
                    NetlinkPayload::Done(d) => {
                        if d.code != 0 {
                            return Err(RequestError::Kernel(KernelError {
                                errno: -d.code,
                                message: None,
                                missing: None,
                            }));
                        }
                        return Ok(replies);
                    }
                    _ => {}
                }
            }
        }
    }

    /// Sends a request of the family and returns its replies (none for a
    /// command that only acknowledges).
    pub fn request(&mut self, msg: Lunatik) -> Result<Vec<Lunatik>, RequestError> {
        let replies = self.exchange(GenlMessage::from_payload(msg), NLM_F_REQUEST | NLM_F_ACK)?;
        Ok(replies.into_iter().map(|m| m.payload).collect())
    }

    /// Dumps every state of the namespace.
    pub fn dump(&mut self, msg: Lunatik) -> Result<Vec<Lunatik>, RequestError> {
        let replies = self.exchange(GenlMessage::from_payload(msg), NLM_F_REQUEST | NLM_F_DUMP)?;
        Ok(replies.into_iter().map(|m| m.payload).collect())
    }

    /// Sends raw bytes (a whole netlink message).
    pub fn send_raw(&mut self, buf: &[u8]) -> io::Result<()> {
        self.sock.send(buf, 0)?;
        Ok(())
    }

    /// Receives one datagram.
    pub fn recv_raw(&mut self) -> io::Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(SOCKET_BUFFER);
        self.sock.recv(&mut buf, 0)?;
        Ok(buf)
    }

    /// The next sequence number, for raw messages.
    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Joins the `events` group. Joining needs `CAP_NET_ADMIN`; without
    /// it the kernel refuses with `EPERM`, reported as a
    /// [`RequestError::Kernel`] like a refused request.
    pub fn subscribe(&mut self) -> Result<(), RequestError> {
        let group = self
            .events
            .ok_or_else(|| RequestError::Decode("no events group".into()))?;
        self.sock
            .add_membership(group)
            .map_err(|e| match e.raw_os_error() {
                Some(errno @ (libc::EPERM | libc::EACCES)) => RequestError::Kernel(KernelError {
                    errno,
                    message: None,
                    missing: None,
                }),
                _ => RequestError::Io(e),
            })
    }

    /// Waits for the next event.
    pub fn next_event(&mut self) -> Result<Lunatik, RequestError> {
        loop {
            let datagram = self.recv_raw()?;
            if let Ok(m) = NetlinkMessage::<GenlMessage<Lunatik>>::deserialize(&datagram) {
                if let NetlinkPayload::InnerMessage(inner) = m.payload {
                    if inner.payload.cmd == protocol::cmd::EVENT {
                        return Ok(inner.payload);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extack_message_and_missing_attribute() {
        // The capped original header, then NLMSGERR_ATTR_MSG and
        // NLMSGERR_ATTR_MISS_TYPE.
        let mut rest = vec![0u8; NLMSG_HDRLEN];
        rest.extend_from_slice(&[22, 0, 1, 0]);
        rest.extend_from_slice(b"missing state name\0\0");
        rest.extend_from_slice(&[8, 0, 5, 0]);
        rest.extend_from_slice(&1u32.to_ne_bytes());
        let (msg, missing) = parse_extack(&rest, NLM_F_ACK_TLVS);
        assert_eq!(msg.as_deref(), Some("missing state name"));
        assert_eq!(missing, Some(1));
        // Without the flag the bytes are not attributes.
        assert_eq!(parse_extack(&rest, 0), (None, None));
    }

    #[test]
    fn kernel_error_display() {
        let e = KernelError {
            errno: libc::ENOENT,
            message: Some("no such state".into()),
            missing: None,
        };
        assert!(e.to_string().starts_with("no such state ("));
    }
}
