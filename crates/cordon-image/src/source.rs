//! What is imaged: a block device or a regular file, opened read-only, and its facts.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::Error;

/// The kind of source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A disk or partition.
    BlockDevice,
    /// A file (an image of an image, a loop file).
    RegularFile,
}

/// What `/sys` says about a block device. Values come from the device's firmware: treat as text to
/// escape, never as trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeviceFacts {
    /// `major:minor`.
    pub dev: String,
    /// Kernel name (`sda1`, `nvme0n1`, `loop0`).
    pub name: String,
    /// The whole disk it belongs to (`sda` for `sda1`).
    pub disk: String,
    /// Vendor string, when the device has one.
    pub vendor: Option<String>,
    /// Model string.
    pub model: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
    /// World-wide identifier.
    pub wwid: Option<String>,
    /// Removable media.
    pub removable: Option<bool>,
    /// Read-only at the block layer.
    pub read_only: Option<bool>,
    /// Spinning disk.
    pub rotational: Option<bool>,
    /// For a loop device: the file behind it.
    pub loop_backing_file: Option<String>,
}

/// Timestamps and size of the source, to show it did not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StatSnapshot {
    /// Size in bytes (0 for a block device: its size is in [`Source::size`]).
    pub size: i64,
    /// Access time (seconds, nanoseconds).
    pub atime: (i64, i64),
    /// Modification time.
    pub mtime: (i64, i64),
    /// Status change time.
    pub ctime: (i64, i64),
    /// Inode number.
    pub inode: u64,
}

impl StatSnapshot {
    fn of(st: &rustix::fs::Stat) -> StatSnapshot {
        StatSnapshot {
            size: st.st_size,
            atime: (st.st_atime, st.st_atime_nsec as i64),
            mtime: (st.st_mtime, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime, st.st_ctime_nsec as i64),
            inode: st.st_ino,
        }
    }
}

/// An open source.
#[derive(Debug)]
pub struct Source {
    /// The path as given.
    pub path: PathBuf,
    /// The path after resolving symbolic links (`/dev/disk/by-id/…` → `/dev/sda`).
    pub resolved: PathBuf,
    /// Read-only descriptor.
    pub file: File,
    /// Device or file.
    pub kind: SourceKind,
    /// Bytes.
    pub size: u64,
    /// Logical sector size (the unit that fails on its own); 512 for files.
    pub sector_size: u64,
    /// Physical sector size, for devices.
    pub physical_sector_size: Option<u64>,
    /// False when `O_NOATIME` was refused (the read may update the access time).
    pub noatime: bool,
    /// `fstat` at open.
    pub stat_before: StatSnapshot,
    /// Block device facts.
    pub device: Option<DeviceFacts>,
    /// `st_rdev` of a block device.
    pub rdev: Option<(u32, u32)>,
}

impl Source {
    /// Opens `path` read-only: a block device with `O_RDONLY|O_NOATIME|O_CLOEXEC` (never writable), a
    /// regular file through `cordon_host::open::open_regular`. Anything else is refused.
    pub fn open(path: &Path) -> Result<Source, Error> {
        let resolved = std::fs::canonicalize(path).map_err(Error::io("resolve", path))?;
        let st = rustix::fs::stat(&resolved).map_err(|e| io(e, "stat", &resolved))?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::BlockDevice => open_block(path, resolved),
            FileType::RegularFile => {
                let opened = cordon_host::open::open_regular(&resolved)?;
                let stat_before = StatSnapshot::of(&opened.stat);
                let _ = rustix::fs::fadvise(&opened.file, 0, None, rustix::fs::Advice::Sequential);
                Ok(Source {
                    path: path.to_owned(),
                    resolved,
                    size: u64::try_from(opened.stat.st_size).unwrap_or(0),
                    file: opened.file,
                    kind: SourceKind::RegularFile,
                    sector_size: 512,
                    physical_sector_size: None,
                    noatime: opened.noatime,
                    stat_before,
                    device: None,
                    rdev: None,
                })
            }
            other => Err(Error::NotImageable {
                path: path.to_owned(),
                kind: cordon_host::open::file_type_name(other),
            }),
        }
    }

    /// `fstat` now, to compare with [`Source::stat_before`].
    pub fn stat_now(&self) -> Result<StatSnapshot, Error> {
        let st = rustix::fs::fstat(&self.file).map_err(|e| io(e, "stat", &self.resolved))?;
        Ok(StatSnapshot::of(&st))
    }

    /// Refuses a destination on the device being imaged (it would overwrite evidence, and the image
    /// would contain part of itself). A regular-file source is not altered by writes elsewhere on its
    /// filesystem, so only device sources are checked.
    pub fn check_destination(&self, dest: &Path) -> Result<(), Error> {
        let Some(rdev) = self.rdev else {
            return Ok(());
        };
        let mounts = cordon_host::mounts::read_own_mountinfo()?;
        let storage = cordon_host::mounts::storage_of(dest, &mounts)?;
        let refuse = |why: String| Error::SameStorage {
            source_path: self.path.clone(),
            dest: dest.to_owned(),
            why,
        };
        if storage.fs_dev == rdev {
            return Err(refuse(format!(
                "the destination filesystem is on {} itself",
                self.resolved.display()
            )));
        }
        let mut ours = BTreeSet::new();
        whole_disks(rdev, &mut ours, 0);
        let common: Vec<&str> = storage.disks.intersection(&ours).map(String::as_str).collect();
        if !common.is_empty() {
            return Err(refuse(format!(
                "the destination is on disk {}, which is being imaged",
                common.join(", ")
            )));
        }
        Ok(())
    }
}

