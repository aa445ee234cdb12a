//! The software cable-pull: drop everything in and out except the responder.
//!
//! One nf_tables table, `inet cordon`, with base chains on input, forward and output. Other tables
//! are never touched, so removing cordon's table restores the previous state exactly; and because a
//! `drop` verdict in any base chain is final, rules an attacker left in other tables cannot let traffic
//! past it.
//!
//! Two independent dead-man switches keep the responder from being stranded:
//! 1. In the kernel: every drop rule matches only while the set `armed` holds its elements, and those
//!    elements are added with a timeout equal to the rollback window. If nobody confirms, the kernel
//!    itself stops dropping when they expire — even if every cordon process was killed.
//! 2. A watchdog process (detached from the SSH session by the binary) deletes the whole table at the
//!    deadline unless the case journal says the isolation was confirmed or undone.
//!
//! `confirm` swaps the timed elements for untimed ones in one transaction.
//!
//! Chains run at priority -180: after conntrack (-200), so `ct state` is known on the output hook too,
//! and before mangle (-150) and the usual filter tables (0).

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::nft::expr::{Base, CmpOp, Expr, MetaKey, Verdict};
use crate::nft::{self, Chain, Hook, KernelState, Rule, Table, netlink};
use crate::session::SshSession;

/// Base chain priority (see the module docs).
pub const PRIORITY: i32 = -180;
/// Allowlist entries beyond this are refused (each is a rule).
pub const MAX_ALLOW: usize = 256;

const LOOPBACK_IFINDEX: u32 = 1;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMPV6: u8 = 58;
const CT_ESTABLISHED: u32 = 1 << 1;
const CT_RELATED: u32 = 1 << 2;

/// What the responder asked for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkRequest {
    /// Addresses or networks that stay reachable in both directions.
    pub allow: Vec<IpNet>,
    /// Let the host resolve names (port 53 out, answers back in).
    pub allow_dns: bool,
    /// Keep flows that were established before isolation (and their related ICMP).
    pub keep_established: bool,
    /// Seconds until everything is rolled back unless confirmed.
    pub rollback_secs: u64,
}

/// The plan: the table to install and what it means for the responder.
#[derive(Debug, Clone)]
pub struct NetworkPlan {
    /// The request.
    pub request: NetworkRequest,
    /// The table.
    pub table: Table,
    /// The responder's own SSH connection, if found, and whether the allowlist keeps it.
    pub responder: Option<(SshSession, bool)>,
    /// Plain-words consequences and warnings to show before applying.
    pub notes: Vec<String>,
}

