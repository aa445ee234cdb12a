//! Packet capture through an `AF_PACKET` socket opened here (no tcpdump is run), written as pcapng
//! with SHA-256 computed while writing, with packet, byte and kernel drop counts.
//!
//! A named interface whose link layer is Ethernet (or loopback) is captured with its Ethernet
//! headers (`LINKTYPE_ETHERNET`); `any` and every other interface type are captured "cooked"
//! (`LINKTYPE_LINUX_SLL`, as `tcpdump -i any` does). Timestamps are the kernel's receive times.
//!
//! ## Filters
//!
//! [`Filter::parse`] accepts a small subset of the tcpdump/pcap-filter language, evaluated in user
//! space on every packet the socket receives (the kernel counters still count every packet):
//!
//! ```text
//! FILTER := TERM ( "and" TERM )*
//! TERM   := [ "not" ] PRIM
//! PRIM   := "tcp" | "udp" | "icmp" | "icmp6" | "arp" | "ip" | "ip6"
//!         | "port" N          (TCP, UDP or SCTP source or destination port N, 0-65535)
//!         | "host" ADDR       (IPv4 or IPv6 source or destination address ADDR)
//! ```
//!
//! Anything else — `or`, parentheses, `src`/`dst`, `net`, `portrange`, byte offsets — is refused with
//! an error naming the unsupported word. As in tcpdump, `not port 22` keeps packets that have no port
//! (ARP, ICMP). IPv6 extension headers are not walked: `port` matches when TCP/UDP/SCTP follows the
//! fixed IPv6 header directly. One 802.1Q VLAN tag is skipped on Ethernet.

use std::fs::File;
use std::io::{self, BufWriter};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cordon_core::Clock;
use serde::Serialize;

use crate::packet_socket::{self, PACKET_OUTGOING, PacketSocket};
use crate::pcapng::{Direction, InterfaceStats, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, PcapngWriter};

/// What the filter language accepts, for help texts and errors.
pub const FILTER_SYNTAX: &str = "supported: [not] tcp|udp|icmp|icmp6|arp|ip|ip6, [not] port N, [not] host \
ADDR, joined by `and` (no `or`, parentheses, src/dst, net or portrange)";

/// Bytes kept of each packet by default.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// Errors of a capture.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The interface does not exist in this network namespace.
    #[error("no network interface named {name:?} on this host (see /sys/class/net or `ip link`): {source}")]
    UnknownInterface {
        /// The name given.
        name: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The packet socket could not be opened or used.
    #[error("cannot {what} (AF_PACKET socket on {iface}; needs root or CAP_NET_RAW): {source}")]
    Socket {
        /// What was being done.
        what: &'static str,
        /// The interface.
        iface: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The filter uses something outside the supported subset.
    #[error("unsupported capture filter {expr:?}: {why}; {FILTER_SYNTAX}")]
    Filter {
        /// The whole expression.
        expr: String,
        /// What is wrong with it.
        why: String,
    },
    /// Writing the capture file failed.
    #[error("cannot write the capture to {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// One primitive of a filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Primitive {
    /// IPv4 or IPv6 carrying TCP.
    Tcp,
    /// IPv4 or IPv6 carrying UDP.
    Udp,
    /// IPv4 carrying ICMP.
    Icmp,
    /// IPv6 carrying ICMPv6.
    Icmp6,
    /// ARP.
    Arp,
    /// IPv4.
    Ip,
    /// IPv6.
    Ip6,
    /// TCP/UDP/SCTP source or destination port.
    Port(u16),
    /// IPv4/IPv6 source or destination address.
    Host(IpAddr),
}

/// `[not] PRIM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Term {
    /// Negated.
    pub not: bool,
    /// The primitive.
    pub prim: Primitive,
}

/// A conjunction of terms; empty keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// Every term must hold.
    pub terms: Vec<Term>,
}

