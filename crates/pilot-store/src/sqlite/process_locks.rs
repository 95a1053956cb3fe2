//! Which processes sharing this SQLite file are alive, as the kernel knows it.
//!
//! A registered process holds an exclusive `flock` on `<db>-processes/<id>.lock`
//! beside the database (as SQLite keeps `<db>-wal` there) for as long as it is
//! registered (the store keeps the open
//! file). The kernel releases a `flock` when the last descriptor of its open file
//! goes away — when the process exits, however it exits, `kill -9` included. So a
//! process that opens another one's lock file and *can* lock it knows that one is
//! gone; one that cannot knows it is alive. `flock` locks belong to open files, not
//! processes: two stores of one process (as tests run them) see each other's locks
//! too.
//!
//! A lock file that does not exist proves nothing (it may have been deleted by hand
//! under a live process): such a process is left to its heartbeat's lapse. Lock files
//! are removed by their owner on deregistering and by whoever found them free, once
//! that finding is committed.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The lock files of one database's processes.
pub(super) struct ProcessLocks {
    dir: PathBuf,
    /// The locks this store holds, by process id.
    held: Mutex<HashMap<String, File>>,
}

/// Another process's lock, taken because it was free: its owner is gone.
pub(super) struct Taken {
    path: PathBuf,
    _file: File,
}

impl Taken {
    /// Once its owner's release is committed: removes the file, then unlocks it.
    pub(super) fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl ProcessLocks {
    /// The lock directory of the database at `db_path`: `<file name>-processes`
    /// beside it, found through the directory's canonical path so that every process
    /// opening the file by any path agrees.
    pub(super) fn beside(db_path: &Path) -> ProcessLocks {
        let parent = db_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = db_path
            .file_name()
            .map_or_else(|| "pilot.db".into(), |n| n.to_string_lossy().into_owned());
        let dir = parent
            .canonicalize()
            .unwrap_or_else(|_| parent.to_owned())
            .join(format!("{name}-processes"));
        ProcessLocks {
            dir,
            held: Mutex::new(HashMap::new()),
        }
    }

    fn path(&self, id: &str) -> io::Result<PathBuf> {
        let plain = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !plain {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("process id {id:?} must be letters, digits, '-' and '_'"),
            ));
        }
        Ok(self.dir.join(format!("{id}.lock")))
    }

    /// Takes `id`'s lock for this store (kept until [`Self::release`] or the store
    /// is dropped). `WouldBlock` if another live process holds it.
    pub(super) fn hold(&self, id: &str) -> io::Result<()> {
        let mut held = self.held.lock().expect("lock map");
        if held.contains_key(id) {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path(id)?)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(io::ErrorKind::WouldBlock.into()),
            Err(TryLockError::Error(error)) => return Err(error),
        }
        held.insert(id.to_owned(), file);
        Ok(())
    }

    /// Gives up `id`'s lock and removes its file (a clean exit).
    pub(super) fn release(&self, id: &str) {
        let file = self.held.lock().expect("lock map").remove(id);
        if let (Some(file), Ok(path)) = (file, self.path(id)) {
            let _ = std::fs::remove_file(path);
            drop(file);
        }
    }

    /// Takes `id`'s lock if its owner is gone: the file exists and nobody holds it.
    pub(super) fn take_if_gone(&self, id: &str) -> Option<Taken> {
        if self.held.lock().expect("lock map").contains_key(id) {
            return None;
        }
        let path = self.path(id).ok()?;
        let file = OpenOptions::new().write(true).open(&path).ok()?;
        match file.try_lock() {
            Ok(()) => Some(Taken { path, _file: file }),
            Err(_) => None,
        }
    }

    /// Lock files in the directory whose owner is gone and that `registered` does not
    /// list (left by a crash between a release and its file's removal).
    pub(super) fn sweep_unregistered(&self, registered: &[String]) -> Vec<Taken> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let id = name.strip_suffix(".lock")?.to_owned();
                (!registered.contains(&id)).then_some(id)
            })
            .filter_map(|id| self.take_if_gone(&id))
            .collect()
    }

    /// Drops every lock this store holds, leaving the files: what the kernel does
    /// when the process ends.
    pub(super) fn drop_all(&self) {
        self.held.lock().expect("lock map").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_alive_and_a_dropped_one_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pilot.db");
        let (mine, theirs) = (ProcessLocks::beside(&db), ProcessLocks::beside(&db));
        mine.hold("p1").unwrap();
        assert!(theirs.take_if_gone("p1").is_none(), "held: alive");
        assert_eq!(
            theirs.hold("p1").unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "one id, one live process"
        );
        assert!(theirs.take_if_gone("nobody").is_none(), "no file: unknown");

        // The process dies: its lock goes, its file stays.
        mine.drop_all();
        let taken = theirs.take_if_gone("p1").expect("free: gone");
        assert!(mine.take_if_gone("p1").is_none(), "taken once");
        taken.remove();
        assert!(!dir.path().join("pilot.db-processes/p1.lock").exists());

        // A clean exit removes its own file.
        mine.hold("p2").unwrap();
        mine.release("p2");
        assert!(!dir.path().join("pilot.db-processes/p2.lock").exists());
        assert!(mine.hold("../escape").is_err());
    }

    #[test]
    fn leftover_files_of_gone_processes_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pilot.db");
        let (old, new) = (ProcessLocks::beside(&db), ProcessLocks::beside(&db));
        old.hold("left").unwrap();
        old.hold("alive").unwrap();
        old.held.lock().unwrap().remove("left");
        let swept = new.sweep_unregistered(&["alive".to_owned()]);
        assert_eq!(swept.len(), 1);
        swept.into_iter().for_each(Taken::remove);
        assert!(!dir.path().join("pilot.db-processes/left.lock").exists());
        assert!(dir.path().join("pilot.db-processes/alive.lock").exists());
    }
}
