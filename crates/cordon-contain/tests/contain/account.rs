//! Locking accounts in an offline root laid out like a Debian 12 system.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use cordon_contain::Error;
use cordon_contain::account::{AccountRecord, AccountRequest, ROLE_KEYS, ROLE_SHADOW};
use cordon_contain::quarantine::FileKind;

use crate::common::{mode_and_times, names, set_times, sha256};

const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
games:x:5:60:games:/usr/games:/usr/sbin/nologin
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
mail:x:8:8:mail:/var/mail:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
backup:x:34:34:backup:/var/backups:/usr/sbin/nologin
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin
messagebus:x:100:107::/nonexistent:/usr/sbin/nologin
sshd:x:101:65534::/run/sshd:/usr/sbin/nologin
alice:x:1000:1000:Alice Admin,,,:/home/alice:/bin/bash
bob:x:1001:1001:Bob,,,:/home/bob:/bin/bash
deploy:x:1002:1002:deploy bot:/srv/deploy:/bin/bash
carol:x:1003:1003::/home/carol:/bin/bash
mallory:x:1004:1004::/home/mallory:/bin/sh
toor:x:0:0::/root:/bin/bash
";

const GROUP: &str = "\
root:x:0:
shadow:x:42:
sudo:x:27:alice
alice:x:1000:
bob:x:1001:
deploy:x:1002:
";

/// Debian's shadow with yescrypt hashes, plus lines a careful editor must not touch: an escape
/// sequence, bytes that are not UTF-8, a stray carriage return, a blank line, and no final newline.
fn shadow() -> Vec<u8> {
    let mut s =
        b"root:$y$j9T$0JvT7bqHDpG1nd1fz6X0e/$9yV1UvHdQ1eM5r8e6WZp0yV1GQH7Yq2pO1vV2a3b4c5:19733:0:99999:7:::
daemon:*:19733:0:99999:7:::
bin:*:19733:0:99999:7:::
sys:*:19733:0:99999:7:::
sync:*:19733:0:99999:7:::
games:*:19733:0:99999:7:::
man:*:19733:0:99999:7:::
mail:*:19733:0:99999:7:::
www-data:*:19733:0:99999:7:::
backup:*:19733:0:99999:7:::
_apt:*:19733:0:99999:7:::
nobody:*:19733:0:99999:7:::
systemd-network:!*:19733::::::
messagebus:!:19733::::::
sshd:!:19733::::::
alice:$y$j9T$Q3xk8nW1cYz2lJ8bX0aTf/$Vw2bN6y4xPq9rS1tU3vW5xY7zA9bC1dE3fG5hJ7kL9m:19740:0:99999:7:::
"
        .to_vec();
    s.extend_from_slice(b"evil\x1b[2J:$6$x$\xff\xfe\x00hash:19741:0:99999:7:::\n");
    s.extend_from_slice(b"bob:$y$j9T$abc/$def:19742:0:99999:7:::\r\n");
    s.extend_from_slice(b"\n");
    s.extend_from_slice(b"deploy:!$y$j9T$ghi/$jkl:19742:0:99999:7::1:\n");
    s.extend_from_slice(b"carol:$y$j9T$mno/$pqr:19743:0:99999:7:::\n");
    s.extend_from_slice(b"mallory:$6$\xc3\x28\xa0\xa1$zzz:19744:0:99999:7:::\n");
    s.extend_from_slice(b"toor:$1$abc$def:19745:0:99999:7:::");
    s
}

