//! `cordon image` and `cordon memory`: images of files and loop devices made here, compared with
//! `sha256sum`/`md5sum`, split and zstd outputs restored with stock tools, the source left untouched,
//! a full destination, and the memory refusal paths of this kernel.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{TestCase, stderr, stdout};

fn tool_hash(tool: &str, path: &Path) -> String {
    let out = Command::new(tool).arg(path).output().unwrap();
    assert!(out.status.success(), "{tool} failed");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn source_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    // Mixed content: compressible runs and pseudo-random bytes.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let data: Vec<u8> = (0..len)
        .map(|i| {
            if (i / 65536) % 3 == 0 {
                (i / 4096) as u8
            } else {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            }
        })
        .collect();
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// (atime, mtime, ctime, size, inode) in nanoseconds.
fn times(p: &Path) -> (i64, i64, i64, i64, i64, i64, u64, u64) {
    let m = std::fs::metadata(p).unwrap();
    (
        m.atime(),
        m.atime_nsec(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        m.size(),
        m.ino(),
    )
}

fn items(t: &TestCase) -> Vec<serde_json::Value> {
    t.ok(&["evidence", "list", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn file_image_hashes_match_coreutils_and_the_source_is_untouched() {
    let t = TestCase::new();
    let src = source_file(t.parent.path(), "disk.img", 9 * 1024 * 1024 + 1234);
    // Make sure the atime is older than "now", so a read that updated it would show.
    Command::new("touch")
        .args(["-a", "-d", "2020-01-01 00:00:00"])
        .arg(&src)
        .status()
        .unwrap();
    let before = times(&src);
    let out = t.ok(&[
        "image",
        src.to_str().unwrap(),
        "--hash",
        "sha256,md5,sha1",
        "--verify",
    ]);
    assert_eq!(times(&src), before, "source metadata (incl. atime) unchanged");
    let sha = tool_hash("sha256sum", &src);
    let md5 = tool_hash("md5sum", &src);
    let sha1 = tool_hash("sha1sum", &src);
    assert!(out.contains(&format!("sha256  {sha}")), "{out}");
    assert!(out.contains(&format!("md5     {md5}")), "{out}");
    assert!(out.contains(&format!("sha1    {sha1}")), "{out}");
    assert!(out.contains("verify: source and image hashes match"), "{out}");

    let list = items(&t);
    assert_eq!(list.len(), 1);
    let item = &list[0];
    assert_eq!(item["kind"], "disk-image");
    assert_eq!(item["custody"][0]["action"], "acquired");
    let file = item["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("/image.raw"))
        .unwrap();
    let image = t.dir.join(file["path"].as_str().unwrap());
    assert_eq!(tool_hash("sha256sum", &image), sha);
    assert_eq!(file["sha256"], sha.as_str());
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(image.with_file_name("acquisition.json")).unwrap()).unwrap();
    assert_eq!(log["complete"], true);
    assert_eq!(log["hashes"]["md5"], md5.as_str());
    assert_eq!(log["error_map"].as_array().unwrap().len(), 0);
    assert_eq!(log["source_changed"], false);
    assert_eq!(log["verify"]["matches"], true);
    // The playbook task is ticked and `case verify` re-hashes the image.
    let tasks = t.ok(&["task", "list"]);
    assert!(
        tasks
            .lines()
            .any(|l| l.starts_with("[x]") && l.contains("(image)")),
        "{tasks}"
    );
    t.ok(&["case", "verify"]);
}

#[test]
fn split_parts_concatenate_and_zstd_decompresses_with_the_stock_tool() {
    let t = TestCase::new();
    let src = source_file(t.parent.path(), "part.img", 7 * 1024 * 1024 + 77);
    let sha = tool_hash("sha256sum", &src);

    t.ok(&["image", src.to_str().unwrap(), "--split", "2M"]);
    let raw = &items(&t)[0];
    let parts: Vec<PathBuf> = raw["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| t.dir.join(f["path"].as_str().unwrap()))
        .filter(|p| !p.ends_with("acquisition.json"))
        .collect();
    assert_eq!(parts.len(), 4, "{parts:?}");
    assert!(parts[0].to_str().unwrap().ends_with("image.raw.001"));
    let mut joined = Vec::new();
    for p in &parts {
        let bytes = std::fs::read(p).unwrap();
        assert!(bytes.len() <= 2 * 1024 * 1024);
        joined.extend(bytes);
    }
    assert_eq!(joined, std::fs::read(&src).unwrap());

    let out = t.ok(&[
        "image",
        src.to_str().unwrap(),
        "--compress",
        "zstd",
        "--split",
        "1M",
        "--verify",
    ]);
    assert!(out.contains(&sha) && out.contains("hashes match"), "{out}");
    let z = &items(&t)[1];
    let zparts: Vec<String> = z["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            t.dir
                .join(f["path"].as_str().unwrap())
                .to_str()
                .unwrap()
                .to_owned()
        })
        .filter(|p| p.contains(".zst."))
        .collect();
    assert!(zparts.len() >= 2, "{zparts:?}");
    let restored = t.parent.path().join("restored.img");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cat {} | zstd -q -d -o {}",
            zparts.join(" "),
            restored.display()
        ))
        .status()
        .unwrap();
    assert!(status.success(), "zstd -d failed");
    assert_eq!(tool_hash("sha256sum", &restored), sha);
}

#[test]
fn loop_device_image_matches_the_backing_file() {
    let t = TestCase::new();
    let src = source_file(t.parent.path(), "loop.img", 6 * 1024 * 1024);
    let out = Command::new("losetup")
        .args(["-r", "-f", "--show"])
        .arg(&src)
        .output();
    let dev = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        Ok(o) => {
            println!(
                "skipped: losetup refused ({})",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return;
        }
        Err(e) => {
            println!("skipped: losetup not available ({e})");
            return;
        }
    };
    let result = t.run(&["image", &dev, "--hash", "sha256,md5", "--verify"]);
    let _ = Command::new("losetup").args(["-d", &dev]).status();
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}{}",
        stdout(&result),
        stderr(&result)
    );
    let out = stdout(&result);
    assert!(out.contains(&tool_hash("sha256sum", &src)), "{out}");
    assert!(out.contains(&tool_hash("md5sum", &src)), "{out}");
    let item = &items(&t)[0];
    assert_eq!(item["source"], dev.as_str());
    let log = &item["details"];
    if log.is_object() {
        assert_eq!(log["source_kind"], "block_device");
    }
}

#[test]
fn device_mapper_error_target_is_mapped_exactly() {
    // Needs the kernel's device-mapper; the same behaviour is covered by the engine's unit tests with
    // a fault-injecting reader.
    let ok = Command::new("dmsetup").arg("targets").output();
    match ok {
        Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).contains("error") => {}
        Ok(o) => {
            println!(
                "skipped: no device-mapper error target on this kernel: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .unwrap_or("dmsetup targets failed")
            );
            return;
        }
        Err(e) => {
            println!("skipped: dmsetup not available ({e})");
            return;
        }
    }
    let t = TestCase::new();
    let src = source_file(t.parent.path(), "dm.img", 4 * 1024 * 1024);
    let lo = Command::new("losetup")
        .args(["-r", "-f", "--show"])
        .arg(&src)
        .output()
        .unwrap();
    let lo = String::from_utf8_lossy(&lo.stdout).trim().to_owned();
    let name = format!("cordon-test-{}", std::process::id());
    // 8192 sectors: 0..100 good, 100..108 error, 108..8192 good.
    let table = format!("0 100 linear {lo} 0\n100 8 error\n108 8084 linear {lo} 108\n");
    let created = Command::new("dmsetup")
        .args(["create", &name])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin.take().unwrap().write_all(table.as_bytes())?;
            c.wait()
        });
    if !created.map(|s| s.success()).unwrap_or(false) {
        let _ = Command::new("losetup").args(["-d", &lo]).status();
        println!("skipped: dmsetup create failed");
        return;
    }
    let dev = format!("/dev/mapper/{name}");
    let result = t.run(&["image", &dev, "--retries", "0"]);
    let _ = Command::new("dmsetup").args(["remove", &name]).status();
    let _ = Command::new("losetup").args(["-d", &lo]).status();
    assert_eq!(result.status.code(), Some(1), "{}", stderr(&result));
    let out = stdout(&result);
    assert!(out.contains("completed with errors"), "{out}");
    assert!(out.contains("sectors 100..108"), "{out}");
}

