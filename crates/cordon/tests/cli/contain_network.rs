//! `cordon contain network` against the real kernel: three network namespaces made by the test — the
//! suspect host, the responder (10.202.1.2) and some other machine (10.202.2.2), addresses that exist
//! only inside them — joined by veth pairs. Real TCP connections and pings are tried before, during and
//! after isolation: only the responder gets through while it is in force; without `confirm` the kernel
//! timeout and the watchdog restore everything; `confirm` keeps it; `undo` removes it; a pre-existing
//! table makes the one-batch install fail with nothing half-applied. `nft` is used here only to inspect.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::{BIN, TestCase, ip, stderr, stdout};

static SEQ: AtomicU32 = AtomicU32::new(0);
const PORT: &str = "8022";
const SERVER: &str = "import socket\ns=socket.socket(socket.AF_INET)\n\
s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',8022))\ns.listen(16)\n\
while True:\n    c,_=s.accept()\n    c.sendall(b'ok')\n    c.close()\n";
const CLIENT: &str = "import socket,sys\ntry:\n    s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=1.5)\n    \
sys.exit(0 if s.recv(2)==b'ok' else 1)\nexcept Exception:\n    sys.exit(1)\n";

/// The suspect host, the responder and another machine; deleted on drop, also when a test fails.
struct Lab {
    host: String,
    resp: String,
    other: String,
    servers: Vec<Child>,
}

impl Lab {
    #[allow(clippy::print_stdout)]
    fn new() -> Option<Lab> {
        if !Command::new("nft")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            println!("skipped: the nft program (used by this test to inspect the kernel) is not installed");
            return None;
        }
        let tag = format!("{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
        let lab = Lab {
            host: format!("cordon-host-{tag}"),
            resp: format!("cordon-resp-{tag}"),
            other: format!("cordon-oth-{tag}"),
            servers: Vec::new(),
        };
        if !ip(&["netns", "add", &lab.host]) {
            println!("skipped: cannot create a network namespace (needs root and iproute2)");
            return None;
        }
        assert!(ip(&["netns", "add", &lab.resp]));
        assert!(ip(&["netns", "add", &lab.other]));
        let (h, r, o) = (lab.host.as_str(), lab.resp.as_str(), lab.other.as_str());
        for args in [
            &[
                "-n", h, "link", "add", "h-resp", "type", "veth", "peer", "name", "r0", "netns", r,
            ][..],
            &[
                "-n", h, "link", "add", "h-oth", "type", "veth", "peer", "name", "o0", "netns", o,
            ],
            &["-n", h, "addr", "add", "10.202.1.1/24", "dev", "h-resp"],
            &["-n", h, "addr", "add", "10.202.2.1/24", "dev", "h-oth"],
            &["-n", r, "addr", "add", "10.202.1.2/24", "dev", "r0"],
            &["-n", o, "addr", "add", "10.202.2.2/24", "dev", "o0"],
            &["-n", h, "link", "set", "h-resp", "up"],
            &["-n", h, "link", "set", "h-oth", "up"],
            &["-n", r, "link", "set", "r0", "up"],
            &["-n", o, "link", "set", "o0", "up"],
            &["-n", h, "link", "set", "lo", "up"],
            &["-n", r, "link", "set", "lo", "up"],
            &["-n", o, "link", "set", "lo", "up"],
        ] {
            assert!(ip(args), "ip {args:?} failed");
        }
        let mut lab = lab;
        for ns in [lab.host.clone(), lab.other.clone()] {
            let child = Command::new("ip")
                .args(["netns", "exec", &ns, "python3", "-c", SERVER])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            lab.servers.push(child);
        }
        // Wait until both servers accept.
        let start = Instant::now();
        while !(lab.tcp(&lab.resp, "10.202.1.1") && lab.tcp(&lab.host, "10.202.2.2")) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "test servers did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(lab)
    }

    /// A TCP connection from namespace `from` to `addr`:8022 that gets the server's greeting.
    fn tcp(&self, from: &str, addr: &str) -> bool {
        Command::new("ip")
            .args(["netns", "exec", from, "python3", "-c", CLIENT, addr, PORT])
            .status()
            .is_ok_and(|s| s.success())
    }

