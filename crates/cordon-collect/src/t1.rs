//! T1: the most volatile state — processes, sockets of every network namespace, ARP, routes,
//! interfaces, logged-in sessions, kernel statistics. Read from `/proc` and `/sys` by cordon itself.
//!
//! Processes are listed from `readdir(/proc)` *and* by probing every pid up to the highest in use
//! (plus a margin, at least the classic 32768, at most `pid_max`): a process whose `/proc/<pid>`
//! answers but which the listing did not show is marked `listed: false` (a getdents-hooking rootkit).
//! Sockets are read once per network namespace, through a process that lives in it, and mapped to
//! their owning processes through `socket:[inode]` descriptors.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use cordon_core::format_utc;
use cordon_host::net::{self, tcp_state_name};
use cordon_host::procfs::{self, Process, ReadParts};
use rayon::prelude::*;
use rustix::io::Errno;
use serde_json::{Value, json};

use crate::ctx::{Ctx, Hashed, hash_file};
use crate::json::{self, Obj};
use crate::{Error, Tier};

/// Identity of a binary: (st_dev, st_ino, size, mtime).
pub(crate) type ExeKey = (u64, u64, i64, i64);
/// A path that could not be read, and why.
pub(crate) type Failure = Option<(Vec<u8>, Errno)>;

/// One process and its binary's hash.
pub(crate) struct ProcRecord {
    pub process: Process,
    pub listed: bool,
    pub exe_key: Option<(u64, u64, i64, i64)>,
    pub exe_size: Option<u64>,
    pub exe_error: Option<Errno>,
}

/// Reads every process (listed and probed), hashing binaries into `ctx.exe_hashes`.
pub(crate) fn read_processes(
    ctx: &mut Ctx<'_>,
    parts: ReadParts,
) -> Result<(Vec<ProcRecord>, Failure), Error> {
    let proc_path = Path::new("/proc");
    let proc_fd = match procfs::open_proc(proc_path) {
        Ok(fd) => fd,
        Err(e) => return Ok((Vec::new(), Some((b"/proc".to_vec(), e)))),
    };
    let listed = match procfs::list_pids(proc_path) {
        Ok(p) => p,
        Err(e) => return Ok((Vec::new(), Some((b"/proc".to_vec(), e)))),
    };
    let listed_set: HashSet<i32> = listed.iter().copied().collect();
    let pid_max: i32 = cordon_host::open::read_capped(Path::new("/proc/sys/kernel/pid_max"), 64)
        .ok()
        .and_then(|f| String::from_utf8_lossy(&f.bytes).trim().parse().ok())
        .unwrap_or(4_194_304);
    let highest = listed.last().copied().unwrap_or(0);
    let probe_to = highest.saturating_add(4096).max(32_768).min(pid_max);
    let hidden: Vec<i32> = (1..=probe_to)
        .into_par_iter()
        .filter(|pid| !listed_set.contains(pid) && procfs::pid_exists(&proc_fd, *pid))
        .collect();
    let mut pids: Vec<(i32, bool)> = listed.iter().map(|&p| (p, true)).collect();
    pids.extend(hidden.into_iter().map(|p| (p, false)));

    let cap = ctx.opts.max_file_size;
    let known: HashSet<(u64, u64, i64, i64)> = ctx.exe_hashes.keys().copied().collect();
    let mut records: Vec<ProcRecord> = pids
        .par_iter()
        .filter_map(|&(pid, was_listed)| {
            let process = procfs::read_process(&proc_fd, pid, parts);
            if !was_listed {
                // A pid that answers but is not listed is either a thread (its Tgid differs) or hidden.
                let tgid = procfs::status_numbers(&process.status, "Tgid");
                if tgid.first().copied() != Some(u64::from(pid.unsigned_abs())) {
                    return None;
                }
            }
            Some(ProcRecord {
                process,
                listed: was_listed,
                exe_key: None,
                exe_size: None,
                exe_error: None,
            })
        })
        .collect();
    // Open each binary; hash each distinct one once.
    let opened: Vec<_> = records
        .par_iter()
        .map(|r| {
            r.process.exe.as_ref()?;
            Some(procfs::open_exe(&proc_fd, r.process.pid))
        })
        .collect();
    let mut to_hash: HashMap<(u64, u64, i64, i64), (std::fs::File, u64)> = HashMap::new();
    for (r, o) in records.iter_mut().zip(opened) {
        match o {
            None => {}
            Some(Ok(f)) => {
                let key = (f.stat.st_dev, f.stat.st_ino, f.stat.st_size, f.stat.st_mtime);
                let size = u64::try_from(f.stat.st_size).unwrap_or(0);
                r.exe_key = Some(key);
                r.exe_size = Some(size);
                if !f.noatime {
                    ctx.atime_touched += 1;
                }
                if !known.contains(&key) {
                    to_hash.entry(key).or_insert((f.file, size));
                }
            }
            Some(Err(e)) => r.exe_error = Some(e),
        }
    }
    let hashed: Vec<(ExeKey, std::io::Result<Hashed>)> = to_hash
        .into_par_iter()
        .map(|(key, (file, size))| (key, hash_file(file, size, cap)))
        .collect();
    for (key, h) in hashed {
        if let Ok(h) = h {
            ctx.exe_hashes.insert(key, h);
        }
    }
    records.sort_by_key(|r| r.process.pid);
    Ok((records, None))
}