fn io(e: Errno, what: &'static str, path: &Path) -> Error {
    Error::Io {
        what,
        path: path.to_owned(),
        source: e.into(),
    }
}

fn open_block(path: &Path, resolved: PathBuf) -> Result<Source, Error> {
    // Never O_RDWR, never O_EXCL (which would change how others may open the device).
    let base = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY;
    let (fd, noatime) = match rustix::fs::open(&resolved, base | OFlags::NOATIME, Mode::empty()) {
        Ok(fd) => (fd, true),
        Err(Errno::PERM) => (
            rustix::fs::open(&resolved, base, Mode::empty()).map_err(|e| io(e, "open", &resolved))?,
            false,
        ),
        Err(e) => return Err(io(e, "open", &resolved)),
    };
    let st = rustix::fs::fstat(&fd).map_err(|e| io(e, "stat", &resolved))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::BlockDevice {
        return Err(Error::NotImageable {
            path: path.to_owned(),
            kind: cordon_host::open::file_type_name(FileType::from_raw_mode(st.st_mode)),
        });
    }
    let size = rustix::fs::seek(&fd, rustix::fs::SeekFrom::End(0)).map_err(|e| io(e, "size", &resolved))?;
    let sector = rustix::fs::ioctl_blksszget(&fd)
        .map(u64::from)
        .unwrap_or(512)
        .max(1);
    let physical = rustix::fs::ioctl_blkpbszget(&fd).ok().map(u64::from);
    let _ = rustix::fs::fadvise(&fd, 0, None, rustix::fs::Advice::Sequential);
    let rdev = (rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev));
    Ok(Source {
        path: path.to_owned(),
        resolved,
        file: File::from(fd),
        kind: SourceKind::BlockDevice,
        size,
        sector_size: sector,
        physical_sector_size: physical,
        noatime,
        stat_before: StatSnapshot::of(&st),
        device: Some(device_facts(rdev)),
        rdev: Some(rdev),
    })
}

/// Reads at most 256 bytes of a sysfs attribute, trimmed, lossily decoded.
fn attr(path: &Path) -> Option<String> {
    use std::io::Read as _;
    let f = File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(256).read_to_end(&mut buf).ok()?;
    let s = String::from_utf8_lossy(&buf).trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn flag(path: &Path) -> Option<bool> {
    attr(path).map(|v| v != "0")
}

/// What `/sys/dev/block/MAJ:MIN` says about the device.
pub fn device_facts((major, minor): (u32, u32)) -> DeviceFacts {
    let sys = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    let mut facts = DeviceFacts {
        dev: format!("{major}:{minor}"),
        ..DeviceFacts::default()
    };
    let Ok(real) = std::fs::canonicalize(&sys) else {
        return facts;
    };
    let disk = if real.join("partition").exists() {
        real.parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| real.clone())
    } else {
        real.clone()
    };
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    facts.name = name(&real);
    facts.disk = name(&disk);
    let dev = disk.join("device");
    facts.vendor = attr(&dev.join("vendor"));
    facts.model = attr(&dev.join("model"));
    facts.serial = attr(&dev.join("serial")).or_else(|| attr(&disk.join("serial")));
    facts.wwid = attr(&dev.join("wwid")).or_else(|| attr(&disk.join("wwid")));
    facts.removable = flag(&disk.join("removable"));
    facts.read_only = flag(&real.join("ro"));
    facts.rotational = flag(&disk.join("queue/rotational"));
    facts.loop_backing_file = attr(&disk.join("loop/backing_file"));
    facts
}

/// The whole disks under a block device: a partition's parent, a dm/md device's members.
fn whole_disks((major, minor): (u32, u32), out: &mut BTreeSet<String>, depth: u8) {
    if depth > 8 {
        return;
    }
    let Ok(real) = std::fs::canonicalize(format!("/sys/dev/block/{major}:{minor}")) else {
        return;
    };
    let disk = if real.join("partition").exists() {
        real.parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| real.clone())
    } else {
        real.clone()
    };
    let mut members = false;
    if let Ok(entries) = std::fs::read_dir(disk.join("slaves")) {
        for entry in entries.flatten() {
            if let Some(dev) = attr(&entry.path().join("dev"))
                && let Some((ma, mi)) = dev.split_once(':')
                && let (Ok(ma), Ok(mi)) = (ma.parse(), mi.parse())
            {
                members = true;
                whole_disks((ma, mi), out, depth + 1);
            }
        }
    }
    if !members && let Some(n) = disk.file_name() {
        out.insert(n.to_string_lossy().into_owned());
    }
}
