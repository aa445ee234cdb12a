//! Editing `shadow` the way `shadow-utils` does, because a torn or mislabelled `shadow` locks
//! everyone out. Under the `lckpwdf` lock (`/etc/.pwd.lock`): a full copy into the case first, then
//! a temporary file in the same directory with the same owner, mode and extended attributes (the
//! SELinux label), `fsync`, a check that no other program changed `shadow` meanwhile, `rename` over
//! it, `fsync` of the directory. Undo puts the original line back the same way, and only while the
//! line is still the one cordon wrote.

use std::ffi::CStr;
use std::io::{Read as _, Write as _};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cordon_host::accounts::ACCOUNT_FILE_CAP;
use cordon_host::meta::{FileMeta, statx_at, statx_fd};
use cordon_host::open::{open_in_root, open_regular_at, open_root};
use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use sha2::{Digest, Sha256};

use super::lines::{one_line, splice};
use super::{AccountPlan, ROLE_SHADOW, ShadowChange};
use crate::Error;
use crate::examined::{host_error, show, show_local};
use crate::quarantine::{make_read_only, read_xattrs, write_xattrs};
use crate::store;

/// How long to wait for another program holding `/etc/.pwd.lock` (as `lckpwdf` does).
const LOCK_WAIT: Duration = Duration::from_secs(15);

impl AccountPlan {
    pub(super) fn lock_shadow(&self, store: &Path) -> Result<ShadowChange, Error> {
        let etc = Etc::open(&self.request.root)?;
        let _lock = etc.lock()?;
        let (bytes, file, meta) = etc.read(c"shadow")?;
        let (line_no, range) = one_line(&bytes, self.request.user.as_bytes(), &etc.local)?;
        if bytes.get(range.clone()) != Some(self.shadow_line.as_slice()) {
            return Err(Error::Unexpected(format!(
                "the shadow line of {} changed since the plan: nothing was changed; plan again",
                show(self.request.user.as_bytes())
            )));
        }
        let shadow_local = etc.local.join("shadow");
        let backup = store::save(&mut bytes.as_slice(), store, "shadow", &shadow_local, ROLE_SHADOW)?;
        make_read_only(&backup)?;
        let want = hex::encode(Sha256::digest(&bytes));
        if backup.sha256 != want || store::sha256_of(&backup.stored)? != want {
            return Err(Error::Unexpected(format!(
                "the copy of shadow in the case ({}) does not read back with the original's SHA-256: \
                 nothing was changed; check the case disk",
                backup.stored.display()
            )));
        }
        let new = splice(&bytes, range, &self.locked_line);
        etc.replace_shadow(&file, &meta, &new)?;
        Ok(ShadowChange {
            line_no,
            original_b64: STANDARD.encode(&self.shadow_line),
            new_b64: STANDARD.encode(&self.locked_line),
            backup,
        })
    }
}

/// Puts the original `shadow` line of `name` back, only if the line is still the one cordon
/// wrote; returns what was done.
pub(super) fn restore_line(change: &ShadowChange, root: &Path, name: &str) -> Result<String, Error> {
    let user = show(name.as_bytes());
    let original = decode(&change.original_b64)?;
    let written = decode(&change.new_b64)?;
    let etc = Etc::open(root)?;
    let _lock = etc.lock()?;
    let (bytes, file, meta) = etc.read(c"shadow")?;
    let (_, range) = one_line(&bytes, name.as_bytes(), &etc.local)?;
    let current = bytes.get(range.clone()).unwrap_or_default();
    if current == original.as_slice() {
        Ok(format!(
            "the shadow line of {user} is already as it was before cordon"
        ))
    } else if current == written.as_slice() {
        let new = splice(&bytes, range, &original);
        etc.replace_shadow(&file, &meta, &new)?;
        Ok(format!(
            "put back the original shadow line of {user} (password lock and expiry date as they were)"
        ))
    } else {
        Err(Error::Refused(format!(
            "the shadow line of {user} was changed after cordon locked it (by passwd, usermod or by \
             hand): it is not overwritten. The line before cordon is in the record and in the copy \
             {}; restore by hand if that is still wanted",
            change.backup.stored.display()
        )))
    }
}

/// `ROOT/etc`, opened once (symbolic links resolved inside the root).
pub(super) struct Etc {
    fd: OwnedFd,
    /// `ROOT/etc`, to name its files in messages.
    pub(super) local: PathBuf,
}

impl Etc {
    pub(super) fn open(root: &Path) -> Result<Etc, Error> {
        let local = root.join("etc");
        let root_dir = open_root(root).map_err(host_error)?;
        let (fd, _) =
            open_in_root(&root_dir.fd, b"/etc/.", true).map_err(|e| Error::io("open", &local, e.into()))?;
        Ok(Etc { fd, local })
    }

