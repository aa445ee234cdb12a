//! T3: kernel state — the rootkit and persistence surface that lives in the running kernel.
//!
//! * `modules.jsonl`: `/proc/modules` and `/sys/module` merged by name, each side kept (a module in
//!   one list and not the other is what the hunt looks for), with taint flags.
//! * `sysctl.jsonl`: every readable `/proc/sys` value (`kernel.core_pattern` starting with `|` is
//!   pipe-to-program persistence).
//! * `mounts.jsonl`: init's mount table (bind mounts over `/proc/<pid>` hide processes).
//! * `kernel.jsonl`: taint, command line, lockdown, LSM state (SELinux, AppArmor), ftrace/kprobe
//!   hooks, pinned eBPF objects, binfmt_misc handlers, `/etc/ld.so.preload`, and `LD_PRELOAD`/
//!   `LD_AUDIT` in process environments.

use std::collections::BTreeMap;
use std::path::Path;

use cordon_host::open::{open_root, read_capped};
use cordon_host::walk::{self, Event, Visit, WalkOptions};
use serde_json::{Value, json};

use crate::ctx::{Ctx, Src};
use crate::json::{self, Obj};
use crate::{Error, Tier};

/// Files under `/proc/sys` that do something when read (or are write-only triggers).
const SYSCTL_SKIP: &[&[u8]] = &[
    b"/vm/stat_refresh",
    b"/vm/compact_memory",
    b"/vm/drop_caches",
    b"/fs/binfmt_misc/register",
];

fn read_text(path: &str) -> Option<Vec<u8>> {
    read_capped(Path::new(path), 4 << 20).ok().map(|f| f.bytes)
}

/// Lists the entries of a local directory (names, regular files only when `files_only`).
fn list(dir: &str, depth: usize) -> Vec<(Vec<u8>, cordon_host::meta::FileMeta, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let Ok(root) = open_root(Path::new(dir)) else {
        return out;
    };
    let opts = WalkOptions {
        max_depth: Some(depth),
        cross_mounts: true,
        ..Default::default()
    };
    let _ = walk::walk(&root.fd, b"/", &opts, &mut |ev| {
        if let Event::Entry(e) = ev {
            let link = (e.meta.file_type() == rustix::fs::FileType::Symlink)
                .then(|| rustix::fs::readlinkat(e.dir, e.name, Vec::new()).ok())
                .flatten()
                .map(std::ffi::CString::into_bytes);
            out.push((e.path.to_vec(), e.meta.clone(), link));
        }
        Visit::Continue
    });
    out
}

pub(crate) fn collect(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    modules(ctx)?;
    sysctl(ctx)?;
    mounts(ctx)?;
    kernel(ctx)
}

