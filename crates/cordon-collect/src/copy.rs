//! Listing and copying parts of the examined system into `[root]/` (T4 and T6).
//!
//! The type comes from `statx` first: only regular files are ever opened (FIFOs, sockets and devices
//! are listed, never opened), through `O_NOFOLLOW|O_NOATIME`, and the descriptor's own `fstat` must
//! match what `statx` saw. Each copy is capped; a larger (or growing, or sparse) file is copied up
//! to the cap and marked `truncated`. Every entry — copied or not — is one line of the source's
//! JSON Lines file with its metadata as seen *before* the read.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd};

use cordon_host::meta::{FileMeta, statx_at};
use cordon_host::open::{open_in_root, open_regular_at};
use cordon_host::walk::{self, Event, Visit, WalkOptions};
use rustix::fs::FileType;
use rustix::io::Errno;
use serde_json::Value;

use crate::Error;
use crate::bundle::Jsonl;
use crate::ctx::{Ctx, Src, dup_root, skipped_mounts};
use crate::json::{self, Obj};

/// Longest path copied into `[root]/` (PATH_MAX minus room for the bundle directory).
const MAX_COPY_PATH: usize = 3072;

/// One place to list and copy.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// Path on the examined system.
    pub path: Vec<u8>,
    /// Walk below it (when it is a directory).
    pub recursive: bool,
    /// Copy only regular files whose name passes (all are listed).
    pub filter: Option<fn(&[u8]) -> bool>,
    /// Per-file cap.
    pub cap: u64,
    /// Artifact category for the JSON (`logs`, `cron` …).
    pub category: &'static str,
}

impl Spec {
    pub fn tree(path: &str, category: &'static str, cap: u64) -> Self {
        Spec {
            path: path.as_bytes().to_vec(),
            recursive: true,
            filter: None,
            cap,
            category,
        }
    }

    pub fn file(path: impl AsRef<[u8]>, category: &'static str, cap: u64) -> Self {
        Spec {
            path: path.as_ref().to_vec(),
            recursive: false,
            filter: None,
            cap,
            category,
        }
    }

    pub fn filtered(path: &str, category: &'static str, cap: u64, filter: fn(&[u8]) -> bool) -> Self {
        Spec {
            path: path.as_bytes().to_vec(),
            recursive: true,
            filter: Some(filter),
            cap,
            category,
        }
    }
}

fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) => (b"/", path.get(1..).unwrap_or_default()),
        Some(i) => (
            path.get(..i).unwrap_or_default(),
            path.get(i + 1..).unwrap_or_default(),
        ),
        None => (b"/", path),
    }
}

