//! T0: the time base and who collects — written before anything else (RFC 3227 3.2: note the
//! difference between the system clock and UTC, and record the clock's drift).
//!
//! `host.json` holds: the collection start in UTC, the local time zone and offset of the examined
//! system (from its own `/etc/localtime`, a TZif file parsed here), boot time and uptime, the
//! hardware clock (`/sys/class/rtc/rtc0/since_epoch`) and its drift from the system clock, host
//! identity (kernel names, `/etc/os-release`, machine id, DMI), and the collector's privileges.

use std::path::Path;

use cordon_core::format_utc;
use cordon_host::open::read_capped;
use serde_json::{Value, json};

use crate::ctx::Ctx;
use crate::json::{self, Obj};
use crate::{Error, Tier};

fn text(path: &Path) -> Option<String> {
    read_capped(path, 64 * 1024)
        .ok()
        .map(|f| String::from_utf8_lossy(&f.bytes).trim().to_owned())
}

fn raw(path: &Path) -> Option<Vec<u8>> {
    read_capped(path, 64 * 1024).ok().map(|f| f.bytes)
}

pub(crate) fn collect(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    let mut src = ctx.begin(Tier::T0, "host");
    let target = ctx.opts.target.clone();
    let now = ctx.clock.now();
    let mut host = Obj::new();
    host.insert("collector".into(), json!({
        "tool": ctx.opts.tool,
        "started": format_utc(ctx.started),
        "t0": format_utc(now),
        "clock_note": "every time in this bundle is UTC (RFC 3339, Z); local offsets are given separately",
    }));
    host.insert(
        "target".into(),
        json!({
            "root": target.root().display().to_string(),
            "live": target.is_live(),
        }),
    );

    // Time zone of the examined system, from its own files.
    let mut tz = Obj::new();
    let tz_name = text(&target.path("/etc/timezone"));
    tz.insert(
        "etc_timezone".into(),
        tz_name.clone().map_or(Value::Null, Value::from),
    );
    match raw(&target.path("/etc/localtime")) {
        Some(bytes) => match jiff::tz::TimeZone::tzif(tz_name.as_deref().unwrap_or("localtime"), &bytes) {
            Ok(zone) => {
                let offset = zone.to_offset(now);
                tz.insert("utc_offset_seconds".into(), Value::from(offset.seconds()));
                tz.insert("utc_offset".into(), Value::from(offset.to_string()));
                tz.insert(
                    "local_time".into(),
                    Value::from(format!("{}{}", zone.to_datetime(now), offset)),
                );
            }
            Err(e) => {
                ctx.fail(&mut src, b"/etc/localtime", "parse", &e.to_string(), None)?;
            }
        },
        None => {
            tz.insert("utc_offset_seconds".into(), Value::from(0));
            tz.insert(
                "note".into(),
                Value::from("no /etc/localtime: the system runs on UTC"),
            );
        }
    }
    host.insert("timezone".into(), Value::Object(tz));

    if target.is_live() {
        let mut time = Obj::new();
        time.insert("system_utc".into(), Value::from(format_utc(now)));
        if let Some(stat) = raw(Path::new("/proc/stat")) {
            let btime = cordon_host::procfs::boot_time(&stat);
            time.insert("boot_time".into(), btime.map_or(Value::Null, json::epoch));
            time.insert("boot_time_epoch".into(), btime.map_or(Value::Null, Value::from));
        }
        if let Some(up) = text(Path::new("/proc/uptime")) {
            let secs: Option<f64> = up.split_ascii_whitespace().next().and_then(|s| s.parse().ok());
            time.insert("uptime_seconds".into(), secs.map_or(Value::Null, Value::from));
        }
        // Hardware clock: seconds since the epoch as the RTC counts them.
        let rtc = text(Path::new("/sys/class/rtc/rtc0/since_epoch")).and_then(|s| s.parse::<i64>().ok());
        match rtc {
            Some(rtc) => {
                time.insert("rtc_since_epoch".into(), Value::from(rtc));
                time.insert("rtc_time".into(), json::epoch(rtc));
                // Positive: the system clock is ahead of the hardware clock.
                time.insert(
                    "system_minus_rtc_seconds".into(),
                    Value::from(now.as_second() - rtc),
                );
            }
            None => {
                time.insert("rtc_since_epoch".into(), Value::Null);
                time.insert(
                    "rtc_note".into(),
                    Value::from("no readable RTC (/sys/class/rtc/rtc0)"),
                );
            }
        }
        time.insert(
            "clock_ticks_per_second".into(),
            Value::from(cordon_host::procfs::clock_ticks()),
        );
        host.insert("time".into(), Value::Object(time));

        let uname = rustix::system::uname();
        let s = |c: &std::ffi::CStr| String::from_utf8_lossy(c.to_bytes()).into_owned();
        host.insert(
            "kernel".into(),
            json!({
                "sysname": s(uname.sysname()),
                "nodename": s(uname.nodename()),
                "release": s(uname.release()),
                "version": s(uname.version()),
                "machine": s(uname.machine()),
                "domainname": text(Path::new("/proc/sys/kernel/domainname")),
            }),
        );
    }

    let mut id = Obj::new();
    json::opt_bytes(
        &mut id,
        "etc_hostname",
        raw(&target.path("/etc/hostname")).as_deref().map(trim),
    );
    json::opt_bytes(
        &mut id,
        "machine_id",
        raw(&target.path("/etc/machine-id")).as_deref().map(trim),
    );
    if let Some(os) = raw(&target.path("/etc/os-release")) {
        let mut fields = Obj::new();
        for line in os.split(|&b| b == b'\n') {
            if let Some(eq) = line.iter().position(|&b| b == b'=') {
                let key = String::from_utf8_lossy(line.get(..eq).unwrap_or_default()).into_owned();
                let val = line.get(eq + 1..).unwrap_or_default();
                let val = val
                    .strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .unwrap_or(val);
                json::bytes(&mut fields, &key, val);
            }
        }
        id.insert("os_release".into(), Value::Object(fields));
    }
    if target.is_live() {
        let mut dmi = Obj::new();
        for key in [
            "sys_vendor",
            "product_name",
            "product_version",
            "product_serial",
            "product_uuid",
            "board_vendor",
            "board_name",
            "board_serial",
            "chassis_serial",
            "bios_vendor",
            "bios_version",
            "bios_date",
        ] {
            let p = Path::new("/sys/class/dmi/id").join(key);
            match read_capped(&p, 4096) {
                Ok(f) => json::bytes(&mut dmi, key, trim(&f.bytes)),
                Err(e) if e.is_permission_denied() => {
                    ctx.fail_host(&mut src, p.as_os_str().as_encoded_bytes(), "read", &e)?;
                }
                Err(_) => {}
            }
        }
        id.insert("dmi".into(), Value::Object(dmi));
    }
    host.insert("identity".into(), Value::Object(id));

    let inv = cordon_host::identity::invoker();
    let mut who = Obj::new();
    who.insert("uid".into(), Value::from(inv.uid));
    who.insert("euid".into(), Value::from(inv.euid));
    who.insert("user".into(), Value::from(inv.user));
    who.insert("collecting_host".into(), Value::from(inv.host));
    who.insert("root".into(), Value::from(inv.euid == 0));
    if let Some(status) = raw(Path::new("/proc/self/status")) {
        let st = cordon_host::procfs::parse_status(&status);
        for key in ["CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp"] {
            who.insert(
                key.to_ascii_lowercase(),
                cordon_host::procfs::status_text(&st, key).map_or(Value::Null, Value::from),
            );
        }
    }
    if let Some(lockdown) = text(Path::new("/sys/kernel/security/lockdown")) {
        who.insert("kernel_lockdown".into(), Value::from(lockdown));
    }
    host.insert("collector_privileges".into(), Value::Object(who));

    let mut bytes = serde_json::to_vec_pretty(&Value::Object(host))
        .map_err(|e| Error::write("host.json", std::io::Error::other(e)))?;
    bytes.push(b'\n');
    let written = ctx.bundle.write_whole(b"host.json", &bytes)?;
    ctx.item(&mut src, written.size);
    ctx.end(src)
}

fn trim(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    b.get(..end).unwrap_or_default()
}
