//! A [`MediaStore`] in a WordPress site's media library, over the REST API with an Application Password.
//!
//! Each object is one attachment uploaded as a raw body named `<key>` (`<sha256>.<ext>`), so WordPress
//! titles it, and slugs it, by the hash: a key is found again with `GET /wp/v2/media?slug=<sha256>`. The
//! public URL is the attachment's `source_url`, which WordPress chooses at upload (a dated folder under
//! `wp-content/uploads`); it is remembered per process and looked up when unknown
//! ([`MediaStore::resolve_public_url`]). Deleting is `DELETE /wp/v2/media/<id>?force=true`, because
//! attachments have no trash. WordPress error bodies (`{"code","message","data":{"status"}}`) become
//! [`Error::WordPress`] with one of our codes.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::key::MediaKey;
use crate::store::{MediaStore, PutOutcome};
use crate::{Error, Result};

/// How to reach a WordPress site's media library. Deserialize-only: the application password is a secret
/// that is never serialized and never shown by `Debug`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordPressConfig {
    /// The site's address, e.g. `https://blog.example.com` (https in production; Application Passwords
    /// only work over http on a site whose environment type is `local`).
    pub url: String,
    /// The WordPress user the uploads belong to; it needs the `upload_files` capability (Author or up).
    pub username: String,
    /// An Application Password of that user (Users → Profile → Application Passwords), with or without
    /// its spaces.
    pub application_password: SecretString,
    /// Reach the REST API at `/wp-json/` (sites with pretty permalinks) instead of `/?rest_route=`, which
    /// every site answers.
    #[serde(default)]
    pub pretty_permalinks: bool,
    /// Longest a request may take, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    60
}

impl fmt::Debug for WordPressConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WordPressConfig")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("application_password", &"[redacted]")
            .field("pretty_permalinks", &self.pretty_permalinks)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// What WordPress told us about one stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Attachment {
    id: u64,
    /// The public URL (of the `-scaled` copy when WordPress downscaled a very large image).
    source_url: String,
    /// The URL of the bytes exactly as uploaded.
    original_url: String,
}

/// Media in a WordPress media library.
pub struct WordPressStore {
    http: reqwest::Client,
    site: reqwest::Url,
    username: String,
    password: SecretString,
    pretty_permalinks: bool,
    known: Mutex<HashMap<String, Attachment>>,
}

impl fmt::Debug for WordPressStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WordPressStore")
            .field("site", &self.site.as_str())
            .field("username", &self.username)
            .field("pretty_permalinks", &self.pretty_permalinks)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct WireAttachment {
    id: u64,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    source_url: String,
    #[serde(default)]
    media_details: Option<WireDetails>,
}

#[derive(Deserialize)]
struct WireDetails {
    #[serde(default)]
    original_image: Option<String>,
}

#[derive(Deserialize)]
struct WireError {
    code: String,
    #[serde(default)]
    message: String,
}

impl WireAttachment {
    fn into_attachment(self) -> Attachment {
        // A downscaled upload keeps the original beside the `-scaled` copy, in the same folder.
        let original_url = match self.media_details.and_then(|d| d.original_image) {
            Some(original) if !original.contains('/') => match self.source_url.rfind('/') {
                Some(slash) => format!("{}/{original}", &self.source_url[..slash]),
                None => self.source_url.clone(),
            },
            _ => self.source_url.clone(),
        };
        Attachment {
            id: self.id,
            source_url: self.source_url,
            original_url,
        }
    }
}

