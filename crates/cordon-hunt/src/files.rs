//! Checks over every file of the system, in one walk: setuid files no package installed, programs in
//! world-writable directories, regular files in `/dev`, hidden names in system directories, unowned
//! and back-dated binaries in the system `PATH`, kernel modules out of place, web shells, miners and
//! known rootkit files.

use std::collections::HashSet;
use std::io::Read as _;

use cordon_core::{Confidence, Finding, Severity};
use cordon_host::walk::{Event, Visit, WalkOptions, walk};
use regex::bytes::Regex;
use std::sync::LazyLock;

use crate::context::Ctx;
use crate::heuristics::{WORLD_WRITABLE, is_hidden_path};

/// Bytes of a possible web shell read.
const WEB_CAP: u64 = 1024 * 1024;

/// Files of known rootkits and backdoors (chkrootkit/rkhunter lists, pruned to modern families).
pub const KNOWN_BAD_PATHS: [&[u8]; 18] = [
    b"/usr/local/lib/libprocesshider.so",
    b"/lib/libprocesshider.so",
    b"/usr/lib/libprocesshider.so",
    b"/dev/shm/.rk",
    b"/etc/ld.so.pre",
    b"/lib/libkeyutils.so.1.9",
    b"/lib64/libkeyutils.so.1.9",
    b"/usr/lib/x86_64-linux-gnu/libkeyutils.so.1.9",
    b"/usr/bin/.sshd",
    b"/usr/lib/libsemod.so",
    b"/etc/rc.d/init.d/xfsd",
    b"/usr/lib/.fx",
    b"/dev/.udev/.rule",
    b"/usr/share/.aptitude",
    b"/var/tmp/.ICE-unix/.x",
    b"/tmp/.ICE-unix/.x",
    b"/usr/bin/kdevtmpfsi",
    b"/tmp/kdevtmpfsi",
];

const MINER_NAMES: [&[u8]; 7] = [
    b"xmrig",
    b"xmr-stak",
    b"xmr-stak-cpu",
    b"kdevtmpfsi",
    b"kinsing",
    b"cpuminer",
    b"minerd",
];

static WEBSHELL: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // Code execution fed straight from the request.
        r"(?i)\b(eval|assert|system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec|create_function)\s*\(\s*[^;]{0,80}\$_(GET|POST|REQUEST|COOKIE|SERVER|FILES)\b",
        r"(?i)\beval\s*\(\s*(base64_decode|gzinflate|gzuncompress|str_rot13|hex2bin)\s*\(",
        r"(?i)`\s*\$_(GET|POST|REQUEST|COOKIE)\b",
        r"(?i)\bpreg_replace\s*\(\s*['\x22].*/[a-z]*e[a-z]*['\x22]\s*,\s*\$_(GET|POST|REQUEST)",
        r"(?i)\b(array_map|call_user_func(_array)?|usort)\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)\b",
        r"(?i)Runtime\.getRuntime\(\)\.exec\(\s*request\.getParameter",
        r"(?i)\bos\.(system|popen)\s*\(\s*(form|request|cgi)",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

const WEB_EXTENSIONS: [&[u8]; 9] = [
    b".php", b".phtml", b".php5", b".php7", b".phar", b".jsp", b".jspx", b".cgi", b".pl",
];

/// Options for the walk.
#[derive(Debug, Clone, Default)]
pub struct FileOptions {
    /// Directories never walked (`dev`, `ino`): the case directory, so evidence copies are not hunted.
    pub exclude: HashSet<(u32, u32, u64)>,
}

