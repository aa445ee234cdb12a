//! nf_tables over netlink: message encoding, the one-batch transaction, and reading the kernel's answers.
//!
//! Hand-written on purpose, over `rustix`'s safe netlink sockets. The alternatives were weighed:
//! the `nftables` crate only drives the `nft` program (on a suspect host that is the attacker's binary,
//! which cordon never executes); `nftnl` binds libnftnl and libmnl, which Debian ships without static
//! archives, so the static cordon binary could not link them; `rustables` is pure Rust but GPL-3.0, and
//! linking it would turn every cordon binary we ship into a GPL-3.0 work instead of Apache-2.0. The
//! subset cordon needs — one table, its base chains, one set with element timeouts, and seven expression
//! types — is small. Every constant comes from `<linux/netfilter/nf_tables.h>`, and the tests read the
//! result back with `nft list` inside a network namespace, so an encoding mistake cannot pass silently.

use std::os::fd::OwnedFd;
use std::time::Duration;

use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType, netlink};

use crate::Error;

// <linux/netlink.h>
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLMSG_ERROR: u16 = 0x2;
const NLMSG_DONE: u16 = 0x3;
const NLA_F_NESTED: u16 = 0x8000;
const NLMSG_HDRLEN: usize = 16;

// <linux/netfilter/nfnetlink.h>
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;

/// `NFPROTO_INET`: tables of family `inet` see IPv4 and IPv6.
pub const FAMILY_INET: u8 = 1;
const FAMILY_UNSPEC: u8 = 0;

/// nf_tables message types (`enum nf_tables_msg_types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum MsgType {
    /// NFT_MSG_NEWTABLE
    NewTable = 0,
    /// NFT_MSG_GETTABLE
    GetTable = 1,
    /// NFT_MSG_DELTABLE
    DelTable = 2,
    /// NFT_MSG_NEWCHAIN
    NewChain = 3,
    /// NFT_MSG_NEWRULE
    NewRule = 6,
    /// NFT_MSG_NEWSET
    NewSet = 9,
    /// NFT_MSG_NEWSETELEM
    NewSetElem = 12,
    /// NFT_MSG_GETSETELEM
    GetSetElem = 13,
    /// NFT_MSG_DELSETELEM
    DelSetElem = 14,
}

/// A netlink message under construction: header, `nfgenmsg`, then attributes.
pub struct Message {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Message {
    fn with_header(kind: u16, flags: u16, family: u8, res_id: u16) -> Message {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in `bytes`
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // sequence, patched by the batch
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
        buf.push(family);
        buf.push(0); // NFNETLINK_V0
        buf.extend_from_slice(&res_id.to_be_bytes());
        Message {
            buf,
            nests: Vec::new(),
        }
    }

    /// A new nf_tables request of `kind` for `family`; `create` adds `NLM_F_CREATE|NLM_F_EXCL`, so that
    /// creating something that already exists fails instead of merging into it.
    pub fn new(kind: MsgType, family: u8, create: bool) -> Message {
        let mut flags = NLM_F_REQUEST | NLM_F_ACK;
        if create {
            flags |= NLM_F_CREATE | NLM_F_EXCL;
        }
        // Without APPEND a new rule is inserted at the head of its chain, reversing the rule order.
        if kind == MsgType::NewRule {
            flags |= NLM_F_APPEND;
        }
        Message::with_header((NFNL_SUBSYS_NFTABLES << 8) | kind as u16, flags, family, 0)
    }

    /// A dump request (every object of `kind`, narrowed by the attributes given).
    pub fn dump(kind: MsgType, family: u8) -> Message {
        Message::with_header(
            (NFNL_SUBSYS_NFTABLES << 8) | kind as u16,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP,
            family,
            0,
        )
    }