impl NetworkRequest {
    /// Checks the request and builds the plan. An empty allowlist is refused: it would cut off
    /// the responder too. A responder session that the allowlist would cut is refused unless `force`.
    ///
    /// `ssh_peers` are the remote ends of the SSH connections established right now: if cordon cannot
    /// tell which one is the responder's and the allowlist keeps none of them, applying would most
    /// likely cut the responder too, so that is refused unless `force` as well.
    pub fn plan(
        self,
        responder: Option<SshSession>,
        ssh_peers: &[IpAddr],
        force: bool,
    ) -> Result<NetworkPlan, Error> {
        if self.allow.is_empty() {
            return Err(Error::Refused(
                "an empty allowlist would cut off the responder too; give --allow with your own address \
                 (the address you connect from)"
                    .into(),
            ));
        }
        if self.allow.len() > MAX_ALLOW {
            return Err(Error::Refused(format!("more than {MAX_ALLOW} --allow entries")));
        }
        if let Some(all) = self.allow.iter().find(|n| n.prefix_len() == 0) {
            return Err(Error::Refused(format!(
                "--allow {all} allows every address of that family, which is not isolation"
            )));
        }
        if self.rollback_secs == 0 {
            return Err(Error::Refused("a rollback window of zero".into()));
        }
        let mut notes = Vec::new();
        let responder = responder.map(|s| {
            let kept = self.allow.iter().any(|n| n.contains(&s.client));
            (s, kept)
        });
        match &responder {
            Some((s, false)) if !force => {
                return Err(Error::Refused(format!(
                    "your own SSH connection comes from {} (found in {}), which no --allow entry matches: \
                     applying would cut you off. Add --allow {} or use --force if you are sure",
                    s.client, s.found_in, s.client
                )));
            }
            Some((s, false)) => notes.push(format!(
                "FORCED: your SSH connection from {} is NOT allowed and will be cut",
                s.client
            )),
            Some((s, true)) => notes.push(format!(
                "your SSH connection from {} port {} (found in {}) stays open",
                s.client, s.client_port, s.found_in
            )),
            None if !force && !ssh_peers.is_empty() && !ssh_peers.iter().any(|p| self.allows(p)) => {
                return Err(Error::Refused(format!(
                    "cordon cannot tell which SSH connection is yours, and every SSH connection open now \
                     (from {}) would be cut. Add --allow with your address, or --force if you work from \
                     the console",
                    list(ssh_peers)
                )));
            }
            None => notes.push(
                "no SSH connection found for this session (console, or SSH_CONNECTION cleared by sudo in a \
                 detached terminal): make sure the address you work from is allowed"
                    .into(),
            ),
        }
        if let Some((s, _)) = &responder
            && !ssh_peers.is_empty()
            && !ssh_peers.contains(&s.client)
        {
            notes.push(format!(
                "the SSH connection found in {} (from {}) is not open any more (tmux or screen started by \
                 an earlier login?): check that the address you work from now is allowed",
                s.found_in, s.client
            ));
        }
        let cut: Vec<IpAddr> = ssh_peers.iter().filter(|p| !self.allows(p)).copied().collect();
        if !cut.is_empty() {
            notes.push(format!(
                "SSH connections open now from {} will be cut",
                list(&cut)
            ));
        }
        notes.push(format!(
            "unless `cordon contain confirm` runs within {}, the isolation is removed automatically \
             (by the kernel's set timeout and by a watchdog process)",
            human(self.rollback_secs)
        ));
        if self.allow_dns {
            notes.push(
                "DNS (port 53) stays open to any server: a channel an attacker can tunnel through".into(),
            );
        } else {
            notes.push("name resolution stops working (add --allow-dns if needed)".into());
        }
        if !self.keep_established {
            notes.push("established connections other than the allowlisted ones are cut".into());
        }
        notes.push(
            "a host that gets its address by DHCP will not renew its lease; allow the DHCP server or \
             confirm before the lease ends"
                .into(),
        );
        notes.push(
            "other nftables/iptables rules are left untouched; only table `inet cordon` is added".into(),
        );
        let table = self.table();
        Ok(NetworkPlan {
            request: self,
            table,
            responder,
            notes,
        })
    }

    fn allows(&self, addr: &IpAddr) -> bool {
        self.allow.iter().any(|n| n.contains(addr))
    }

    fn table(&self) -> Table {
        let mut input = vec![loopback(Hook::Input)];
        let mut output = vec![loopback(Hook::Output)];
        let mut forward = Vec::new();
        if self.keep_established {
            input.push(established());
            output.push(established());
            forward.push(established());
        } else {
            // ICMP errors about flows that are allowed (conntrack marks them "related"): without
            // "fragmentation needed" / "packet too big" path-MTU discovery fails and the responder's
            // SSH session can stall on a path with a smaller MTU.
            for (proto, name) in [(IPPROTO_ICMP, "icmp"), (IPPROTO_ICMPV6, "ipv6-icmp")] {
                input.push(icmp_related(proto, name));
                output.push(icmp_related(proto, name));
            }
        }
        if self.allow_dns {
            for proto in [IPPROTO_UDP, IPPROTO_TCP] {
                output.push(port_rule(proto, Direction::Destination, 53, false));
                input.push(port_rule(proto, Direction::Source, 53, true));
            }
        }
        for net in &self.allow {
            input.push(address(net, Direction::Source));
            output.push(address(net, Direction::Destination));
            forward.push(address(net, Direction::Source));
            forward.push(address(net, Direction::Destination));
        }
        // Without neighbour discovery IPv6 stops working for the allowlisted addresses too.
        for (t, name) in [
            (134u8, "nd-router-advert"),
            (135, "nd-neighbor-solicit"),
            (136, "nd-neighbor-advert"),
        ] {
            input.push(icmpv6(t, name));
        }
        for (t, name) in [
            (133u8, "nd-router-solicit"),
            (135, "nd-neighbor-solicit"),
            (136, "nd-neighbor-advert"),
        ] {
            output.push(icmpv6(t, name));
        }
        for rules in [&mut input, &mut output, &mut forward] {
            rules.push(armed_drop());
        }
        Table {
            chains: vec![
                Chain {
                    hook: Hook::Input,
                    priority: PRIORITY,
                    rules: input,
                },
                Chain {
                    hook: Hook::Forward,
                    priority: PRIORITY,
                    rules: forward,
                },
                Chain {
                    hook: Hook::Output,
                    priority: PRIORITY,
                    rules: output,
                },
            ],
            arm_timeout_secs: Some(self.rollback_secs),
        }
    }
}

