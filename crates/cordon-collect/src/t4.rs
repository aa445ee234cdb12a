//! T4: temporary filesystems — attackers stage tools in `/dev/shm`, `/tmp`, `/var/tmp` and `/run`
//! because they vanish on reboot. Everything there is listed (`tmpfs.jsonl`) and each regular file
//! up to the tmp cap (default 10 MiB) is copied into `[root]/`. `/run` includes transient systemd
//! units (`/run/systemd/transient`, `/run/systemd/system`, generators) and per-user runtime dirs.

use crate::bundle::Jsonl;
use crate::copy::{Spec, run_spec};
use crate::ctx::Ctx;
use crate::{Error, Tier};

pub(crate) fn collect(ctx: &mut Ctx<'_>) -> Result<(), Error> {
    let mut src = ctx.begin(Tier::T4, "tmpfs");
    let cap = ctx.opts.tmp_file_size;
    let mut out = Jsonl::create(&mut ctx.bundle, "tmpfs.jsonl")?;
    for path in ["/dev/shm", "/run/shm", "/tmp", "/var/tmp", "/run"] {
        run_spec(ctx, &mut src, &mut out, &Spec::tree(path, "tmpfs", cap))?;
    }
    src.bytes += out.bytes();
    out.finish(&mut ctx.bundle)?;
    ctx.end(src)
}
