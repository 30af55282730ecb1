//! Owner-only permissions for what the data directory holds (issue #19,
//! defect 9): the token signing key, the embedded database with its WAL and
//! shared-memory files, the node id, and the uploaded files. Directories are
//! made 0700 and files 0600, and a node started on an older data directory
//! tightens what it finds.
//!
//! SQLite gives its `-wal` and `-shm` files the database file's mode, so the
//! database file is made (empty, 0600) before SQLite opens it.

use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The files of the data directory that hold secrets or users' data.
pub const PRIVATE_FILES: [&str; 5] = ["token.key", "node.id", "koi.db", "koi.db-wal", "koi.db-shm"];

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) if needed and makes it owner-only.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// Makes the existing private files of `data` owner-only.
pub fn tighten(data: &Path) -> io::Result<()> {
    for name in PRIVATE_FILES {
        let path = data.join(name);
        match fs::metadata(&path) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                fs::set_permissions(&path, Permissions::from_mode(FILE_MODE))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates `path` empty and owner-only unless it exists.
pub fn precreate(path: &Path) -> io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `contents` to a new owner-only file at `path` (replacing any).
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()?;
    // An existing file keeps its mode through `open`.
    fs::set_permissions(path, Permissions::from_mode(FILE_MODE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn existing_files_and_dirs_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs::create_dir(&data).unwrap();
        fs::set_permissions(&data, Permissions::from_mode(0o755)).unwrap();
        let key = data.join("token.key");
        fs::write(&key, "00").unwrap();
        fs::set_permissions(&key, Permissions::from_mode(0o644)).unwrap();
        private_dir(&data).unwrap();
        tighten(&data).unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&key), 0o600);
        write_private(&data.join("node.id"), b"n").unwrap();
        assert_eq!(mode(&data.join("node.id")), 0o600);
        precreate(&data.join("koi.db")).unwrap();
        assert_eq!(mode(&data.join("koi.db")), 0o600);
    }
}
