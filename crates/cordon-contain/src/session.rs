//! Which SSH connection is the responder's own, so that isolation never cuts the branch they sit on.
//!
//! OpenSSH exports `SSH_CONNECTION="client_ip client_port server_ip server_port"` to the session.
//! `sudo` usually clears it, so cordon also looks at its ancestors' environments (root may read them)
//! up to pid 1: the login shell that started `sudo` still has it. Inside `tmux`/`screen` the chain ends
//! at the multiplexer server, whose environment holds the connection that started it — possibly an old
//! one, which the plan says.

use std::net::IpAddr;
use std::path::Path;

use cordon_host::procfs;

/// The responder's SSH connection as seen by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSession {
    /// The responder's address.
    pub client: IpAddr,
    /// The responder's source port.
    pub client_port: u16,
    /// The server address the session arrived on.
    pub server: IpAddr,
    /// The server port (sshd's).
    pub server_port: u16,
    /// Where cordon found it: "this process" or "pid 1234 (bash)".
    pub found_in: String,
}

/// Parses an `SSH_CONNECTION` value.
pub fn parse_ssh_connection(value: &[u8]) -> Option<(IpAddr, u16, IpAddr, u16)> {
    let text = std::str::from_utf8(value).ok()?;
    let mut parts = text.split_ascii_whitespace();
    // sshd on a dual-stack socket can report an IPv4 client as ::ffff:a.b.c.d, and a link-local
    // one with its scope (fe80::1%eth0), which an address rule does not need.
    let addr = |s: &str| s.split('%').next().and_then(|a| a.parse::<IpAddr>().ok());
    let client = addr(parts.next()?)?.to_canonical();
    let client_port = parts.next()?.parse().ok()?;
    let server = addr(parts.next()?)?;
    let server_port = parts.next()?.parse().ok()?;
    Some((client, client_port, server, server_port))
}

fn from_environ(environ: &[u8]) -> Option<&[u8]> {
    environ
        .split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(b"SSH_CONNECTION="))
}

/// Finds the responder's SSH session: this process's environment first, then each ancestor's.
pub fn responder_session(proc: &Path) -> Option<SshSession> {
    if let Some(v) = std::env::var_os("SSH_CONNECTION") {
        use std::os::unix::ffi::OsStrExt;
        if let Some((client, client_port, server, server_port)) = parse_ssh_connection(v.as_bytes()) {
            return Some(SshSession {
                client,
                client_port,
                server,
                server_port,
                found_in: "this process".into(),
            });
        }
    }
    let proc_fd = procfs::open_proc(proc).ok()?;
    let mut pid = parent_of(&proc_fd, i32::try_from(std::process::id()).ok()?)?;
    for _ in 0..64 {
        if pid <= 1 {
            break;
        }
        let p = procfs::read_process(
            &proc_fd,
            pid,
            procfs::ReadParts {
                fds: false,
                maps: false,
                environ: true,
            },
        );
        if let Some(env) = p.environ.as_deref()
            && let Some(v) = from_environ(env)
            && let Some((client, client_port, server, server_port)) = parse_ssh_connection(v)
        {
            let comm = p
                .stat
                .as_ref()
                .map(|s| String::from_utf8_lossy(&s.comm).into_owned())
                .unwrap_or_default();
            return Some(SshSession {
                client,
                client_port,
                server,
                server_port,
                found_in: format!(
                    "pid {pid} ({})",
                    cordon_core::escape::escape_terminal(comm.as_bytes())
                ),
            });
        }
        pid = p.stat.map(|s| s.ppid)?;
    }
    None
}

/// Remote addresses of the TCP connections established now to sshd's port (22, and the port the
/// responder's own session arrived on), read from `/proc/net/tcp{,6}` of cordon's network namespace.
pub fn ssh_peers(proc: &Path, session: Option<&SshSession>) -> Vec<IpAddr> {
    let mut ports = vec![22u16];
    if let Some(s) = session {
        ports.push(s.server_port);
    }
    let mut peers = Vec::new();
    for file in ["net/tcp", "net/tcp6"] {
        let Ok(text) = cordon_host::open::read_capped(&proc.join(file), 64 << 20) else {
            continue;
        };
        for sock in cordon_host::net::parse_inet(&text.bytes) {
            // TCP_ESTABLISHED
            if sock.state == 1 && ports.contains(&sock.local_port) && !sock.remote.is_loopback() {
                let peer = sock.remote.to_canonical();
                if !peers.contains(&peer) {
                    peers.push(peer);
                }
            }
        }
    }
    peers
}

fn parent_of(proc_fd: &std::os::fd::OwnedFd, pid: i32) -> Option<i32> {
    procfs::read_process(
        proc_fd,
        pid,
        procfs::ReadParts {
            fds: false,
            maps: false,
            environ: false,
        },
    )
    .stat
    .map(|s| s.ppid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_openssh_format() {
        let (c, cp, s, sp) = parse_ssh_connection(b"198.51.100.10 51234 203.0.113.5 22").unwrap();
        assert_eq!(c.to_string(), "198.51.100.10");
        assert_eq!((cp, sp), (51234, 22));
        assert_eq!(s.to_string(), "203.0.113.5");
        assert!(parse_ssh_connection(b"2001:db8::1 4000 2001:db8::2 2222").is_some());
        let (mapped, ..) = parse_ssh_connection(b"::ffff:198.51.100.10 4000 ::ffff:192.0.2.1 22").unwrap();
        assert_eq!(mapped.to_string(), "198.51.100.10");
        // A link-local peer carries its scope, as getnameinfo() writes it for sshd.
        let (ll, _, server, _) = parse_ssh_connection(b"fe80::1%eth0 4000 fe80::2%eth0 22").unwrap();
        assert_eq!(
            (ll.to_string(), server.to_string()),
            ("fe80::1".into(), "fe80::2".into())
        );
        for bad in [
            &b""[..],
            b"1.2.3.4",
            b"x 1 2 3",
            b"1.2.3.4 99999 1.2.3.5 22",
            b"\xff\xfe",
        ] {
            assert!(parse_ssh_connection(bad).is_none());
        }
    }

    #[test]
    fn finds_the_variable_among_others() {
        let env = b"A=1\0SSH_CONNECTION=10.0.0.1 1 10.0.0.2 22\0B=2\0";
        assert_eq!(from_environ(env), Some(&b"10.0.0.1 1 10.0.0.2 22"[..]));
        assert_eq!(from_environ(b"A=1\0"), None);
    }
}