impl NetworkPlan {
    /// Installs the table in one netlink transaction: either all of it is in force or nothing is.
    pub fn apply(&self) -> Result<(), Error> {
        let mut sock = netlink::Socket::open()?;
        match sock.transact(self.table.create_batch(), "install table inet cordon") {
            Ok(()) => Ok(()),
            // No answer is not a refusal: the kernel may have committed the batch and the
            // acknowledgement been lost. Ask it, so the journal never says "not applied" for a table
            // that is in force.
            Err(
                e @ Error::Netlink {
                    errno: Some(11) | None,
                    ..
                },
            ) => match netlink::Socket::open().and_then(|mut s| nft::kernel_state(&mut s)) {
                Ok(KernelState::Armed { .. }) => Ok(()),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }
}

/// Makes an applied isolation permanent (until undone): the armed elements lose their timeout.
pub fn confirm() -> Result<(), Error> {
    let mut sock = netlink::Socket::open()?;
    match nft::kernel_state(&mut sock)? {
        KernelState::Absent => {
            return Err(Error::Unexpected(
                "there is no cordon table in the kernel (already rolled back or undone): nothing to confirm"
                    .into(),
            ));
        }
        KernelState::Disarmed => {
            return Err(Error::Unexpected(
                "the rollback window has passed and the kernel no longer enforces the isolation; \
                 run `cordon contain undo network` and apply it again"
                    .into(),
            ));
        }
        KernelState::Armed { .. } => {}
    }
    sock.transact(nft::confirm_batch(), "confirm the isolation")
}

/// Removes cordon's table. Returns false when it was already gone.
pub fn remove() -> Result<bool, Error> {
    let mut sock = netlink::Socket::open()?;
    match sock.transact(nft::delete_batch(), "remove table inet cordon") {
        Ok(()) => Ok(true),
        Err(Error::Netlink { errno: Some(2), .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// What the kernel enforces now.
pub fn state() -> Result<KernelState, Error> {
    let mut sock = netlink::Socket::open()?;
    nft::kernel_state(&mut sock)
}

fn list(addrs: &[IpAddr]) -> String {
    let mut v: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    v.sort();
    v.dedup();
    v.join(", ")
}

/// "10 minutes", "90 seconds".
pub fn human(secs: u64) -> String {
    let d = Duration::from_secs(secs);
    match d.as_secs() {
        s if s % 3600 == 0 => format!("{} hour(s)", s / 3600),
        s if s % 60 == 0 => format!("{} minute(s)", s / 60),
        s => format!("{s} seconds"),
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Source,
    Destination,
}

fn rule(text: String, mut exprs: Vec<Expr>, verdict: Verdict) -> Rule {
    exprs.push(Expr::Verdict(verdict));
    Rule { text, exprs }
}

fn loopback(hook: Hook) -> Rule {
    let (key, word) = match hook {
        Hook::Output => (MetaKey::Oif, "oif"),
        _ => (MetaKey::Iif, "iif"),
    };
    rule(
        format!("{word} \"lo\" accept"),
        vec![
            Expr::Meta(key),
            Expr::Cmp(CmpOp::Eq, LOOPBACK_IFINDEX.to_ne_bytes().to_vec()),
        ],
        Verdict::Accept,
    )
}

fn ct_state(mask: u32) -> Vec<Expr> {
    vec![
        Expr::CtState,
        Expr::Mask(mask.to_ne_bytes().to_vec()),
        Expr::Cmp(CmpOp::Neq, 0u32.to_ne_bytes().to_vec()),
    ]
}

fn icmp_related(proto: u8, name: &str) -> Rule {
    let mut exprs = vec![Expr::Meta(MetaKey::L4Proto), Expr::Cmp(CmpOp::Eq, vec![proto])];
    exprs.extend(ct_state(CT_RELATED));
    rule(
        format!("meta l4proto {name} ct state related accept"),
        exprs,
        Verdict::Accept,
    )
}

fn established() -> Rule {
    rule(
        "ct state established,related accept".into(),
        ct_state(CT_ESTABLISHED | CT_RELATED),
        Verdict::Accept,
    )
}

/// `udp dport 53 accept`; with `answers_only`, `udp sport 53 ct state established accept` so that a
/// packet from port 53 is let in only as the answer to a query this host sent.
fn port_rule(proto: u8, dir: Direction, port: u16, answers_only: bool) -> Rule {
    let (name, offset, word) = match dir {
        Direction::Source => ("sport", 0, ""),
        Direction::Destination => ("dport", 2, ""),
    };
    let _ = word;
    let pname = if proto == IPPROTO_UDP { "udp" } else { "tcp" };
    let mut exprs = vec![
        Expr::Meta(MetaKey::L4Proto),
        Expr::Cmp(CmpOp::Eq, vec![proto]),
        Expr::Payload {
            base: Base::Transport,
            offset,
            len: 2,
        },
        Expr::Cmp(CmpOp::Eq, port.to_be_bytes().to_vec()),
    ];
    let mut text = format!("{pname} {name} {port}");
    if answers_only {
        exprs.extend(ct_state(CT_ESTABLISHED));
        text.push_str(" ct state established");
    }
    rule(format!("{text} accept"), exprs, Verdict::Accept)
}

/// `ip saddr 198.51.100.0/24 accept`: loads only the bytes the prefix covers, masking a partial byte.
fn address(net: &IpNet, dir: Direction) -> Rule {
    let (family, octets, base_offset, word): (u8, Vec<u8>, u32, &str) = match net.network() {
        IpAddr::V4(a) => (NFPROTO_IPV4, a.octets().to_vec(), 12, "ip"),
        IpAddr::V6(a) => (NFPROTO_IPV6, a.octets().to_vec(), 8, "ip6"),
    };
    let addr_len = u32::try_from(octets.len()).unwrap_or(4);
    let offset = match dir {
        Direction::Source => base_offset,
        Direction::Destination => base_offset + addr_len,
    };
    let prefix = usize::from(net.prefix_len());
    // Whole bytes are compared directly; a partial prefix loads the full address and masks it, the
    // way `nft` compiles it (so that `nft list` shows the same `ip saddr 10.64.0.0/10`).
    let bytes = if prefix % 8 == 0 { prefix / 8 } else { octets.len() };
    let mut exprs = vec![
        Expr::Meta(MetaKey::NfProto),
        Expr::Cmp(CmpOp::Eq, vec![family]),
        Expr::Payload {
            base: Base::Network,
            offset,
            len: u32::try_from(bytes).unwrap_or(addr_len),
        },
    ];
    let mut value: Vec<u8> = octets.iter().take(bytes).copied().collect();
    if prefix % 8 != 0 {
        let mask: Vec<u8> = (0..bytes)
            .map(|i| match (prefix / 8).cmp(&i) {
                std::cmp::Ordering::Greater => 0xff,
                std::cmp::Ordering::Equal => 0xffu8 << (8 - prefix % 8),
                std::cmp::Ordering::Less => 0,
            })
            .collect();
        for (v, m) in value.iter_mut().zip(&mask) {
            *v &= m;
        }
        exprs.push(Expr::Mask(mask));
    }
    exprs.push(Expr::Cmp(CmpOp::Eq, value));
    let dir_word = match dir {
        Direction::Source => "saddr",
        Direction::Destination => "daddr",
    };
    let shown = if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.trunc().to_string()
    };
    rule(
        format!("{word} {dir_word} {shown} accept"),
        exprs,
        Verdict::Accept,
    )
}

fn icmpv6(icmp_type: u8, name: &str) -> Rule {
    rule(
        format!("icmpv6 type {name} accept"),
        vec![
            Expr::Meta(MetaKey::NfProto),
            Expr::Cmp(CmpOp::Eq, vec![NFPROTO_IPV6]),
            Expr::Meta(MetaKey::L4Proto),
            Expr::Cmp(CmpOp::Eq, vec![IPPROTO_ICMPV6]),
            Expr::Payload {
                base: Base::Transport,
                offset: 0,
                len: 1,
            },
            Expr::Cmp(CmpOp::Eq, vec![icmp_type]),
        ],
        Verdict::Accept,
    )
}

fn armed_drop() -> Rule {
    rule(
        format!("meta nfproto @{} counter drop", nft::ARMED_SET),
        vec![
            Expr::Meta(MetaKey::NfProto),
            Expr::Lookup {
                set: nft::ARMED_SET.into(),
                set_id: 1,
            },
            Expr::Counter,
        ],
        Verdict::Drop,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(allow: &[&str]) -> NetworkRequest {
        NetworkRequest {
            allow: allow.iter().map(|a| a.parse::<IpNet>().unwrap()).collect(),
            allow_dns: true,
            keep_established: false,
            rollback_secs: 600,
        }
    }

    fn session(ip: &str) -> SshSession {
        SshSession {
            client: ip.parse().unwrap(),
            client_port: 50000,
            server: "192.0.2.1".parse().unwrap(),
            server_port: 22,
            found_in: "this process".into(),
        }
    }

    #[test]
    fn empty_or_everything_allowlists_are_refused() {
        assert!(matches!(req(&[]).plan(None, &[], false), Err(Error::Refused(_))));
        assert!(matches!(
            req(&["0.0.0.0/0"]).plan(None, &[], false),
            Err(Error::Refused(_))
        ));
    }

    #[test]
    fn the_responders_own_session_must_be_allowed() {
        let e = req(&["198.51.100.10/32"])
            .plan(Some(session("203.0.113.9")), &[], false)
            .unwrap_err();
        assert!(e.to_string().contains("203.0.113.9"), "{e}");
        assert!(
            req(&["198.51.100.10/32"])
                .plan(Some(session("203.0.113.9")), &[], true)
                .is_ok()
        );
        let p = req(&["198.51.100.0/24"])
            .plan(Some(session("198.51.100.77")), &[], false)
            .unwrap();
        assert!(p.responder.unwrap().1);
    }

    #[test]
    fn open_ssh_connections_are_weighed_when_the_responders_is_unknown() {
        let peers: Vec<IpAddr> = vec!["203.0.113.9".parse().unwrap(), "192.0.2.44".parse().unwrap()];
        let e = req(&["198.51.100.10/32"]).plan(None, &peers, false).unwrap_err();
        assert!(e.to_string().contains("192.0.2.44, 203.0.113.9"), "{e}");
        assert!(req(&["198.51.100.10/32"]).plan(None, &peers, true).is_ok());
        let p = req(&["203.0.113.0/24"]).plan(None, &peers, false).unwrap();
        assert!(
            p.notes.iter().any(|n| n.contains("from 192.0.2.44 will be cut")),
            "{:?}",
            p.notes
        );
        // A session variable left over from an earlier login (tmux) is pointed out.
        let p = req(&["198.51.100.0/24"])
            .plan(Some(session("198.51.100.77")), &peers, false)
            .unwrap();
        assert!(
            p.notes.iter().any(|n| n.contains("not open any more")),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn prefixes_load_only_the_covered_bytes() {
        let r = address(&"10.64.0.0/10".parse().unwrap(), Direction::Source);
        assert_eq!(r.text, "ip saddr 10.64.0.0/10 accept");
        assert!(r.exprs.contains(&Expr::Payload {
            base: Base::Network,
            offset: 12,
            len: 4
        }));
        assert!(r.exprs.contains(&Expr::Mask(vec![0xff, 0xc0, 0, 0])));
        assert!(r.exprs.contains(&Expr::Cmp(CmpOp::Eq, vec![10, 64, 0, 0])));
        let r = address(&"10.0.0.0/8".parse().unwrap(), Direction::Source);
        assert!(r.exprs.contains(&Expr::Payload {
            base: Base::Network,
            offset: 12,
            len: 1
        }));
        assert!(!r.exprs.iter().any(|e| matches!(e, Expr::Mask(_))));
        let r = address(&"2001:db8::/64".parse().unwrap(), Direction::Destination);
        assert_eq!(r.text, "ip6 daddr 2001:db8::/64 accept");
        assert!(r.exprs.contains(&Expr::Payload {
            base: Base::Network,
            offset: 24,
            len: 8
        }));
        let r = address(&"198.51.100.10/32".parse().unwrap(), Direction::Destination);
        assert_eq!(r.text, "ip daddr 198.51.100.10 accept");
        assert!(r.exprs.contains(&Expr::Payload {
            base: Base::Network,
            offset: 16,
            len: 4
        }));
    }

    #[test]
    fn every_chain_ends_with_the_armed_drop() {
        let p = req(&["198.51.100.10/32"]).plan(None, &[], false).unwrap();
        assert_eq!(p.table.chains.len(), 3);
        for c in &p.table.chains {
            assert_eq!(c.rules.last().unwrap().text, "meta nfproto @armed counter drop");
        }
        let input = &p.table.chains[0];
        assert!(
            input
                .rules
                .iter()
                .any(|r| r.text == "meta l4proto icmp ct state related accept")
        );
        let text = p.table.to_nft();
        assert!(
            text.contains("elements = { ipv4 timeout 600s, ipv6 timeout 600s }"),
            "{text}"
        );
        assert!(text.contains("type filter hook input priority -180; policy accept;"));
    }
}
