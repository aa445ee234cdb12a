//! T6: file artifacts copied into `[root]/` with their metadata in `files.jsonl` — accounts and
//! privilege, PAM, login records, logs, cron/at, systemd units and generators, SysV/XDG autostart,
//! the dynamic linker's configuration, module autoload and udev, boot configuration, package
//! databases and maintainer scripts, audit and accounting, container configuration, cloud agent
//! data, crash dumps, web server scripts, and for every home directory in `/etc/passwd` (and
//! `/root`) the shell histories, startup files, SSH and per-user systemd/autostart entries.

use std::collections::BTreeSet;

use crate::bundle::Jsonl;
use crate::copy::{Spec, run_spec};
use crate::ctx::Ctx;
use crate::{Error, Tier};

fn ends_with_any(name: &[u8], suffixes: &[&str]) -> bool {
    suffixes.iter().any(|s| name.ends_with(s.as_bytes()))
}

fn dpkg_info(name: &[u8]) -> bool {
    ends_with_any(
        name,
        &[
            ".md5sums",
            ".conffiles",
            ".postinst",
            ".preinst",
            ".postrm",
            ".prerm",
            ".list",
            ".triggers",
        ],
    )
}

fn web_script(name: &[u8]) -> bool {
    ends_with_any(
        name,
        &[
            ".php",
            ".phtml",
            ".php5",
            ".php7",
            ".jsp",
            ".jspx",
            ".asp",
            ".aspx",
            ".cgi",
            ".pl",
            ".py",
            ".sh",
            ".htaccess",
            ".env",
            ".user.ini",
            "web.config",
            "wp-config.php",
        ],
    )
}

fn container_config(name: &[u8]) -> bool {
    ends_with_any(
        name,
        &["config.v2.json", "hostconfig.json", "-json.log", "config.json"],
    )
}

/// System-wide artifact places.
fn system_specs(cap: u64) -> Vec<Spec> {
    let mut v = vec![
        Spec::tree("/etc", "config", cap),
        Spec::tree("/var/log", "logs", cap),
        Spec::tree("/run/log/journal", "logs", cap),
        Spec::tree("/var/spool/cron", "cron", cap),
        Spec::tree("/var/spool/anacron", "cron", cap),
        Spec::tree("/var/spool/at", "cron", cap),
        Spec::tree("/var/at/tabs", "cron", cap),
        Spec::tree("/var/lib/sudo/lectured", "accounts", cap),
        Spec::tree("/var/db/sudo/lectured", "accounts", cap),
        Spec::tree("/usr/lib/systemd/system", "systemd", cap),
        Spec::tree("/usr/lib/systemd/user", "systemd", cap),
        Spec::tree("/usr/lib/systemd/system-generators", "systemd", cap),
        Spec::tree("/usr/lib/systemd/user-generators", "systemd", cap),
        Spec::tree("/usr/local/lib/systemd", "systemd", cap),
        Spec::tree("/lib/systemd/system", "systemd", cap),
        Spec::tree("/usr/lib/modules-load.d", "kernel", cap),
        Spec::tree("/usr/lib/udev/rules.d", "udev", cap),
        Spec::tree("/lib/udev/rules.d", "udev", cap),
        Spec::file("/boot/grub/grub.cfg", "boot", cap),
        Spec::file("/boot/grub2/grub.cfg", "boot", cap),
        Spec::file("/var/lib/dpkg/status", "packages", cap),
        Spec::filtered("/var/lib/dpkg/info", "packages", cap, dpkg_info),
        Spec::tree("/var/lib/rpm", "packages", cap),
        Spec::file("/var/account/pacct", "accounting", cap),
        Spec::tree("/var/crash", "crash", cap),
        Spec::tree("/var/lib/systemd/coredump", "crash", cap),
        Spec::tree("/var/spool/abrt", "crash", cap),
        Spec::filtered("/var/lib/docker/containers", "containers", cap, container_config),
        Spec::filtered(
            "/var/lib/containers/storage/overlay-containers",
            "containers",
            cap,
            container_config,
        ),
        Spec::file("/var/lib/cloud/instance/user-data.txt", "cloud", cap),
        Spec::tree("/var/lib/waagent/run-command", "cloud", cap),
        Spec::filtered("/var/www", "web", cap, web_script),
        Spec::filtered("/srv", "web", cap, web_script),
        Spec::filtered("/usr/share/nginx/html", "web", cap, web_script),
    ];
    for f in ["/run/utmp", "/var/run/utmp"] {
        v.push(Spec::file(f, "logins", cap));
    }
    v
}

const HOME_FILES: &[&str] = &[
    ".bash_history",
    ".zsh_history",
    ".zhistory",
    ".sh_history",
    ".ash_history",
    ".history",
    ".python_history",
    ".mysql_history",
    ".psql_history",
    ".sqlite_history",
    ".node_repl_history",
    ".lesshst",
    ".viminfo",
    ".wget-hsts",
    ".local/share/fish/fish_history",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".bash_aliases",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".inputrc",
    ".rhosts",
    ".shosts",
    ".gitconfig",
    ".netrc",
    ".pgpass",
    ".my.cnf",
    ".aws/credentials",
    ".aws/config",
    ".kube/config",
    ".docker/config.json",
    ".local/share/recently-used.xbel",
];

const HOME_TREES: &[&str] = &[
    ".ssh",
    ".config/systemd",
    ".local/share/systemd",
    ".config/autostart",
    ".config/autostart-scripts",
];

/// Home directories from the examined system's `/etc/passwd`, plus `/root`.
fn homes(ctx: &Ctx<'_>) -> BTreeSet<Vec<u8>> {
    let mut homes: BTreeSet<Vec<u8>> = BTreeSet::new();
    homes.insert(b"/root".to_vec());
    if let Ok((entries, _)) = cordon_host::accounts::read_passwd(ctx.opts.target.root()) {
        for e in entries {
            let h = e.home;
            if h.starts_with(b"/")
                && h != b"/"
                && !h.starts_with(b"/nonexistent")
                && !h.starts_with(b"/proc")
                && !h.starts_with(b"/dev")
            {
                homes.insert(h);
            }
        }
    }
    homes
}

pub(crate) fn collect(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    let mut src = ctx.begin(Tier::T6, "files");
    let cap = ctx.opts.max_file_size;
    let mut out = Jsonl::create(&mut ctx.bundle, "files.jsonl")?;
    for spec in system_specs(cap) {
        run_spec(ctx, &mut src, &mut out, &spec)?;
    }
    for home in homes(ctx) {
        let base = home.strip_suffix(b"/").unwrap_or(&home).to_vec();
        for f in HOME_FILES {
            let mut p = base.clone();
            p.push(b'/');
            p.extend_from_slice(f.as_bytes());
            run_spec(ctx, &mut src, &mut out, &Spec::file(p, "home", cap))?;
        }
        for t in HOME_TREES {
            let mut p = base.clone();
            p.push(b'/');
            p.extend_from_slice(t.as_bytes());
            let mut spec = Spec::file(p, "home", cap);
            spec.recursive = true;
            run_spec(ctx, &mut src, &mut out, &spec)?;
        }
    }
    src.bytes += out.bytes();
    out.finish(&mut ctx.bundle)?;
    ctx.end(src)
}