const ALICE_KEYS: &[u8] = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq alice@laptop\n\
ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBackdoorKey0000000000000000 root@kali\n";

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    store: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let etc = root.join("etc");
    std::fs::create_dir_all(etc.join("ssh/sshd_config.d")).unwrap();
    std::fs::write(etc.join("passwd"), PASSWD).unwrap();
    std::fs::write(etc.join("group"), GROUP).unwrap();
    std::fs::write(etc.join("shadow"), shadow()).unwrap();
    std::fs::set_permissions(etc.join("shadow"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::write(
        etc.join("ssh/sshd_config"),
        "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n\
         X11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\nSubsystem sftp /usr/lib/openssh/sftp-server\n",
    )
    .unwrap();
    std::fs::write(
        etc.join("ssh/sshd_config.d/50-keys.conf"),
        "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%u\n",
    )
    .unwrap();
    let alice_ssh = root.join("home/alice/.ssh");
    std::fs::create_dir_all(&alice_ssh).unwrap();
    std::fs::write(alice_ssh.join("authorized_keys"), ALICE_KEYS).unwrap();
    std::fs::set_permissions(
        alice_ssh.join("authorized_keys"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    set_times(
        &alice_ssh.join("authorized_keys"),
        (1_700_000_100, 5),
        (1_700_000_000, 123_456_789),
    );
    // bob: a key file named by AuthorizedKeysFile, and authorized_keys2 as a symbolic link to it.
    std::fs::create_dir_all(etc.join("ssh/keys")).unwrap();
    std::fs::write(etc.join("ssh/keys/bob"), b"ssh-rsa AAAAB3Nza bob@ops\n").unwrap();
    std::fs::create_dir_all(root.join("home/bob/.ssh")).unwrap();
    std::os::unix::fs::symlink("/etc/ssh/keys/bob", root.join("home/bob/.ssh/authorized_keys2")).unwrap();
    // carol: her home is an absolute symbolic link, which must resolve inside the root.
    std::fs::create_dir_all(root.join("srv/carol/.ssh")).unwrap();
    std::fs::write(
        root.join("srv/carol/.ssh/authorized_keys"),
        b"ssh-ed25519 AAAA carol\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("home")).unwrap();
    std::os::unix::fs::symlink("/srv/carol", root.join("home/carol")).unwrap();
    let store = dir.path().join("case/contain/C1");
    Fixture {
        _dir: dir,
        root,
        store,
    }
}

fn req(f: &Fixture, user: &str) -> AccountRequest {
    AccountRequest {
        root: f.root.clone(),
        user: user.into(),
        kill_sessions: false,
        force: false,
    }
}

/// The fixture's shadow with `user`'s line replaced.
fn shadow_with(user: &[u8], line: &[u8]) -> Vec<u8> {
    let original = shadow();
    let mut out = Vec::new();
    let mut first = true;
    for l in original.split(|&b| b == b'\n') {
        if !first {
            out.push(b'\n');
        }
        first = false;
        if l.split(|&b| b == b':').next() == Some(user) {
            out.extend_from_slice(line);
        } else {
            out.extend_from_slice(l);
        }
    }
    out
}

#[test]
fn locks_expires_and_moves_keys_then_undo_restores_every_byte() {
    let f = fixture();
    let shadow_path = f.root.join("etc/shadow");
    let keys_path = f.root.join("home/alice/.ssh/authorized_keys");
    let keys_before = mode_and_times(&keys_path);
    let plan = req(&f, "alice").plan().unwrap();
    assert_eq!(plan.uid, 1000);
    assert_eq!(plan.keys.len(), 1, "{:?}", plan.keys);
    let text = plan.describe().join("\n");
    assert!(text.contains("lock the password of alice (uid 1000)"), "{text}");
    assert!(text.contains("expire the account"), "{text}");
    assert!(text.contains("home/alice/.ssh/authorized_keys aside"), "{text}");
    assert!(
        !text.contains("Q3xk8nW1"),
        "the plan must never show the hash:\n{text}"
    );
    assert!(!format!("{plan:?}").contains("Q3xk8nW1"));

    let record = plan.apply(&f.store).unwrap();

    // The shadow: alice's line locked and expired, every other byte as it was.
    let locked = b"alice:!$y$j9T$Q3xk8nW1cYz2lJ8bX0aTf/$Vw2bN6y4xPq9rS1tU3vW5xY7zA9bC1dE3fG5hJ7kL9m:19740:0:99999:7::1:";
    let now = std::fs::read(&shadow_path).unwrap();
    assert_eq!(now, shadow_with(b"alice", locked));
    assert_eq!(
        std::fs::metadata(&shadow_path).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    // The backup is the original, byte for byte.
    let change = record.shadow.as_ref().unwrap();
    assert_eq!(change.backup.role, ROLE_SHADOW);
    assert_eq!(change.backup.sha256, sha256(&shadow()));
    assert_eq!(std::fs::read(&change.backup.stored).unwrap(), shadow());
    assert_eq!(change.line_no, 16);
    // No temporary file is left next to shadow.
    assert_eq!(
        names(&f.root.join("etc")),
        [".pwd.lock", "group", "passwd", "shadow", "ssh"]
    );

    // The key file is gone from the home and sits in the store.
    assert!(!keys_path.exists());
    assert_eq!(record.keys.len(), 1);
    let moved = &record.keys[0];
    assert_eq!(moved.role, ROLE_KEYS);
    assert_eq!(moved.kind, FileKind::File);
    assert_eq!(moved.mode & 0o7777, 0o600);
    assert_eq!(moved.sha256, sha256(ALICE_KEYS));
    assert_eq!(std::fs::read(&moved.stored).unwrap(), ALICE_KEYS);
    assert_eq!(record.files().len(), 2);

    // The record survives the journal (JSON) and alone is enough to undo.
    let json = serde_json::to_string(&record).unwrap();
    let back: AccountRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, record);
    let lines = back.undo().unwrap();
    assert!(
        lines.iter().any(|l| l.contains("original shadow line")),
        "{lines:?}"
    );

    assert_eq!(std::fs::read(&shadow_path).unwrap(), shadow());
    // Times first: reading the file may update its atime (relatime).
    assert_eq!(mode_and_times(&keys_path), keys_before);
    assert_eq!(std::fs::read(&keys_path).unwrap(), ALICE_KEYS);
    let meta = std::fs::metadata(&keys_path).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (moved.uid, moved.gid));
}

#[test]
fn unknown_user_root_and_offline_sessions_are_refused() {
    let f = fixture();
    let e = req(&f, "nosuchuser").plan().unwrap_err();
    assert!(matches!(e, Error::Refused(_)), "{e}");
    assert!(e.to_string().contains("no account named nosuchuser"), "{e}");

    let e = req(&f, "root").plan().unwrap_err();
    assert!(e.to_string().contains("lock you out"), "{e}");
    let mut forced = req(&f, "root");
    forced.force = true;
    assert!(forced.plan().is_ok());

    let mut sessions = req(&f, "alice");
    sessions.kill_sessions = true;
    let e = sessions.plan().unwrap_err();
    assert!(e.to_string().contains("only on the live host"), "{e}");

    // A user in passwd without a shadow line has nothing to lock.
    let e = req(&f, "nobody").plan();
    assert!(e.is_ok(), "nobody has a shadow line");
    for bad in ["", "a:b", "x\ny"] {
        assert!(req(&f, bad).plan().is_err());
    }
}

#[test]
fn a_second_uid0_account_is_locked_without_touching_root() {
    let f = fixture();
    let plan = req(&f, "toor").plan().unwrap();
    assert!(plan.describe().iter().any(|l| l.contains("second root account")));
    plan.apply(&f.store).unwrap();
    // toor's line was the last one, without a final newline: still none.
    assert_eq!(
        std::fs::read(f.root.join("etc/shadow")).unwrap(),
        shadow_with(b"toor", b"toor:!$1$abc$def:19745:0:99999:7::1:")
    );
}

#[test]
fn hostile_bytes_in_the_hash_round_trip_through_the_record() {
    let f = fixture();
    let record = req(&f, "mallory").plan().unwrap().apply(&f.store).unwrap();
    assert_eq!(
        std::fs::read(f.root.join("etc/shadow")).unwrap(),
        shadow_with(
            b"mallory",
            b"mallory:!$6$\xc3\x28\xa0\xa1$zzz:19744:0:99999:7::1:"
        )
    );
    let json = serde_json::to_string(&record).unwrap();
    let back: AccountRecord = serde_json::from_str(&json).unwrap();
    back.undo().unwrap();
    assert_eq!(std::fs::read(f.root.join("etc/shadow")).unwrap(), shadow());
}

#[test]
fn an_already_locked_and_expired_account_leaves_shadow_alone() {
    let f = fixture();
    let plan = req(&f, "deploy").plan().unwrap();
    assert!(plan.describe()[0].contains("already locked and expired"));
    let record = plan.apply(&f.store).unwrap();
    assert!(record.shadow.is_none());
    assert_eq!(std::fs::read(f.root.join("etc/shadow")).unwrap(), shadow());
    record.undo().unwrap();
}

#[test]
fn keys_named_by_sshd_config_and_symlinks_are_moved_not_followed() {
    let f = fixture();
    let link = f.root.join("home/bob/.ssh/authorized_keys2");
    let target = f.root.join("etc/ssh/keys/bob");
    let plan = req(&f, "bob").plan().unwrap();
    let text = plan.describe().join("\n");
    assert_eq!(plan.keys.len(), 2, "{text}");
    assert!(text.contains("AuthorizedKeysFile /etc/ssh/keys/%u"), "{text}");
    assert!(text.contains("symbolic link to /etc/ssh/keys/bob"), "{text}");
    let record = plan.apply(&f.store).unwrap();
    assert!(std::fs::symlink_metadata(&link).is_err());
    assert!(!target.exists());
    let moved_link = record.keys.iter().find(|k| k.kind == FileKind::Symlink).unwrap();
    assert_eq!(moved_link.link_target.as_deref(), Some("/etc/ssh/keys/bob"));
    assert_eq!(std::fs::read(&moved_link.stored).unwrap(), b"/etc/ssh/keys/bob");

    record.undo().unwrap();
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/etc/ssh/keys/bob"));
    assert_eq!(std::fs::read(&target).unwrap(), b"ssh-rsa AAAAB3Nza bob@ops\n");
}

#[test]
fn a_home_that_is_an_absolute_link_resolves_inside_the_root() {
    let f = fixture();
    let plan = req(&f, "carol").plan().unwrap();
    assert_eq!(plan.keys.len(), 1);
    let record = plan.apply(&f.store).unwrap();
    assert!(!f.root.join("srv/carol/.ssh/authorized_keys").exists());
    record.undo().unwrap();
    assert_eq!(
        std::fs::read(f.root.join("srv/carol/.ssh/authorized_keys")).unwrap(),
        b"ssh-ed25519 AAAA carol\n"
    );
}

/// An attacker in the account can point `~/.ssh` at another account's: the plan must say that the file
/// it moves is really that one (root's keys, say), not let it pass as the account's own.
#[test]
fn a_key_file_reached_through_a_link_is_shown_where_it_really_is() {
    let f = fixture();
    let root_ssh = f.root.join("root/.ssh");
    std::fs::create_dir_all(&root_ssh).unwrap();
    std::fs::write(root_ssh.join("authorized_keys"), b"ssh-ed25519 AAAA responder\n").unwrap();
    std::fs::create_dir_all(f.root.join("home/mallory")).unwrap();
    std::os::unix::fs::symlink("/root/.ssh", f.root.join("home/mallory/.ssh")).unwrap();
    let plan = req(&f, "mallory").plan().unwrap();
    let text = plan.describe().join("\n");
    let real = root_ssh.join("authorized_keys");
    assert!(
        text.contains("WARNING") && text.contains(&format!("really {}", real.display())),
        "{text}"
    );
    // A key file with no link on the way gets no such warning.
    let text = req(&f, "alice").plan().unwrap().describe().join("\n");
    assert!(!text.contains("really"), "{text}");
}

/// A key file that `AuthorizedKeysFile` names without `%u`, `%U` or `%h` is every account's: moving
/// it would lock every account that logs in with it out (the responder's too). The expiry already
/// refuses the locked account's logins through it.
#[test]
fn a_key_file_shared_by_every_account_is_left_in_place() {
    let f = fixture();
    let etc_ssh = f.root.join("etc/ssh");
    std::fs::write(
        etc_ssh.join("sshd_config.d/50-keys.conf"),
        "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/everyone\n",
    )
    .unwrap();
    let shared = etc_ssh.join("keys/everyone");
    std::fs::write(&shared, b"ssh-ed25519 AAAA responder\nssh-ed25519 AAAA alice\n").unwrap();
    let plan = req(&f, "alice").plan().unwrap();
    assert!(
        plan.keys.iter().all(|k| k.file.local() != shared),
        "{:?}",
        plan.keys
    );
    let text = plan.describe().join("\n");
    assert!(text.contains("is also the key file of root, daemon"), "{text}");
    let record = plan.apply(&f.store).unwrap();
    assert!(shared.exists(), "the shared key file stays");
    record.undo().unwrap();

    // toor, the second root account, has root's home: root's own key file stays.
    let root_keys = f.root.join("root/.ssh/authorized_keys");
    std::fs::create_dir_all(root_keys.parent().unwrap()).unwrap();
    std::fs::write(&root_keys, b"ssh-ed25519 AAAA responder\n").unwrap();
    let plan = req(&f, "toor").plan().unwrap();
    assert!(plan.keys.iter().all(|k| k.file.local() != root_keys));
    let text = plan.describe().join("\n");
    assert!(text.contains("is also the key file of root:"), "{text}");
    plan.apply(&f.store.join("toor")).unwrap();
    assert!(root_keys.exists());
}

#[test]
fn undo_refuses_to_clobber_later_changes() {
    let f = fixture();
    let record = req(&f, "alice").plan().unwrap().apply(&f.store).unwrap();

    // An admin put a new key file in place: undo must not overwrite it, and changes nothing.
    let keys_path = f.root.join("home/alice/.ssh/authorized_keys");
    std::fs::write(&keys_path, b"ssh-ed25519 AAAA new\n").unwrap();
    let e = record.undo().unwrap_err();
    assert!(e.to_string().contains("exists again"), "{e}");
    assert_ne!(std::fs::read(f.root.join("etc/shadow")).unwrap(), shadow());
    std::fs::remove_file(&keys_path).unwrap();

    // Someone changed alice's shadow line after the lock: refused, the file stays as they left it.
    let changed = shadow_with(b"alice", b"alice:$y$j9T$new/$hash:19800:0:99999:7:::");
    std::fs::write(f.root.join("etc/shadow"), &changed).unwrap();
    let e = record.undo().unwrap_err();
    assert!(matches!(e, Error::Refused(_)), "{e}");
    assert!(e.to_string().contains("changed after cordon locked it"), "{e}");
    assert_eq!(std::fs::read(f.root.join("etc/shadow")).unwrap(), changed);
    assert!(!keys_path.exists());
}

#[test]
fn a_changed_shadow_line_between_plan_and_apply_is_refused() {
    let f = fixture();
    let plan = req(&f, "alice").plan().unwrap();
    let changed = shadow_with(b"alice", b"alice:$y$other:19740:0:99999:7:::");
    std::fs::write(f.root.join("etc/shadow"), &changed).unwrap();
    let e = plan.apply(&f.store).unwrap_err();
    assert!(e.to_string().contains("changed since the plan"), "{e}");
    assert_eq!(std::fs::read(f.root.join("etc/shadow")).unwrap(), changed);
    assert!(f.root.join("home/alice/.ssh/authorized_keys").exists());
}
