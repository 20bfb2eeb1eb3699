//! Secrets and keys never show in `Debug`, `Display` or error messages.

use natronfx_store::testing::TestDb;
use natronfx_vault::{KeyMaterial, Keyring, REDACTED, Secret};

use crate::{account, config, keys, vault};

const TOKEN: &str = "EAAGm0PX4ZCpsBAJZBsecret-page-token-never-print-me";

#[test]
fn a_secret_prints_as_redacted_in_debug_and_display() {
    let secret = Secret::from(TOKEN);
    assert_eq!(format!("{secret:?}"), REDACTED);
    assert_eq!(format!("{secret}"), REDACTED);
    assert_eq!(format!("{secret:#?}"), REDACTED);

    #[derive(Debug)]
    #[allow(dead_code, reason = "only printed")]
    struct Connection {
        access: Secret,
        refresh: Option<Secret>,
    }
    let printed = format!(
        "{:?}",
        Connection {
            access: Secret::new(TOKEN.to_owned()),
            refresh: Some(secret.clone()),
        }
    );
    assert!(!printed.contains(TOKEN), "{printed}");
    assert!(!printed.contains("never-print"), "{printed}");
    assert_eq!(secret.len(), TOKEN.len());
}

#[test]
fn keyrings_keys_and_configs_print_ids_but_never_key_bytes() {
    let keys = keys(&[1, 2]);
    let cfg = config(2, &keys);
    let ring = Keyring::from_config(&cfg).unwrap();
    let material = KeyMaterial::from_base64("vault.keys.1", &keys[&1]).unwrap();
    let printed = [
        format!("{ring:?}"),
        format!("{ring:#?}"),
        format!("{cfg:?}"),
        format!("{material:?}"),
        format!("{:?}", material.to_base64()),
    ];
    for text in &printed {
        for key in keys.values() {
            assert!(!text.contains(key.as_str()), "{text}");
            // Nor a recognisable part of the base64.
            assert!(!text.contains(&key[..12]), "{text}");
        }
    }
    assert!(printed[0].contains("primary: 2"), "{}", printed[0]);
    assert!(printed[0].contains("[1, 2]"), "{}", printed[0]);
    assert_eq!(material.to_base64().expose(), keys[&1]);
}

#[tokio::test]
async fn the_vault_and_what_it_returns_print_no_secret() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let keys = keys(&[1]);
    let vault = vault(&store, 1, &keys);
    let a = account(&store, "@brand").await;
    let token = Secret::from(TOKEN);
    vault
        .store_secrets(a, &[("access_token", &token, None)], None)
        .await
        .unwrap();

    let opened = vault.credential(a, "access_token").await.unwrap();
    let printed = [
        format!("{vault:?}"),
        format!("{opened:?}"),
        format!("{:?}", vault.fields(a).await.unwrap()),
        format!("{:?}", store.credential(a, "access_token").await.unwrap()),
    ];
    for text in &printed {
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains(&keys[&1]), "{text}");
    }
    assert_eq!(opened.secret.expose(), TOKEN);

    // Errors about a credential name the row, never its content.
    let other = account(&store, "@other").await;
    let mut moved = store.credential(a, "access_token").await.unwrap();
    moved.account_id = other;
    store.put_credentials(&[moved], None).await.unwrap();
    let err = vault.secret(other, "access_token").await.unwrap_err();
    let message = format!("{err} {err:?}");
    assert!(!message.contains(TOKEN), "{message}");
    assert!(message.contains(&other.to_string()), "{message}");
}