    /// Appends an attribute with raw bytes, padded to 4 bytes.
    pub fn bytes_attr(&mut self, kind: u16, data: &[u8]) -> &mut Message {
        let len = 4 + data.len();
        self.buf
            .extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    /// A NUL-terminated string attribute.
    pub fn str_attr(&mut self, kind: u16, s: &str) -> &mut Message {
        let mut data = Vec::with_capacity(s.len() + 1);
        data.extend_from_slice(s.as_bytes());
        data.push(0);
        self.bytes_attr(kind, &data)
    }

    /// A 32-bit attribute in network byte order (nf_tables' convention for numbers).
    pub fn u32_attr(&mut self, kind: u16, v: u32) -> &mut Message {
        self.bytes_attr(kind, &v.to_be_bytes())
    }

    /// A 64-bit attribute in network byte order.
    pub fn u64_attr(&mut self, kind: u16, v: u64) -> &mut Message {
        self.bytes_attr(kind, &v.to_be_bytes())
    }

    /// Opens a nested attribute; close it with [`Message::end_nest`].
    pub fn begin_nest(&mut self, kind: u16) -> &mut Message {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Closes the innermost nested attribute.
    pub fn end_nest(&mut self) -> &mut Message {
        if let Some(start) = self.nests.pop() {
            let len = u16::try_from(self.buf.len() - start).unwrap_or(u16::MAX);
            if let Some(slot) = self.buf.get_mut(start..start + 2) {
                slot.copy_from_slice(&len.to_ne_bytes());
            }
        }
        self
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn finish(mut self, seq: u32) -> Vec<u8> {
        while self.nests.pop().is_some() {}
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        if let Some(slot) = self.buf.get_mut(0..4) {
            slot.copy_from_slice(&len.to_ne_bytes());
        }
        if let Some(slot) = self.buf.get_mut(8..12) {
            slot.copy_from_slice(&seq.to_ne_bytes());
        }
        self.buf
    }
}

/// Messages that the kernel applies as one transaction: all of them, or none.
pub struct Batch {
    messages: Vec<Message>,
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch { messages: Vec::new() }
    }

    /// Adds a message.
    pub fn push(&mut self, m: Message) {
        self.messages.push(m);
    }

    /// Number of messages (without the begin/end markers).
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The datagram: BATCH_BEGIN, the messages numbered from `first_seq + 1`, BATCH_END.
    pub fn encode(self, first_seq: u32) -> (Vec<u8>, Vec<u32>) {
        let mut out = Vec::new();
        let mut seqs = Vec::new();
        let begin = Message::with_header(
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            FAMILY_UNSPEC,
            NFNL_SUBSYS_NFTABLES,
        );
        out.extend(begin.finish(first_seq));
        let mut seq = first_seq;
        for m in self.messages {
            seq = seq.wrapping_add(1);
            seqs.push(seq);
            out.extend(m.finish(seq));
        }
        let end = Message::with_header(
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            FAMILY_UNSPEC,
            NFNL_SUBSYS_NFTABLES,
        );
        out.extend(end.finish(seq.wrapping_add(1)));
        (out, seqs)
    }
}

/// One answer from the kernel.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Message type.
    pub kind: u16,
    /// Sequence number it answers.
    pub seq: u32,
    /// For `NLMSG_ERROR`: 0 (an acknowledgement) or a negative errno.
    pub error: Option<i32>,
    /// The payload after the `nfgenmsg` header (attributes), for data replies.
    pub attrs: Vec<u8>,
}

/// A netlink socket speaking to nfnetlink in the caller's network namespace.
pub struct Socket {
    fd: OwnedFd,
    seq: u32,
}

impl Socket {
    /// Opens `NETLINK_NETFILTER`. Fails with a clear error when the kernel has no nfnetlink.
    pub fn open() -> Result<Socket, Error> {
        let fd = rustix::net::socket(AddressFamily::NETLINK, SocketType::RAW, Some(netlink::NETFILTER))
            .map_err(|e| Error::Netlink {
                what: "open a NETLINK_NETFILTER socket (is nf_tables supported by this kernel?)".into(),
                errno: Some(e.raw_os_error()),
            })?;
        rustix::net::bind(&fd, &SocketAddrNetlink::new(0, 0)).map_err(|e| Error::Netlink {
            what: "bind the netlink socket".into(),
            errno: Some(e.raw_os_error()),
        })?;
        rustix::net::sockopt::set_socket_timeout(
            &fd,
            rustix::net::sockopt::Timeout::Recv,
            Some(Duration::from_secs(5)),
        )
        .map_err(|e| Error::Netlink {
            what: "set a receive timeout".into(),
            errno: Some(e.raw_os_error()),
        })?;
        let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&fd, 1 << 20);
        // Sequence numbers only need to differ between requests on this socket.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(1);
        let seq = (nanos ^ std::process::id()) & 0x00ff_ffff;
        Ok(Socket { fd, seq: seq.max(1) })
    }

