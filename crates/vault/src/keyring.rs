//! The keyring: numbered 256-bit keys from configuration or a key file, one of them primary, and the
//! envelope format every credential is sealed in.
//!
//! Envelope: `version (1 byte) ‖ key id (u32 big-endian) ‖ nonce (24 random bytes) ‖ ciphertext ‖ tag (16)`,
//! sealed with XChaCha20-Poly1305. The associated data is the version and key id bytes followed by
//! `natronfx/credential/v1/{account_id}/{field}`, so a ciphertext copied onto another account or field,
//! or with its key id edited, fails to open.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{AeadInOut, Generate, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use natronfx_workflow::AccountId;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

use crate::{Error, Result, Secret};

/// The envelope format version this code writes.
pub const ENVELOPE_VERSION: u8 = 1;
/// Bytes before the ciphertext: version, key id, nonce.
pub const HEADER_LEN: usize = 1 + 4 + 24;
/// Bytes of the authentication tag after the ciphertext.
pub const TAG_LEN: usize = 16;
/// Length of a vault key in bytes.
pub const KEY_LEN: usize = 32;

/// The `[vault]` configuration section.
///
/// ```toml
/// [vault]
/// primary = 2
/// key_file = "/etc/natronfx/vault.keys"   # optional: lines of `ID=BASE64`, mode 0600
/// [vault.keys]
/// 1 = "…base64 of 32 bytes…"
/// 2 = "…"
/// ```
///
/// As environment variables: `NATRONFX_VAULT__PRIMARY=2`, `NATRONFX_VAULT__KEYS__2=…`,
/// `NATRONFX_VAULT__KEY_FILE=…`. Keys from the file and from `keys` are merged; the primary key seals
/// every new secret, the others only open old ones until a rotation has re-sealed them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// The key id that seals new secrets.
    pub primary: u32,
    /// Keys by id, each the standard base64 of 32 random bytes.
    #[serde(default, deserialize_with = "keys_by_id")]
    pub keys: BTreeMap<u32, SecretString>,
    /// A file with more keys, one `ID=BASE64` a line, `#` comments; refused unless only its owner can
    /// read it.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// Map keys arrive as text from TOML tables and environment variables (`keys.3`) and as integers from
/// some formats; both mean a key id.
fn keys_by_id<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<u32, SecretString>, D::Error> {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    struct KeyId(u32);
    impl<'de> Deserialize<'de> for KeyId {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = KeyId;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a vault key id (an integer from 0 to 4294967295)")
                }
                fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<KeyId, E> {
                    u32::try_from(v)
                        .map(KeyId)
                        .map_err(|_| E::custom(format!("key id {v} is above 4294967295")))
                }
                fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<KeyId, E> {
                    u32::try_from(v)
                        .map(KeyId)
                        .map_err(|_| E::custom(format!("key id {v} is not a u32")))
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KeyId, E> {
                    v.trim()
                        .parse()
                        .map(KeyId)
                        .map_err(|_| E::custom(format!("`{v}` is not a key id (use an integer)")))
                }
            }
            d.deserialize_any(V)
        }
    }
    let raw: BTreeMap<KeyId, SecretString> = BTreeMap::deserialize(d)?;
    Ok(raw.into_iter().map(|(k, v)| (k.0, v)).collect())
}

/// 32 bytes of key, zeroized on drop and never printed or serialized.
///
/// ```compile_fail
/// fn to_json<T: serde::Serialize>(_: &T) {}
/// to_json(&natronfx_vault::KeyMaterial::generate().unwrap());
/// ```
#[derive(Clone)]
pub struct KeyMaterial(Zeroizing<[u8; KEY_LEN]>);

impl KeyMaterial {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Result<KeyMaterial> {
        let key = Key::try_generate().map_err(|e| Error::Random(e.to_string()))?;
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(key.as_slice());
        // `Key` is a plain array: wipe our copy of it too.
        let mut key = key;
        zeroize::Zeroize::zeroize(key.as_mut_slice());
        Ok(KeyMaterial(bytes))
    }

    /// Parses the standard base64 of 32 bytes; `setting` names where it came from in errors.
    pub fn from_base64(setting: &str, text: &str) -> Result<KeyMaterial> {
        let malformed = |reason: String| Error::KeyMalformed {
            setting: setting.to_owned(),
            reason,
        };
        let text = text.trim();
        if text.is_empty() {
            return Err(malformed("it is empty".into()));
        }
        let decoded = Zeroizing::new(STANDARD.decode(text).map_err(|_| {
            malformed(
                "it is not standard base64 (generate one with `openssl rand -base64 32`)".into(),
            )
        })?);
        if decoded.len() != KEY_LEN {
            return Err(malformed(format!(
                "it decodes to {} bytes, a vault key is {KEY_LEN}",
                decoded.len()
            )));
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(&decoded);
        Ok(KeyMaterial(bytes))
    }

    /// The key as standard base64, for a configuration file.
    pub fn to_base64(&self) -> Secret {
        Secret::new(STANDARD.encode(self.0.as_slice()))
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::secret::REDACTED)
    }
}

