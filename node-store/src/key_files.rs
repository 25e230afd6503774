//! The node's secret files: its secp256k1 key and the deployment secret, created on first use
//! with mode 0600 and never logged.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use data_encoding::{HEXLOWER, HEXLOWER_PERMISSIVE};
use record_crypto::{NodeKeyPair, Pseudonymizer, Zeroizing};

/// Why a key file could not be used. Messages name the file, never its content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Reading or creating the file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file does not hold a valid key.
    #[error("key file {path} does not hold a valid key")]
    Invalid {
        /// The file.
        path: String,
    },
    /// Others can read the file.
    #[error("key file {path} is readable by group or others (mode {mode:o}); run chmod 600 on it")]
    TooOpen {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io { path: path.display().to_string(), source }
}

/// Reads the hex secret in `path`, or creates the file (mode 0600) with `make()` when absent.
fn load_or_create_hex(
    path: &Path,
    make: impl FnOnce() -> Result<Zeroizing<String>, KeyFileError>,
) -> Result<Zeroizing<String>, KeyFileError> {
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyFileError::TooOpen { path: path.display().to_string(), mode });
            }
            let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io(path))?);
            Ok(Zeroizing::new(text.trim().to_owned()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io(path))?;
            }
            let secret = make()?;
            // create_new: two processes starting at once cannot both write a key.
            let mut file =
                std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io(path))?;
            file.write_all(secret.as_bytes()).map_err(io(path))?;
            file.write_all(b"\n").map_err(io(path))?;
            file.sync_all().map_err(io(path))?;
            Ok(secret)
        }
        Err(error) => Err(io(path)(error)),
    }
}

fn no_randomness(path: &Path) -> KeyFileError {
    KeyFileError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other("the OS random number generator failed"),
    }
}

/// The node key in `path`, created on first use.
pub fn load_or_create_node_key(path: &Path) -> Result<NodeKeyPair, KeyFileError> {
    let invalid = || KeyFileError::Invalid { path: path.display().to_string() };
    let hex = load_or_create_hex(path, || Ok(NodeKeyPair::generate().map_err(|_| no_randomness(path))?.secret_hex()))?;
    NodeKeyPair::from_secret_hex(&hex).map_err(|_| invalid())
}

/// The pseudonymizer under the deployment secret in `path`, created on first use.
pub fn load_or_create_pseudonymizer(path: &Path) -> Result<Pseudonymizer, KeyFileError> {
    let invalid = || KeyFileError::Invalid { path: path.display().to_string() };
    let hex = load_or_create_hex(path, || {
        let secret = Pseudonymizer::generate_secret().map_err(|_| no_randomness(path))?;
        Ok(Zeroizing::new(HEXLOWER.encode(&*secret)))
    })?;
    let bytes = Zeroizing::new(HEXLOWER_PERMISSIVE.decode(hex.as_bytes()).map_err(|_| invalid())?);
    Pseudonymizer::new(&bytes).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_key_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let first = load_or_create_node_key(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let second = load_or_create_node_key(&path).unwrap();
        assert_eq!(first.public_key(), second.public_key());
    }

    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        load_or_create_node_key(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(load_or_create_node_key(&path), Err(KeyFileError::TooOpen { .. })));
    }

    #[test]
    fn deployment_secret_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployment.secret");
        let a = load_or_create_pseudonymizer(&path).unwrap().pseudonym(crate::kinds::PATIENT, "1");
        let b = load_or_create_pseudonymizer(&path).unwrap().pseudonym(crate::kinds::PATIENT, "1");
        assert_eq!(a, b);
        std::fs::write(&path, "zz").unwrap();
        assert!(load_or_create_pseudonymizer(&path).is_err());
    }
}