pub(crate) fn collect(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    let users = user_names(ctx);
    let mut src = ctx.begin(Tier::T1, "processes");
    let (records, fatal) = read_processes(
        ctx,
        ReadParts {
            fds: true,
            maps: true,
            environ: true,
        },
    )?;
    if let Some((path, e)) = fatal {
        ctx.fail_errno(&mut src, &path, "list", e)?;
    }
    let btime = cordon_host::open::read_capped(Path::new("/proc/stat"), 1 << 20)
        .ok()
        .and_then(|f| procfs::boot_time(&f.bytes));
    let ticks = procfs::clock_ticks().max(1);
    let mut out = crate::bundle::Jsonl::create(&mut ctx.bundle, "processes.jsonl")?;
    let mut hidden = 0;
    for r in &records {
        let p = &r.process;
        let pid_path = format!("/proc/{}", p.pid);
        for (what, e) in &p.errors {
            // A process that exited mid-read is recorded as vanished, not as an error per file.
            if p.vanished && matches!(*e, Errno::NOENT | Errno::SRCH) {
                continue;
            }
            let path = format!("{pid_path}/{what}");
            ctx.fail_errno(&mut src, path.as_bytes(), "read", *e)?;
        }
        if !r.listed {
            hidden += 1;
        }
        out.write(&process_json(ctx, r, btime, ticks, &users))?;
        ctx.item(&mut src, 0);
    }
    src.bytes += out.bytes();
    out.finish(&mut ctx.bundle)?;
    if hidden > 0 {
        ctx.note(format!(
            "{hidden} processes answer in /proc but were not listed by readdir(/proc): see listed=false in processes.jsonl"
        ))?;
    }
    ctx.end(src)?;

    sockets(ctx, &records)?;
    network(ctx, &records)?;
    sessions(ctx)?;
    kernel_stats(ctx)
}

fn user_names(ctx: &Ctx<'_>) -> HashMap<u32, Vec<u8>> {
    cordon_host::accounts::read_passwd(ctx.opts.target.root())
        .map(|(entries, _)| entries.into_iter().map(|e| (e.uid, e.name)).collect())
        .unwrap_or_default()
}

