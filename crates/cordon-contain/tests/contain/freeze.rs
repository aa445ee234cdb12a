//! Freezing live processes: a busy loop stands in for a miner.

use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use cordon_contain::Error;
use cordon_contain::freeze::{FreezeMethod, FreezeRecord, FreezeRequest, Outcome, kill_frozen};

use crate::common::root_or_skip;

/// A child that burns CPU in user mode, killed when dropped.
struct Busy(Child);

impl Busy {
    fn start() -> Busy {
        let child = Command::new("sh")
            .arg("-c")
            .arg("while :; do :; done")
            .spawn()
            .unwrap();
        let busy = Busy(child);
        // Let it get going, so the first CPU reading is not zero.
        let t0 = busy.cpu();
        let deadline = Instant::now() + Duration::from_secs(5);
        while busy.cpu() == t0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        busy
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.0.id()).unwrap()
    }

    fn stat(&self) -> cordon_host::procfs::ProcStat {
        let bytes = std::fs::read(format!("/proc/{}/stat", self.pid())).unwrap();
        cordon_host::procfs::parse_stat(&bytes).unwrap()
    }

    /// User plus system CPU time in clock ticks.
    fn cpu(&self) -> u64 {
        let s = self.stat();
        s.utime + s.stime
    }

    /// True when its CPU time grows within a few seconds (a loaded machine may starve it briefly).
    fn runs(&self) -> bool {
        let t0 = self.cpu();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            if self.cpu() > t0 {
                return true;
            }
        }
        false
    }

    /// True when its CPU time does not move over 300 ms and it is still alive.
    fn stays_still(&mut self) -> bool {
        let t0 = self.cpu();
        std::thread::sleep(Duration::from_millis(300));
        self.0.try_wait().unwrap().is_none() && self.cpu() == t0
    }

    /// Waits for it to exit and returns the signal that ended it.
    fn wait_signal(&mut self) -> Option<i32> {
        self.0.wait().unwrap().signal()
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn req(pids: &[i32]) -> FreezeRequest {
    FreezeRequest {
        pids: pids.to_vec(),
        cgroup: false,
        kill: false,
    }
}

#[test]
fn stops_a_busy_process_thaws_it_and_kills_it_only_while_frozen() {
    let mut busy = Busy::start();
    let plan = req(&[busy.pid()]).plan().unwrap();
    let text = plan.describe().join("\n");
    assert!(text.contains("with SIGSTOP"), "{text}");
    assert!(text.contains("while :; do :; done"), "{text}");

    let record = plan.apply().unwrap();
    assert_eq!(record.method, FreezeMethod::Signal);
    assert_eq!(busy.stat().state, 'T');
    assert!(busy.stays_still(), "a stopped process uses no CPU");
    let p = &record.processes[0].process;
    assert_eq!(p.pid, busy.pid());
    assert_eq!(p.starttime, busy.stat().starttime);
    assert!(
        p.exe
            .as_deref()
            .is_some_and(|e| e.ends_with("sh") || e.contains("dash") || e.contains("bash"))
    );
    assert!(
        record.processes[0].exe_sha256.is_some(),
        "the executable was hashed"
    );

    let back: FreezeRecord = serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
    let lines = back.undo().unwrap();
    assert!(lines[0].starts_with("resumed pid"), "{lines:?}");
    assert!(busy.runs(), "thawed, it runs again");

    // Not frozen any more: kill_frozen leaves it alone.
    let report = kill_frozen(&record).unwrap();
    assert!(
        matches!(report.processes[0].outcome, Outcome::NotFrozen(_)),
        "{report:?}"
    );
    assert!(busy.0.try_wait().unwrap().is_none());

    // Frozen again, it is killed.
    let record = req(&[busy.pid()]).plan().unwrap().apply().unwrap();
    let report = kill_frozen(&record).unwrap();
    assert_eq!(report.processes[0].outcome, Outcome::Killed);
    assert_eq!(busy.wait_signal(), Some(9));
    assert!(record.undo().unwrap().iter().any(|l| l.contains("has exited")));
}

#[test]
fn freeze_then_kill_in_one_request() {
    let mut busy = Busy::start();
    let mut r = req(&[busy.pid()]);
    r.kill = true;
    let plan = r.plan().unwrap();
    assert!(plan.describe().join("\n").contains("KILLED"));
    let record = plan.apply().unwrap();
    assert_eq!(
        record.kill.as_ref().unwrap().processes[0].outcome,
        Outcome::Killed
    );
    assert_eq!(busy.wait_signal(), Some(9));
    assert!(
        record
            .undo()
            .unwrap()
            .iter()
            .any(|l| l.contains("cannot be revived"))
    );
}

#[test]
fn a_reused_pid_is_never_signalled() {
    let busy = Busy::start();
    let mut record = req(&[busy.pid()]).plan().unwrap().apply().unwrap();
    // Pretend the recorded process started at another time: the pid now names "another" process.
    record.processes[0].process.starttime += 1;
    let report = kill_frozen(&record).unwrap();
    assert_eq!(report.processes[0].outcome, Outcome::PidReused);
    let lines = record.undo().unwrap();
    assert!(lines[0].contains("another process"), "{lines:?}");
    assert_eq!(busy.stat().state, 'T', "left as it was");
}

#[test]
fn refuses_itself_its_ancestors_init_and_vanished_pids() {
    let me = i32::try_from(std::process::id()).unwrap();
    let e = req(&[me]).plan().unwrap_err();
    assert!(matches!(e, Error::Refused(_)), "{e}");
    assert!(e.to_string().contains("cordon itself"), "{e}");

    let parent = i32::try_from(std::os::unix::process::parent_id()).unwrap();
    if parent > 1 {
        let e = req(&[parent]).plan().unwrap_err();
        assert!(e.to_string().contains("ancestor"), "{e}");
    }

    let e = req(&[1]).plan().unwrap_err();
    assert!(e.to_string().contains("pid 1 is init"), "{e}");

    let mut gone = Command::new("true").spawn().unwrap();
    let pid = i32::try_from(gone.id()).unwrap();
    gone.wait().unwrap();
    let e = req(&[pid]).plan().unwrap_err();
    assert_eq!(e.to_string(), format!("refused: no such process: pid {pid}"));

    assert!(req(&[]).plan().is_err());
    assert!(req(&[-5]).plan().is_err());
    // kthreadd (pid 2) is a kernel thread where the test sees the host's pid namespace.
    if let Ok(stat) = std::fs::read("/proc/2/stat")
        && cordon_host::procfs::parse_stat(&stat).is_some_and(|s| s.is_kernel_thread())
    {
        let e = req(&[2]).plan().unwrap_err();
        assert!(e.to_string().contains("kernel thread"), "{e}");
    }
}

/// The cgroup v2 freezer: a cgroup made for the test holds the busy child.
#[test]
fn freezes_and_thaws_a_cgroup() {
    if !root_or_skip("freezes_and_thaws_a_cgroup") {
        return;
    }
    let Some(mount) = cgroup2_mount() else {
        eprintln!("freezes_and_thaws_a_cgroup: skipped, no cgroup2 file system is mounted (cgroup v1 only)");
        return;
    };
    let name = format!("cordon-test-{}", std::process::id());
    let dir = mount.join(&name);
    if let Err(e) = std::fs::create_dir(&dir) {
        eprintln!(
            "freezes_and_thaws_a_cgroup: skipped, cannot create a cgroup in {}: {e}",
            mount.display()
        );
        return;
    }
    let cleanup = Cleanup(dir.clone());
    if !dir.join("cgroup.freeze").exists() {
        eprintln!("freezes_and_thaws_a_cgroup: skipped, the kernel has no cgroup v2 freezer");
        return;
    }
    let mut busy = Busy::start();
    std::fs::write(dir.join("cgroup.procs"), busy.pid().to_string()).unwrap();

    let mut r = req(&[busy.pid()]);
    r.cgroup = true;
    let plan = r.plan().unwrap();
    assert_eq!(plan.cgroups.len(), 1);
    assert_eq!(plan.cgroups[0].path, format!("/{name}").into_bytes());
    let record = plan.apply().unwrap();
    assert_eq!(record.method, FreezeMethod::Cgroup);
    assert!(
        std::fs::read_to_string(dir.join("cgroup.events"))
            .unwrap()
            .contains("frozen 1")
    );
    assert!(busy.stays_still());

    let lines = record.undo().unwrap();
    assert!(lines[0].starts_with("thawed cgroup"), "{lines:?}");
    assert!(busy.runs());
    assert!(matches!(
        kill_frozen(&record).unwrap().processes[0].outcome,
        Outcome::NotFrozen(_)
    ));

    let record = r.plan().unwrap().apply().unwrap();
    assert_eq!(
        kill_frozen(&record).unwrap().processes[0].outcome,
        Outcome::Killed
    );
    assert_eq!(busy.wait_signal(), Some(9));
    record.undo().unwrap();
    drop(cleanup);

    // The test's own cgroup holds the test: freezing it is refused.
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    if own.lines().any(|l| l.starts_with("0::/") && l != "0::/") {
        let me = Busy::start();
        let mut r = req(&[me.pid()]);
        r.cgroup = true;
        let e = r.plan().unwrap_err();
        assert!(e.to_string().contains("freeze you"), "{e}");
    }
}

#[test]
fn without_cgroup_v2_the_refusal_says_so() {
    let busy = Busy::start();
    let own = std::fs::read_to_string(format!("/proc/{}/cgroup", busy.pid())).unwrap();
    let mut r = req(&[busy.pid()]);
    r.cgroup = true;
    if cgroup2_mount().is_none() {
        let e = r.plan().unwrap_err();
        assert!(
            e.to_string().contains("cgroup v2 freezing is not available"),
            "{e}"
        );
    } else if own.lines().any(|l| l == "0::/") {
        let e = r.plan().unwrap_err();
        assert!(e.to_string().contains("root cgroup"), "{e}");
    } else {
        eprintln!("without_cgroup_v2_the_refusal_says_so: nothing to check here (cgroup v2 present)");
    }
}

fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = cordon_host::mounts::read_own_mountinfo().ok()?;
    mounts
        .iter()
        .find(|m| m.fs_type == "cgroup2" && m.root == b"/")
        .map(|m| PathBuf::from(std::ffi::OsStr::from_bytes(&m.mount_point)))
}

/// Removes the test cgroup (once empty).
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::write(self.0.join("cgroup.freeze"), "0");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::remove_dir(&self.0).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
