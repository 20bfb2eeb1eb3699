//! The vault's integration tests: envelopes, key configuration, redaction, storage on SQLite and
//! PostgreSQL, and key rotation.

mod config;
mod envelope;
mod redaction;
mod rotation;
mod storage;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use natronfx_store::Store;
use natronfx_vault::{Keyring, Vault, VaultConfig, generate_key};
use natronfx_workflow::{Account, AccountId, AccountStatus, AuditAction, AuditEvent, Platform};

/// Fresh random keys for these ids, as base64 text (what an operator puts in configuration).
pub fn keys(ids: &[u32]) -> BTreeMap<u32, String> {
    ids.iter()
        .map(|id| (*id, generate_key().unwrap().expose().to_owned()))
        .collect()
}

/// A configuration with these keys and this primary.
pub fn config(primary: u32, keys: &BTreeMap<u32, String>) -> VaultConfig {
    VaultConfig {
        primary,
        keys: keys
            .iter()
            .map(|(id, k)| (*id, k.as_str().into()))
            .collect(),
        key_file: None,
    }
}

/// A keyring with these keys and this primary.
pub fn keyring(primary: u32, keys: &BTreeMap<u32, String>) -> Keyring {
    Keyring::from_config(&config(primary, keys)).unwrap()
}

/// A vault over a store.
pub fn vault(store: &Arc<dyn Store>, primary: u32, keys: &BTreeMap<u32, String>) -> Vault {
    Vault::from_config(store.clone(), &config(primary, keys)).unwrap()
}

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// A connected account (credentials need one: the store refuses orphans).
pub async fn account(store: &Arc<dyn Store>, name: &str) -> AccountId {
    let a = Account {
        id: AccountId::random(),
        platform: Platform::Tiktok,
        external_id: format!("ext-{name}-{}", AccountId::random()),
        display_name: name.into(),
        status: AccountStatus::Connected,
        sandbox: true,
        connected_by: None,
        created_at: now(),
    };
    store.insert_account(&a, &event(a.id)).await.unwrap();
    a.id
}

/// An audit event about an account.
pub fn event(account: AccountId) -> AuditEvent {
    AuditEvent::new(
        now(),
        None,
        AuditAction::AccountConnected,
        "account",
        account,
    )
}