fn process_json(
    ctx: &Ctx<'_>,
    r: &ProcRecord,
    btime: Option<i64>,
    ticks: u64,
    users: &HashMap<u32, Vec<u8>>,
) -> Value {
    let p = &r.process;
    let mut o = Obj::new();
    o.insert("pid".into(), Value::from(p.pid));
    o.insert("listed".into(), Value::from(r.listed));
    o.insert("vanished".into(), Value::from(p.vanished));
    if let Some(s) = &p.stat {
        o.insert("ppid".into(), Value::from(s.ppid));
        json::bytes(&mut o, "comm", &s.comm);
        o.insert("state".into(), Value::from(s.state.to_string()));
        o.insert("kernel_thread".into(), Value::from(s.is_kernel_thread()));
        o.insert("pgrp".into(), Value::from(s.pgrp));
        o.insert("session".into(), Value::from(s.session));
        o.insert("tty_nr".into(), Value::from(s.tty_nr));
        o.insert("threads".into(), Value::from(s.num_threads));
        o.insert("utime_ticks".into(), Value::from(s.utime));
        o.insert("stime_ticks".into(), Value::from(s.stime));
        o.insert("vsize".into(), Value::from(s.vsize));
        o.insert("rss_pages".into(), Value::from(s.rss));
        o.insert("start_ticks".into(), Value::from(s.starttime));
        let start = btime.and_then(|b| {
            let ns =
                i128::from(b) * 1_000_000_000 + i128::from(s.starttime) * 1_000_000_000 / i128::from(ticks);
            jiff::Timestamp::from_nanosecond(ns).ok()
        });
        o.insert(
            "start_time".into(),
            start.map_or(Value::Null, |t| Value::from(format_utc(t))),
        );
    }
    let status = &p.status;
    let nums = |k: &str| procfs::status_numbers(status, k);
    let uids = nums("Uid");
    if let Some(&ruid) = uids.first() {
        let user = u32::try_from(ruid).ok().and_then(|u| users.get(&u));
        json::opt_bytes(&mut o, "user", user.map(Vec::as_slice));
    }
    o.insert("uids".into(), Value::from(uids));
    o.insert("gids".into(), Value::from(nums("Gid")));
    if let Some((_, name)) = status.iter().find(|(k, _)| k == "Name") {
        json::bytes(&mut o, "name", name);
    }
    for (key, field) in [
        ("TracerPid", "tracer_pid"),
        ("NSpid", "nspid"),
        ("CapEff", "cap_eff"),
        ("CapPrm", "cap_prm"),
        ("Seccomp", "seccomp"),
        ("NoNewPrivs", "no_new_privs"),
    ] {
        o.insert(
            field.into(),
            procfs::status_text(status, key).map_or(Value::Null, Value::from),
        );
    }
    match &p.cmdline {
        Some(c) => json::nul_list(&mut o, "cmdline", c),
        None => {
            o.insert("cmdline".into(), Value::Null);
        }
    }
    match &p.environ {
        Some(env) => {
            json::nul_list(&mut o, "environ", env);
            for var in ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT"] {
                let prefix = format!("{var}=");
                if let Some(v) = env.split(|&b| b == 0).find(|e| e.starts_with(prefix.as_bytes())) {
                    json::bytes(
                        &mut o,
                        &var.to_ascii_lowercase(),
                        v.get(prefix.len()..).unwrap_or_default(),
                    );
                }
            }
        }
        None => {
            o.insert("environ".into(), Value::Null);
        }
    }
    json::opt_bytes(&mut o, "exe", p.exe.as_deref());
    if let Some(exe) = &p.exe {
        o.insert("exe_deleted".into(), Value::from(exe.ends_with(b" (deleted)")));
        o.insert("exe_memfd".into(), Value::from(exe.starts_with(b"/memfd:")));
    }
    let hash = r.exe_key.and_then(|k| ctx.exe_hashes.get(&k));
    o.insert("exe_size".into(), r.exe_size.map_or(Value::Null, Value::from));
    o.insert(
        "exe_sha256".into(),
        hash.and_then(|h| h.sha256.clone())
            .map_or(Value::Null, Value::from),
    );
    if r.exe_key.is_some() && hash.is_none_or(|h| h.sha256.is_none()) {
        o.insert(
            "exe_hash_note".into(),
            Value::from("larger than the per-file cap, or unreadable"),
        );
    }
    if let Some(e) = r.exe_error {
        o.insert(
            "exe_error".into(),
            Value::from(std::io::Error::from(e).to_string()),
        );
    }
    json::opt_bytes(&mut o, "cwd", p.cwd.as_deref());
    json::opt_bytes(&mut o, "root", p.root.as_deref());
    let fds: Vec<Value> = p
        .fds
        .iter()
        .map(|(n, t)| {
            let mut f = Obj::new();
            f.insert("fd".into(), Value::from(*n));
            json::bytes(&mut f, "target", t);
            Value::Object(f)
        })
        .collect();
    o.insert("fds".into(), Value::Array(fds));
    // Maps: each mapped file once with the union of its permissions; anonymous executable regions
    // individually (injected code lives there).
    let mut files: BTreeMap<&[u8], BTreeSet<&str>> = BTreeMap::new();
    let mut anon_exec = Vec::new();
    for m in &p.maps {
        if m.path.is_empty() || m.path.starts_with(b"[") {
            if m.perms.contains('x') {
                let mut a = Obj::new();
                a.insert("start".into(), Value::from(format!("{:x}", m.start)));
                a.insert("end".into(), Value::from(format!("{:x}", m.end)));
                a.insert("perms".into(), Value::from(m.perms.clone()));
                json::bytes(&mut a, "name", &m.path);
                anon_exec.push(Value::Object(a));
            }
        } else {
            files.entry(&m.path).or_default().insert(m.perms.as_str());
        }
    }
    let mapped: Vec<Value> = files
        .into_iter()
        .map(|(path, perms)| {
            let mut f = Obj::new();
            json::bytes(&mut f, "path", path);
            f.insert("perms".into(), Value::from(perms.into_iter().collect::<Vec<_>>()));
            Value::Object(f)
        })
        .collect();
    o.insert("mapped_files".into(), Value::Array(mapped));
    o.insert("anon_exec_maps".into(), Value::Array(anon_exec));
    let mut ns = Obj::new();
    for (name, link) in &p.namespaces {
        json::bytes(&mut ns, name, link);
    }
    o.insert("namespaces".into(), Value::Object(ns));
    json::opt_bytes(&mut o, "cgroup", p.cgroup.as_deref());
    o.insert("loginuid".into(), p.loginuid.map_or(Value::Null, Value::from));
    o.insert(
        "audit_session".into(),
        p.sessionid.map_or(Value::Null, Value::from),
    );
    let errors: Vec<Value> = p
        .errors
        .iter()
        .map(|(what, e)| json!({ "file": what, "error": std::io::Error::from(*e).to_string() }))
        .collect();
    o.insert("read_errors".into(), Value::Array(errors));
    Value::Object(o)
}

