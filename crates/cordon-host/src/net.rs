//! Network state from `/proc/<pid>/net/*`: sockets, ARP, routes, addresses. These files show the
//! network namespace of the process they belong to, so the caller reads them once per namespace,
//! through one process that lives in it.
//!
//! Address formats (`proc_net(5)`): `tcp`/`udp`/`raw` print IPv4 as one host-order 32-bit hex word and
//! IPv6 as four host-order words; `ipv6_route` and `if_inet6` print IPv6 bytes in network order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One inet socket line of `tcp`, `tcp6`, `udp`, `udp6`, `raw`, `raw6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InetSocket {
    /// Local address.
    pub local: IpAddr,
    /// Local port (protocol number for raw sockets).
    pub local_port: u16,
    /// Remote address.
    pub remote: IpAddr,
    /// Remote port.
    pub remote_port: u16,
    /// Kernel state number (TCP states; 7 = closed/unconnected for UDP).
    pub state: u8,
    /// Owner uid.
    pub uid: u32,
    /// Socket inode (matches `socket:[inode]` in `/proc/<pid>/fd`).
    pub inode: u64,
    /// Transmit queue bytes.
    pub tx_queue: u64,
    /// Receive queue bytes.
    pub rx_queue: u64,
}

/// The name of a TCP state number.
pub fn tcp_state_name(state: u8) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        12 => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
}

fn hex_u32(s: &str) -> Option<u32> {
    u32::from_str_radix(s, 16).ok()
}

/// Decodes an address as `tcp`/`udp`/`raw` print it (host-order words).
pub fn parse_socket_addr(hex: &str) -> Option<IpAddr> {
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(hex_u32(hex)?.to_ne_bytes()))),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let word = hex_u32(hex.get(i * 8..i * 8 + 8)?)?;
                chunk.copy_from_slice(&word.to_ne_bytes());
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

/// Decodes a network-order hex IPv6 address (`ipv6_route`, `if_inet6`).
pub fn parse_v6_network_order(hex: &str) -> Option<Ipv6Addr> {
    if hex.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(Ipv6Addr::from(bytes))
}

fn addr_port(s: &str) -> Option<(IpAddr, u16)> {
    let (a, p) = s.split_once(':')?;
    Some((parse_socket_addr(a)?, u16::from_str_radix(p, 16).ok()?))
}

/// Parses `tcp`, `tcp6`, `udp`, `udp6`, `raw` or `raw6` (header line skipped, bad lines dropped).
pub fn parse_inet(text: &[u8]) -> Vec<InetSocket> {
    String::from_utf8_lossy(text)
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            let (local, local_port) = addr_port(f.get(1)?)?;
            let (remote, remote_port) = addr_port(f.get(2)?)?;
            let (tx, rx) = f.get(4)?.split_once(':')?;
            Some(InetSocket {
                local,
                local_port,
                remote,
                remote_port,
                state: u8::from_str_radix(f.get(3)?, 16).ok()?,
                tx_queue: u64::from_str_radix(tx, 16).ok()?,
                rx_queue: u64::from_str_radix(rx, 16).ok()?,
                uid: f.get(7)?.parse().ok()?,
                inode: f.get(9)?.parse().ok()?,
            })
        })
        .collect()
}

/// One line of `/proc/net/unix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixSocket {
    /// `SOCK_STREAM` = 1, `SOCK_DGRAM` = 2, `SOCK_SEQPACKET` = 5.
    pub kind: u16,
    /// State (1 = unconnected, 3 = connected …).
    pub state: u8,
    /// Flags (0x10000 = listening).
    pub flags: u32,
    /// Socket inode.
    pub inode: u64,
    /// Bound path (`@name` for abstract sockets), raw; empty when unbound.
    pub path: Vec<u8>,
}

/// Parses `/proc/net/unix`.
pub fn parse_unix(text: &[u8]) -> Vec<UnixSocket> {
    text.split(|&b| b == b'\n')
        .skip(1)
        .filter_map(|line| {
            let mut rest = line;
            let mut f: Vec<&[u8]> = Vec::with_capacity(7);
            for _ in 0..7 {
                while let [b' ', r @ ..] = rest {
                    rest = r;
                }
                let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
                f.push(rest.get(..end)?);
                rest = rest.get(end..)?;
            }
            let s = |i: usize| f.get(i).and_then(|b| std::str::from_utf8(b).ok());
            let path = rest.strip_prefix(b" ").unwrap_or(rest).to_vec();
            Some(UnixSocket {
                flags: u32::from_str_radix(s(3)?, 16).ok()?,
                kind: u16::from_str_radix(s(4)?, 16).ok()?,
                state: u8::from_str_radix(s(5)?, 16).ok()?,
                inode: s(6)?.parse().ok()?,
                path,
            })
        })
        .collect()
}

/// One line of `/proc/net/packet` (raw link-layer sockets: sniffers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketSocket {
    /// `SOCK_RAW` = 3, `SOCK_DGRAM` = 2.
    pub kind: u16,
    /// Ethernet protocol (0x0003 = all).
    pub proto: u16,
    /// Interface index (0 = all).
    pub ifindex: i32,
    /// Owner uid.
    pub uid: u32,
    /// Socket inode.
    pub inode: u64,
}