impl Filter {
    /// Parses the supported subset (see the module documentation); refuses anything else.
    pub fn parse(expr: &str) -> Result<Filter, Error> {
        let err = |why: String| Error::Filter {
            expr: expr.to_owned(),
            why,
        };
        let words: Vec<&str> = expr.split_whitespace().collect();
        let mut terms = Vec::new();
        let mut i = 0;
        let word = |i: usize| words.get(i).copied();
        while i < words.len() {
            if !terms.is_empty() {
                match word(i) {
                    Some("and" | "&&") => i += 1,
                    Some(w) => return Err(err(format!("expected `and` before {w:?}"))),
                    None => break,
                }
            }
            let mut not = false;
            if matches!(word(i), Some("not" | "!")) {
                not = true;
                i += 1;
            }
            let w =
                word(i).ok_or_else(|| err("the expression ends where a primitive was expected".into()))?;
            i += 1;
            let prim = match w {
                "tcp" => Primitive::Tcp,
                "udp" => Primitive::Udp,
                "icmp" => Primitive::Icmp,
                "icmp6" => Primitive::Icmp6,
                "arp" => Primitive::Arp,
                "ip" => Primitive::Ip,
                "ip6" => Primitive::Ip6,
                "port" => {
                    let n = word(i).ok_or_else(|| err("`port` needs a number".into()))?;
                    i += 1;
                    Primitive::Port(
                        n.parse()
                            .map_err(|_| err(format!("{n:?} is not a port number (0-65535)")))?,
                    )
                }
                "host" => {
                    let a = word(i).ok_or_else(|| err("`host` needs an address".into()))?;
                    i += 1;
                    Primitive::Host(a.parse().map_err(|_| {
                        err(format!(
                            "{a:?} is not an IPv4 or IPv6 address (names are not resolved)"
                        ))
                    })?)
                }
                "not" | "!" => return Err(err("`not not` is not supported".into())),
                other => return Err(err(format!("{other:?} is not supported"))),
            };
            terms.push(Term { not, prim });
        }
        Ok(Filter { terms })
    }

    /// Whether a packet of this link type passes.
    pub fn matches(&self, linktype: u16, packet: &[u8]) -> bool {
        if self.terms.is_empty() {
            return true;
        }
        let p = Parsed::new(linktype, packet);
        self.terms.iter().all(|t| p.has(&t.prim) != t.not)
    }
}

/// The fields a filter looks at.
#[derive(Debug, Default)]
struct Parsed {
    ethertype: Option<u16>,
    proto: Option<u8>,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    ports: Option<(u16, u16)>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

impl Parsed {
    fn new(linktype: u16, pkt: &[u8]) -> Parsed {
        let mut p = Parsed::default();
        let (mut ethertype, mut off) = match linktype {
            LINKTYPE_ETHERNET => (be16(pkt, 12), 14),
            LINKTYPE_LINUX_SLL => (be16(pkt, 14), 16),
            _ => (None, 0),
        };
        if linktype == LINKTYPE_ETHERNET && matches!(ethertype, Some(0x8100 | 0x88a8)) {
            ethertype = be16(pkt, 16);
            off = 18;
        }
        p.ethertype = ethertype;
        let l3 = pkt.get(off..).unwrap_or_default();
        let l4_off = match ethertype {
            Some(0x0800) => {
                let Some(&vihl) = l3.first() else { return p };
                let ihl = usize::from(vihl & 0x0f) * 4;
                p.proto = l3.get(9).copied();
                p.src = l3
                    .get(12..16)
                    .and_then(|s| <[u8; 4]>::try_from(s).ok())
                    .map(IpAddr::from);
                p.dst = l3
                    .get(16..20)
                    .and_then(|s| <[u8; 4]>::try_from(s).ok())
                    .map(IpAddr::from);
                // Only the first fragment carries the ports.
                let frag = be16(l3, 6).unwrap_or(0) & 0x1fff;
                if frag != 0 { None } else { Some(ihl) }
            }
            Some(0x86dd) => {
                p.proto = l3.get(6).copied();
                p.src = l3
                    .get(8..24)
                    .and_then(|s| <[u8; 16]>::try_from(s).ok())
                    .map(IpAddr::from);
                p.dst = l3
                    .get(24..40)
                    .and_then(|s| <[u8; 16]>::try_from(s).ok())
                    .map(IpAddr::from);
                Some(40)
            }
            _ => None,
        };
        if let (Some(l4), Some(6 | 17 | 132)) = (l4_off, p.proto)
            && let (Some(s), Some(d)) = (be16(l3, l4), be16(l3, l4 + 2))
        {
            p.ports = Some((s, d));
        }
        p
    }

    fn has(&self, prim: &Primitive) -> bool {
        let ip = matches!(self.ethertype, Some(0x0800 | 0x86dd));
        match prim {
            Primitive::Tcp => ip && self.proto == Some(6),
            Primitive::Udp => ip && self.proto == Some(17),
            Primitive::Icmp => self.ethertype == Some(0x0800) && self.proto == Some(1),
            Primitive::Icmp6 => self.ethertype == Some(0x86dd) && self.proto == Some(58),
            Primitive::Arp => self.ethertype == Some(0x0806),
            Primitive::Ip => self.ethertype == Some(0x0800),
            Primitive::Ip6 => self.ethertype == Some(0x86dd),
            Primitive::Port(n) => self.ports.is_some_and(|(s, d)| s == *n || d == *n),
            Primitive::Host(a) => self.src == Some(*a) || self.dst == Some(*a),
        }
    }
}

/// What to capture and when to stop.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// Interface name; `None` = every interface (`any`).
    pub iface: Option<String>,
    /// Stop after this many packets written.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Which packets to keep.
    pub filter: Filter,
    /// Bytes kept of each packet.
    pub snaplen: u32,
}