/// Lists (and copies) one spec. Missing paths are silently absent.
pub(crate) fn run_spec(ctx: &mut Ctx<'_>, src: &mut Src, out: &mut Jsonl, spec: &Spec) -> Result<(), Error> {
    let root = dup_root(ctx)?;
    let (parent, name) = split_parent(&spec.path);
    let Ok(cname) = std::ffi::CString::new(name) else {
        return Ok(());
    };
    let parent_fd = match open_in_root(&root, parent, true) {
        Ok((fd, _)) => fd,
        Err(Errno::NOENT | Errno::NOTDIR) => return Ok(()),
        Err(e) => return ctx.fail_errno(src, parent, "open", e),
    };
    let meta = match statx_at(&parent_fd, cname.as_c_str()) {
        Ok(m) => m,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return ctx.fail_errno(src, &spec.path, "stat", e),
    };
    if spec.path != b"/" {
        entry(
            ctx,
            src,
            out,
            spec,
            parent_fd.as_fd(),
            &cname,
            &spec.path,
            &meta,
            true,
        )?;
    }
    if !(meta.is_dir() && spec.recursive) {
        return Ok(());
    }
    let opts = WalkOptions {
        cross_mounts: true,
        skip_mounts: skipped_mounts(),
        exclude: ctx.exclude.clone(),
        max_depth: None,
    };
    let mut fatal = None;
    let res = walk::walk(&root, &spec.path, &opts, &mut |ev| {
        let step = match ev {
            Event::Entry(e) => {
                let pass = spec.filter.is_none_or(|f| f(e.name.to_bytes()));
                entry(ctx, src, out, spec, e.dir, e.name, e.path, e.meta, pass)
            }
            Event::Error { path, what, errno } => ctx.fail_errno(src, path, what, errno),
            Event::Skipped { .. } => Ok(()),
        };
        match step {
            Ok(()) => Visit::Continue,
            Err(e) => {
                fatal = Some(e);
                Visit::Stop
            }
        }
    });
    if let Some(e) = fatal {
        return Err(e);
    }
    match res {
        Ok(stats) => ctx.atime_touched += stats.atime_touched_dirs,
        Err(Errno::NOENT) => {}
        Err(e) => ctx.fail_errno(src, &spec.path, "open", e)?,
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn entry(
    ctx: &mut Ctx<'_>,
    src: &mut Src,
    out: &mut Jsonl,
    spec: &Spec,
    dir: BorrowedFd<'_>,
    name: &CStr,
    path: &[u8],
    meta: &FileMeta,
    copy: bool,
) -> Result<(), Error> {
    let mut o = Obj::new();
    json::bytes(&mut o, "path", path);
    o.insert("category".into(), Value::from(spec.category));
    json::meta(&mut o, meta);
    match meta.file_type() {
        FileType::Symlink if ctx.opts.read_link_targets => {
            ctx.atime_touched += 1;
            if let Ok(t) = rustix::fs::readlinkat(dir, name, Vec::new()) {
                json::bytes(&mut o, "link_target", t.as_bytes());
            }
        }
        FileType::Fifo | FileType::Socket | FileType::CharacterDevice | FileType::BlockDevice => {
            o.insert(
                "not_opened".into(),
                Value::from("special file: listed, never opened"),
            );
        }
        _ => {}
    }
    let mut written = 0;
    if meta.is_file() && copy {
        let key = (meta.dev.0, meta.dev.1, meta.ino);
        if path.len() > MAX_COPY_PATH {
            // The copy could be written (cordon creates it relative to directory descriptors) but
            // not checked with `sha256sum -c`, which opens by path: list it, hash it, do not copy.
            o.insert("copied".into(), Value::from(false));
            o.insert(
                "not_copied".into(),
                Value::from("path longer than a verifiable bundle path"),
            );
            ctx.fail(src, path, "copy", "path too long to copy verifiably", Some(36))?;
        } else if ctx.copied.contains(&key) {
            o.insert("copied".into(), Value::from(false));
            o.insert("already_copied".into(), Value::from(true));
        } else {
            match open_regular_at(dir, name) {
                Ok(opened) => {
                    if !opened.noatime {
                        ctx.atime_touched += 1;
                    }
                    o.insert("noatime".into(), Value::from(opened.noatime));
                    let same = opened.stat.st_ino == meta.ino;
                    if !same {
                        o.insert("replaced_before_open".into(), Value::from(true));
                    }
                    let size_at_open = opened.stat.st_size;
                    match ctx.copy_into_root(path, opened.file, spec.cap)? {
                        Ok((sha, n, truncated)) => {
                            ctx.copied.insert(key);
                            written = n;
                            o.insert("copied".into(), Value::from(true));
                            o.insert("sha256".into(), Value::from(sha));
                            o.insert("bytes_copied".into(), Value::from(n));
                            o.insert("truncated".into(), Value::from(truncated));
                            o.insert("size_at_open".into(), Value::from(size_at_open));
                            if truncated {
                                o.insert("cap".into(), Value::from(spec.cap));
                            }
                        }
                        Err(e) => {
                            o.insert("copied".into(), Value::from(false));
                            o.insert("read_error".into(), Value::from(e.to_string()));
                            ctx.fail(src, path, "read", &e.to_string(), e.raw_os_error())?;
                        }
                    }
                }
                Err(e) => {
                    o.insert("copied".into(), Value::from(false));
                    o.insert(
                        "open_error".into(),
                        Value::from(std::io::Error::from(e).to_string()),
                    );
                    ctx.fail_errno(src, path, "open", e)?;
                }
            }
        }
    }
    out.write(&Value::Object(o))?;
    ctx.item(src, written);
    Ok(())
}