use std::collections::BTreeSet;

/// One reader process per network namespace (the lowest pid that is still there).
fn namespaces(records: &[ProcRecord]) -> BTreeMap<u64, Vec<i32>> {
    let mut map: BTreeMap<u64, Vec<i32>> = BTreeMap::new();
    for r in records {
        if let Some(ns) = r.process.net_ns() {
            map.entry(ns).or_default().push(r.process.pid);
        }
    }
    map
}

/// Reads `/proc/<pid>/net/<file>` through the first pid of the namespace that still answers.
fn read_ns_file(pids: &[i32], file: &str) -> Option<(i32, Vec<u8>)> {
    pids.iter().find_map(|pid| {
        cordon_host::open::read_capped(Path::new(&format!("/proc/{pid}/net/{file}")), 256 << 20)
            .ok()
            .map(|f| (*pid, f.bytes))
    })
}

fn ip(a: IpAddr) -> Value {
    Value::from(a.to_string())
}

fn sockets(ctx: &mut Ctx<'_>, records: &[ProcRecord]) -> Result<(), Error> {
    let mut src = ctx.begin(Tier::T1, "sockets");
    let mut owners: HashMap<u64, Vec<Value>> = HashMap::new();
    for r in records {
        for (fd, target) in &r.process.fds {
            if let Some(inode) = target
                .starts_with(b"socket:[")
                .then(|| procfs::bracket_number(target))
                .flatten()
            {
                let mut o = Obj::new();
                o.insert("pid".into(), Value::from(r.process.pid));
                o.insert("fd".into(), Value::from(*fd));
                if let Some(s) = &r.process.stat {
                    json::bytes(&mut o, "comm", &s.comm);
                }
                owners.entry(inode).or_default().push(Value::Object(o));
            }
        }
    }
    let mut out = crate::bundle::Jsonl::create(&mut ctx.bundle, "sockets.jsonl")?;
    let nss = namespaces(records);
    if nss.is_empty() {
        ctx.fail(&mut src, b"/proc", "read", "no readable network namespace", None)?;
    }
    for (ns, pids) in &nss {
        let inet = [
            ("tcp", "tcp", 4),
            ("tcp6", "tcp", 6),
            ("udp", "udp", 4),
            ("udp6", "udp", 6),
            ("raw", "raw", 4),
            ("raw6", "raw", 6),
        ];
        for (file, proto, family) in inet {
            let Some((reader, bytes)) = read_ns_file(pids, file) else {
                continue;
            };
            for s in net::parse_inet(&bytes) {
                let mut o = Obj::new();
                o.insert("netns".into(), Value::from(*ns));
                o.insert("netns_reader_pid".into(), Value::from(reader));
                o.insert("proto".into(), Value::from(proto));
                o.insert("family".into(), Value::from(family));
                o.insert("local_address".into(), ip(s.local));
                o.insert("local_port".into(), Value::from(s.local_port));
                o.insert("remote_address".into(), ip(s.remote));
                o.insert("remote_port".into(), Value::from(s.remote_port));
                let state = if proto == "tcp" {
                    tcp_state_name(s.state)
                } else if s.state == 1 {
                    "ESTABLISHED"
                } else {
                    "UNCONN"
                };
                o.insert("state".into(), Value::from(state));
                o.insert("uid".into(), Value::from(s.uid));
                o.insert("inode".into(), Value::from(s.inode));
                o.insert("tx_queue".into(), Value::from(s.tx_queue));
                o.insert("rx_queue".into(), Value::from(s.rx_queue));
                o.insert(
                    "processes".into(),
                    Value::Array(owners.get(&s.inode).cloned().unwrap_or_default()),
                );
                out.write(&Value::Object(o))?;
                ctx.item(&mut src, 0);
            }
        }
        if let Some((reader, bytes)) = read_ns_file(pids, "unix") {
            for s in net::parse_unix(&bytes) {
                let mut o = Obj::new();
                o.insert("netns".into(), Value::from(*ns));
                o.insert("netns_reader_pid".into(), Value::from(reader));
                o.insert("proto".into(), Value::from("unix"));
                let kind = match s.kind {
                    1 => "stream",
                    2 => "dgram",
                    5 => "seqpacket",
                    _ => "other",
                };
                o.insert("type".into(), Value::from(kind));
                o.insert("listening".into(), Value::from(s.flags & 0x10000 != 0));
                o.insert("state".into(), Value::from(s.state));
                json::bytes(&mut o, "path", &s.path);
                o.insert("inode".into(), Value::from(s.inode));
                o.insert(
                    "processes".into(),
                    Value::Array(owners.get(&s.inode).cloned().unwrap_or_default()),
                );
                out.write(&Value::Object(o))?;
                ctx.item(&mut src, 0);
            }
        }
        if let Some((reader, bytes)) = read_ns_file(pids, "packet") {
            for s in net::parse_packet(&bytes) {
                let o = json!({
                    "netns": ns, "netns_reader_pid": reader, "proto": "packet",
                    "type": if s.kind == 3 { "raw" } else { "dgram" },
                    "ethertype": format!("0x{:04x}", s.proto), "ifindex": s.ifindex,
                    "uid": s.uid, "inode": s.inode,
                    "processes": owners.get(&s.inode).cloned().unwrap_or_default(),
                });
                out.write(&o)?;
                ctx.item(&mut src, 0);
            }
        }
    }
    src.bytes += out.bytes();
    out.finish(&mut ctx.bundle)?;
    ctx.end(src)
}

