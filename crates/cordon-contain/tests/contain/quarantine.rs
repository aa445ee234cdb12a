//! Quarantining dropped files and putting them back.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use cordon_contain::Error;
use cordon_contain::quarantine::{FileKind, QuarantineRecord, QuarantineRequest, ROLE};
use rustix::fs::IFlags;
use rustix::io::Errno;

use crate::common::{mode_and_times, root_or_skip, set_times, sha256};

fn dropped(dir: &Path, name: &str, content: &[u8], mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

fn req(paths: &[&Path]) -> QuarantineRequest {
    QuarantineRequest {
        paths: paths.iter().map(|p| p.to_path_buf()).collect(),
    }
}

#[test]
fn moves_a_file_into_the_store_and_puts_it_back_identical() {
    let dir = tempfile::tempdir().unwrap();
    let drop = dir.path().join("tmp/.ICE-unix/.x");
    std::fs::create_dir_all(&drop).unwrap();
    let content: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let file = dropped(&drop, "kworker", &content, 0o755);
    set_times(&file, (1_650_000_000, 987_654_321), (1_600_000_000, 123_456_789));
    let before = mode_and_times(&file);
    let store = dir.path().join("case/contain/C2");

    let plan = req(&[&file]).plan().unwrap();
    let text = plan.describe().join("\n");
    assert!(text.contains("-rwxr-xr-x"), "{text}");
    assert!(text.contains("70000 bytes"), "{text}");
    let record = plan.apply(&store).unwrap();

    assert!(std::fs::symlink_metadata(&file).is_err(), "the original is gone");
    let moved = &record.files[0];
    assert_eq!(moved.role, ROLE);
    assert_eq!(moved.sha256, sha256(&content));
    assert_eq!(moved.mode, 0o100755);
    assert_eq!(moved.mtime.unwrap().sec, 1_600_000_000);
    assert_eq!(moved.mtime.unwrap().nsec, 123_456_789);
    assert_eq!(std::fs::read(&moved.stored).unwrap(), content);
    let stored_mode = std::fs::metadata(&moved.stored).unwrap().permissions().mode();
    assert_eq!(
        stored_mode & 0o7777,
        0o400,
        "the copy is neither writable nor executable"
    );
    assert_eq!(record.files()[0].sha256, moved.sha256);

    let back: QuarantineRecord = serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
    let lines = back.undo().unwrap();
    assert!(lines.iter().any(|l| l.contains("ctime")), "{lines:?}");
    // Times first: reading the file may update its atime (relatime).
    assert_eq!(mode_and_times(&file), before);
    assert_eq!(std::fs::read(&file).unwrap(), content);
}

#[test]
fn refuses_fifos_directories_and_missing_paths() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let e = req(&[&fifo]).plan().unwrap_err();
    assert!(matches!(e, Error::Refused(_)), "{e}");
    assert!(e.to_string().contains("is a FIFO"), "{e}");

    let e = req(&[dir.path()]).plan().unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");

    let e = req(&[&dir.path().join("nothing")]).plan().unwrap_err();
    assert!(e.to_string().contains("no such file"), "{e}");
    let e = req(&[&dir.path().join("no/dir/x")]).plan().unwrap_err();
    assert!(e.to_string().contains("no such file"), "{e}");

    assert!(req(&[]).plan().is_err());
    assert!(req(&[Path::new("/proc/self/status")]).plan().is_err());
}

#[test]
fn a_symlink_is_moved_as_a_link_and_hard_links_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let target = dropped(dir.path(), "payload", b"#!/bin/sh\n", 0o755);
    let link = dir.path().join("update");
    std::os::unix::fs::symlink("payload", &link).unwrap();
    let hard = dir.path().join("also-payload");
    std::fs::hard_link(&target, &hard).unwrap();

    let plan = req(&[&link, &hard]).plan().unwrap();
    let text = plan.describe().join("\n");
    assert!(text.contains("symbolic link to payload"), "{text}");
    assert!(text.contains("1 other hard link(s)"), "{text}");
    let record = plan.apply(&dir.path().join("store")).unwrap();
    assert!(std::fs::symlink_metadata(&link).is_err());
    assert!(!hard.exists());
    assert_eq!(
        std::fs::read(&target).unwrap(),
        b"#!/bin/sh\n",
        "the link's target stays"
    );
    assert_eq!(record.files[0].kind, FileKind::Symlink);

    record.undo().unwrap();
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("payload"));
    assert_eq!(std::fs::read(&hard).unwrap(), b"#!/bin/sh\n");
}

