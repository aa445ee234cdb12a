//! `cordon capture`: traffic sent between two network namespaces made by the test (a veth pair,
//! 10.201.0.0/24 inside them only) is captured by the real binary running in one of them, and
//! `tshark -r` reads back the same packets and payloads; filters keep exactly the expected packets;
//! the pcapng is registered with a hash equal to `sha256sum`'s and custody; refusals exit 2.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{BIN, TestCase, ip, stderr, stdout};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Two namespaces joined by a veth pair; deleted on drop, also when the test fails.
struct Netns {
    capture: String,
    sender: String,
}

impl Netns {
    /// `None` (with the reason printed) when this machine cannot make namespaces.
    #[allow(clippy::print_stdout)]
    fn new() -> Option<Netns> {
        let tag = format!("{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
        let ns = Netns {
            capture: format!("cordon-cap-{tag}"),
            sender: format!("cordon-snd-{tag}"),
        };
        if !ip(&["netns", "add", &ns.capture]) {
            println!("skipped: cannot create a network namespace (needs root and iproute2)");
            return None;
        }
        assert!(ip(&["netns", "add", &ns.sender]));
        let (c, s) = (ns.capture.as_str(), ns.sender.as_str());
        for args in [
            &[
                "-n", c, "link", "add", "cap0", "type", "veth", "peer", "name", "snd0", "netns", s,
            ][..],
            &["-n", c, "addr", "add", "10.201.0.1/24", "dev", "cap0"],
            &["-n", s, "addr", "add", "10.201.0.2/24", "dev", "snd0"],
            &["-n", c, "link", "set", "cap0", "up"],
            &["-n", s, "link", "set", "snd0", "up"],
            &["-n", c, "link", "set", "lo", "up"],
            &["-n", s, "link", "set", "lo", "up"],
        ] {
            assert!(ip(args), "ip {args:?} failed");
        }
        Some(ns)
    }

    /// Sends UDP datagrams `cordon-PORT-I` to 10.201.0.1 from the sender namespace, 20 ms apart.
    fn send(&self, ports: &[u16], n: usize) {
        let script = format!(
            "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
             for i in range({n}):\n  for p in {ports:?}:\n    s.sendto(b'cordon-%d-%d' % (p, i), ('10.201.0.1', p))\n    time.sleep(0.02)\n"
        );
        let st = Command::new("ip")
            .args(["netns", "exec", &self.sender, "python3", "-c", &script])
            .status()
            .unwrap();
        assert!(st.success(), "sender failed");
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        ip(&["netns", "del", &self.capture]);
        ip(&["netns", "del", &self.sender]);
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `cordon capture ARGS` inside the capture namespace; `traffic` runs once it is listening.
fn capture_in(t: &TestCase, ns: &Netns, args: &[&str], traffic: impl FnOnce()) -> Run {
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.capture, BIN, "capture"])
        .args(args)
        .env("CORDON_CASE", &t.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        head.push_str(&line);
        if line.contains("listening on") {
            break;
        }
    }
    assert!(head.contains("listening on"), "capture did not start: {head}");
    traffic();
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).unwrap();
        s
    });
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code(),
        stdout: stdout(&out),
        stderr: head + &rest.join().unwrap(),
    }
}

