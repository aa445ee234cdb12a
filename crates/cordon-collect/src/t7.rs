//! T7: SHA-256 of every executable regular file of the examined system (found by the T5 pass) and of
//! every running process's binary (read through `/proc/<pid>/exe`, which reaches deleted and memfd
//! binaries). Hard links are hashed once. Files larger than the per-file cap are listed unhashed.

use std::collections::HashMap;

use cordon_host::open::open_in_root;
use cordon_host::procfs::ReadParts;
use rayon::prelude::*;
use rustix::io::Errno;
use serde_json::Value;

use crate::bundle::Jsonl;
use crate::ctx::{Ctx, Hashed, dup_root, hash_file};
use crate::json::{self, Obj};
use crate::{Error, Tier};

enum Outcome {
    Hashed {
        meta: cordon_host::meta::FileMeta,
        hash: Hashed,
        noatime: bool,
    },
    Failed(Errno),
    Io(std::io::Error),
}

pub(crate) fn collect(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    if !ctx.opts.tiers.contains(&Tier::T5) {
        crate::t5::walk_root(ctx, false)?;
    }
    let mut src = ctx.begin(Tier::T7, "hashes");
    let root = dup_root(ctx)?;
    let cap = ctx.opts.max_file_size;
    let paths = std::mem::take(&mut ctx.executables);
    let outcomes: Vec<Outcome> = paths
        .par_iter()
        .map(|path| {
            let (fd, noatime) = match open_in_root(&root, path, false) {
                Ok(x) => x,
                Err(e) => return Outcome::Failed(e),
            };
            let meta = match cordon_host::meta::statx_fd(&fd) {
                Ok(m) => m,
                Err(e) => return Outcome::Failed(e),
            };
            match hash_file(std::fs::File::from(fd), meta.size, cap) {
                Ok(hash) => Outcome::Hashed { meta, hash, noatime },
                Err(e) => Outcome::Io(e),
            }
        })
        .collect();
    let mut out = Jsonl::create(&mut ctx.bundle, "hashes.jsonl")?;
    let mut first_path: HashMap<(u32, u32, u64), Vec<u8>> = HashMap::new();
    let mut hashed_bytes = 0u64;
    for (path, outcome) in paths.iter().zip(outcomes) {
        match outcome {
            Outcome::Hashed { meta, hash, noatime } => {
                if !noatime {
                    ctx.atime_touched += 1;
                }
                let mut o = Obj::new();
                o.insert("source".into(), Value::from("filesystem"));
                json::bytes(&mut o, "path", path);
                o.insert(
                    "sha256".into(),
                    hash.sha256.clone().map_or(Value::Null, Value::from),
                );
                o.insert("size".into(), Value::from(meta.size));
                o.insert("mode".into(), Value::from(meta.mode_string()));
                o.insert("uid".into(), Value::from(meta.uid));
                o.insert("gid".into(), Value::from(meta.gid));
                o.insert("inode".into(), Value::from(meta.ino));
                o.insert("mtime".into(), json::time(meta.mtime));
                o.insert("ctime".into(), json::time(meta.ctime));
                if hash.sha256.is_none() {
                    o.insert(
                        "not_hashed".into(),
                        Value::from(format!("larger than the per-file cap of {cap} bytes")),
                    );
                }
                let key = (meta.dev.0, meta.dev.1, meta.ino);
                match first_path.get(&key) {
                    Some(first) if meta.nlink > 1 => json::bytes(&mut o, "hard_link_of", first),
                    _ => {
                        first_path.insert(key, path.clone());
                        hashed_bytes += hash.bytes;
                    }
                }
                out.write(&Value::Object(o))?;
                ctx.item(&mut src, 0);
            }
            Outcome::Failed(e) => ctx.fail_errno(&mut src, path, "hash", e)?,
            Outcome::Io(e) => {
                let errno = e.raw_os_error();
                ctx.fail(&mut src, path, "hash", &e.to_string(), errno)?;
            }
        }
    }
    if ctx.opts.target.is_live() {
        let (records, fatal) = crate::t1::read_processes(
            ctx,
            ReadParts {
                fds: false,
                maps: false,
                environ: false,
            },
        )?;
        if let Some((path, e)) = fatal {
            ctx.fail_errno(&mut src, &path, "list", e)?;
        }
        for r in records {
            let Some(exe) = &r.process.exe else {
                continue;
            };
            let mut o = Obj::new();
            o.insert("source".into(), Value::from("process"));
            o.insert("pid".into(), Value::from(r.process.pid));
            json::bytes(&mut o, "path", exe);
            let hash = r.exe_key.and_then(|k| ctx.exe_hashes.get(&k));
            o.insert(
                "sha256".into(),
                hash.and_then(|h| h.sha256.clone())
                    .map_or(Value::Null, Value::from),
            );
            o.insert("size".into(), r.exe_size.map_or(Value::Null, Value::from));
            if let Some(e) = r.exe_error {
                o.insert("error".into(), Value::from(std::io::Error::from(e).to_string()));
            }
            out.write(&Value::Object(o))?;
            ctx.item(&mut src, 0);
        }
    }
    src.bytes += hashed_bytes;
    out.finish(&mut ctx.bundle)?;
    ctx.end(src)
}
