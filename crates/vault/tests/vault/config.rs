//! Keys from configuration and key files: what starts, and what refuses to start with a clear message.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use natronfx_vault::{Keyring, Secret, VaultConfig, generate_key};
use natronfx_workflow::AccountId;
use serde::Deserialize;

use crate::{config, keys};

fn write_key_file(dir: &Path, text: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.join("vault.keys");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn with_file(primary: u32, path: &Path) -> VaultConfig {
    VaultConfig {
        primary,
        keys: BTreeMap::new(),
        key_file: Some(path.to_owned()),
    }
}

#[test]
fn a_key_file_others_can_read_is_refused_with_the_chmod_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys(&[1]);
    let path = write_key_file(dir.path(), &format!("1={}\n", keys[&1]), 0o644);

    let err = Keyring::from_config(&with_file(1, &path)).unwrap_err();
    assert_eq!(err.code(), "vault-key-file-permissions");
    let message = err.to_string();
    assert!(
        message.contains(&format!("chmod 600 {}", path.display())),
        "{message}"
    );
    assert!(message.contains("0644"), "{message}");
    assert!(!message.contains(&keys[&1]));

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(
        Keyring::from_config(&with_file(1, &path))
            .unwrap_err()
            .code(),
        "vault-key-file-permissions"
    );
}

#[test]
fn a_private_key_file_with_comments_adds_to_the_configured_keys() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys(&[1, 2, 3]);
    let text = format!(
        "# NatronFX vault keys, one ID=BASE64 a line\n\n2={}\n  3 = {}  \n# 1 is in the TOML file\n",
        keys[&2], keys[&3]
    );
    let path = write_key_file(dir.path(), &text, 0o600);
    let mut cfg = config(3, &BTreeMap::from([(1, keys[&1].clone())]));
    cfg.key_file = Some(path);

    let ring = Keyring::from_config(&cfg).unwrap();
    assert_eq!(ring.key_ids(), vec![1, 2, 3]);
    assert_eq!(ring.primary(), 3);

    // The file's key 2 is the same key the operator generated: what it seals, that key opens.
    let account = AccountId::random();
    let sealed = crate::keyring(2, &keys)
        .seal(account, "access_token", &Secret::from("tok"))
        .unwrap();
    assert_eq!(
        ring.open(account, "access_token", &sealed)
            .unwrap()
            .expose(),
        "tok"
    );
}

#[test]
fn an_unreadable_key_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.keys");
    let err = Keyring::from_config(&with_file(1, &path)).unwrap_err();
    assert_eq!(err.code(), "vault-key-file-unreadable");
    assert!(err.to_string().contains("absent.keys"), "{err}");
}

#[test]
fn malformed_keys_name_the_setting_and_never_echo_the_key() {
    let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
    for (text, reason) in [
        ("not base64 at all!", "base64"),
        (short.as_str(), "16 bytes"),
        ("", "empty"),
    ] {
        let cfg = config(3, &BTreeMap::from([(3, text.to_owned())]));
        let err = Keyring::from_config(&cfg).unwrap_err();
        assert_eq!(err.code(), "vault-key-malformed", "{text}");
        assert_eq!(err.setting(), Some("vault.keys.3"));
        let message = err.to_string();
        assert!(message.contains("vault.keys.3"), "{message}");
        assert!(message.contains(reason), "{message}");
        if !text.is_empty() {
            assert!(!message.contains(text), "{message}");
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let good = keys(&[1]);
    let path = write_key_file(
        dir.path(),
        &format!("# keys\n1={}\n2={short}\n", good[&1]),
        0o600,
    );
    let err = Keyring::from_config(&with_file(1, &path)).unwrap_err();
    assert_eq!(err.code(), "vault-key-malformed");
    assert_eq!(
        err.setting(),
        Some(format!("{}:3", path.display()).as_str())
    );
    assert!(!err.to_string().contains(&short));

    let path = write_key_file(dir.path(), &format!("one={}\n", good[&1]), 0o600);
    let err = Keyring::from_config(&with_file(1, &path)).unwrap_err();
    assert_eq!(err.code(), "vault-key-malformed");
    assert!(!err.to_string().contains(&good[&1]));

    // The same id with two different keys is ambiguous: refused, not silently picked.
    let path = write_key_file(dir.path(), &format!("1={}\n", keys(&[1])[&1]), 0o600);
    let mut cfg = config(1, &good);
    cfg.key_file = Some(path);
    assert_eq!(
        Keyring::from_config(&cfg).unwrap_err().code(),
        "vault-key-malformed"
    );
}

#[test]
fn no_keys_or_a_primary_without_a_key_refuses_to_start() {
    let err = Keyring::from_config(&config(1, &BTreeMap::new())).unwrap_err();
    assert_eq!(err.code(), "vault-key-missing");
    assert_eq!(err.setting(), Some("vault.keys"));
    assert!(err.to_string().contains("never runs without encryption"));

    let err = Keyring::from_config(&config(5, &keys(&[1, 2]))).unwrap_err();
    assert_eq!(err.code(), "vault-key-missing");
    assert_eq!(err.setting(), Some("vault.primary"));
    assert!(err.to_string().contains("vault.keys.5"), "{err}");
}

#[test]
fn generated_keys_are_32_random_bytes_of_base64_that_the_config_accepts() {
    let (a, b) = (generate_key().unwrap(), generate_key().unwrap());
    assert_ne!(a.expose(), b.expose());
    let raw = base64::engine::general_purpose::STANDARD
        .decode(a.expose())
        .unwrap();
    assert_eq!(raw.len(), 32);
    let cfg = config(9, &BTreeMap::from([(9, a.expose().to_owned())]));
    assert_eq!(Keyring::from_config(&cfg).unwrap().key_ids(), vec![9]);
}

#[derive(Debug, Deserialize)]
struct AppConfig {
    vault: VaultConfig,
}

#[test]
#[allow(
    clippy::result_large_err,
    reason = "figment's Jail closures return figment's own (large) error"
)]
fn the_vault_section_loads_from_toml_and_environment_variables() {
    let keys = keys(&[1, 2]);
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "natronfx.toml",
            &format!("[vault]\nprimary = 1\n[vault.keys]\n1 = \"{}\"\n", keys[&1]),
        )?;
        let load = || {
            Figment::new()
                .merge(Toml::file("natronfx.toml"))
                .merge(Env::prefixed("NATRONFX_").split("__"))
                .extract::<AppConfig>()
        };
        let from_toml = Keyring::from_config(&load()?.vault).unwrap();
        assert_eq!((from_toml.primary(), from_toml.key_ids()), (1, vec![1]));

        jail.set_env("NATRONFX_VAULT__KEYS__2", &keys[&2]);
        jail.set_env("NATRONFX_VAULT__PRIMARY", "2");
        let cfg = load()?.vault;
        assert!(!format!("{cfg:?}").contains(&keys[&2]));
        let both = Keyring::from_config(&cfg).unwrap();
        assert_eq!((both.primary(), both.key_ids()), (2, vec![1, 2]));
        Ok(())
    });
}