fn items(t: &TestCase) -> Vec<serde_json::Value> {
    t.ok(&["evidence", "list", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The registered pcapng (path, sha256 recorded) of the only capture item.
fn pcap_of(t: &TestCase) -> (PathBuf, String, serde_json::Value) {
    let items = items(t);
    let item = items
        .iter()
        .find(|i| i["kind"] == "network-capture")
        .expect("a network-capture item");
    let file = item["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("/capture.pcapng"))
        .unwrap();
    (
        t.dir.join(file["path"].as_str().unwrap()),
        file["sha256"].as_str().unwrap().to_owned(),
        item.clone(),
    )
}

/// `tshark -r FILE -T fields -e F…`, one Vec per packet.
fn tshark(file: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(file).args(["-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .expect("tshark is needed (scripts/test.sh installs it)");
    assert!(out.status.success(), "tshark failed: {}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

fn payload(port: u16, i: usize) -> String {
    hex::encode(format!("cordon-{port}-{i}"))
}

#[test]
fn capture_between_namespaces_is_read_back_by_tshark_and_registered() {
    let Some(ns) = Netns::new() else { return };
    let t = TestCase::new();
    let run = capture_in(&t, &ns, &["--iface", "cap0", "--duration", "4s"], || {
        ns.send(&[9999, 9998], 5)
    });
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let (pcap, sha, item) = pcap_of(&t);
    // The recorded hash is the file's.
    let sum = Command::new("sha256sum").arg(&pcap).output().unwrap();
    assert_eq!(stdout(&sum).split_whitespace().next().unwrap(), sha);
    assert!(run.stdout.contains(&sha), "{}", run.stdout);
    assert_eq!(item["custody"][0]["action"], "acquired");
    t.ok(&["case", "verify"]);

    // Every datagram, with its payload, in the order sent; nothing filtered (ARP, ICMP are there too).
    let all = tshark(&pcap, &["frame.protocols", "udp.dstport", "udp.payload"]);
    let udp: Vec<(String, String)> = all
        .iter()
        // (ICMP port-unreachable replies quote the datagrams; only bare UDP frames are the originals.)
        .filter(|r| r[0] == "eth:ethertype:ip:udp:data")
        .map(|r| (r[1].clone(), r[2].clone()))
        .collect();
    let expected: Vec<(String, String)> = (0..5)
        .flat_map(|i| [9999u16, 9998].map(|p| (p.to_string(), payload(p, i))))
        .collect();
    assert_eq!(udp, expected, "{all:?}");
    assert!(all.iter().any(|r| r[0].contains("arp")), "ARP kept: {all:?}");
    assert!(all.iter().all(|r| r[0].starts_with("eth:ethertype")), "{all:?}");

    // The counts in the log agree with what tshark reads.
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pcap.with_file_name("acquisition.json")).unwrap()).unwrap();
    assert_eq!(log["capture"]["written"], all.len() as u64);
    assert_eq!(log["capture"]["kernel_drops"], 0);
    assert_eq!(log["capture"]["stopped"], "duration");
    assert!(log["capture"]["kernel_packets"].as_u64().unwrap() >= all.len() as u64);
    assert!(
        run.stdout.contains(&format!("packets: {} written", all.len())),
        "{}",
        run.stdout
    );
}

#[test]
fn capture_filters_keep_only_the_expected_packets() {
    let Some(ns) = Netns::new() else { return };
    // `udp and port 9999` with --count: exactly the 5 datagrams to 9999, then it stops by itself.
    let t = TestCase::new();
    let run = capture_in(
        &t,
        &ns,
        &[
            "--iface",
            "cap0",
            "--filter",
            "udp and port 9999",
            "--count",
            "5",
            "--duration",
            "60s",
        ],
        || ns.send(&[9998, 9999], 5),
    );
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let (pcap, _, _) = pcap_of(&t);
    let rows = tshark(&pcap, &["udp.dstport", "udp.payload"]);
    let expected: Vec<Vec<String>> = (0..5).map(|i| vec!["9999".into(), payload(9999, i)]).collect();
    assert_eq!(rows, expected);
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pcap.with_file_name("acquisition.json")).unwrap()).unwrap();
    assert_eq!(log["capture"]["stopped"], "count");
    t.ok(&["case", "verify"]);

    // `not port 9998 and ip and not icmp` on `any` (cooked framing): only the 9999 datagrams.
    let t = TestCase::new();
    let run = capture_in(
        &t,
        &ns,
        &[
            "--filter",
            "not port 9998 and ip and not icmp",
            "--duration",
            "3s",
        ],
        || ns.send(&[9998, 9999], 3),
    );
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let (pcap, _, _) = pcap_of(&t);
    let rows = tshark(&pcap, &["frame.protocols", "udp.dstport", "udp.payload"]);
    let expected: Vec<Vec<String>> = (0..3)
        .map(|i| {
            vec![
                "sll:ethertype:ip:udp:data".into(),
                "9999".into(),
                payload(9999, i),
            ]
        })
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn capture_refusals_exit_2_and_register_nothing() {
    let t = TestCase::new();
    let out = t.run(&["capture", "--iface", "nosuch-if0", "--count", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no network interface named \"nosuch-if0\""),
        "{}",
        stderr(&out)
    );
    for bad in ["udp or tcp", "src port 53", "host example.org", "port 99999"] {
        let out = t.run(&["capture", "--filter", bad, "--count", "1"]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("unsupported capture filter"),
            "{bad}: {}",
            stderr(&out)
        );
    }
    let help = t.ok(&["capture", "--help"]);
    assert!(
        help.contains("[not] port N") && help.contains("refused"),
        "{help}"
    );
    assert!(items(&t).is_empty());
    // Nothing was left behind in the evidence directory either.
    let left: Vec<_> = std::fs::read_dir(t.dir.join("evidence"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}
