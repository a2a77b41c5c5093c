//! The receiver's output file: written under a temporary name beside the
//! target and renamed over it only once complete, so a file under the
//! target name is always a whole transfer.
//!
//! `copy.iso` is written as `copy.iso.partial` in the same directory (a
//! rename within one file system is atomic). It is synced and renamed once
//! every byte is written, before the sender is told the transfer is done.
//! On any failure, Ctrl-C or SIGTERM the partial file is removed: there is
//! no resume, a new transfer starts from the beginning. Only a receiver
//! killed outright (SIGKILL, power loss) leaves `copy.iso.partial` behind;
//! the next receive into `copy.iso` overwrites it.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file being received; removed when dropped uncommitted.
#[derive(Debug)]
pub struct PartialFile {
    file: File,
    temporary: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl PartialFile {
    /// Creates (or truncates) `<target>.partial`.
    pub fn create(target: &Path) -> io::Result<PartialFile> {
        let mut name = target
            .file_name()
            .map(OsString::from)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the output names a directory, not a file"))?;
        name.push(".partial");
        let temporary = target.with_file_name(name);
        Ok(PartialFile {
            file: File::create(&temporary)?,
            temporary,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// The temporary name.
    pub fn temporary(&self) -> &Path {
        &self.temporary
    }

    /// Syncs the data and renames the file to its target.
    pub fn commit(&mut self) -> io::Result<()> {
        self.file.sync_all()?;
        fs::rename(&self.temporary, &self.target)?;
        self.committed = true;
        // The rename itself survives a crash once the directory is synced;
        // best effort, as some file systems refuse to open a directory.
        if let Some(dir) = self.target.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(dir) = File::open(dir)
        {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Write for PartialFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temporary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_committed_file_appears_under_the_target_name() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let mut file = PartialFile::create(&target).unwrap();
        file.write_all(b"abc").unwrap();
        assert_eq!(file.temporary(), dir.path().join("out.bin.partial"));
        assert!(file.temporary().exists() && !target.exists());
        drop(file);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "removed when dropped");
        let mut file = PartialFile::create(&target).unwrap();
        file.write_all(b"abc").unwrap();
        file.commit().unwrap();
        drop(file);
        assert_eq!(fs::read(&target).unwrap(), b"abc");
        assert!(!dir.path().join("out.bin.partial").exists());
    }
}