/// Counters while capturing, for progress.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    /// Packets read from the socket.
    pub received: u64,
    /// Packets that passed the filter and were written.
    pub written: u64,
    /// Bytes on the wire of the written packets.
    pub bytes: u64,
    /// Written packets cut to the snap length.
    pub truncated: u64,
}

/// Why the capture ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// `--count` reached.
    Count,
    /// `--duration` elapsed.
    Duration,
    /// The caller asked to stop.
    Stopped,
}

/// The result of a capture.
#[derive(Debug, Clone, Serialize)]
pub struct Captured {
    /// The interface (`any` for every interface).
    pub interface: String,
    /// pcapng link type of the interface description.
    pub linktype: u16,
    /// Bytes kept of each packet.
    pub snaplen: u32,
    /// Counters.
    #[serde(flatten)]
    pub counts: Counts,
    /// `PACKET_STATISTICS`: packets the kernel handed to the socket (including dropped ones).
    pub kernel_packets: u64,
    /// `PACKET_STATISTICS`: packets the kernel dropped because the socket buffer was full.
    pub kernel_drops: u64,
    /// Kernel time of the first and last packet written (ns since the epoch).
    pub first_ns: Option<u64>,
    /// See `first_ns`.
    pub last_ns: Option<u64>,
    /// Why it stopped.
    pub stopped: StopReason,
    /// SHA-256 of the pcapng file.
    pub sha256: String,
    /// Size of the pcapng file.
    pub size: u64,
}

/// An open, bound capture socket: packets are queued from the moment this returns.
#[derive(Debug)]
pub struct Capture {
    sock: PacketSocket,
    iface: String,
    linktype: u16,
    opts: CaptureOptions,
}

