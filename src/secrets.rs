//! Secrets the server keeps: taken from the configuration, or generated once
//! into the data directory and read from there on every later start.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngExt;

/// 256 bits: anything shorter is guessable offline.
pub const MIN_SECRET_LEN: usize = 32;

/// Which secret, where it may be configured, and its file in the data dir.
pub struct SecretSpec<'a> {
    pub what: &'static str,
    pub env_var: &'static str,
    pub file_name: &'static str,
    pub configured: Option<&'a str>,
    pub data_dir: &'a Path,
}

pub enum SecretOrigin {
    Configured(&'static str),
    File(PathBuf),
    Generated(PathBuf),
}

impl fmt::Display for SecretOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Configured(env_var) => write!(f, "from the configuration ({env_var})"),
            Self::File(path) => write!(f, "read from {}", path.display()),
            Self::Generated(path) => write!(f, "newly generated into {}", path.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the configured {what} ({env_var}) is {len} bytes long; at least {MIN_SECRET_LEN} are \
         required (generate one with `openssl rand -hex 32`)"
    )]
    TooShort {
        what: &'static str,
        env_var: &'static str,
        len: usize,
    },
    #[error(
        "the {what} in {path} is {len} bytes long; at least {MIN_SECRET_LEN} are required \
         (delete the file to have a new one generated)"
    )]
    FileTooShort {
        what: &'static str,
        path: PathBuf,
        len: usize,
    },
    #[error("cannot read or write the {what} file {path}: {source}")]
    File {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn resolve(spec: &SecretSpec<'_>) -> Result<(Vec<u8>, SecretOrigin), SecretError> {
    if let Some(secret) = spec.configured {
        if secret.len() < MIN_SECRET_LEN {
            return Err(SecretError::TooShort {
                what: spec.what,
                env_var: spec.env_var,
                len: secret.len(),
            });
        }
        return Ok((
            secret.as_bytes().to_vec(),
            SecretOrigin::Configured(spec.env_var),
        ));
    }
    let path = spec.data_dir.join(spec.file_name);
    if let Some(secret) = read_file(spec, &path)? {
        return Ok((secret, SecretOrigin::File(path)));
    }
    let secret = generate_file(spec, &path)?;
    Ok((secret, SecretOrigin::Generated(path)))
}

/// The file's text itself is the secret, not the bytes it hex-encodes, so
/// that an operator can paste it into the environment variable unchanged.
fn read_file(spec: &SecretSpec<'_>, path: &Path) -> Result<Option<Vec<u8>>, SecretError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(file_error(spec, path, source)),
    };
    warn_if_readable_by_others(spec, path);
    let secret = text.trim().as_bytes().to_vec();
    if secret.len() < MIN_SECRET_LEN {
        return Err(SecretError::FileTooShort {
            what: spec.what,
            path: path.to_path_buf(),
            len: secret.len(),
        });
    }
    Ok(Some(secret))
}

fn generate_file(spec: &SecretSpec<'_>, path: &Path) -> Result<Vec<u8>, SecretError> {
    std::fs::create_dir_all(spec.data_dir).map_err(|source| SecretError::DataDir {
        path: spec.data_dir.to_path_buf(),
        source,
    })?;
    let mut bytes = [0u8; MIN_SECRET_LEN];
    rand::rng().fill(&mut bytes[..]);
    let text = hex::encode(bytes);
    match write_private_file(path, text.as_bytes()) {
        Ok(()) => {}
        // Another process starting at the same moment won the race: share its secret.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            return read_file(spec, path)?.ok_or_else(|| file_error(spec, path, error));
        }
        Err(source) => return Err(file_error(spec, path, source)),
    }
    tracing::warn!(
        "generated a new {} at {}; keep that file (or set {} to its contents on every server, \
         at least {MIN_SECRET_LEN} bytes, e.g. `openssl rand -hex 32`)",
        spec.what,
        path.display(),
        spec.env_var
    );
    Ok(text.into_bytes())
}

/// `create_new` so an existing secret is never overwritten; mode 0600 from
/// the start so the secret is never readable by others, not even briefly.
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(unix)]
fn warn_if_readable_by_others(spec: &SecretSpec<'_>, path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode());
    if mode.is_ok_and(|mode| mode & 0o077 != 0) {
        tracing::warn!(
            "the {} file {} is accessible to other users; run `chmod 600` on it",
            spec.what,
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_spec: &SecretSpec<'_>, _path: &Path) {}

fn file_error(spec: &SecretSpec<'_>, path: &Path, source: std::io::Error) -> SecretError {
    SecretError::File {
        what: spec.what,
        path: path.to_path_buf(),
        source,
    }
}