fn modules(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    let mut src = ctx.begin(Tier::T3, "modules");
    let mut by_name: BTreeMap<String, (Option<Value>, Option<Value>)> = BTreeMap::new();
    match read_capped(Path::new("/proc/modules"), 16 << 20) {
        Ok(f) => {
            for line in String::from_utf8_lossy(&f.bytes).lines() {
                let fields: Vec<&str> = line.split_ascii_whitespace().collect();
                let Some(name) = fields.first() else { continue };
                let taint = line
                    .rfind('(')
                    .and_then(|i| line.get(i + 1..))
                    .and_then(|s| s.strip_suffix(')'))
                    .map(str::to_owned);
                let deps: Vec<&str> = fields
                    .get(3)
                    .map(|d| d.split(',').filter(|s| !s.is_empty() && *s != "-").collect())
                    .unwrap_or_default();
                let v = json!({
                    "size": fields.get(1).and_then(|s| s.parse::<u64>().ok()),
                    "refcount": fields.get(2).and_then(|s| s.parse::<i64>().ok()),
                    "used_by": deps, "state": fields.get(4), "address": fields.get(5), "taint": taint,
                });
                by_name.entry((*name).to_owned()).or_default().0 = Some(v);
            }
        }
        // No /proc/modules: a kernel built without loadable modules.
        Err(cordon_host::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => ctx.fail_host(&mut src, b"/proc/modules", "read", &e)?,
    }
    for (path, meta, _) in list("/sys/module", 0) {
        if !meta.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(path.strip_prefix(b"/").unwrap_or(&path)).into_owned();
        let attr = |f: &str| {
            read_text(&format!("/sys/module/{name}/{f}"))
                .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        };
        let initstate = attr("initstate");
        let v = json!({
            "initstate": initstate, "refcnt": attr("refcnt"), "taint": attr("taint"),
            "version": attr("version"), "srcversion": attr("srcversion"), "coresize": attr("coresize"),
            // Built-in modules have a /sys/module entry (parameters) but no initstate.
            "builtin": initstate.is_none(),
        });
        by_name.entry(name).or_default().1 = Some(v);
    }
    let items: Vec<Value> = by_name
        .into_iter()
        .map(|(name, (proc_m, sys_m))| {
            let loadable_in_sys = sys_m.as_ref().is_some_and(|s| s["builtin"] == Value::Bool(false));
            json!({
                "name": name,
                "in_proc_modules": proc_m.is_some(),
                "in_sys_module": sys_m.is_some(),
                "hidden_from_proc_modules": proc_m.is_none() && loadable_in_sys,
                "proc_modules": proc_m, "sys_module": sys_m,
            })
        })
        .collect();
    ctx.write_jsonl(&mut src, "modules.jsonl", items)?;
    ctx.end(src)
}

fn sysctl(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    let mut src = ctx.begin(Tier::T3, "sysctl");
    let mut items = Vec::new();
    let entries = list("/proc/sys", 16);
    for (path, meta, _) in entries {
        if !meta.is_file() || meta.mode & 0o444 == 0 || SYSCTL_SKIP.contains(&path.as_slice()) {
            continue;
        }
        let key: String = String::from_utf8_lossy(path.strip_prefix(b"/").unwrap_or(&path)).replace('/', ".");
        let local = format!("/proc/sys{}", String::from_utf8_lossy(&path));
        match read_capped(Path::new(&local), 1 << 20) {
            Ok(f) => {
                let mut o = Obj::new();
                o.insert("key".into(), Value::from(key));
                let v = f.bytes.strip_suffix(b"\n").unwrap_or(&f.bytes);
                json::bytes(&mut o, "value", v);
                items.push(Value::Object(o));
            }
            Err(e) => {
                // Some entries refuse reads by design (EINVAL, EIO); only permission matters here.
                if e.is_permission_denied() {
                    ctx.fail_host(&mut src, local.as_bytes(), "read", &e)?;
                }
            }
        }
    }
    ctx.write_jsonl(&mut src, "sysctl.jsonl", items)?;
    ctx.end(src)
}

fn mounts(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    let mut src = ctx.begin(Tier::T3, "mounts");
    let mut items = Vec::new();
    let mut source = "/proc/1/mountinfo";
    let bytes = match read_capped(Path::new(source), 64 << 20) {
        Ok(f) => Some(f.bytes),
        Err(e) => {
            ctx.fail_host(&mut src, source.as_bytes(), "read", &e)?;
            source = "/proc/self/mountinfo";
            read_capped(Path::new(source), 64 << 20).ok().map(|f| f.bytes)
        }
    };
    if let Some(bytes) = bytes {
        let (mounts, bad) = cordon_host::mounts::parse_mountinfo(&bytes);
        for m in mounts {
            let mut o = Obj::new();
            o.insert("table".into(), Value::from(source));
            o.insert("id".into(), Value::from(m.id));
            o.insert("parent".into(), Value::from(m.parent));
            o.insert("dev".into(), Value::from(format!("{}:{}", m.major, m.minor)));
            json::bytes(&mut o, "root", &m.root);
            json::bytes(&mut o, "mount_point", &m.mount_point);
            o.insert("options".into(), Value::from(m.options.clone()));
            o.insert("fs_type".into(), Value::from(m.fs_type.clone()));
            json::bytes(&mut o, "source", &m.source);
            o.insert("super_options".into(), Value::from(m.super_options.clone()));
            let over_pid = m.mount_point.strip_prefix(b"/proc/").is_some_and(|rest| {
                !rest.is_empty() && rest.iter().take_while(|b| **b != b'/').all(u8::is_ascii_digit)
            });
            o.insert("over_proc_pid".into(), Value::from(over_pid));
            items.push(Value::Object(o));
        }
        if bad > 0 {
            ctx.fail(
                &mut src,
                source.as_bytes(),
                "parse",
                &format!("{bad} malformed lines"),
                None,
            )?;
        }
    }
    ctx.write_jsonl(&mut src, "mounts.jsonl", items)?;
    ctx.end(src)
}

fn item(kind: &str, path: &str, content: Option<&[u8]>) -> Value {
    let mut o = Obj::new();
    o.insert("kind".into(), Value::from(kind));
    o.insert("path".into(), Value::from(path));
    o.insert("present".into(), Value::from(content.is_some()));
    if let Some(c) = content {
        json::bytes(&mut o, "content", c);
    }
    Value::Object(o)
}

fn kernel(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    let mut src = ctx.begin(Tier::T3, "kernel");
    let mut items = Vec::new();
    let mut add_file = |ctx: &mut Ctx<'_>, src: &mut Src, kind: &str, path: &str| -> Result<(), Error> {
        match read_capped(Path::new(path), 16 << 20) {
            Ok(f) => items.push(item(kind, path, Some(&f.bytes))),
            Err(e) if e.is_permission_denied() => ctx.fail_host(src, path.as_bytes(), "read", &e)?,
            Err(_) => items.push(item(kind, path, None)),
        }
        Ok(())
    };
    add_file(ctx, &mut src, "tainted", "/proc/sys/kernel/tainted")?;
    add_file(ctx, &mut src, "cmdline", "/proc/cmdline")?;
    add_file(ctx, &mut src, "lockdown", "/sys/kernel/security/lockdown")?;
    add_file(ctx, &mut src, "lsm", "/sys/kernel/security/lsm")?;
    add_file(ctx, &mut src, "selinux_enforce", "/sys/fs/selinux/enforce")?;
    add_file(
        ctx,
        &mut src,
        "apparmor_profiles",
        "/sys/kernel/security/apparmor/profiles",
    )?;
    add_file(ctx, &mut src, "ftrace_enabled", "/proc/sys/kernel/ftrace_enabled")?;
    for base in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
        for f in [
            "enabled_functions",
            "kprobe_events",
            "uprobe_events",
            "current_tracer",
            "set_ftrace_filter",
            "dynamic_events",
        ] {
            add_file(ctx, &mut src, "tracing", &format!("{base}/{f}"))?;
        }
    }
    add_file(ctx, &mut src, "kprobes_list", "/sys/kernel/debug/kprobes/list")?;
    add_file(ctx, &mut src, "core_pattern", "/proc/sys/kernel/core_pattern")?;
    add_file(
        ctx,
        &mut src,
        "modules_disabled",
        "/proc/sys/kernel/modules_disabled",
    )?;
    for (path, meta, link) in list("/sys/fs/bpf", 32) {
        let mut o = Obj::new();
        o.insert("kind".into(), Value::from("bpf_pinned"));
        json::bytes(&mut o, "path", &path);
        json::meta(&mut o, &meta);
        json::opt_bytes(&mut o, "link_target", link.as_deref());
        items.push(Value::Object(o));
    }
    for (path, meta, _) in list("/proc/sys/fs/binfmt_misc", 0) {
        if !meta.is_file() || path == b"/register" {
            continue;
        }
        let local = format!("/proc/sys/fs/binfmt_misc{}", String::from_utf8_lossy(&path));
        let content = read_text(&local);
        items.push(item("binfmt_misc", &local, content.as_deref()));
    }
    let preload = ctx.opts.target.path("/etc/ld.so.preload");
    match cordon_host::meta::statx_path(&preload) {
        Ok(meta) => {
            let mut o = Obj::new();
            o.insert("kind".into(), Value::from("ld_so_preload"));
            o.insert("path".into(), Value::from("/etc/ld.so.preload"));
            o.insert("present".into(), Value::from(true));
            json::meta(&mut o, &meta);
            match read_capped(&preload, 1 << 20) {
                Ok(f) => json::bytes(&mut o, "content", &f.bytes),
                Err(e) => ctx.fail_host(&mut src, b"/etc/ld.so.preload", "read", &e)?,
            }
            items.push(Value::Object(o));
        }
        Err(_) => items.push(item("ld_so_preload", "/etc/ld.so.preload", None)),
    }
    // LD_PRELOAD / LD_AUDIT / LD_LIBRARY_PATH in the initial environment of every process.
    if let Ok(pids) = cordon_host::procfs::list_pids(Path::new("/proc")) {
        for pid in pids {
            let path = format!("/proc/{pid}/environ");
            let Ok(f) = read_capped(Path::new(&path), 4 << 20) else {
                continue;
            };
            for var in f.bytes.split(|&b| b == 0) {
                for name in ["LD_PRELOAD=", "LD_AUDIT=", "LD_LIBRARY_PATH="] {
                    if let Some(v) = var.strip_prefix(name.as_bytes()) {
                        let mut o = Obj::new();
                        o.insert("kind".into(), Value::from("preload_environment"));
                        o.insert("pid".into(), Value::from(pid));
                        o.insert("variable".into(), Value::from(name.trim_end_matches('=')));
                        json::bytes(&mut o, "value", v);
                        items.push(Value::Object(o));
                    }
                }
            }
        }
    }
    ctx.write_jsonl(&mut src, "kernel.jsonl", items)?;
    ctx.end(src)
}