impl Capture {
    /// Opens and binds the socket.
    pub fn open(opts: CaptureOptions) -> Result<Capture, Error> {
        let iface = opts.iface.clone().unwrap_or_else(|| "any".into());
        let sock_err = |what: &'static str, iface: &str| {
            let iface = iface.to_owned();
            move |source| Error::Socket { what, iface, source }
        };
        let (sock, linktype) = match &opts.iface {
            None => (
                PacketSocket::open(false, 0).map_err(sock_err("open a packet socket", &iface))?,
                LINKTYPE_LINUX_SLL,
            ),
            Some(name) => {
                let index =
                    packet_socket::interface_index(name).map_err(|source| Error::UnknownInterface {
                        name: name.clone(),
                        source,
                    })?;
                let raw =
                    PacketSocket::open(true, index).map_err(sock_err("open a packet socket", &iface))?;
                let hatype = raw
                    .bound_hatype()
                    .map_err(sock_err("read the interface type", &iface))?;
                // ARPHRD_ETHER, ARPHRD_LOOPBACK: Ethernet framing; anything else is captured cooked.
                if matches!(hatype, 1 | 772) {
                    (raw, LINKTYPE_ETHERNET)
                } else {
                    drop(raw);
                    (
                        PacketSocket::open(false, index).map_err(sock_err("open a packet socket", &iface))?,
                        LINKTYPE_LINUX_SLL,
                    )
                }
            }
        };
        sock.set_timeout(200)
            .map_err(sock_err("set the receive timeout", &iface))?;
        // Best effort: a larger buffer means fewer drops; the kernel caps it.
        let _ = sock.set_buffer(8 << 20);
        Ok(Capture {
            sock,
            iface,
            linktype,
            opts,
        })
    }

    /// The interface name (`any` for all).
    pub fn interface(&self) -> &str {
        &self.iface
    }

    /// The pcapng link type that will be written.
    pub fn linktype(&self) -> u16 {
        self.linktype
    }

    /// Captures into `path` (created, must not exist) until the count or duration is reached or
    /// `progress` returns `false`. `clock` stamps a packet only if the kernel timestamp is unavailable.
    pub fn run(
        self,
        path: &Path,
        application: &str,
        clock: &dyn Clock,
        progress: &mut dyn FnMut(&Counts) -> bool,
    ) -> Result<Captured, Error> {
        let werr = |source| Error::Write {
            path: path.to_owned(),
            source,
        };
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(werr)?;
        let snaplen = self.opts.snaplen.max(64);
        let mut w = PcapngWriter::new(
            BufWriter::with_capacity(1 << 20, file),
            application,
            &self.iface,
            self.linktype,
            snaplen,
        )
        .map_err(werr)?;
        let cooked = self.linktype == LINKTYPE_LINUX_SLL;
        let mut buf = vec![0u8; snaplen as usize];
        let mut frame: Vec<u8> = Vec::with_capacity(snaplen as usize + 16);
        let mut counts = Counts::default();
        let (mut first_ns, mut last_ns) = (None, None);
        let started = Instant::now();
        let deadline = self.opts.duration.map(|d| started + d);
        let stopped = loop {
            if self.opts.count.is_some_and(|c| counts.written >= c) {
                break StopReason::Count;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break StopReason::Duration;
            }
            if !progress(&counts) {
                break StopReason::Stopped;
            }
            let got = self.sock.recv(&mut buf).map_err(|source| Error::Socket {
                what: "receive a packet",
                iface: self.iface.clone(),
                source,
            })?;
            let Some(r) = got else { continue };
            counts.received += 1;
            let data = buf.get(..r.captured).unwrap_or_default();
            frame.clear();
            let mut original = r.original;
            if cooked {
                // The 16-byte LINUX_SLL header, rebuilt from the sockaddr_ll.
                frame.extend_from_slice(&u16::from(r.pkttype).to_be_bytes());
                frame.extend_from_slice(&r.hatype.to_be_bytes());
                frame.extend_from_slice(&u16::from(r.halen).to_be_bytes());
                frame.extend_from_slice(&r.addr);
                frame.extend_from_slice(&r.protocol_be);
                original += 16;
            }
            frame.extend_from_slice(data);
            if !self.opts.filter.matches(self.linktype, &frame) {
                continue;
            }
            let ts = self
                .sock
                .last_timestamp()
                .unwrap_or_else(|_| u64::try_from(clock.now().as_nanosecond()).unwrap_or(0));
            let dir = if r.pkttype == PACKET_OUTGOING {
                Direction::Outbound
            } else {
                Direction::Inbound
            };
            w.packet(ts, &frame, original, dir).map_err(werr)?;
            first_ns.get_or_insert(ts);
            last_ns = Some(ts);
            counts.written += 1;
            counts.bytes += original as u64;
            if r.captured < r.original {
                counts.truncated += 1;
            }
        };
        let (kernel_packets, kernel_drops) = self.sock.statistics().map_err(|source| Error::Socket {
            what: "read PACKET_STATISTICS",
            iface: self.iface.clone(),
            source,
        })?;
        let stats = InterfaceStats {
            time_ns: u64::try_from(clock.now().as_nanosecond()).unwrap_or(0),
            received: kernel_packets,
            dropped: kernel_drops,
            accepted: counts.written,
        };
        let (out, sha256, size) = w.finish(&stats).map_err(werr)?;
        let file = out.into_inner().map_err(|e| werr(e.into_error()))?;
        file.sync_all().map_err(werr)?;
        progress(&counts);
        Ok(Captured {
            interface: self.iface,
            linktype: self.linktype,
            snaplen,
            counts,
            kernel_packets,
            kernel_drops,
            first_ns,
            last_ns,
            stopped,
            sha256,
            size,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn udp_frame(sport: u16, dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = vec![
            0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip.extend_from_slice(&sport.to_be_bytes());
        ip.extend_from_slice(&dport.to_be_bytes());
        ip.extend_from_slice(&[0, 8, 0, 0]);
        f.extend_from_slice(&ip);
        f
    }

    #[test]
    fn parses_and_matches_the_subset() {
        let f = Filter::parse("udp and port 9999 and not host 10.0.0.9").unwrap();
        assert_eq!(f.terms.len(), 3);
        assert!(f.matches(LINKTYPE_ETHERNET, &udp_frame(1234, 9999)));
        assert!(!f.matches(LINKTYPE_ETHERNET, &udp_frame(1234, 9998)));
        let not22 = Filter::parse("not port 22").unwrap();
        assert!(!not22.matches(LINKTYPE_ETHERNET, &udp_frame(22, 9)));
        // ARP has no port: `not port 22` keeps it, as tcpdump does.
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06]);
        assert!(not22.matches(LINKTYPE_ETHERNET, &arp));
        assert!(!Filter::parse("tcp").unwrap().matches(LINKTYPE_ETHERNET, &arp));
        assert!(
            Filter::parse("host 10.0.0.2")
                .unwrap()
                .matches(LINKTYPE_ETHERNET, &udp_frame(1, 2))
        );
        // Truncated and hostile input never panics.
        for n in 0..40 {
            let _ = f.matches(LINKTYPE_ETHERNET, &udp_frame(1, 9999)[..n]);
            let _ = f.matches(LINKTYPE_LINUX_SLL, &udp_frame(1, 9999)[..n]);
        }
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "udp or tcp",
            "(udp)",
            "src port 53",
            "port",
            "port 70000",
            "host example.com",
            "udp port 53",
            "net 10.0.0.0/8",
            "not",
        ] {
            let e = Filter::parse(bad).unwrap_err().to_string();
            assert!(e.contains("unsupported capture filter"), "{bad}: {e}");
        }
        assert!(Filter::parse("").unwrap().terms.is_empty());
    }
}