fn network(ctx: &mut Ctx<'_>, records: &[ProcRecord]) -> Result<(), Error> {
    let nss = namespaces(records);
    // ARP
    let mut src = ctx.begin(Tier::T1, "arp");
    let mut items = Vec::new();
    for (ns, pids) in &nss {
        if let Some((_, bytes)) = read_ns_file(pids, "arp") {
            let (_, rows) = net::parse_table(&bytes);
            for row in rows {
                let col = |i: usize| row.get(i).cloned().map_or(Value::Null, Value::from);
                items.push(json!({
                    "netns": ns, "ip": col(0), "hw_type": col(1), "flags": col(2),
                    "mac": col(3), "mask": col(4), "device": col(5),
                }));
            }
        }
    }
    ctx.write_jsonl(&mut src, "arp.jsonl", items)?;
    ctx.end(src)?;

    // Routes
    let mut src = ctx.begin(Tier::T1, "routes");
    let mut items = Vec::new();
    for (ns, pids) in &nss {
        if let Some((_, bytes)) = read_ns_file(pids, "route") {
            for r in net::parse_route4(&bytes) {
                items.push(json!({
                    "netns": ns, "family": 4, "iface": r.iface,
                    "destination": r.destination.to_string(), "gateway": r.gateway.to_string(),
                    "mask": r.mask.to_string(), "flags": r.flags, "metric": r.metric,
                }));
            }
        }
        if let Some((_, bytes)) = read_ns_file(pids, "ipv6_route") {
            for r in net::parse_route6(&bytes) {
                items.push(json!({
                    "netns": ns, "family": 6, "iface": r.iface,
                    "destination": r.destination.to_string(), "prefix_len": r.prefix_len,
                    "gateway": r.next_hop.to_string(), "flags": r.flags, "metric": r.metric,
                }));
            }
        }
    }
    ctx.write_jsonl(&mut src, "routes.jsonl", items)?;
    ctx.end(src)?;

    // Interfaces: /sys/class/net for cordon's own namespace (flags, promiscuous), then the counters
    // and IPv6 addresses of every namespace, and the IPv4 local addresses from fib_trie.
    let mut src = ctx.begin(Tier::T1, "interfaces");
    let mut items = Vec::new();
    let own_ns = rustix::fs::readlink("/proc/self/ns/net", Vec::new())
        .ok()
        .and_then(|l| procfs::bracket_number(l.as_bytes()));
    let root = cordon_host::open::open_root(Path::new("/sys/class/net"));
    if let Ok(root) = root {
        let mut names = Vec::new();
        let _ = cordon_host::walk::walk(
            &root.fd,
            b"/",
            &cordon_host::walk::WalkOptions {
                max_depth: Some(0),
                ..Default::default()
            },
            &mut |ev| {
                if let cordon_host::walk::Event::Entry(e) = ev {
                    names.push(e.name.to_bytes().to_vec());
                }
                cordon_host::walk::Visit::SkipDir
            },
        );
        for name in names {
            let dir = Path::new("/sys/class/net").join(String::from_utf8_lossy(&name).as_ref());
            let read = |f: &str| {
                cordon_host::open::read_capped(&dir.join(f), 4096)
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b.bytes).trim().to_owned())
            };
            let flags = read("flags").and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok());
            let mut o = Obj::new();
            o.insert("netns".into(), own_ns.map_or(Value::Null, Value::from));
            o.insert("source".into(), Value::from("sysfs"));
            json::bytes(&mut o, "name", &name);
            o.insert("ifindex".into(), read("ifindex").map_or(Value::Null, Value::from));
            o.insert("mac".into(), read("address").map_or(Value::Null, Value::from));
            o.insert(
                "operstate".into(),
                read("operstate").map_or(Value::Null, Value::from),
            );
            o.insert("mtu".into(), read("mtu").map_or(Value::Null, Value::from));
            o.insert(
                "flags".into(),
                flags.map_or(Value::Null, |f| Value::from(format!("0x{f:x}"))),
            );
            o.insert(
                "promiscuous".into(),
                flags.map_or(Value::Null, |f| Value::from(f & 0x100 != 0)),
            );
            items.push(Value::Object(o));
        }
    }
    for (ns, pids) in &nss {
        if let Some((_, bytes)) = read_ns_file(pids, "dev") {
            let text = String::from_utf8_lossy(&bytes);
            for line in text.lines().skip(2) {
                let Some((name, rest)) = line.split_once(':') else {
                    continue;
                };
                let n: Vec<u64> = rest
                    .split_ascii_whitespace()
                    .filter_map(|s| s.parse().ok())
                    .collect();
                let at = |i: usize| n.get(i).copied().map_or(Value::Null, Value::from);
                items.push(json!({
                    "netns": ns, "source": "proc_net_dev", "name": name.trim(),
                    "rx_bytes": at(0), "rx_packets": at(1), "tx_bytes": at(8), "tx_packets": at(9),
                }));
            }
        }
        if let Some((_, bytes)) = read_ns_file(pids, "if_inet6") {
            for a in net::parse_if_inet6(&bytes) {
                items.push(json!({
                    "netns": ns, "source": "if_inet6", "name": a.iface, "ifindex": a.ifindex,
                    "address": a.address.to_string(), "prefix_len": a.prefix_len, "scope": a.scope,
                }));
            }
        }
        if let Some((_, bytes)) = read_ns_file(pids, "fib_trie") {
            let text = String::from_utf8_lossy(&bytes);
            let mut last: Option<&str> = None;
            let mut seen = BTreeSet::new();
            for line in text.lines() {
                let t = line.trim_start_matches([' ', '|', '-', '+']).trim();
                if let Some(addr) = line.contains("|--").then_some(t) {
                    last = Some(addr);
                } else if t.starts_with("/32 host LOCAL")
                    && let Some(a) = last
                    && seen.insert(a.to_owned())
                {
                    items.push(json!({ "netns": ns, "source": "fib_trie", "address": a, "family": 4 }));
                }
            }
        }
    }
    ctx.write_jsonl(&mut src, "interfaces.jsonl", items)?;
    ctx.end(src)
}