/// Walks the whole system once.
pub fn check(ctx: &mut Ctx, opts: &FileOptions, out: &mut Vec<Finding>) -> u64 {
    let mut wopts = WalkOptions {
        cross_mounts: true,
        exclude: opts.exclude.clone(),
        ..WalkOptions::default()
    };
    if let Ok(mounts) = cordon_host::mounts::read_own_mountinfo() {
        wopts.skip_mounts = mounts
            .iter()
            .filter(|m| cordon_host::mounts::is_pseudo_or_network(&m.fs_type))
            .map(|m| m.id)
            .collect();
    }
    let mut found = Vec::new();
    let mut errors = 0u64;
    let root = match ctx.fs.root_fd().try_clone() {
        Ok(fd) => fd,
        Err(e) => {
            ctx.note(b"/", &format!("cannot walk the file system: {e}"));
            return 0;
        }
    };
    let pkgs = &ctx.pkgs;
    let target = ctx.target_label.clone();
    let mut visit = |ev: Event<'_>| -> Visit {
        match ev {
            Event::Entry(e) => inspect(&e, pkgs, &target, &mut found),
            Event::Error { .. } => {
                errors += 1;
                Visit::Continue
            }
            Event::Skipped { .. } => Visit::Continue,
        }
    };
    let stats = walk(&root, b"/", &wopts, &mut visit);
    // /dev is a pseudo filesystem on a live host: look only for regular files there.
    let dev_opts = WalkOptions {
        cross_mounts: false,
        max_depth: Some(6),
        ..WalkOptions::default()
    };
    let _ = walk(&root, b"/dev", &dev_opts, &mut |ev| {
        if let Event::Entry(e) = ev
            && e.meta.is_file()
            && !is_under(
                e.path,
                &[b"/dev/shm/", b"/dev/mqueue/", b"/dev/pts/", b"/dev/hugepages/"],
            )
        {
            found.push(
                Finding::new(
                    "file.dev_regular",
                    Severity::Medium,
                    Confidence::Medium,
                    format!(
                        "regular file in /dev: {} (rootkits hide files among device nodes)",
                        cordon_core::escape_terminal(e.path)
                    ),
                    "preserve and inspect it; /dev should hold only devices",
                    &target,
                )
                .technique("T1564.001")
                .path(e.path.to_vec()),
            );
        }
        Visit::Continue
    });
    match stats {
        Ok(s) => {
            if errors > 0 {
                ctx.notes.push(format!(
                    "{errors} file(s) or directories could not be read during the file walk"
                ));
            }
            out.extend(found);
            s.entries
        }
        Err(e) => {
            ctx.note(b"/", &format!("the file walk failed: {e}"));
            out.extend(found);
            0
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn is_under(path: &[u8], dirs: &[&[u8]]) -> bool {
    dirs.iter().any(|d| path.starts_with(d))
}

fn inspect(
    e: &cordon_host::walk::Entry<'_>,
    pkgs: &cordon_host::dpkg::PackageDb,
    target: &str,
    out: &mut Vec<Finding>,
) -> Visit {
    let path = e.path;
    let meta = e.meta;
    let shown = cordon_core::escape_terminal(path);
    if is_under(path, &[b"/dev/", b"/proc/", b"/sys/"]) {
        return Visit::SkipDir;
    }
    if KNOWN_BAD_PATHS.contains(&path) {
        out.push(
            Finding::new(
                "file.known_rootkit",
                Severity::Critical,
                Confidence::High,
                format!("{shown} is a file of a known rootkit or backdoor family"),
                "do not run anything on this host you did not bring; image it and rebuild from trusted media",
                target,
            )
            .technique("T1014")
            .path(path.to_vec()),
        );
    }
    let name = e.name.to_bytes();
    if meta.is_dir() {
        let system_dir = is_under(
            path,
            &[
                b"/usr/", b"/bin/", b"/sbin/", b"/lib/", b"/lib64/", b"/boot/", b"/etc/",
            ],
        );
        if system_dir && is_hidden_name(name) && pkgs.owner(path).is_none() && !benign_hidden(path) {
            out.push(
                Finding::new(
                    "file.hidden_system_dir",
                    Severity::Medium,
                    Confidence::Medium,
                    format!("hidden directory {shown} in a system directory, not installed by any package"),
                    "list what it holds (cordon collect copies it) and find when it appeared",
                    target,
                )
                .technique("T1564.001")
                .path(path.to_vec()),
            );
            return Visit::SkipDir;
        }
        return Visit::Continue;
    }
    if !meta.is_file() {
        return Visit::Continue;
    }
    let owner = pkgs.owner(path);
    if meta.mode & 0o6000 != 0 && owner.is_none() {
        let bits = if meta.mode & 0o4000 != 0 {
            "setuid"
        } else {
            "setgid"
        };
        out.push(
            Finding::new("file.suid_unowned", Severity::High, Confidence::High,
                format!("{shown} is {bits} (runs with its owner's privileges, uid {}) and no package installed it", meta.uid),
                "preserve it, then remove the bit (chmod u-s,g-s) or the file", target)
                .technique("T1548.001")
                .path(path.to_vec())
                .attr("mode", format!("{:o}", meta.mode & 0o7777)),
        );
    }
    if WORLD_WRITABLE.iter().any(|w| path.starts_with(w)) {
        let elf = is_elf_program(e);
        if meta.mode & 0o111 != 0 || elf {
            out.push(
                Finding::new(
                    "file.tmp_executable",
                    Severity::High,
                    Confidence::High,
                    format!(
                        "{} {shown} sits in a world-writable directory",
                        if elf { "ELF program" } else { "executable file" }
                    ),
                    "preserve it (cordon collect), check which process runs it, then remove it",
                    target,
                )
                .technique("T1036.005")
                .path(path.to_vec()),
            );
        }
    }
    let in_path_dirs = is_under(path, &[b"/usr/bin/", b"/usr/sbin/", b"/bin/", b"/sbin/"]);
    if in_path_dirs && owner.is_none() && meta.mode & 0o111 != 0 && pkgs.present {
        let backdated = match (meta.mtime, meta.ctime) {
            (Some(m), Some(c)) => c.sec - m.sec > 86_400,
            _ => false,
        };
        let (check, sev, why) = if backdated {
            (
                "file.backdated_binary",
                Severity::High,
                "is in the system PATH, no package installed it, and its modification time is older than its change time (time-stomped)",
            )
        } else {
            (
                "file.unowned_system_binary",
                Severity::Medium,
                "is in the system PATH but no package installed it",
            )
        };
        out.push(
            Finding::new(check, sev, Confidence::Medium, format!("{shown} {why}"),
                "compare it with the same program on a clean host; preserve and remove it if nobody installed it", target)
                .technique(if backdated { "T1070.006" } else { "T1036.005" })
                .path(path.to_vec()),
        );
    }
    let compressed_ko = name.ends_with(b".ko.xz") || name.ends_with(b".ko.zst");
    if compressed_ko || (name.ends_with(b".ko") && is_elf(e)) {
        let in_modules = path.starts_with(b"/lib/modules/") || path.starts_with(b"/usr/lib/modules/");
        if !in_modules {
            out.push(
                Finding::new(
                    "kmod.foreign_ko",
                    Severity::High,
                    Confidence::Medium,
                    format!(
                        "kernel module {shown} lies outside /lib/modules, where loadable rootkits are dropped"
                    ),
                    "preserve it; check /proc/modules for it on the live host",
                    target,
                )
                .technique("T1547.006")
                .path(path.to_vec()),
            );
        } else if owner.is_none()
            && !contains(path, b"/updates/")
            && !contains(path, b"/extra/")
            && !contains(path, b"/dkms/")
        {
            out.push(
                Finding::new(
                    "kmod.unowned_ko",
                    Severity::Medium,
                    Confidence::Low,
                    format!("kernel module {shown} was not installed by any package or DKMS"),
                    "check whether a vendor driver explains it",
                    target,
                )
                .technique("T1547.006")
                .path(path.to_vec()),
            );
        }
    }
    let base = name.split(|&b| b == b'.').next().unwrap_or(name);
    if MINER_NAMES.contains(&base) && owner.is_none() {
        out.push(
            Finding::new(
                "file.miner",
                Severity::High,
                Confidence::High,
                format!("{shown} is named like a cryptocurrency miner"),
                "stop (freeze) the process running it, preserve it, remove it",
                target,
            )
            .technique("T1496")
            .path(path.to_vec()),
        );
    }
    let web_root = is_under(
        path,
        &[b"/var/www/", b"/srv/", b"/usr/share/nginx/", b"/var/lib/tomcat"],
    ) || contains(path, b"/uploads/");
    if web_root && WEB_EXTENSIONS.iter().any(|x| name.ends_with(x)) && owner.is_none() {
        web_file(e, target, out);
    }
    Visit::Continue
}

fn is_hidden_name(name: &[u8]) -> bool {
    (name.len() > 1 && name.first() == Some(&b'.') && name != b"..")
        || (!name.is_empty() && name.iter().all(|&b| b == b'.' || b == b' '))
}

/// Hidden names that distributions and common tools create.
fn benign_hidden(path: &[u8]) -> bool {
    const OK: [&[u8]; 6] = [
        b"/etc/.java",
        b"/etc/.git",
        b"/etc/skel/",
        b"/usr/lib/jvm/.",
        b"/etc/.pwd.lock",
        b"/etc/.etckeeper",
    ];
    OK.iter().any(|p| path.starts_with(p)) || !is_hidden_path(path) || contains(path, b"/node_modules/")
}

fn read_head(e: &cordon_host::walk::Entry<'_>, cap: u64) -> Option<Vec<u8>> {
    let opened = cordon_host::open::open_regular_at(e.dir, e.name).ok()?;
    let mut buf = Vec::new();
    opened.file.take(cap).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// An ELF program or shared object (`e_type` 2 or 3), not an object file from a build.
fn is_elf_program(e: &cordon_host::walk::Entry<'_>) -> bool {
    read_head(e, 18).is_some_and(|h| h.starts_with(b"\x7fELF") && matches!(h.get(16), Some(2 | 3)))
}

fn is_elf(e: &cordon_host::walk::Entry<'_>) -> bool {
    read_head(e, 4).is_some_and(|h| h == b"\x7fELF")
}

fn web_file(e: &cordon_host::walk::Entry<'_>, target: &str, out: &mut Vec<Finding>) {
    let shown = cordon_core::escape_terminal(e.path);
    let Some(body) = read_head(e, WEB_CAP) else { return };
    if let Some(m) = WEBSHELL.iter().find_map(|re| re.find(&body)) {
        let start = m.start().saturating_sub(40);
        let end = (m.end() + 40).min(body.len());
        out.push(
            Finding::new("web.shell", Severity::High, Confidence::High,
                format!("{shown} runs code or commands taken from the web request: a web shell"),
                "take the site offline or block the file, preserve it, then find the upload or exploit that created it (web access logs around its mtime)",
                target)
                .technique("T1505.003")
                .path(e.path.to_vec())
                .evidence(body.get(start..end).unwrap_or_default().to_vec()),
        );
    } else if contains(e.path, b"/uploads/") && e.path.ends_with(b".php") {
        out.push(
            Finding::new(
                "web.script_in_uploads",
                Severity::Medium,
                Confidence::Medium,
                format!("{shown} is a PHP script in an uploads directory, where only data should be"),
                "check the web server does not execute it; preserve and remove it",
                target,
            )
            .technique("T1505.003")
            .path(e.path.to_vec()),
        );
    }
}

/// `/etc/hosts` lines that send update, package or security-vendor domains elsewhere.
pub fn hosts_hijack(ctx: &mut Ctx, out: &mut Vec<Finding>) {
    const WATCHED: [&str; 12] = [
        "deb.debian.org",
        "security.debian.org",
        "archive.ubuntu.com",
        "security.ubuntu.com",
        "ppa.launchpad.net",
        "download.docker.com",
        "packages.microsoft.com",
        "dl.fedoraproject.org",
        "mirror.centos.org",
        "virustotal.com",
        "clamav.net",
        "rkhunter.sourceforge.net",
    ];
    let Some(c) = ctx.read(b"/etc/hosts") else { return };
    for (n, line) in crate::launch::logical_lines(&c.bytes) {
        let text = String::from_utf8_lossy(&line).to_ascii_lowercase();
        let names: Vec<&str> = text.split_whitespace().skip(1).collect();
        if let Some(hit) = names
            .iter()
            .find(|n| WATCHED.iter().any(|w| n == &w || n.ends_with(&format!(".{w}"))))
        {
            out.push(
                Finding::new("hosts.hijack", Severity::High, Confidence::High,
                    format!("/etc/hosts:{n} redirects {hit}, an update or security service, to a fixed address"),
                    "remove the line; packages installed since it appeared may be trojaned (cordon verify packages --debs)",
                    &ctx.target_label)
                    .technique("T1565.001")
                    .path("/etc/hosts")
                    .evidence(line.clone())
                    .attr("line", n),
            );
        }
    }
}

/// Shell histories that were pointed at /dev/null.
pub fn history_tampering(ctx: &mut Ctx, out: &mut Vec<Finding>) {
    for (user, _, home) in ctx.homes() {
        for name in [&b".bash_history"[..], b".zsh_history", b".sh_history"] {
            let path = crate::fs::join(&home, name);
            if let Ok(Some(target)) = ctx.fs.readlink(&path)
                && target == b"/dev/null"
            {
                out.push(
                    Finding::new("history.devnull", Severity::Medium, Confidence::Medium,
                        format!("{}'s shell history {} is a link to /dev/null: commands typed there leave no trace", String::from_utf8_lossy(&user), cordon_core::escape_terminal(&path)),
                        "find who made the link (ctime) and what else that account did", &ctx.target_label)
                        .technique("T1070.003")
                        .path(path)
                        .user(user.clone()),
                );
            }
        }
    }
}