    /// Sends `batch` as one transaction and waits for an acknowledgement of every message. The first
    /// error the kernel reports is returned with the index of the message it belongs to; the kernel has
    /// then applied nothing.
    pub fn transact(&mut self, batch: Batch, what: &str) -> Result<(), Error> {
        let n = batch.len();
        let (bytes, seqs) = batch.encode(self.seq);
        self.seq = self.seq.wrapping_add(u32::try_from(n).unwrap_or(0) + 2);
        self.make_room(bytes.len(), n);
        self.send(&bytes, what)?;
        let mut pending: Vec<u32> = seqs.clone();
        let mut first_error: Option<(usize, i32)> = None;
        while !pending.is_empty() {
            let replies = match self.recv(what) {
                Ok(r) => r,
                // Without an error the kernel acknowledges every message; a timeout after an error
                // means it has said all it will.
                Err(e) if first_error.is_some() => {
                    let _ = e;
                    break;
                }
                Err(e) => return Err(e),
            };
            for r in replies {
                if r.kind != NLMSG_ERROR {
                    continue;
                }
                pending.retain(|s| *s != r.seq);
                if let Some(code) = r.error.filter(|c| *c != 0)
                    && first_error.is_none()
                {
                    let index = seqs.iter().position(|s| *s == r.seq).unwrap_or(0);
                    first_error = Some((index, -code));
                }
            }
        }
        match first_error {
            None => Ok(()),
            Some((index, errno)) => Err(Error::Netlink {
                what: format!("{what} (message {} of {n})", index + 1),
                errno: Some(errno),
            }),
        }
    }

    /// Makes room for one batch: the whole datagram in the send buffer, and an acknowledgement of every
    /// message in the receive buffer. The defaults (208 KiB where `wmem_default` and `rmem_max` are
    /// Debian's) are too small for a long allowlist: the kernel refuses the datagram whole
    /// (`EMSGSIZE`), or commits it and then drops acknowledgements (`ENOBUFS`), which would read as a
    /// failure while the table is in force. Like `nft`, cordon may go past the sysctl limits
    /// (`SO_SNDBUFFORCE`, `SO_RCVBUFFORCE`: it has CAP_NET_ADMIN, which nf_tables needs anyway).
    fn make_room(&self, datagram: usize, messages: usize) {
        use rustix::net::sockopt as so;
        // The kernel keeps twice the size asked for, and reports that.
        let send = datagram.saturating_add(4096);
        if so::socket_send_buffer_size(&self.fd).is_ok_and(|have| have / 2 < send)
            && so::set_socket_send_buffer_size_force(&self.fd, send).is_err()
        {
            let _ = so::set_socket_send_buffer_size(&self.fd, send);
        }
        // An acknowledgement takes well under 2 KiB of receive buffer.
        let recv = messages.saturating_add(2).saturating_mul(2048).max(1 << 20);
        if so::socket_recv_buffer_size(&self.fd).is_ok_and(|have| have / 2 < recv)
            && so::set_socket_recv_buffer_size_force(&self.fd, recv).is_err()
        {
            let _ = so::set_socket_recv_buffer_size(&self.fd, recv);
        }
    }

    /// Sends one request (not a batch) and collects every reply up to its acknowledgement or error.
    pub fn request(&mut self, m: Message, what: &str) -> Result<Vec<Reply>, Error> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let bytes = m.finish(seq);
        self.send(&bytes, what)?;
        let mut out = Vec::new();
        loop {
            for r in self.recv(what)? {
                if r.seq != seq {
                    continue;
                }
                if r.kind == NLMSG_ERROR {
                    if let Some(code) = r.error.filter(|c| *c != 0) {
                        return Err(Error::Netlink {
                            what: what.to_string(),
                            errno: Some(-code),
                        });
                    }
                    return Ok(out);
                }
                if r.kind == NLMSG_DONE {
                    return Ok(out);
                }
                out.push(r);
            }
        }
    }

    fn send(&self, bytes: &[u8], what: &str) -> Result<(), Error> {
        let kernel = SocketAddrNetlink::new(0, 0);
        let sent = rustix::net::sendto(&self.fd, bytes, SendFlags::empty(), &kernel).map_err(|e| {
            Error::Netlink {
                what: what.to_string(),
                errno: Some(e.raw_os_error()),
            }
        })?;
        if sent != bytes.len() {
            return Err(Error::Netlink {
                what: format!("{what}: short send"),
                errno: None,
            });
        }
        Ok(())
    }

