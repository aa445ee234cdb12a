//! Builds a planted copy of the clean Debian root for benchmarks: `plant_root DEST` prints one line
//! per planted technique (`check path`).

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dest = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .ok_or_else(|| std::io::Error::other("usage: plant_root DEST"))?,
    );
    let clean = cordon_testkit::debian_root()?;
    cordon_testkit::copy_root_for_hunt(&clean, &dest)?;
    cordon_testkit::plant::benign_admin(&dest)?;
    let planted = cordon_testkit::plant::malicious(&dest)?;
    let mut out = String::new();
    for p in planted {
        out.push_str(&format!("{} {}\n", p.check, p.path));
    }
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())
}