/// Parses `/proc/net/packet`.
pub fn parse_packet(text: &[u8]) -> Vec<PacketSocket> {
    String::from_utf8_lossy(text)
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            Some(PacketSocket {
                kind: f.get(2)?.parse().ok()?,
                proto: u16::from_str_radix(f.get(3)?, 16).ok()?,
                ifindex: f.get(4)?.parse().ok()?,
                uid: f.get(7)?.parse().ok()?,
                inode: f.get(8)?.parse().ok()?,
            })
        })
        .collect()
}

/// Whitespace-separated columns of a table file with a header line (`arp`, `dev`), as
/// (header, rows). Used for the files whose fields are plain text.
pub fn parse_table(text: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = String::from_utf8_lossy(text);
    let mut lines = text.lines();
    let header = lines
        .next()
        .map(|h| h.split_ascii_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_ascii_whitespace().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// One IPv4 route of `/proc/net/route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route4 {
    /// Interface.
    pub iface: String,
    /// Destination network.
    pub destination: Ipv4Addr,
    /// Gateway.
    pub gateway: Ipv4Addr,
    /// Netmask.
    pub mask: Ipv4Addr,
    /// `RTF_*` flags.
    pub flags: u16,
    /// Metric.
    pub metric: u32,
}

/// Parses `/proc/net/route`.
pub fn parse_route4(text: &[u8]) -> Vec<Route4> {
    let ip = |s: &str| hex_u32(s).map(|v| Ipv4Addr::from(v.to_ne_bytes()));
    String::from_utf8_lossy(text)
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            Some(Route4 {
                iface: (*f.first()?).to_owned(),
                destination: ip(f.get(1)?)?,
                gateway: ip(f.get(2)?)?,
                flags: u16::from_str_radix(f.get(3)?, 16).ok()?,
                metric: f.get(6)?.parse().ok()?,
                mask: ip(f.get(7)?)?,
            })
        })
        .collect()
}

/// One IPv6 route of `/proc/net/ipv6_route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route6 {
    /// Destination network.
    pub destination: Ipv6Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Next hop.
    pub next_hop: Ipv6Addr,
    /// Metric.
    pub metric: u32,
    /// `RTF_*` flags.
    pub flags: u32,
    /// Interface.
    pub iface: String,
}

/// Parses `/proc/net/ipv6_route`.
pub fn parse_route6(text: &[u8]) -> Vec<Route6> {
    String::from_utf8_lossy(text)
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            Some(Route6 {
                destination: parse_v6_network_order(f.first()?)?,
                prefix_len: u8::from_str_radix(f.get(1)?, 16).ok()?,
                next_hop: parse_v6_network_order(f.get(4)?)?,
                metric: hex_u32(f.get(5)?)?,
                flags: hex_u32(f.get(8)?)?,
                iface: (*f.get(9)?).to_owned(),
            })
        })
        .collect()
}

/// One address of `/proc/net/if_inet6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inet6Address {
    /// The address.
    pub address: Ipv6Addr,
    /// Interface index.
    pub ifindex: u32,
    /// Prefix length.
    pub prefix_len: u8,
    /// Scope.
    pub scope: u8,
    /// Interface name.
    pub iface: String,
}

/// Parses `/proc/net/if_inet6`.
pub fn parse_if_inet6(text: &[u8]) -> Vec<Inet6Address> {
    String::from_utf8_lossy(text)
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            Some(Inet6Address {
                address: parse_v6_network_order(f.first()?)?,
                ifindex: hex_u32(f.get(1)?)?,
                prefix_len: u8::from_str_radix(f.get(2)?, 16).ok()?,
                scope: u8::from_str_radix(f.get(3)?, 16).ok()?,
                iface: (*f.get(5)?).to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp_lines_of_both_families() {
        let v4 = b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 20971 1 0000000000000000 100 0 0 10 0\n";
        let s = parse_inet(v4);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].local, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(s[0].local_port, 53);
        assert_eq!(tcp_state_name(s[0].state), "LISTEN");
        assert_eq!((s[0].uid, s[0].inode), (101, 20971));
        let v6 = b"header\n   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1\n";
        let s = parse_inet(v6);
        assert_eq!(s[0].local, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(s[0].local_port, 22);
    }

    #[test]
    fn parses_unix_with_spaces_in_path() {
        let t = b"Num       RefCount Protocol Flags    Type St Inode Path\n\
0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/my sock\n\
0000000000000000: 00000003 00000000 00000000 0001 03 12346\n";
        let u = parse_unix(t);
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].path, b"/run/my sock");
        assert_eq!(u[0].flags, 0x10000);
        assert!(u[1].path.is_empty());
    }

    #[test]
    fn parses_routes() {
        let r = parse_route4(b"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n");
        assert_eq!(r[0].gateway, Ipv4Addr::new(192, 168, 2, 1));
        let r6 = parse_route6(b"fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n");
        assert_eq!(r6[0].prefix_len, 64);
        assert_eq!(r6[0].metric, 256);
    }
}
