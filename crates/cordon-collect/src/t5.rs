//! T5: a `statx` pass over the whole root filesystem — taken *before* any file is copied — written
//! as a TSK 3.x bodyfile (`MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime`,
//! integer seconds, `0` for unknown MD5 and times). Symlinks are written `name -> target`, like
//! `fls -m`. Pseudo and network filesystems are never walked; other mounts only with
//! `cross_mounts`. The same pass lists the executable files T7 hashes and the special files (setuid,
//! setgid, world-writable, FIFOs, sockets, devices outside `/dev`) in `fs_special.jsonl`.
//!
//! Names are escaped so that one line is one file: `|`, `\`, control characters and bytes that are
//! not UTF-8 become `\xNN`.

use std::fmt::Write as _;

use cordon_host::meta::{FileMeta, FileTime, statx_fd};
use cordon_host::walk::{self, Event, Visit, WalkOptions};
use rustix::fs::FileType;
use serde_json::Value;

use crate::bundle::Jsonl;
use crate::ctx::{Ctx, dup_root, skipped_mounts};
use crate::json::{self, Obj};
use crate::{Error, Tier};

/// Escapes a name for one bodyfile field.
pub(crate) fn escape_name(name: &[u8], out: &mut String) {
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '|' || c == '\\' || c.is_control() {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

fn secs(t: Option<FileTime>) -> i64 {
    t.map_or(0, |t| t.sec)
}

/// One bodyfile line.
pub(crate) fn body_line(path: &[u8], link: Option<&[u8]>, m: &FileMeta) -> String {
    let mut line = String::with_capacity(path.len() + 80);
    line.push_str("0|");
    escape_name(path, &mut line);
    if let Some(target) = link {
        line.push_str(" -> ");
        escape_name(target, &mut line);
    }
    let _ = writeln!(
        line,
        "|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        m.ino,
        m.mode_string(),
        m.uid,
        m.gid,
        m.size,
        secs(m.atime),
        secs(m.mtime),
        secs(m.ctime),
        secs(m.btime)
    );
    line
}

fn special(m: &FileMeta, path: &[u8]) -> Option<&'static str> {
    match m.file_type() {
        FileType::RegularFile if m.mode & 0o4000 != 0 => Some("setuid"),
        FileType::RegularFile if m.mode & 0o2000 != 0 => Some("setgid"),
        FileType::RegularFile if m.mode & 0o002 != 0 => Some("world_writable"),
        FileType::Fifo => Some("fifo"),
        FileType::Socket => Some("socket"),
        FileType::CharacterDevice | FileType::BlockDevice if !path.starts_with(b"/dev/") => {
            Some("device_outside_dev")
        }
        _ => None,
    }
}

/// Walks the root filesystem; with `write`, writes the bodyfile and special-file list; always
/// collects the executable files for T7.
pub(crate) fn walk_root(ctx: &mut Ctx<'_>, write: bool) -> Result<(), Error> {
    let mut src = ctx.begin(Tier::T5, if write { "bodyfile" } else { "executables" });
    let root = dup_root(ctx)?;
    let opts = WalkOptions {
        cross_mounts: ctx.opts.cross_mounts,
        skip_mounts: skipped_mounts(),
        exclude: ctx.exclude.clone(),
        max_depth: None,
    };
    let mut body = if write {
        Some(ctx.bundle.create_file(b"bodyfile.txt")?)
    } else {
        None
    };
    let mut specials = if write {
        Some(Jsonl::create(&mut ctx.bundle, "fs_special.jsonl")?)
    } else {
        None
    };
    if let (Some(body), Ok(m)) = (body.as_mut(), statx_fd(&root)) {
        body.write_all(body_line(b"/", None, &m).as_bytes())?;
    }
    let mut fatal: Option<Error> = None;
    let mut executables = Vec::new();
    let mut skipped_dirs = 0u64;
    let read_links = ctx.opts.read_link_targets;
    let mut links_read = 0u64;
    let result = walk::walk(&root, b"/", &opts, &mut |ev| {
        let step = (|| -> Result<(), Error> {
            match ev {
                Event::Entry(e) => {
                    let is_link = e.meta.file_type() == FileType::Symlink;
                    links_read += u64::from(is_link && read_links);
                    let link = (is_link && read_links)
                        .then(|| rustix::fs::readlinkat(e.dir, e.name, Vec::new()).ok())
                        .flatten()
                        .map(std::ffi::CString::into_bytes);
                    if e.meta.is_executable_file() {
                        executables.push(e.path.to_vec());
                    }
                    let mut bytes = 0;
                    if let Some(body) = body.as_mut() {
                        let line = body_line(e.path, link.as_deref(), e.meta);
                        bytes = line.len() as u64;
                        body.write_all(line.as_bytes())?;
                    }
                    if let (Some(sp), Some(kind)) = (specials.as_mut(), special(e.meta, e.path)) {
                        let mut o = Obj::new();
                        o.insert("kind".into(), Value::from(kind));
                        json::bytes(&mut o, "path", e.path);
                        json::meta(&mut o, e.meta);
                        sp.write(&Value::Object(o))?;
                    }
                    ctx.item(&mut src, bytes);
                }
                Event::Skipped { why, .. } => {
                    skipped_dirs += 1;
                    let _ = why;
                }
                Event::Error { path, what, errno } => ctx.fail_errno(&mut src, path, what, errno)?,
            }
            Ok(())
        })();
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
    ctx.atime_touched += links_read;
    match result {
        Ok(stats) => ctx.atime_touched += stats.atime_touched_dirs,
        Err(e) => ctx.fail_errno(&mut src, b"/", "open", e)?,
    }
    if let Some(body) = body {
        ctx.bundle.finish(body)?;
    }
    if let Some(sp) = specials {
        sp.finish(&mut ctx.bundle)?;
    }
    if skipped_dirs > 0 && write {
        ctx.note(format!(
            "T5: {skipped_dirs} mount points or pseudo/network filesystems were not walked (use cross_mounts for other local filesystems)"
        ))?;
    }
    ctx.executables = executables;
    ctx.end(src)
}

pub(crate) fn collect(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    walk_root(ctx, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodyfile_names_are_one_line_and_pipe_free() {
        let mut s = String::new();
        escape_name(b"a|b\nc\\d\xffe\x1b", &mut s);
        assert_eq!(s, "a\\x7cb\\x0ac\\x5cd\\xffe\\x1b");
    }
}
