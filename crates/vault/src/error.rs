//! The vault's error type. Messages name settings, files, accounts and fields, never a secret or key.

use std::path::PathBuf;

use natronfx_workflow::AccountId;

/// Result of a vault operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while loading keys, sealing, opening or storing credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No usable key where one is required: no keys at all, or the primary id names no key.
    #[error("vault key missing: {detail}")]
    KeyMissing {
        /// The setting to fix (`vault.keys`, `vault.primary`).
        setting: String,
        /// What is missing and how to fix it.
        detail: String,
    },
    /// A configured key is not 32 bytes of base64, or the same id is given two different keys.
    #[error("vault key `{setting}` is malformed: {reason}")]
    KeyMalformed {
        /// The setting or file line holding the key (`vault.keys.3`, `/etc/natronfx/keys:4`).
        setting: String,
        /// Why it was refused (never the key itself).
        reason: String,
    },
    /// The key file can be read by other users of the machine.
    #[error(
        "vault key file {} is readable by group or others (mode {mode:04o}); run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file could not be read.
    #[error("cannot read vault key file {}: {source}", path.display())]
    KeyFileUnreadable {
        /// The key file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// A ciphertext names a key id that is not in the keyring.
    #[error(
        "credential sealed with vault key {key_id}, which is not configured; add `vault.keys.{key_id}` back"
    )]
    UnknownKeyId {
        /// The key id from the envelope.
        key_id: u32,
    },
    /// A ciphertext failed authentication: it was altered, moved to another account or field, or the
    /// configured key under its id is not the key that sealed it.
    #[error(
        "credential {context} could not be opened: it was altered, copied from another row, or vault key \
         {key_id} is not the key that sealed it"
    )]
    Tampered {
        /// Which credential (`account/field`).
        context: String,
        /// The key id the envelope names.
        key_id: u32,
    },
    /// A ciphertext is not a vault envelope (truncated, unknown version, not text inside).
    #[error("credential is not a valid vault envelope: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// The account has no credential with this field.
    #[error("account {account} has no stored `{field}`; connect the account again")]
    NotFound {
        /// The account.
        account: AccountId,
        /// The field asked for.
        field: String,
    },
    /// A field name is empty, too long, or uses characters other than `a-z`, `0-9` and `_`, or appears
    /// twice in one write.
    #[error("invalid credential field `{field}`: {reason}")]
    InvalidField {
        /// The field as given.
        field: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
    /// The credential store failed.
    #[error(transparent)]
    Store(natronfx_store::Error),
}

impl Error {
    /// Stable kebab-case code, for HTTP bodies, CLI exit codes and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Error::KeyMissing { .. } => "vault-key-missing",
            Error::KeyMalformed { .. } => "vault-key-malformed",
            Error::KeyFilePermissions { .. } => "vault-key-file-permissions",
            Error::KeyFileUnreadable { .. } => "vault-key-file-unreadable",
            Error::UnknownKeyId { .. } => "unknown-key-id",
            Error::Tampered { .. } => "credential-tampered",
            Error::Malformed { .. } => "credential-malformed",
            Error::NotFound { .. } => "credential-not-found",
            Error::InvalidField { .. } => "invalid-credential-field",
            Error::Random(_) => "vault-rng-failed",
            Error::Store(e) => e.code(),
        }
    }

    /// The setting an operator must fix, for configuration errors.
    pub fn setting(&self) -> Option<&str> {
        match self {
            Error::KeyMissing { setting, .. } | Error::KeyMalformed { setting, .. } => {
                Some(setting)
            }
            _ => None,
        }
    }
}

impl From<natronfx_store::Error> for Error {
    fn from(e: natronfx_store::Error) -> Self {
        Error::Store(e)
    }
}