    /// Reads an account file (regular file only, capped), returning it open for its metadata.
    pub(super) fn read(&self, name: &CStr) -> Result<(Vec<u8>, std::fs::File, FileMeta), Error> {
        let local = self.local.join(std::ffi::OsStr::from_bytes(name.to_bytes()));
        let opened = open_regular_at(&self.fd, name).map_err(|e| match e {
            Errno::NOTSUP => Error::Refused(format!("{} is not a regular file", show_local(&local))),
            e => Error::io("open", &local, e.into()),
        })?;
        let meta = statx_fd(&opened.file).map_err(|e| Error::io("stat", &local, e.into()))?;
        let mut bytes = Vec::new();
        (&opened.file)
            .take(ACCOUNT_FILE_CAP + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("read", &local, e))?;
        if bytes.len() as u64 > ACCOUNT_FILE_CAP {
            return Err(Error::Refused(format!(
                "{} is larger than {ACCOUNT_FILE_CAP} bytes: not an account file cordon edits",
                show_local(&local)
            )));
        }
        Ok((bytes, opened.file, meta))
    }

    /// Takes the `lckpwdf` lock: an exclusive `fcntl` lock on `/etc/.pwd.lock`, waiting up to 15 s.
    fn lock(&self) -> Result<OwnedFd, Error> {
        let local = self.local.join(".pwd.lock");
        let fd = rustix::fs::openat(
            &self.fd,
            c".pwd.lock",
            OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| Error::io("open", &local, e.into()))?;
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match rustix::fs::fcntl_lock(&fd, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(fd),
                Err(Errno::AGAIN | Errno::ACCESS) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(Errno::AGAIN | Errno::ACCESS) => {
                    return Err(Error::Refused(format!(
                        "another program (passwd, usermod, vipw …) has held {} for 15 s: nothing was \
                         changed; try again when it is done",
                        show_local(&local)
                    )));
                }
                Err(e) => return Err(Error::io("lock", &local, e.into())),
            }
        }
    }

    /// Replaces `shadow` with `bytes` atomically: a temporary file in `etc` with the owner, mode and
    /// extended attributes of `original`, `fsync`, a check that `shadow` is still what was read,
    /// `rename`, `fsync` of the directory.
    fn replace_shadow(&self, original: &std::fs::File, read: &FileMeta, bytes: &[u8]) -> Result<(), Error> {
        let shadow = self.local.join("shadow");
        let tmp = format!(".shadow.cordon-{}", std::process::id());
        let tmp_local = self.local.join(&tmp);
        let fd = rustix::fs::openat(
            &self.fd,
            tmp.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            if e == Errno::EXIST {
                Error::Unexpected(format!(
                    "{} exists (left by an interrupted run?): remove it, then try again",
                    show_local(&tmp_local)
                ))
            } else {
                Error::io("create", &tmp_local, e.into())
            }
        })?;
        let mut file = std::fs::File::from(fd);
        let result = (|| {
            file.write_all(bytes)
                .map_err(|e| Error::io("write", &tmp_local, e))?;
            rustix::fs::fchown(
                &file,
                Some(rustix::fs::Uid::from_raw(read.uid)),
                Some(rustix::fs::Gid::from_raw(read.gid)),
            )
            .map_err(|e| Error::io("set the owner of", &tmp_local, e.into()))?;
            rustix::fs::fchmod(&file, Mode::from_raw_mode(read.mode & 0o7777))
                .map_err(|e| Error::io("set the mode of", &tmp_local, e.into()))?;
            let failed = write_xattrs(&file, &read_xattrs(original), &tmp_local);
            if !failed.is_empty() {
                return Err(Error::Unexpected(format!(
                    "could not give the new shadow the extended attributes (SELinux label, ACL) of the old \
                     one: {}; nothing was changed",
                    failed.join("; ")
                )));
            }
            file.sync_all().map_err(|e| Error::io("fsync", &tmp_local, e))?;
            let now = statx_at(&self.fd, c"shadow").map_err(|e| Error::io("stat", &shadow, e.into()))?;
            if (now.ino, now.size, now.mtime, now.ctime) != (read.ino, read.size, read.mtime, read.ctime) {
                return Err(Error::Unexpected(format!(
                    "{} was changed by another program while cordon was editing it (it does not respect \
                     /etc/.pwd.lock): nothing was changed; plan again",
                    show_local(&shadow)
                )));
            }
            rustix::fs::renameat(&self.fd, tmp.as_str(), &self.fd, c"shadow")
                .map_err(|e| Error::io("rename over", &shadow, e.into()))
        })();
        if result.is_err() {
            let _ = rustix::fs::unlinkat(&self.fd, tmp.as_str(), AtFlags::empty());
        }
        result?;
        // The rename is done; a directory that cannot be synced does not make it undone.
        let _ = rustix::fs::fsync(&self.fd);
        Ok(())
    }
}

fn decode(b64: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(b64)
        .map_err(|e| Error::Unexpected(format!("the record's shadow line is not valid base64: {e}")))
}