fn sessions(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    let mut src = ctx.begin(Tier::T1, "sessions");
    let mut items = Vec::new();
    let target = ctx.opts.target.clone();
    let mut found_utmp = false;
    for path in ["/run/utmp", "/var/run/utmp"] {
        if found_utmp {
            break;
        }
        match cordon_host::open::read_capped(&target.path(path), 64 << 20) {
            Ok(f) => {
                found_utmp = true;
                let (records, tail) = cordon_host::utmp::parse(&f.bytes);
                for r in records {
                    let mut o = Obj::new();
                    o.insert("source".into(), Value::from("utmp"));
                    o.insert("file".into(), Value::from(path));
                    o.insert("offset".into(), Value::from(r.offset));
                    o.insert("type".into(), Value::from(cordon_host::utmp::kind_name(r.kind)));
                    o.insert("pid".into(), Value::from(r.pid));
                    json::bytes(&mut o, "user", &r.user);
                    json::bytes(&mut o, "line", &r.line);
                    json::bytes(&mut o, "id", &r.id);
                    json::bytes(&mut o, "host", &r.host);
                    o.insert("address".into(), r.addr.map_or(Value::Null, ip));
                    o.insert("session".into(), Value::from(r.session));
                    let ts = jiff::Timestamp::new(r.sec, i32::try_from(r.usec * 1000).unwrap_or(0)).ok();
                    o.insert(
                        "time".into(),
                        ts.map_or(Value::Null, |t| Value::from(format_utc(t))),
                    );
                    items.push(Value::Object(o));
                }
                if tail != 0 {
                    ctx.fail(
                        &mut src,
                        path.as_bytes(),
                        "parse",
                        &format!("{tail} trailing bytes do not form a record"),
                        None,
                    )?;
                }
            }
            Err(e) if e.is_permission_denied() => ctx.fail_host(&mut src, path.as_bytes(), "read", &e)?,
            Err(_) => {}
        }
    }
    // systemd-logind's session files: KEY=value lines.
    if let Ok(root) = cordon_host::open::open_root(&target.path("/run/systemd/sessions")) {
        let mut files = Vec::new();
        let _ = cordon_host::walk::walk(
            &root.fd,
            b"/",
            &cordon_host::walk::WalkOptions {
                max_depth: Some(0),
                ..Default::default()
            },
            &mut |ev| {
                if let cordon_host::walk::Event::Entry(e) = ev
                    && e.meta.is_file()
                {
                    files.push(e.name.to_bytes().to_vec());
                }
                cordon_host::walk::Visit::SkipDir
            },
        );
        for name in files {
            let mut inner = b"/run/systemd/sessions/".to_vec();
            inner.extend_from_slice(&name);
            match cordon_host::open::read_capped(&target.path(&inner), 1 << 20) {
                Ok(f) => {
                    let mut o = Obj::new();
                    o.insert("source".into(), Value::from("systemd-logind"));
                    json::bytes(&mut o, "id", &name);
                    let mut fields = Obj::new();
                    for line in f.bytes.split(|&b| b == b'\n') {
                        if let Some(eq) = line.iter().position(|&b| b == b'=') {
                            let key =
                                String::from_utf8_lossy(line.get(..eq).unwrap_or_default()).into_owned();
                            json::bytes(&mut fields, &key, line.get(eq + 1..).unwrap_or_default());
                        }
                    }
                    o.insert("fields".into(), Value::Object(fields));
                    items.push(Value::Object(o));
                }
                Err(e) => ctx.fail_host(&mut src, &inner, "read", &e)?,
            }
        }
    }
    ctx.write_jsonl(&mut src, "sessions.jsonl", items)?;
    ctx.end(src)
}

fn kernel_stats(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    let mut src = ctx.begin(Tier::T1, "kernel_stats");
    let mut items = Vec::new();
    for file in [
        "loadavg",
        "uptime",
        "meminfo",
        "stat",
        "vmstat",
        "swaps",
        "pressure/cpu",
        "pressure/memory",
        "pressure/io",
    ] {
        let path = format!("/proc/{file}");
        match cordon_host::open::read_capped(Path::new(&path), 16 << 20) {
            Ok(f) => {
                let mut o = Obj::new();
                o.insert("file".into(), Value::from(path));
                json::bytes(&mut o, "content", &f.bytes);
                items.push(Value::Object(o));
            }
            Err(e) if e.is_permission_denied() => ctx.fail_host(&mut src, path.as_bytes(), "read", &e)?,
            Err(_) => {}
        }
    }
    ctx.write_jsonl(&mut src, "kernel_stats.jsonl", items)?;
    ctx.end(src)
}