/// A new random vault key as base64, ready for `vault.keys.<id>` or a key file line.
pub fn generate_key() -> Result<Secret> {
    Ok(KeyMaterial::generate()?.to_base64())
}

/// The associated data that binds a ciphertext to its row (without the envelope header).
pub fn credential_context(account: AccountId, field: &str) -> String {
    format!("natronfx/credential/v1/{account}/{field}")
}

/// The associated data that binds a secret of the system itself (not of an account) to its name.
pub fn service_secret_context(name: &str) -> String {
    format!("natronfx/service-secret/v1/{name}")
}

/// The key id an envelope says it was sealed with, without opening it.
pub fn envelope_key_id(envelope: &[u8]) -> Result<u32> {
    if envelope.len() < HEADER_LEN + TAG_LEN {
        return Err(Error::Malformed {
            reason: format!(
                "{} bytes is shorter than the {} of an empty envelope",
                envelope.len(),
                HEADER_LEN + TAG_LEN
            ),
        });
    }
    if envelope[0] != ENVELOPE_VERSION {
        return Err(Error::Malformed {
            reason: format!(
                "envelope version {} is unknown (this build reads {ENVELOPE_VERSION})",
                envelope[0]
            ),
        });
    }
    Ok(u32::from_be_bytes([
        envelope[1],
        envelope[2],
        envelope[3],
        envelope[4],
    ]))
}

/// Numbered keys, one of them primary. Opens with any key it holds; seals with the primary.
#[derive(Clone)]
pub struct Keyring {
    primary: u32,
    // The cipher instances own a copy of their key and zeroize it on drop (feature `zeroize`).
    ciphers: BTreeMap<u32, XChaCha20Poly1305>,
}

impl Keyring {
    /// A keyring from keys in hand. The primary must be among them.
    pub fn new(primary: u32, keys: BTreeMap<u32, KeyMaterial>) -> Result<Keyring> {
        if keys.is_empty() {
            return Err(no_keys());
        }
        if !keys.contains_key(&primary) {
            return Err(missing_primary(primary));
        }
        let ciphers = keys
            .iter()
            .map(|(id, key)| {
                let key = Key::from(*key.0);
                let cipher = XChaCha20Poly1305::new(&key);
                let mut key = key;
                zeroize::Zeroize::zeroize(key.as_mut_slice());
                (*id, cipher)
            })
            .collect();
        Ok(Keyring { primary, ciphers })
    }

    /// The keyring a configuration describes: its `keys` plus those in its `key_file`.
    ///
    /// Fails, naming the setting to fix, when there are no keys, the primary names none of them, a key is
    /// not 32 bytes of base64, an id has two different keys, or the key file is readable by others.
    pub fn from_config(config: &VaultConfig) -> Result<Keyring> {
        let mut keys = BTreeMap::new();
        for (id, text) in &config.keys {
            let key = KeyMaterial::from_base64(&format!("vault.keys.{id}"), text.expose_secret())?;
            keys.insert(*id, key);
        }
        if let Some(path) = &config.key_file {
            for (id, setting, key) in read_key_file(path)? {
                match keys.get(&id) {
                    Some(existing) if existing.0 != key.0 => {
                        return Err(Error::KeyMalformed {
                            setting,
                            reason: format!(
                                "key {id} is also set in vault.keys.{id} with a different value; keep one"
                            ),
                        });
                    }
                    _ => {
                        keys.insert(id, key);
                    }
                }
            }
        }
        Keyring::new(config.primary, keys)
    }

    /// The key id that seals new secrets.
    pub fn primary(&self) -> u32 {
        self.primary
    }

    /// Every key id held, ascending.
    pub fn key_ids(&self) -> Vec<u32> {
        self.ciphers.keys().copied().collect()
    }

    /// Whether a key id is held.
    pub fn contains(&self, key_id: u32) -> bool {
        self.ciphers.contains_key(&key_id)
    }

    /// Seals a secret for one field of one account under the primary key.
    pub fn seal(&self, account: AccountId, field: &str, secret: &Secret) -> Result<Vec<u8>> {
        self.seal_bound(&credential_context(account, field), secret)
    }

    /// Opens an envelope sealed for this account and field.
    pub fn open(&self, account: AccountId, field: &str, envelope: &[u8]) -> Result<Secret> {
        self.open_bound(&credential_context(account, field), envelope)
    }

