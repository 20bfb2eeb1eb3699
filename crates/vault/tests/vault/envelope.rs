//! Sealing and opening without storage: round trips, wrong keys, wrong rows, damaged envelopes.

use natronfx_vault::{ENVELOPE_VERSION, HEADER_LEN, Secret, TAG_LEN, envelope_key_id};
use natronfx_workflow::AccountId;

use crate::{keyring, keys};

const TOKEN: &str = "act.1a2b3c4d5e6f7g8h9i0jKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz_0123456789.\
                     TikTokAccessTokenThatIsAboutTwoHundredBytesLongToLookLikeARealOneFromThePlatform.\
                     xyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyz!!";

#[test]
fn a_sealed_token_opens_to_the_same_text_and_names_its_key() {
    let keys = keys(&[1, 7]);
    let ring = keyring(7, &keys);
    let account = AccountId::random();
    let sealed = ring
        .seal(account, "access_token", &Secret::from(TOKEN))
        .unwrap();

    assert_eq!(sealed.len(), HEADER_LEN + TOKEN.len() + TAG_LEN);
    assert_eq!(sealed[0], ENVELOPE_VERSION);
    assert_eq!(&sealed[1..5], &7u32.to_be_bytes());
    assert_eq!(envelope_key_id(&sealed).unwrap(), 7);
    assert!(
        !sealed
            .windows(16)
            .any(|w| TOKEN.as_bytes().windows(16).any(|t| t == w)),
        "no run of plaintext survives in the envelope"
    );
    assert_eq!(
        ring.open(account, "access_token", &sealed)
            .unwrap()
            .expose(),
        TOKEN
    );

    let again = ring
        .seal(account, "access_token", &Secret::from(TOKEN))
        .unwrap();
    assert_ne!(sealed, again, "every seal uses a fresh nonce");

    let empty = ring.seal(account, "x", &Secret::from("")).unwrap();
    assert_eq!(ring.open(account, "x", &empty).unwrap().expose(), "");
}

#[test]
fn old_keys_open_old_secrets_after_the_primary_changes() {
    let keys = keys(&[1, 2]);
    let account = AccountId::random();
    let sealed = keyring(1, &keys)
        .seal(account, "refresh_token", &Secret::from(TOKEN))
        .unwrap();
    let ring = keyring(2, &keys);
    assert_eq!(
        ring.open(account, "refresh_token", &sealed)
            .unwrap()
            .expose(),
        TOKEN
    );
    assert_eq!(
        envelope_key_id(&ring.seal(account, "f", &Secret::from("t")).unwrap()).unwrap(),
        2
    );
}

#[test]
fn a_different_key_under_the_same_id_or_a_missing_id_does_not_open() {
    let account = AccountId::random();
    let sealed = keyring(1, &keys(&[1]))
        .seal(account, "access_token", &Secret::from(TOKEN))
        .unwrap();

    let impostor = keyring(1, &keys(&[1]));
    let err = impostor.open(account, "access_token", &sealed).unwrap_err();
    assert_eq!(err.code(), "credential-tampered");

    let without = keyring(2, &keys(&[2]));
    let err = without.open(account, "access_token", &sealed).unwrap_err();
    assert_eq!(err.code(), "unknown-key-id");
    assert!(err.to_string().contains("vault.keys.1"), "{err}");
}

#[test]
fn a_ciphertext_for_one_row_does_not_open_for_another_account_or_field() {
    let ring = keyring(1, &keys(&[1]));
    let (a, b) = (AccountId::random(), AccountId::random());
    let sealed = ring.seal(a, "access_token", &Secret::from(TOKEN)).unwrap();
    for (account, field) in [
        (b, "access_token"),
        (a, "refresh_token"),
        (b, "refresh_token"),
    ] {
        let err = ring.open(account, field, &sealed).unwrap_err();
        assert_eq!(err.code(), "credential-tampered", "{account}/{field}");
        assert!(!err.to_string().contains(TOKEN));
    }
}

#[test]
fn truncated_or_garbled_envelopes_are_refused_with_a_code() {
    let keys = keys(&[1, 2]);
    let ring = keyring(1, &keys);
    let account = AccountId::random();
    let sealed = ring
        .seal(account, "access_token", &Secret::from(TOKEN))
        .unwrap();

    for len in 0..sealed.len() {
        let err = ring
            .open(account, "access_token", &sealed[..len])
            .unwrap_err();
        let expected = if len < HEADER_LEN + TAG_LEN {
            "credential-malformed"
        } else {
            "credential-tampered"
        };
        assert_eq!(err.code(), expected, "truncated to {len} bytes");
    }

    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        let err = ring.open(account, "access_token", &bad).unwrap_err();
        let expected = match i {
            0 => "credential-malformed",
            // Any flipped bit in key id 1 names a key id the keyring lacks.
            1..=4 => "unknown-key-id",
            _ => "credential-tampered",
        };
        assert_eq!(err.code(), expected, "byte {i} flipped");
    }

    // Relabelled to another key id the keyring holds: the header is authenticated too.
    let mut relabelled = sealed.clone();
    relabelled[1..5].copy_from_slice(&2u32.to_be_bytes());
    let err = ring.open(account, "access_token", &relabelled).unwrap_err();
    assert_eq!(err.code(), "credential-tampered");

    let mut longer = sealed.clone();
    longer.push(0);
    assert_eq!(
        ring.open(account, "access_token", &longer)
            .unwrap_err()
            .code(),
        "credential-tampered"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn any_text_round_trips_and_opens_only_on_its_own_field(
        text in "\\PC{0,300}",
        field in "[a-z_]{1,20}",
        other in "[a-z_]{1,20}",
    ) {
        let ring = keyring(3, &keys(&[3]));
        let account = AccountId::random();
        let sealed = ring.seal(account, &field, &Secret::from(text.as_str())).unwrap();
        let opened = ring.open(account, &field, &sealed).unwrap();
        proptest::prop_assert_eq!(opened.expose(), text.as_str());
        if other != field {
            proptest::prop_assert_eq!(
                ring.open(account, &other, &sealed).unwrap_err().code(),
                "credential-tampered"
            );
        }
    }
}

#[test]
fn a_secret_bound_to_a_context_opens_only_in_that_context() {
    let keys = keys(&[3]);
    let ring = keyring(3, &keys);
    let verifier = Secret::from("pkce-verifier-0123456789-0123456789-0123456789");
    let sealed = ring
        .seal_bound("natronfx/oauth-state/v1/abc", &verifier)
        .unwrap();
    assert_eq!(
        ring.open_bound("natronfx/oauth-state/v1/abc", &sealed)
            .unwrap()
            .expose(),
        verifier.expose()
    );
    let err = ring
        .open_bound("natronfx/oauth-state/v1/abd", &sealed)
        .unwrap_err();
    assert_eq!(err.code(), "credential-tampered");
    // A credential's context is the same binding under its own name: the two never cross.
    let account = AccountId::random();
    let as_credential = ring
        .seal(account, "access_token", &Secret::from(TOKEN))
        .unwrap();
    assert!(
        ring.open_bound("natronfx/oauth-state/v1/abc", &as_credential)
            .is_err()
    );
    assert_eq!(
        ring.open_bound(
            &natronfx_vault::credential_context(account, "access_token"),
            &as_credential
        )
        .unwrap()
        .expose(),
        TOKEN
    );
}