impl WordPressStore {
    /// Builds the client. No request is made until the first operation.
    ///
    /// # Errors
    /// `invalid-media-config` for an unusable URL, an empty user or password.
    pub fn new(config: &WordPressConfig) -> Result<Self> {
        let url = config.url.trim().trim_end_matches('/');
        let site = reqwest::Url::parse(&format!("{url}/")).map_err(|e| {
            Error::Config(format!("WordPress url {:?} is not a URL: {e}", config.url))
        })?;
        if !matches!(site.scheme(), "http" | "https") || site.query().is_some() {
            return Err(Error::Config(format!(
                "WordPress url {:?} must be an http(s) address without a query",
                config.url
            )));
        }
        if config.username.trim().is_empty()
            || config
                .application_password
                .expose_secret()
                .trim()
                .is_empty()
        {
            return Err(Error::Config(
                "WordPress needs a username and an application_password".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the http client: {e}")))?;
        Ok(WordPressStore {
            http,
            site,
            username: config.username.trim().to_owned(),
            password: config.application_password.clone(),
            pretty_permalinks: config.pretty_permalinks,
            known: Mutex::new(HashMap::new()),
        })
    }

    /// The URL of a REST route such as `/wp/v2/media`, with query parameters.
    fn endpoint(&self, route: &str, query: &[(&str, &str)]) -> reqwest::Url {
        let mut url = self.site.clone();
        if self.pretty_permalinks {
            let path = format!("{}wp-json{route}", url.path());
            url.set_path(&path);
        } else {
            url.query_pairs_mut().append_pair("rest_route", route);
        }
        for (k, v) in query {
            url.query_pairs_mut().append_pair(k, v);
        }
        url
    }

    fn authed(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        // reqwest marks the Basic header sensitive, so it never shows in debug output.
        request.basic_auth(&self.username, Some(self.password.expose_secret()))
    }

    fn remembered(&self, key: &MediaKey) -> Option<Attachment> {
        self.known
            .lock()
            .ok()
            .and_then(|k| k.get(key.as_str()).cloned())
    }

    fn remember(&self, key: &MediaKey, attachment: Option<Attachment>) {
        if let Ok(mut known) = self.known.lock() {
            match attachment {
                Some(a) => known.insert(key.as_str().to_owned(), a),
                None => known.remove(key.as_str()),
            };
        }
    }

    /// The attachment holding `key`, if any: from memory, else by its slug (the key's hash). Asks in the
    /// `edit` context, which needs a logged-in user, so wrong credentials fail here instead of reading
    /// as "nothing stored".
    async fn find(&self, key: &MediaKey) -> Result<Option<Attachment>> {
        if let Some(a) = self.remembered(key) {
            return Ok(Some(a));
        }
        let url = self.endpoint(
            "/wp/v2/media",
            &[
                ("slug", key.sha256()),
                ("context", "edit"),
                ("_fields", "id,slug,source_url,media_details"),
            ],
        );
        let response = send(self.authed(self.http.get(url))).await?;
        let found: Vec<WireAttachment> = parse(&response)?;
        let extension = format!(".{}", key.format().extension());
        let attachment = found
            .into_iter()
            .find(|a| a.slug == key.sha256() && a.source_url.ends_with(&extension))
            .map(WireAttachment::into_attachment);
        if let Some(a) = &attachment {
            self.remember(key, Some(a.clone()));
        }
        Ok(attachment)
    }
}

/// A response read in full.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

async fn send(request: reqwest::RequestBuilder) -> Result<Answer> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.bytes().await.map_err(transport)?.to_vec();
    if (300..400).contains(&status) {
        return Err(Error::WordPress {
            status,
            code: "redirect".into(),
            message: format!(
                "the site redirected to {}; set [media.wordpress] url to the final address",
                location.as_deref().unwrap_or("another address")
            ),
        });
    }
    Ok(Answer { status, body })
}

fn transport(err: reqwest::Error) -> Error {
    let err = err.without_url();
    let what = if err.is_timeout() {
        "the request timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    Error::Http(format!("WordPress: {what}: {err}"))
}

/// A WordPress error body, or a description of a non-JSON failure (a web server's 413 page, a 502).
fn refusal(answer: &Answer) -> Error {
    match serde_json::from_slice::<WireError>(&answer.body) {
        Ok(e) => Error::WordPress {
            status: answer.status,
            code: e.code,
            message: e.message,
        },
        Err(_) => Error::WordPress {
            status: answer.status,
            code: String::new(),
            message: format!(
                "http {} without a WordPress error body{}",
                answer.status,
                if answer.status == 413 {
                    " (the web server's upload size limit)"
                } else {
                    ""
                }
            ),
        },
    }
}

fn parse<T: serde::de::DeserializeOwned>(answer: &Answer) -> Result<T> {
    if !(200..300).contains(&answer.status) {
        return Err(refusal(answer));
    }
    serde_json::from_slice(&answer.body).map_err(|e| Error::WordPress {
        status: answer.status,
        code: "invalid_json".into(),
        message: format!("the answer is not the JSON WordPress sends: {e}"),
    })
}

#[async_trait]
impl MediaStore for WordPressStore {
    async fn put(&self, key: &MediaKey, bytes: Vec<u8>, content_type: &str) -> Result<PutOutcome> {
        if self.find(key).await?.is_some() {
            return Ok(PutOutcome::AlreadyExisted);
        }
        let request = self
            .http
            .post(self.endpoint("/wp/v2/media", &[]))
            .header(CONTENT_TYPE, content_type)
            .header(
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{key}\""),
            )
            .body(bytes);
        let answer = send(self.authed(request)).await?;
        if answer.status != 201 && answer.status != 200 {
            return Err(refusal(&answer));
        }
        let created: WireAttachment = parse(&answer)?;
        if created.slug != key.sha256() {
            // Another post already had the slug; this copy cannot be found by its hash later.
            tracing::warn!(
                key = key.as_str(),
                slug = created.slug,
                "WordPress gave the upload another slug"
            );
        }
        self.remember(key, Some(created.into_attachment()));
        Ok(PutOutcome::Created)
    }

    async fn get(&self, key: &MediaKey) -> Result<Vec<u8>> {
        let Some(attachment) = self.find(key).await? else {
            return Err(Error::NotFound {
                key: key.to_string(),
            });
        };
        // The file itself is public; it is read as the platforms read it, without credentials.
        let answer = send(self.http.get(&attachment.original_url)).await?;
        match answer.status {
            200 => Ok(answer.body),
            404 | 410 => Err(Error::NotFound {
                key: key.to_string(),
            }),
            _ => Err(refusal(&answer)),
        }
    }

    async fn delete(&self, key: &MediaKey) -> Result<()> {
        let Some(attachment) = self.find(key).await? else {
            return Ok(());
        };
        let route = format!("/wp/v2/media/{}", attachment.id);
        let answer = send(
            self.authed(
                self.http
                    .delete(self.endpoint(&route, &[("force", "true")])),
            ),
        )
        .await?;
        let gone = match answer.status {
            200 => true,
            // Someone deleted it first: what we wanted.
            404 => {
                matches!(refusal(&answer), Error::WordPress { ref code, .. } if code == "rest_post_invalid_id")
            }
            _ => false,
        };
        if !gone {
            return Err(refusal(&answer));
        }
        self.remember(key, None);
        Ok(())
    }

    async fn exists(&self, key: &MediaKey) -> Result<bool> {
        Ok(self.find(key).await?.is_some())
    }

    /// The `source_url` WordPress gave the attachment, when this process uploaded or looked it up;
    /// otherwise the address under `wp-content/uploads` the file has on a site that does not sort uploads
    /// into dated folders. [`resolve_public_url`](MediaStore::resolve_public_url) asks the site.
    fn public_url(&self, key: &MediaKey) -> String {
        match self.remembered(key) {
            Some(a) => a.source_url,
            None => self
                .site
                .join(&format!("wp-content/uploads/{key}"))
                .map(|u| u.to_string())
                .unwrap_or_default(),
        }
    }

    async fn resolve_public_url(&self, key: &MediaKey) -> Result<String> {
        match self.find(key).await? {
            Some(a) => Ok(a.source_url),
            None => Err(Error::NotFound {
                key: key.to_string(),
            }),
        }
    }
}
