//! NatronFX credential vault: the OAuth tokens of connected accounts, encrypted at rest.
//!
//! Every secret is sealed with XChaCha20-Poly1305 under the primary key of a [`Keyring`] built from the
//! `[vault]` configuration ([`VaultConfig`]). The envelope records the key id, so old keys keep opening
//! old secrets while [`Vault::rotate`] re-seals them under the primary; [`Vault::status`] says when an
//! old key seals nothing and can be retired. The associated data binds each ciphertext to its account and
//! field, so a ciphertext copied onto another row fails to open. Secrets in memory are [`Secret`]s:
//! zeroized on drop, printed as `[REDACTED]`, never serialized.
//!
//! The vault never runs unencrypted: no keys, a primary without a key, or a malformed key is an error
//! naming the setting to fix.
//!
//! ```
//! use std::collections::BTreeMap;
//! use natronfx_vault::{Keyring, Secret, VaultConfig, generate_key};
//! use natronfx_workflow::AccountId;
//!
//! # fn main() -> natronfx_vault::Result<()> {
//! let config = VaultConfig {
//!     primary: 1,
//!     keys: BTreeMap::from([(1, generate_key()?.expose().into())]),
//!     key_file: None,
//! };
//! let keyring = Keyring::from_config(&config)?;
//! let account = AccountId::random();
//! let token = Secret::from("act.example-access-token");
//! let sealed = keyring.seal(account, "access_token", &token)?;
//! assert_eq!(keyring.open(account, "access_token", &sealed)?.expose(), token.expose());
//!
//! // The same ciphertext on another field (or account) does not open.
//! let err = keyring.open(account, "refresh_token", &sealed).unwrap_err();
//! assert_eq!(err.code(), "credential-tampered");
//! # Ok(()) }
//! ```
//!
//! With a store, [`Vault`] writes several fields in one transaction, reads them back, removes them, and
//! rotates keys in resumable batches:
//!
//! ```no_run
//! # async fn demo(config: natronfx_vault::VaultConfig, account: natronfx_workflow::AccountId)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use std::ops::ControlFlow;
//! use natronfx_vault::{Secret, Vault};
//!
//! let store = natronfx_store::connect("sqlite:natronfx.db").await?;
//! let vault = Vault::from_config(store, &config)?;
//! let (access, refresh) = (Secret::from("act.…"), Secret::from("rft.…"));
//! vault
//!     .store_secrets(
//!         account,
//!         &[("access_token", &access, None), ("refresh_token", &refresh, None)],
//!         None,
//!     )
//!     .await?;
//! let token = vault.secret(account, "access_token").await?;
//! # let _ = token;
//!
//! // After making a new key primary: re-seal everything under it, 500 at a time.
//! let report = vault.rotate(500, |_| ControlFlow::Continue(())).await?;
//! assert_eq!(report.remaining, 0);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod error;
mod keyring;
mod secret;
mod vault;

pub use error::{Error, Result};
pub use keyring::{
    ENVELOPE_VERSION, HEADER_LEN, KEY_LEN, KeyMaterial, Keyring, TAG_LEN, VaultConfig,
    credential_context, envelope_key_id, generate_key, service_secret_context,
};
pub use secret::{REDACTED, Secret};
pub use vault::{
    CredentialInfo, KeyStatus, OpenedCredential, RotationProgress, RotationReport,
    ServiceSecretInfo, Vault, VaultStatus,
};
