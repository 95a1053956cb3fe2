//! Finding the master key: from configuration, or a file in the data directory that is
//! generated with mode 0600 on first start.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use pilot_domain::MasterKey;

use crate::config::Config;

pub const FILE_NAME: &str = "master.key";

pub fn load(config: &Config) -> anyhow::Result<MasterKey> {
    if !config.master_key.is_empty() {
        return MasterKey::from_base64(&config.master_key)
            .context("master_key (PILOT_MASTER_KEY) must be 32 bytes in base64");
    }
    if config.uses_postgres() {
        tracing::warn!(
            "no master_key configured: using {}/{FILE_NAME}; every node sharing this \
             PostgreSQL store must use the same key (set PILOT_MASTER_KEY)",
            config.data_dir.display()
        );
    }
    load_or_create(&config.data_dir.join(FILE_NAME))
}

fn load_or_create(path: &Path) -> anyhow::Result<MasterKey> {
    match fs::read_to_string(path) {
        Ok(encoded) => MasterKey::from_base64(&encoded)
            .with_context(|| format!("{} does not hold a valid master key", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

fn create(path: &Path) -> anyhow::Result<MasterKey> {
    let (key, encoded) = MasterKey::generate();
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        // Another process created it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            return load_or_create(path);
        }
        Err(error) => return Err(error).with_context(|| format!("creating {}", path.display())),
    };
    file.write_all(encoded.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    if fs::read_to_string(path)?.trim() != encoded {
        bail!("{} changed while it was written", path.display());
    }
    tracing::info!(path = %path.display(), "generated a new master key");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_with_private_permissions_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        let first = load_or_create(&path).unwrap();
        let sealed = first.seal("hello");
        let second = load_or_create(&path).unwrap();
        assert_eq!(second.open(&sealed).unwrap(), "hello");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn refuses_a_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, "not a key").unwrap();
        assert!(load_or_create(&path).is_err());
    }
}