#[test]
fn a_full_destination_leaves_an_incomplete_image_that_is_never_registered() {
    let t = TestCase::new();
    let src = source_file(t.parent.path(), "big.img", 24 * 1024 * 1024);
    let small = t.parent.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "cordon-test-full"])
        .arg(&small)
        .status();
    if !mounted.map(|s| s.success()).unwrap_or(false) {
        println!("skipped: cannot mount a small tmpfs here (not root?)");
        return;
    }
    let result = t.run(&["image", src.to_str().unwrap(), small.to_str().unwrap()]);
    let listing: Vec<String> = std::fs::read_dir(&small)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let _ = Command::new("umount").arg(&small).status();
    assert_eq!(result.status.code(), Some(2), "{}", stdout(&result));
    let err = stderr(&result);
    assert!(
        err.contains("INCOMPLETE") && err.contains("No space left"),
        "{err}"
    );
    assert!(listing.iter().any(|n| n.ends_with(".incomplete")), "{listing:?}");
    assert!(items(&t).is_empty(), "an incomplete image is never registered");
    let journal = t.journal();
    let entry = journal
        .iter()
        .find(|e| e["kind"] == "evidence.incomplete")
        .expect("journaled");
    assert_eq!(entry["data"]["complete"], false);
}

#[test]
fn a_destination_on_the_imaged_device_is_refused() {
    let t = TestCase::new();
    let src = source_file(t.parent.path(), "self.img", 4 * 1024 * 1024);
    let lo = match Command::new("losetup")
        .args(["-r", "-f", "--show"])
        .arg(&src)
        .output()
    {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => {
            println!("skipped: losetup not available");
            return;
        }
    };
    // The destination's filesystem is on the root disk; imaging the root disk itself must be refused.
    let root_dev = std::fs::metadata("/").unwrap().dev();
    let _ = Command::new("losetup").args(["-d", &lo]).status();
    let major = (root_dev >> 8) & 0xfff;
    let minor = (root_dev & 0xff) | ((root_dev >> 12) & 0xfff00);
    let uevent =
        std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/uevent")).unwrap_or_default();
    let Some(name) = uevent.lines().find_map(|l| l.strip_prefix("DEVNAME=")) else {
        println!("skipped: the root filesystem is not on a block device ({major}:{minor})");
        return;
    };
    let dev_path = format!("/dev/{name}");
    if !Path::new(&dev_path).exists() {
        println!("skipped: {dev_path} does not exist");
        return;
    }
    let here = std::env::current_dir().unwrap();
    if std::fs::metadata(&here).unwrap().dev() != root_dev {
        println!("skipped: the working directory is not on the root filesystem");
        return;
    }
    let result = t.run(&["image", &dev_path, here.to_str().unwrap()]);
    if stderr(&result).contains("Operation not permitted") {
        println!("skipped: this environment does not allow opening {dev_path} at all");
        return;
    }
    assert_eq!(result.status.code(), Some(2));
    assert!(
        stderr(&result).contains("refusing to write the image"),
        "{}",
        stderr(&result)
    );
    assert!(items(&t).is_empty());
}

#[test]
fn memory_refusal_names_each_interface_and_why() {
    if Path::new("/proc/kcore").exists() || Path::new("/dev/mem").exists() || Path::new("/dev/crash").exists()
    {
        println!(
            "skipped: this kernel exposes a memory interface; the refusal path is covered where it does not"
        );
        return;
    }
    let t = TestCase::new();
    let out = t.run(&["memory"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for needle in [
        "/dev/crash",
        "/proc/kcore",
        "/dev/mem",
        "CONFIG_PROC_KCORE",
        "alternatives:",
        "nothing was written",
    ] {
        assert!(err.contains(needle), "missing {needle}: {err}");
    }
    assert!(items(&t).is_empty());
}
