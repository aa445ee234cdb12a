//! The catalog of every check, for `docs/checks.md` and `cordon hunt --list-checks`.
//!
//! Launch-point checks are `<mechanism>.<signal>` (any mechanism × any command signal) and
//! `<mechanism>.unowned`; structural checks are listed one by one. A test renders this catalog and
//! compares it with `docs/checks.md`, and another checks that every finding the hunt raises on the
//! planted fixtures has a documented id, so the docs cannot drift from the code.

use std::fmt::Write as _;

use cordon_core::Severity;

use crate::heuristics::signals;
use crate::launch::KINDS;

/// A structural check.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Id.
    pub id: &'static str,
    /// Highest severity it raises.
    pub severity: Severity,
    /// ATT&CK technique.
    pub technique: &'static str,
    /// What it reads.
    pub reads: &'static str,
    /// What it finds, and false-positive notes.
    pub notes: &'static str,
}

/// Every structural check.
pub const CHECKS: &[Check] = &[
    Check {
        id: "account.extra_uid0",
        severity: Severity::Critical,
        technique: "T1136.001",
        reads: "/etc/passwd",
        notes: "an account other than root with uid 0",
    },
    Check {
        id: "account.empty_password",
        severity: Severity::High,
        technique: "T1078.003",
        reads: "/etc/shadow",
        notes: "empty password field",
    },
    Check {
        id: "account.service_login",
        severity: Severity::High,
        technique: "T1078.003",
        reads: "/etc/passwd, /etc/shadow, /etc/shells",
        notes: "uid 1–999 with a password and a login shell",
    },
    Check {
        id: "sudoers.service_nopasswd",
        severity: Severity::High,
        technique: "T1548.003",
        reads: "/etc/sudoers, /etc/sudoers.d/*",
        notes: "NOPASSWD for a service account",
    },
    Check {
        id: "sudoers.nopasswd_all",
        severity: Severity::Low,
        technique: "T1548.003",
        reads: "/etc/sudoers, /etc/sudoers.d/*",
        notes: "NOPASSWD: ALL for a person or group — common admin habit, hence low",
    },
    Check {
        id: "sudoers.nopasswd",
        severity: Severity::Info,
        technique: "T1548.003",
        reads: "/etc/sudoers, /etc/sudoers.d/*",
        notes: "NOPASSWD for specific commands",
    },
    Check {
        id: "sudoers.weak_default",
        severity: Severity::High,
        technique: "T1548.003",
        reads: "/etc/sudoers, /etc/sudoers.d/*",
        notes: "Defaults keeping LD_PRELOAD, !authenticate (high); timestamp_timeout=-1, !tty_tickets (medium)",
    },
    Check {
        id: "ssh.authorized_key",
        severity: Severity::Info,
        technique: "T1098.004",
        reads: "~/.ssh/authorized_keys of every account",
        notes: "inventory: every key with fingerprint and comment",
    },
    Check {
        id: "ssh.service_account_key",
        severity: Severity::Medium,
        technique: "T1098.004",
        reads: "~/.ssh/authorized_keys of uid 1–999",
        notes: "a service account that accepts SSH keys",
    },
    Check {
        id: "ssh.authorized_keys2",
        severity: Severity::Low,
        technique: "T1098.004",
        reads: "~/.ssh/authorized_keys2",
        notes: "legacy key file admins forget",
    },
    Check {
        id: "sshd.empty_passwords",
        severity: Severity::High,
        technique: "T1098.004",
        reads: "/etc/ssh/sshd_config{,.d/*}",
        notes: "PermitEmptyPasswords yes",
    },
    Check {
        id: "sshd.root_login",
        severity: Severity::Low,
        technique: "T1098.004",
        reads: "/etc/ssh/sshd_config{,.d/*}",
        notes: "PermitRootLogin yes (policy-dependent)",
    },
    Check {
        id: "sshd.user_environment",
        severity: Severity::Medium,
        technique: "T1098.004",
        reads: "/etc/ssh/sshd_config{,.d/*}",
        notes: "PermitUserEnvironment yes",
    },
    Check {
        id: "sshd.keys_file",
        severity: Severity::Medium,
        technique: "T1098.004",
        reads: "/etc/ssh/sshd_config{,.d/*}",
        notes: "AuthorizedKeysFile pointing somewhere unusual",
    },
    Check {
        id: "pam.foreign_module",
        severity: Severity::High,
        technique: "T1556.003",
        reads: "/etc/pam.d/*",
        notes: "a module loaded by absolute path outside the PAM directories",
    },
    Check {
        id: "pam.permit_all",
        severity: Severity::Critical,
        technique: "T1556.003",
        reads: "/etc/pam.d/*",
        notes: "auth sufficient pam_permit.so / pam_succeed_if uid >= 0",
    },
    Check {
        id: "hosts.hijack",
        severity: Severity::High,
        technique: "T1565.001",
        reads: "/etc/hosts",
        notes: "update or security-vendor domains pinned to an address",
    },
    Check {
        id: "history.devnull",
        severity: Severity::Medium,
        technique: "T1070.003",
        reads: "~/.bash_history, ~/.zsh_history",
        notes: "history linked to /dev/null",
    },
    Check {
        id: "file.known_rootkit",
        severity: Severity::Critical,
        technique: "T1014",
        reads: "file walk",
        notes: "paths of known rootkit and backdoor families",
    },
    Check {
        id: "file.suid_unowned",
        severity: Severity::High,
        technique: "T1548.001",
        reads: "file walk + dpkg database",
        notes: "setuid/setgid file no package installed",
    },
    Check {
        id: "file.tmp_executable",
        severity: Severity::High,
        technique: "T1036.005",
        reads: "file walk of /tmp, /var/tmp, /dev/shm",
        notes: "executable or ELF file in a world-writable directory (build trees in /tmp can trip it)",
    },
    Check {
        id: "file.dev_regular",
        severity: Severity::Medium,
        technique: "T1564.001",
        reads: "walk of /dev",
        notes: "regular file among device nodes",
    },
    Check {
        id: "file.hidden_system_dir",
        severity: Severity::Medium,
        technique: "T1564.001",
        reads: "file walk of /usr, /bin, /sbin, /lib*, /boot, /etc",
        notes: "unowned dot-directory (/etc/.git from etckeeper is known)",
    },
    Check {
        id: "file.unowned_system_binary",
        severity: Severity::Medium,
        technique: "T1036.005",
        reads: "file walk of /usr/bin, /usr/sbin, /bin, /sbin + dpkg",
        notes: "executable no package installed (make install into /usr/bin also does this)",
    },
    Check {
        id: "file.backdated_binary",
        severity: Severity::High,
        technique: "T1070.006",
        reads: "file walk + dpkg",
        notes: "unowned executable whose mtime is more than a day older than its ctime (time-stomping)",
    },
    Check {
        id: "file.miner",
        severity: Severity::High,
        technique: "T1496",
        reads: "file walk",
        notes: "file named like a known miner",
    },
    Check {
        id: "kmod.foreign_ko",
        severity: Severity::High,
        technique: "T1547.006",
        reads: "file walk",
        notes: "kernel module outside /lib/modules",
    },
    Check {
        id: "kmod.unowned_ko",
        severity: Severity::Medium,
        technique: "T1547.006",
        reads: "file walk of /lib/modules + dpkg",
        notes: "module no package or DKMS installed",
    },
    Check {
        id: "web.shell",
        severity: Severity::High,
        technique: "T1505.003",
        reads: "PHP/JSP/CGI files under /var/www, /srv, uploads dirs",
        notes: "code execution fed from the request ($_GET/$_POST…); pages that only echo escaped input are not raised",
    },
    Check {
        id: "web.script_in_uploads",
        severity: Severity::Medium,
        technique: "T1505.003",
        reads: "web roots",
        notes: "PHP script in an uploads directory",
    },
    Check {
        id: "process.memfd_exe",
        severity: Severity::High,
        technique: "T1620",
        reads: "/proc/PID/exe (live)",
        notes: "fileless program",
    },
    Check {
        id: "process.deleted_exe",
        severity: Severity::High,
        technique: "T1070.004",
        reads: "/proc/PID/exe (live)",
        notes: "high from tmp dirs; low elsewhere (upgraded daemons)",
    },
    Check {
        id: "process.tmp_exe",
        severity: Severity::High,
        technique: "T1059",
        reads: "/proc/PID/exe (live)",
        notes: "program in a world-writable directory",
    },
    Check {
        id: "process.kthread_masquerade",
        severity: Severity::High,
        technique: "T1036.004",
        reads: "/proc/PID/{stat,cmdline,exe} (live)",
        notes: "named [kworker/…] but has a program",
    },
    Check {
        id: "process.socket_shell",
        severity: Severity::Critical,
        technique: "T1059.004",
        reads: "/proc/PID/fd (live)",
        notes: "shell/interpreter with a socket as stdin/stdout",
    },
    Check {
        id: "process.ld_preload",
        severity: Severity::High,
        technique: "T1574.006",
        reads: "/proc/PID/environ (live)",
        notes: "started with LD_PRELOAD",
    },
    Check {
        id: "process.hidden",
        severity: Severity::Critical,
        technique: "T1014",
        reads: "/proc readdir vs probing every pid (live)",
        notes: "pid answers but is not listed; threads and newborns excluded",
    },
    Check {
        id: "process.shell_listener",
        severity: Severity::High,
        technique: "T1059.004",
        reads: "/proc/net/tcp{,6} + /proc/PID/fd (live)",
        notes: "a shell, nc, socat… listening on a port",
    },
    Check {
        id: "kmod.rootkit_loaded",
        severity: Severity::Critical,
        technique: "T1014",
        reads: "/proc/modules (live)",
        notes: "known rootkit module name",
    },
    Check {
        id: "kmod.hidden",
        severity: Severity::Critical,
        technique: "T1014",
        reads: "/sys/module vs /proc/modules (live)",
        notes: "module that hides from /proc/modules",
    },
    Check {
        id: "kmod.taint",
        severity: Severity::Medium,
        technique: "T1547.006",
        reads: "/proc/sys/kernel/tainted (live)",
        notes: "out-of-tree or unsigned module loaded",
    },
];

