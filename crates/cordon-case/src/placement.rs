//! Where a case may be created: never on the suspect system's own storage.

use std::path::Path;

use cordon_host::mounts::{read_own_mountinfo, shared_storage, storage_of};

use crate::Error;

/// `Some(why)` when `case_dir` would share a filesystem or a physical disk with `suspect_root`.
pub fn check(case_dir: &Path, suspect_root: &Path) -> Result<Option<String>, Error> {
    let mounts = read_own_mountinfo()?;
    let case = storage_of(case_dir, &mounts)?;
    let suspect = storage_of(suspect_root, &mounts)?;
    Ok(shared_storage(&case, &suspect))
}