    fn recv(&self, what: &str) -> Result<Vec<Reply>, Error> {
        let mut buf = vec![0u8; 1 << 16];
        let (n, _) =
            rustix::net::recv(&self.fd, &mut buf[..], RecvFlags::empty()).map_err(|e| Error::Netlink {
                what: format!("{what}: waiting for the kernel's answer"),
                errno: Some(e.raw_os_error()),
            })?;
        Ok(parse_replies(buf.get(..n).unwrap_or(&[])))
    }
}

/// Splits a datagram into netlink messages. Truncated or malformed tails are ignored.
pub fn parse_replies(mut data: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    while data.len() >= NLMSG_HDRLEN {
        let len = ne_u32(data, 0) as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            break;
        }
        let kind = ne_u16(data, 4);
        let seq = ne_u32(data, 8);
        let body = data.get(NLMSG_HDRLEN..len).unwrap_or(&[]);
        let (error, attrs) = if kind == NLMSG_ERROR {
            (Some(ne_u32(body, 0) as i32), Vec::new())
        } else {
            (None, body.get(4..).unwrap_or(&[]).to_vec())
        };
        out.push(Reply {
            kind,
            seq,
            error,
            attrs,
        });
        let step = (len + 3) & !3;
        data = data.get(step..).unwrap_or(&[]);
    }
    out
}

/// Iterates over the attributes in `data` as (type without flags, payload).
pub fn attributes(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = usize::from(ne_u16(data, 0));
        if len < 4 || len > data.len() {
            break;
        }
        let kind = ne_u16(data, 2) & !NLA_F_NESTED & 0x3fff;
        out.push((kind, data.get(4..len).unwrap_or(&[])));
        let step = (len + 3) & !3;
        data = data.get(step..).unwrap_or(&[]);
    }
    out
}

fn ne_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(u32::from_ne_bytes)
        .unwrap_or(0)
}

fn ne_u16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
        .map(u16::from_ne_bytes)
        .unwrap_or(0)
}

/// A big-endian u64 attribute payload (timeouts, expirations, counters).
pub fn be_u64(b: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(b).ok().map(u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_message_matches_what_nft_sends() {
        // `nft --debug=mnl add table inet cordon` shows: NFTA_TABLE_NAME "cordon", NFTA_TABLE_FLAGS 0.
        let mut m = Message::new(MsgType::NewTable, FAMILY_INET, true);
        m.str_attr(1, "cordon").u32_attr(2, 0);
        let b = m.finish(7);
        assert_eq!(b.len(), 40);
        assert_eq!(ne_u32(&b, 0), 40);
        assert_eq!(ne_u16(&b, 4), 0x0a00);
        assert_eq!(ne_u32(&b, 8), 7);
        assert_eq!(&b[16..20], &[1, 0, 0, 0]);
        assert_eq!(&b[20..24], &[11, 0, 1, 0]);
        assert_eq!(&b[24..32], b"cordon\0\0");
        assert_eq!(&b[32..40], &[8, 0, 2, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn nests_carry_their_length_and_flag() {
        let mut m = Message::new(MsgType::NewChain, FAMILY_INET, true);
        m.begin_nest(4)
            .u32_attr(1, 1)
            .u32_attr(2, (-180i32) as u32)
            .end_nest();
        let b = m.finish(1);
        assert_eq!(&b[20..24], &[20, 0, 4, 0x80]);
        assert_eq!(&b[32..36], &[8, 0, 2, 0]);
        assert_eq!(&b[36..40], &[0xff, 0xff, 0xff, 0x4c]);
    }

    #[test]
    fn a_batch_is_framed_and_numbered() {
        let mut batch = Batch::new();
        batch.push(Message::new(MsgType::NewTable, FAMILY_INET, true));
        batch.push(Message::new(MsgType::NewTable, FAMILY_INET, true));
        let (bytes, seqs) = batch.encode(100);
        assert_eq!(seqs, vec![101, 102]);
        let replies = parse_replies(&bytes);
        let kinds: Vec<u16> = replies.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, vec![0x10, 0x0a00, 0x0a00, 0x11]);
    }

    #[test]
    fn garbage_replies_do_not_panic() {
        for n in 0..64u8 {
            let junk: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            let _ = parse_replies(&junk);
            let _ = attributes(&junk);
        }
        let mut huge = vec![0xffu8; 32];
        huge[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(parse_replies(&huge).is_empty());
    }
}