    fn ping(&self, from: &str, addr: &str) -> bool {
        Command::new("ip")
            .args(["netns", "exec", from, "ping", "-c", "1", "-W", "1", addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// What can get through, as (responder→host, other→host, host→other).
    fn reach(&self) -> (bool, bool, bool) {
        (
            self.tcp(&self.resp, "10.202.1.1"),
            self.tcp(&self.other, "10.202.2.1"),
            self.tcp(&self.host, "10.202.2.2"),
        )
    }

    /// Runs cordon inside the host namespace, as if the responder had logged in over SSH from `ssh_from`.
    fn cordon(&self, case: &TestCase, ssh_from: &str, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.host, BIN])
            .args(args)
            .env("CORDON_CASE", &case.dir)
            .env("SSH_CONNECTION", format!("{ssh_from} 50522 10.202.1.1 22"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `contain network --allow ALLOW --rollback WINDOW --apply`, run by the responder (10.202.1.2).
    fn isolate(&self, case: &TestCase, allow: &str, window: &str) -> std::process::Output {
        self.cordon(
            case,
            "10.202.1.2",
            &[
                "contain",
                "network",
                "--allow",
                allow,
                "--rollback",
                window,
                "--apply",
            ],
        )
    }

    fn nft_tables(&self) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.host, "nft", "list", "tables"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn nft_table(&self) -> String {
        let out = Command::new("ip")
            .args([
                "netns", "exec", &self.host, "nft", "list", "table", "inet", "cordon",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.servers {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.host, &self.resp, &self.other] {
            ip(&["netns", "del", ns]);
        }
    }
}

fn kinds(case: &TestCase) -> Vec<String> {
    case.journal()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

fn applied_entry(case: &TestCase) -> serde_json::Value {
    case.journal()
        .into_iter()
        .find(|e| e["kind"] == "contain.applied")
        .unwrap()
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

#[test]
fn only_the_responder_gets_through_and_without_confirm_everything_comes_back() {
    let Some(lab) = Lab::new() else { return };
    let case = TestCase::new();
    assert_eq!(
        lab.reach(),
        (true, true, true),
        "before containment everything connects"
    );
    assert!(lab.ping(&lab.other, "10.202.2.1") && lab.ping(&lab.resp, "10.202.1.1"));

    // The dry run changes nothing.
    let dry = lab.cordon(
        &case,
        "10.202.1.2",
        &["contain", "network", "--allow", "10.202.1.2", "--rollback", "6s"],
    );
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert!(
        stdout(&dry).contains("ip saddr 10.202.1.2 accept"),
        "{}",
        stdout(&dry)
    );
    assert!(stdout(&dry).contains("dry run"));
    assert!(!lab.nft_tables().contains("cordon"));
    assert_eq!(lab.reach(), (true, true, true));

    let out = lab.isolate(&case, "10.202.1.2", "6s");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let applied_at = Instant::now();
    assert!(stdout(&out).contains("APPLIED"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("stays open"),
        "the responder's session is recognised: {}",
        stdout(&out)
    );

    // What nft reads back from the kernel is the ruleset the plan showed, in the same order.
    let listed = lab.nft_table();
    let rules: Vec<&str> = listed
        .lines()
        .map(str::trim)
        .filter(|l| l.ends_with("accept") || l.ends_with("drop"))
        .collect();
    assert_eq!(rules.first(), Some(&"iif \"lo\" accept"), "{listed}");
    assert!(rules.contains(&"ip saddr 10.202.1.2 accept"), "{listed}");
    assert!(rules.contains(&"ip daddr 10.202.1.2 accept"), "{listed}");
    assert!(listed.contains("timeout 6s expires"), "{listed}");

    let during = lab.reach();
    assert_eq!(
        during,
        (true, false, false),
        "only the responder gets through while isolated"
    );
    assert!(lab.ping(&lab.resp, "10.202.1.1"), "the responder can ping");
    assert!(!lab.ping(&lab.other, "10.202.2.1"), "the other machine cannot");
    let status = lab.cordon(&case, "10.202.1.2", &["contain", "status"]);
    assert!(
        stdout(&status).contains("automatic rollback in"),
        "{}",
        stdout(&status)
    );
    assert!(
        applied_at.elapsed() < Duration::from_secs(6),
        "checks took longer than the window"
    );

    // No confirm: after the window everything works again, and the watchdog journaled the rollback.
    assert!(wait_until(Duration::from_secs(15), || kinds(&case)
        .contains(&"contain.rolled-back".to_string())));
    assert!(
        !lab.nft_tables().contains("cordon"),
        "the watchdog removed the table"
    );
    assert_eq!(
        lab.reach(),
        (true, true, true),
        "everything connects again after the rollback"
    );
    let status = stdout(&lab.cordon(&case, "10.202.1.2", &["contain", "status"]));
    assert!(status.contains("rolled back"), "{status}");
    // The chain of the journal still verifies with the watchdog's entries in it.
    case.ok(&["case", "verify"]);
}

#[test]
fn confirm_keeps_the_isolation_and_undo_restores_it() {
    let Some(lab) = Lab::new() else { return };
    let case = TestCase::new();
    let out = lab.isolate(&case, "10.202.1.0/24", "4s");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ok = lab.cordon(&case, "10.202.1.2", &["contain", "confirm"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        lab.reach(),
        (true, false, false),
        "confirmed isolation outlives the rollback window"
    );
    assert!(
        lab.nft_table().contains("elements = { ipv4, ipv6 }"),
        "{}",
        lab.nft_table()
    );
    let status = stdout(&lab.cordon(&case, "10.202.1.2", &["contain", "status"]));
    assert!(status.contains("confirmed"), "{status}");
    assert!(
        !kinds(&case).contains(&"contain.rolled-back".to_string()),
        "the watchdog stood down"
    );
    let overview = case.ok(&["status"]);
    assert!(
        overview.contains("network confirmed: allow 10.202.1.0/24"),
        "{overview}"
    );

    let undo = lab.cordon(&case, "10.202.1.2", &["contain", "undo", "network"]);
    assert_eq!(undo.status.code(), Some(0), "{}", stderr(&undo));
    assert_eq!(lab.reach(), (true, true, true), "undo restores the network");
    assert!(!lab.nft_tables().contains("cordon"));
    let k = kinds(&case);
    for kind in [
        "contain.apply",
        "contain.applied",
        "contain.confirmed",
        "contain.undo",
        "contain.undone",
    ] {
        assert!(k.contains(&kind.to_string()), "{kind} journaled: {k:?}");
    }
    // Nothing left to undo: a clear refusal.
    let again = lab.cordon(&case, "10.202.1.2", &["contain", "undo", "network"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("nothing in force"), "{}", stderr(&again));
}

#[test]
fn the_kernel_rolls_back_even_when_the_watchdog_is_killed() {
    let Some(lab) = Lab::new() else { return };
    let case = TestCase::new();
    let out = lab.isolate(&case, "10.202.1.2", "4s");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pid = applied_entry(&case)["data"]["watchdog_pid"]
        .as_u64()
        .expect("watchdog pid journaled");
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the watchdog runs detached"
    );
    assert!(
        Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(lab.reach(), (true, false, false));
    assert!(
        wait_until(Duration::from_secs(10), || lab.reach() == (true, true, true)),
        "the kernel timeout restored traffic"
    );
    let status = stdout(&lab.cordon(&case, "10.202.1.2", &["contain", "status"]));
    assert!(status.contains("disarmed"), "{status}");
    let confirm = lab.cordon(&case, "10.202.1.2", &["contain", "confirm"]);
    assert_eq!(confirm.status.code(), Some(2), "too late to confirm");
    assert!(
        stderr(&confirm).contains("rollback window has passed"),
        "{}",
        stderr(&confirm)
    );
    let undo = lab.cordon(&case, "10.202.1.2", &["contain", "undo", "network"]);
    assert_eq!(undo.status.code(), Some(0), "{}", stderr(&undo));
    assert!(!lab.nft_tables().contains("cordon"));
}

/// `confirm` changes the kernel first and journals second. A watchdog reaching its deadline between
/// the two must not remove an isolation the kernel holds as confirmed.
#[test]
fn the_watchdog_leaves_an_isolation_the_kernel_holds_as_confirmed() {
    let Some(lab) = Lab::new() else { return };
    let case = TestCase::new();
    let out = lab.isolate(&case, "10.202.1.2", "4s");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // What `confirm` does in the kernel, without its journal entry (yet).
    let swapped = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.host,
            "nft",
            "delete element inet cordon armed { ipv4, ipv6 }; add element inet cordon armed { ipv4, ipv6 }",
        ])
        .status()
        .unwrap();
    assert!(swapped.success());
    let pid = applied_entry(&case)["data"]["watchdog_pid"].as_u64().unwrap();
    assert!(
        wait_until(Duration::from_secs(12), || !Path::new(&format!("/proc/{pid}"))
            .exists()),
        "the watchdog ends after its deadline"
    );
    assert!(
        lab.nft_table().contains("elements = { ipv4, ipv6 }"),
        "the confirmed table is still there: {}",
        lab.nft_tables()
    );
    assert_eq!(lab.reach(), (true, false, false));
    assert!(!kinds(&case).contains(&"contain.rolled-back".to_string()));
    let undo = lab.cordon(&case, "10.202.1.2", &["contain", "undo", "network"]);
    assert_eq!(undo.status.code(), Some(0), "{}", stderr(&undo));
    assert!(!lab.nft_tables().contains("cordon"));
}

/// The largest allowlist the plan accepts is one batch of over a thousand messages: more than the
/// default socket buffers hold (the kernel refuses the datagram whole, or drops acknowledgements).
#[test]
fn the_largest_allowlist_is_installed_in_one_batch() {
    let Some(lab) = Lab::new() else { return };
    let case = TestCase::new();
    let mut allow: Vec<String> = (0..255)
        .map(|i| format!("10.203.{}.{}", i / 200, i % 200 + 1))
        .collect();
    allow.push("10.202.1.2".into());
    let allow = allow.join(",");
    let out = lab.cordon(
        &case,
        "10.202.1.2",
        &[
            "contain",
            "network",
            "--allow",
            &allow,
            "--rollback",
            "60s",
            "--apply",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = lab.nft_table();
    assert!(listed.contains("ip saddr 10.203.1.55 accept"), "{listed}");
    assert_eq!(lab.reach(), (true, false, false));
    let undo = lab.cordon(&case, "10.202.1.2", &["contain", "undo", "network"]);
    assert_eq!(undo.status.code(), Some(0), "{}", stderr(&undo));
    assert!(!lab.nft_tables().contains("cordon"));
}

#[test]
fn unsafe_requests_are_refused_and_a_failed_batch_applies_nothing() {
    let Some(lab) = Lab::new() else { return };
    let case = TestCase::new();
    // The responder's own connection would be cut.
    let out = lab.cordon(
        &case,
        "10.202.1.2",
        &["contain", "network", "--allow", "10.202.2.2", "--apply"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("10.202.1.2") && stderr(&out).contains("cut you off"),
        "{}",
        stderr(&out)
    );
    // After `sudo` the variable is gone from cordon's own environment: the session is still found in
    // the environment of the shell that started it.
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.host, "sh", "-c"])
        .arg(format!(
            "env -u SSH_CONNECTION {BIN} contain network --allow 10.202.2.2 --apply; true"
        ))
        .env("CORDON_CASE", &case.dir)
        .env("SSH_CONNECTION", "10.202.1.2 50522 10.202.1.1 22")
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("cut you off") && stderr(&out).contains("(sh)"),
        "{}",
        stderr(&out)
    );
    // Without the variable anywhere, the SSH connections open now decide: the only one (from the
    // other machine, to port 22) would be cut, so cordon refuses rather than guess.
    let held = [
        (
            "host",
            "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
s.bind(('0.0.0.0',22))\ns.listen(1)\nc,_=s.accept()\ntime.sleep(60)\n",
        ),
        (
            "other",
            concat!(
                "import socket,time\nfor i in range(100):\n    try:\n",
                "        s=socket.create_connection(('10.202.2.1',22),timeout=1)\n        break\n",
                "    except OSError:\n        time.sleep(0.1)\ntime.sleep(60)\n",
            ),
        ),
    ];
    let mut holders: Vec<std::process::Child> = held
        .iter()
        .map(|(which, code)| {
            let ns = if *which == "host" { &lab.host } else { &lab.other };
            Command::new("ip")
                .args(["netns", "exec", ns, "python3", "-c", code])
                .spawn()
                .unwrap()
        })
        .collect();
    let established = wait_until(Duration::from_secs(10), || {
        let tcp = Command::new("ip")
            .args(["netns", "exec", &lab.host, "cat", "/proc/net/tcp"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&tcp.stdout)
            .lines()
            .any(|l| l.contains(":0016 ") && l.split_whitespace().nth(3) == Some("01"))
    });
    // A dry run: the refusal comes from the plan itself.
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.host,
            BIN,
            "contain",
            "network",
            "--allow",
            "10.202.1.2",
        ])
        .env("CORDON_CASE", &case.dir)
        .env_remove("SSH_CONNECTION")
        .output()
        .unwrap();
    let refused = out.status.code() == Some(2) && stderr(&out).contains("from 10.202.2.2");
    for h in &mut holders {
        let _ = h.kill();
        let _ = h.wait();
    }
    assert!(established, "the test's SSH-port connection was not established");
    assert!(
        refused,
        "an open SSH connection that would be cut stops an unidentified responder: {}",
        stderr(&out)
    );
    assert!(!lab.nft_tables().contains("cordon"));
    // An empty allowlist.
    let out = lab.cordon(&case, "10.202.1.2", &["contain", "network", "--apply"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("empty allowlist"), "{}", stderr(&out));
    assert!(!lab.nft_tables().contains("cordon"));
    assert_eq!(lab.reach(), (true, true, true));

    // Someone else's `inet cordon` table: the batch fails as a whole; their table is left as it was.
    let mk = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.host,
            "nft",
            "add table inet cordon; add chain inet cordon mine",
        ])
        .status()
        .unwrap();
    assert!(mk.success());
    let before = lab.nft_table();
    let out = lab.cordon(
        &case,
        "10.202.1.2",
        &["contain", "network", "--allow", "10.202.1.2", "--apply"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert!(stderr(&out).contains("NOT applied"), "{}", stderr(&out));
    assert_eq!(lab.nft_table(), before, "nothing half-applied");
    assert_eq!(lab.reach(), (true, true, true));
    assert!(kinds(&case).contains(&"contain.failed".to_string()));
}