#[test]
fn undo_never_overwrites_what_appeared_since() {
    let dir = tempfile::tempdir().unwrap();
    let a = dropped(dir.path(), "a", b"first", 0o644);
    let b = dropped(dir.path(), "b", b"second", 0o644);
    let record = req(&[&a, &b])
        .plan()
        .unwrap()
        .apply(&dir.path().join("store"))
        .unwrap();
    std::fs::write(&b, b"new file by the admin").unwrap();
    let e = record.undo().unwrap_err();
    assert!(e.to_string().contains("exists again"), "{e}");
    assert!(!a.exists(), "checked everything before putting anything back");
    assert_eq!(std::fs::read(&b).unwrap(), b"new file by the admin");
}

/// The attacker may still own the directory a file was taken from. If they swap it for a link to a
/// directory that matters, a root-run undo must not recreate their file there.
#[test]
fn undo_does_not_follow_a_directory_swapped_for_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("www/uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    let file = dropped(&uploads, "ld.so.preload", b"/tmp/.x/hook.so\n", 0o644);
    let record = req(&[&file])
        .plan()
        .unwrap()
        .apply(&dir.path().join("store"))
        .unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    std::fs::remove_dir(&uploads).unwrap();
    std::os::unix::fs::symlink(&etc, &uploads).unwrap();

    let e = record.undo().unwrap_err();
    assert!(matches!(e, Error::Refused(_)), "{e}");
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert!(
        !etc.join("ld.so.preload").exists(),
        "nothing written where the link points"
    );

    // A directory put back at the same place, with no link on the way, is fine.
    std::fs::remove_file(&uploads).unwrap();
    std::fs::create_dir(&uploads).unwrap();
    record.undo().unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"/tmp/.x/hook.so\n");
}

#[test]
fn a_failure_half_way_puts_back_what_was_already_moved() {
    let dir = tempfile::tempdir().unwrap();
    let a = dropped(dir.path(), "a", b"first", 0o700);
    let b = dropped(dir.path(), "b", b"second", 0o644);
    let plan = req(&[&a, &b]).plan().unwrap();
    // b is replaced by another file between plan and apply.
    std::fs::remove_file(&b).unwrap();
    std::fs::write(&b, b"other").unwrap();
    let e = plan.apply(&dir.path().join("store")).unwrap_err();
    assert!(
        e.to_string().contains("no longer the file the plan described"),
        "{e}"
    );
    assert!(e.to_string().contains("were put back"), "{e}");
    assert_eq!(std::fs::read(&a).unwrap(), b"first");
    assert_eq!(mode_and_times(&a).0 & 0o7777, 0o700);
    assert_eq!(std::fs::read(&b).unwrap(), b"other");
}

#[test]
fn names_that_are_not_utf8_survive_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let name = OsStr::from_bytes(b"\xff\x1b[31mevil");
    let file = dir.path().join(name);
    std::fs::write(&file, b"x").unwrap();
    let plan = req(&[&file]).plan().unwrap();
    assert!(plan.describe()[0].contains("\\x1b"), "escaped for the terminal");
    let record = plan.apply(&dir.path().join("store")).unwrap();
    let json = serde_json::to_string(&record).unwrap();
    assert!(json.contains("path_b64"), "{json}");
    let back: QuarantineRecord = serde_json::from_str(&json).unwrap();
    back.undo().unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

/// `chattr +i` is what attackers use to make `rm` fail; cordon clears it and sets it again on undo.
#[test]
fn an_immutable_file_is_quarantined_and_made_immutable_again() {
    if !root_or_skip("an_immutable_file_is_quarantined_and_made_immutable_again") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dropped(dir.path(), "rootkit.so", b"\x7fELF...", 0o755);
    let f = std::fs::File::open(&file).unwrap();
    match rustix::fs::ioctl_setflags(&f, IFlags::IMMUTABLE) {
        Ok(()) => {}
        Err(e @ (Errno::NOTTY | Errno::OPNOTSUPP | Errno::INVAL)) => {
            eprintln!("immutable flag test skipped: this filesystem has no inode flags ({e})");
            return;
        }
        Err(e) => panic!("chattr +i: {e}"),
    }
    drop(f);
    assert!(
        std::fs::remove_file(&file).is_err(),
        "immutable files cannot be removed"
    );

    let plan = req(&[&file]).plan().unwrap();
    assert!(plan.describe().join("\n").contains("immutable flag"));
    let record = plan.apply(&dir.path().join("store")).unwrap();
    assert!(!file.exists());
    assert_eq!(record.files[0].flags_cleared, ["immutable"]);

    record.undo().unwrap();
    let f = std::fs::File::open(&file).unwrap();
    let flags = rustix::fs::ioctl_getflags(&f).unwrap();
    assert!(flags.contains(IFlags::IMMUTABLE));
    rustix::fs::ioctl_setflags(&f, flags - IFlags::IMMUTABLE).unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"\x7fELF...");
}
