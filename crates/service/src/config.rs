//! Configuration: defaults, then a TOML file, then `NATRONFX_SECTION__KEY` environment variables; the
//! binaries apply their flags last. Every key is documented in `natronfx.example.toml`.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Everything the binaries can be told.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the data lives.
    pub database: DatabaseConfig,
    /// The HTTP server.
    pub server: ServerConfig,
    /// Logging.
    pub log: LogConfig,
    /// The team's quality rules.
    pub quality: natronfx_workflow::QualityConfig,
    /// Media storage.
    pub media: crate::MediaConfig,
    /// Publishing workers.
    pub dispatch: crate::DispatchConfig,
    /// Where sandbox accounts publish.
    pub sandbox: crate::SandboxConfig,
    /// Image generation (OpenAI Images).
    pub images: crate::ImagesSettings,
    /// The token vault's keys. Holds secrets, so it is read but never written back out.
    #[serde(skip_serializing)]
    pub vault: Option<natronfx_vault::VaultConfig>,
    /// The OAuth app registered with each platform.
    pub apps: crate::AppsConfig,
    /// Connected accounts: when tokens are refreshed.
    pub accounts: crate::AccountsConfig,
    /// Sessions and login throttling.
    pub auth: crate::AuthConfig,
    /// How long each kind of record is kept.
    pub retention: crate::RetentionConfig,
}

/// Database settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite:PATH` (default `sqlite:natronfx.db`, created in the working folder) or `postgres://...`.
    pub url: String,
}

/// HTTP server settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take, in seconds.
    pub request_timeout_secs: u64,
    /// The URL people open the dashboard at. Session cookies are `Secure` unless this is plain `http` on
    /// localhost.
    pub public_url: String,
    /// Take the client address from `X-Forwarded-For` (only behind a reverse proxy that sets it).
    pub trust_forwarded_for: bool,
    /// The email of the admin the server creates when it starts on a database with no users. The
    /// password comes from the `NATRONFX_ADMIN_PASSWORD` environment variable, or is made up and
    /// printed once.
    pub first_admin_email: String,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` for people, `json` for log collectors.
    pub format: String,
    /// A tracing filter such as `info` or `natronfx=debug,sqlx=warn`.
    pub filter: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite:natronfx.db".into(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 60 * 1024 * 1024,
            request_timeout_secs: 30,
            public_url: "http://127.0.0.1:8080".into(),
            trust_forwarded_for: false,
            first_admin_email: "admin@example.com".into(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            filter: "info".into(),
        }
    }
}

impl Config {
    /// Loads defaults, then `file` when given (it must exist), then `NATRONFX_SECTION__KEY` variables.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(Error::Config(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // Only sectioned variables are configuration; NATRONFX_AS and NATRONFX_CONFIG are flags.
        figment = figment.merge(
            Env::prefixed("NATRONFX_")
                .filter(|k| k.as_str().contains("__"))
                .split("__"),
        );
        figment.extract().map_err(|e| Error::Config(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../natronfx.example.toml")
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment's Jail API fixes the closure's error type"
    )]
    fn the_example_config_documents_every_key_with_its_default() {
        figment::Jail::expect_with(|_| {
            let from_example = Config::load(Some(&example_path())).map_err(|e| e.to_string())?;
            let as_toml = |c: &Config| toml::Value::try_from(c).map_err(|e| e.to_string());
            assert_eq!(
                as_toml(&from_example)?,
                as_toml(&Config::default())?,
                "the example shows the defaults"
            );
            // Every key of the defaults appears (uncommented) in the example, under its section.
            let text = std::fs::read_to_string(example_path()).map_err(|e| e.to_string())?;
            fn walk(text: &str, path: &str, table: &toml::Table) {
                for (key, value) in table {
                    let full = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    match value.as_table() {
                        Some(sub) => {
                            assert!(
                                text.contains(&format!("[{full}]")),
                                "section [{full}] missing"
                            );
                            walk(text, &full, sub);
                        }
                        None => assert!(
                            text.lines().any(|l| l.starts_with(&format!("{key} ="))),
                            "{full} missing"
                        ),
                    }
                }
            }
            walk(
                &text,
                "",
                as_toml(&Config::default())?
                    .as_table()
                    .ok_or("not a table")?,
            );
            Ok(())
        });
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment's Jail API fixes the closure's error type"
    )]
    fn layers_apply_in_order_and_unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "[database]\nurl = \"sqlite:from-file.db\"\n[server]\nlisten = \"0.0.0.0:9\"\n",
            )?;
            jail.set_env("NATRONFX_DATABASE__URL", "postgres://env/db");
            jail.set_env("NATRONFX_AS", "someone@example.com");
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.database.url, "postgres://env/db");
            assert_eq!(c.server.listen, "0.0.0.0:9");
            jail.create_file("bad.toml", "[database]\nurll = \"typo\"\n")?;
            let err = Config::load(Some(Path::new("bad.toml"))).unwrap_err();
            assert!(err.to_string().contains("urll"), "{err}");
            assert!(Config::load(Some(Path::new("missing.toml"))).is_err());
            Ok(())
        });
    }
}