    /// Seals a secret bound to any context (what [`Keyring::seal`] does with an account and field), for
    /// secrets kept outside the credential store, such as an OAuth flow's PKCE verifier bound to its
    /// state. The same context must be given to [`Keyring::open_bound`].
    pub fn seal_bound(&self, context: &str, secret: &Secret) -> Result<Vec<u8>> {
        let plaintext = secret.expose().as_bytes();
        let cipher = self
            .ciphers
            .get(&self.primary)
            .ok_or_else(|| missing_primary(self.primary))?;
        let nonce = XNonce::try_generate().map_err(|e| Error::Random(e.to_string()))?;
        // Exact capacity: the plaintext is encrypted where it lies and the buffer never reallocates, so
        // no plaintext copy is left behind.
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        out.push(ENVELOPE_VERSION);
        out.extend_from_slice(&self.primary.to_be_bytes());
        out.extend_from_slice(nonce.as_slice());
        out.extend_from_slice(plaintext);
        let aad = associated_data(&out[..5], context);
        let tag = cipher
            .encrypt_inout_detached(&nonce, &aad, (&mut out[HEADER_LEN..]).into())
            .map_err(|_| Error::Malformed {
                reason: "the secret is too long to seal".into(),
            })?;
        out.extend_from_slice(tag.as_slice());
        Ok(out)
    }

    /// Opens an envelope sealed with [`Keyring::seal_bound`] for the same context.
    pub fn open_bound(&self, context: &str, envelope: &[u8]) -> Result<Secret> {
        let key_id = envelope_key_id(envelope)?;
        let cipher = self
            .ciphers
            .get(&key_id)
            .ok_or(Error::UnknownKeyId { key_id })?;
        let tampered = || Error::Tampered {
            context: context
                .strip_prefix("natronfx/credential/v1/")
                .or_else(|| context.strip_prefix("natronfx/service-secret/v1/"))
                .unwrap_or(context)
                .to_owned(),
            key_id,
        };
        let body_end = envelope.len() - TAG_LEN;
        let nonce = XNonce::try_from(&envelope[5..HEADER_LEN]).map_err(|_| tampered())?;
        let tag = Tag::try_from(&envelope[body_end..]).map_err(|_| tampered())?;
        let aad = associated_data(&envelope[..5], context);
        let mut plain = Zeroizing::new(envelope[HEADER_LEN..body_end].to_vec());
        cipher
            .decrypt_inout_detached(&nonce, &aad, plain.as_mut_slice().into(), &tag)
            .map_err(|_| tampered())?;
        let text = std::str::from_utf8(&plain).map_err(|_| Error::Malformed {
            reason: "the sealed secret is not text".into(),
        })?;
        Ok(Secret::copy_of(text))
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("primary", &self.primary)
            .field("key_ids", &self.key_ids())
            .finish()
    }
}

fn associated_data(header: &[u8], context: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + context.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(context.as_bytes());
    aad
}

fn no_keys() -> Error {
    Error::KeyMissing {
        setting: "vault.keys".into(),
        detail: "no vault keys are configured; set vault.keys.<id> (NATRONFX_VAULT__KEYS__<id>) to the \
                 base64 of 32 random bytes, or point vault.key_file at a key file; the vault never runs \
                 without encryption"
            .into(),
    }
}

fn missing_primary(primary: u32) -> Error {
    Error::KeyMissing {
        setting: "vault.primary".into(),
        detail: format!(
            "vault.primary is {primary} but no key {primary} is configured; set vault.keys.{primary} \
             or choose a configured key id"
        ),
    }
}

/// Reads `ID=BASE64` lines, refusing a file others can read. Returns (id, where, key) per line.
fn read_key_file(path: &Path) -> Result<Vec<(u32, String, KeyMaterial)>> {
    let unreadable = |source| Error::KeyFileUnreadable {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    // Checked on the open handle, so the file read is the file checked.
    check_permissions(path, &file.metadata().map_err(unreadable)?)?;
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text).map_err(unreadable)?;
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let setting = format!("{}:{}", path.display(), n + 1);
        // Never echo the line: it holds a key.
        let Some((id, key)) = line.split_once('=') else {
            return Err(Error::KeyMalformed {
                setting,
                reason: "expected `ID=BASE64`".into(),
            });
        };
        let id: u32 = id.trim().parse().map_err(|_| Error::KeyMalformed {
            setting: setting.clone(),
            reason: "the key id before `=` is not an integer".into(),
        })?;
        if keys.iter().any(|(seen, _, _)| *seen == id) {
            return Err(Error::KeyMalformed {
                setting,
                reason: format!("key {id} appears twice in the file"),
            });
        }
        let key = KeyMaterial::from_base64(&setting, key)?;
        keys.push((id, setting, key));
    }
    Ok(keys)
}

#[cfg(unix)]
fn check_permissions(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(Error::KeyFilePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _meta: &std::fs::Metadata) -> Result<()> {
    // Windows ACLs are not mode bits; the folder's ACL is the operator's responsibility there.
    Ok(())
}