/// True when `id` is a documented check (structural, `<kind>.unowned` or `<kind>.<signal>`).
pub fn is_documented(id: &str) -> bool {
    if CHECKS.iter().any(|c| c.id == id) {
        return true;
    }
    let Some((kind, rest)) = id.split_once('.') else {
        return false;
    };
    KINDS.iter().any(|k| k.kind == kind) && (rest == "unowned" || signals().iter().any(|s| s.id == rest))
}

/// `docs/checks.md`.
pub fn markdown() -> String {
    let mut s = String::new();
    s.push_str("# Checks of `cordon hunt`\n\n");
    s.push_str("Generated from the code (`cordon hunt --list-checks`); a test keeps this file in sync.\n\n");
    s.push_str("## Launch points\n\nEvery place that can start code is read into a launch point. A launch point no package \
installed raises `<mechanism>.unowned` at the severity below; its command is judged by the command signals, each raising \
`<mechanism>.<signal>` (e.g. `cron.download_exec`).\n\n");
    s.push_str("| mechanism | technique | unowned | reads | false positives |\n|---|---|---|---|---|\n");
    for k in KINDS {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} |",
            k.kind,
            k.technique,
            k.unowned.map_or("—", Severity::as_str),
            k.reads,
            k.fp
        );
    }
    s.push_str(
        "\n## Command signals\n\n| signal | severity | technique | what it means |\n|---|---|---|---|\n",
    );
    for sig in signals() {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} |",
            sig.id,
            sig.severity.as_str(),
            sig.technique,
            sig.why
        );
    }
    s.push_str(
        "\n## Structural checks\n\n| check | up to | technique | reads | notes |\n|---|---|---|---|---|\n",
    );
    for c in CHECKS {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} |",
            c.id,
            c.severity.as_str(),
            c.technique,
            c.reads,
            c.notes
        );
    }
    s
}
