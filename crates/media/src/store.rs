//! Where media bytes live: a small content-addressed store trait with a local-folder and an S3 backend (the
//! WordPress backend is in `wordpress.rs`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload,
};
use serde::Deserialize;

use crate::key::MediaKey;
use crate::{Error, Result};

/// What a `put` did. Storing bytes that are already there is a normal outcome, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The object was written.
    Created,
    /// An object with this key (hence these exact bytes) was already stored; nothing was written.
    AlreadyExisted,
}

/// A content-addressed media store. Keys are [`MediaKey`]s, so the same bytes are stored once and no key
/// can name anything outside the store.
#[async_trait]
pub trait MediaStore: Send + Sync + fmt::Debug {
    /// Stores `bytes` under `key` with the given MIME type. A key that exists is left untouched.
    async fn put(&self, key: &MediaKey, bytes: Vec<u8>, content_type: &str) -> Result<PutOutcome>;

    /// Reads the object.
    ///
    /// # Errors
    /// `media-not-found` when nothing is stored under the key.
    async fn get(&self, key: &MediaKey) -> Result<Vec<u8>>;

    /// Deletes the object. Deleting a key that is not stored succeeds, so retries are safe.
    async fn delete(&self, key: &MediaKey) -> Result<()>;

    /// True when an object is stored under the key.
    async fn exists(&self, key: &MediaKey) -> Result<bool>;

    /// The public HTTPS URL the platforms pull the object from.
    fn public_url(&self, key: &MediaKey) -> String;

    /// The public URL, asking the backend when it assigns URLs itself (WordPress picks a dated folder at
    /// upload, so only the site knows). The other backends derive it from the key, as `public_url` does.
    ///
    /// # Errors
    /// `media-not-found` when the backend holds no such object, or the backend's own failures.
    async fn resolve_public_url(&self, key: &MediaKey) -> Result<String> {
        Ok(self.public_url(key))
    }
}

fn join_url(base: &str, key: &str) -> String {
    format!("{}/{key}", base.trim_end_matches('/'))
}

fn check_base_url(base: &str) -> Result<String> {
    let trimmed = base.trim().trim_end_matches('/');
    if !(trimmed.starts_with("https://") || trimmed.starts_with("http://"))
        || trimmed.contains(['?', '#'])
    {
        return Err(Error::Config(format!(
            "public base URL {base:?} must be an http(s) URL without query or fragment"
        )));
    }
    Ok(trimmed.to_owned())
}

// ---------------------------------------------------------------------------------------------------------
// Local folder
// ---------------------------------------------------------------------------------------------------------

/// Media in a local folder, served by the application under a public base URL.
///
/// Objects live at `<root>/<first two hex digits>/<key>` so no directory grows past a few thousand files.
/// Writes go to a temporary file in the same directory and are renamed into place, so a reader never sees
/// half a file and a crash leaves at most a stray `.tmp-` file.
#[derive(Debug, Clone)]
pub struct LocalFolderStore {
    root: PathBuf,
    public_base_url: String,
}

/// A stored file that may be streamed to an HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedFile {
    /// The file on disk.
    pub path: PathBuf,
    /// Its MIME type, from the key's extension.
    pub content_type: &'static str,
    /// Its length in bytes.
    pub len: u64,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl LocalFolderStore {
    /// Opens (creating if needed) a media folder whose objects are public under `public_base_url`
    /// (for example `https://media.example.com/m`).
    ///
    /// # Errors
    /// `invalid-media-config` for a bad URL, `media-store-unavailable` when the folder cannot be created.
    pub fn new(root: impl Into<PathBuf>, public_base_url: &str) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(LocalFolderStore {
            root,
            public_base_url: check_base_url(public_base_url)?,
        })
    }

    /// The folder holding the media.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the object for `key` lives on disk (it may not exist).
    #[must_use]
    pub fn path_of(&self, key: &MediaKey) -> PathBuf {
        self.root.join(&key.as_str()[..2]).join(key.as_str())
    }

    /// Resolves the last path segment of a public media URL to a file for the HTTP server.
    ///
    /// Only a valid [`MediaKey`] is ever turned into a path, so `..`, slashes, encoded separators or
    /// directory names are refused before touching the file system; there is no listing. Returns `Ok(None)`
    /// when the key is valid but nothing is stored (a 404).
    ///
    /// # Errors
    /// `invalid-media-key` for anything that is not a key (also a 404 for the server), or
    /// `media-store-unavailable` when the file exists but cannot be read.
    pub async fn open_for_serving(&self, key: &str) -> Result<Option<ServedFile>> {
        let key = MediaKey::parse(key)?;
        let path = self.path_of(&key);
        match tokio::fs::symlink_metadata(&path).await {
            Ok(meta) if meta.is_file() => Ok(Some(ServedFile {
                path,
                content_type: key.content_type(),
                len: meta.len(),
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }
}

#[async_trait]
impl MediaStore for LocalFolderStore {
    async fn put(&self, key: &MediaKey, bytes: Vec<u8>, _content_type: &str) -> Result<PutOutcome> {
        let path = self.path_of(key);
        if tokio::fs::try_exists(&path)
            .await
            .map_err(|e| Error::io(&path, e))?
        {
            return Ok(PutOutcome::AlreadyExisted);
        }
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| Error::io(&dir, e))?;
        let temp = dir.join(format!(
            ".tmp-{}-{}-{}",
            key.as_str(),
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = async {
            let mut file = tokio::fs::File::create(&temp).await?;
            tokio::io::AsyncWriteExt::write_all(&mut file, &bytes).await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&temp, &path).await
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(Error::io(&path, e));
        }
        Ok(PutOutcome::Created)
    }

    async fn get(&self, key: &MediaKey) -> Result<Vec<u8>> {
        let path = self.path_of(key);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound {
                key: key.to_string(),
            }),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    async fn delete(&self, key: &MediaKey) -> Result<()> {
        let path = self.path_of(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    async fn exists(&self, key: &MediaKey) -> Result<bool> {
        let path = self.path_of(key);
        tokio::fs::try_exists(&path)
            .await
            .map_err(|e| Error::io(&path, e))
    }

    fn public_url(&self, key: &MediaKey) -> String {
        join_url(&self.public_base_url, key.as_str())
    }
}

// ---------------------------------------------------------------------------------------------------------
// S3-compatible
// ---------------------------------------------------------------------------------------------------------

/// How to reach an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, moto …). Deserialize-only: it holds a
/// secret, which is never serialized and never shown by `Debug`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// Endpoint URL such as `http://127.0.0.1:9000`; `None` means AWS itself.
    pub endpoint: Option<String>,
    /// Region, for example `us-east-1`.
    pub region: String,
    /// Bucket name.
    pub bucket: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key; never printed by `Debug`.
    pub secret_access_key: String,
    /// Optional key prefix inside the bucket (no leading or trailing slash), e.g. `media`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Allow plain HTTP to the endpoint; meant for loopback test servers.
    #[serde(default)]
    pub allow_http: bool,
    /// Address the bucket by path (`endpoint/bucket/key`) instead of by virtual host. Most self-hosted
    /// S3 servers need this.
    #[serde(default = "default_true")]
    pub path_style: bool,
    /// Public URL in front of the bucket (and prefix), such as a CDN: `https://cdn.example.com`.
    pub public_base_url: String,
}

fn default_true() -> bool {
    true
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[redacted]")
            .field("prefix", &self.prefix)
            .field("allow_http", &self.allow_http)
            .field("path_style", &self.path_style)
            .field("public_base_url", &self.public_base_url)
            .finish()
    }
}

/// Media in an S3-compatible bucket, through `object_store`.
pub struct S3Store {
    inner: Arc<dyn ObjectStore>,
    prefix: Option<String>,
    bucket: String,
    public_base_url: String,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("public_base_url", &self.public_base_url)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// Builds the client. No request is made until the first operation.
    ///
    /// # Errors
    /// `invalid-media-config` for an unusable URL or prefix, `media-store-unavailable` when the client
    /// cannot be built.
    pub fn new(config: &S3Config) -> Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_region(&config.region)
            .with_bucket_name(&config.bucket)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_allow_http(config.allow_http)
            .with_virtual_hosted_style_request(!config.path_style);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let prefix = match config.prefix.as_deref().map(|p| p.trim_matches('/')) {
            None | Some("") => None,
            Some(p)
                if p.split('/')
                    .all(|seg| !seg.is_empty() && seg != "." && seg != "..") =>
            {
                Some(p.to_owned())
            }
            Some(p) => {
                return Err(Error::Config(format!(
                    "S3 prefix {p:?} is not a clean key prefix"
                )));
            }
        };
        Ok(S3Store {
            inner: Arc::new(builder.build()?),
            prefix,
            bucket: config.bucket.clone(),
            public_base_url: check_base_url(&config.public_base_url)?,
        })
    }

    fn location(&self, key: &MediaKey) -> ObjectPath {
        match &self.prefix {
            Some(prefix) => ObjectPath::from(format!("{prefix}/{key}")),
            None => ObjectPath::from(key.as_str()),
        }
    }
}

#[async_trait]
impl MediaStore for S3Store {
    async fn put(&self, key: &MediaKey, bytes: Vec<u8>, content_type: &str) -> Result<PutOutcome> {
        // The key is the hash of the bytes, so an existing object already holds exactly these bytes. A race
        // between two writers of the same key is harmless for the same reason.
        if self.exists(key).await? {
            return Ok(PutOutcome::AlreadyExisted);
        }
        let mut attributes = Attributes::new();
        attributes.insert(
            Attribute::ContentType,
            AttributeValue::from(content_type.to_owned()),
        );
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        self.inner
            .put_opts(&self.location(key), PutPayload::from(bytes), options)
            .await?;
        Ok(PutOutcome::Created)
    }

    async fn get(&self, key: &MediaKey) -> Result<Vec<u8>> {
        match self.inner.get(&self.location(key)).await {
            Ok(result) => Ok(result.bytes().await?.to_vec()),
            Err(object_store::Error::NotFound { .. }) => Err(Error::NotFound {
                key: key.to_string(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &MediaKey) -> Result<()> {
        match self.inner.delete(&self.location(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn exists(&self, key: &MediaKey) -> Result<bool> {
        match self.inner.head(&self.location(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn public_url(&self, key: &MediaKey) -> String {
        match &self.prefix {
            Some(prefix) => join_url(&self.public_base_url, &format!("{prefix}/{key}")),
            None => join_url(&self.public_base_url, key.as_str()),
        }
    }
}

/// Which media store to use, as read from configuration (`backend = "local"` or `backend = "s3"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum MediaStoreConfig {
    /// A folder on this machine, served by the application.
    Local {
        /// The folder.
        root: PathBuf,
        /// Public URL the folder is served under, e.g. `https://media.example.com/m`.
        public_base_url: String,
    },
    /// An S3-compatible bucket.
    S3(S3Config),
    /// A WordPress site's media library.
    #[serde(rename = "wordpress")]
    WordPress(crate::WordPressConfig),
}

impl MediaStoreConfig {
    /// Builds the configured store.
    ///
    /// # Errors
    /// `invalid-media-config` or `media-store-unavailable` as the backend's constructor returns.
    pub fn build(&self) -> Result<Arc<dyn MediaStore>> {
        Ok(match self {
            MediaStoreConfig::Local {
                root,
                public_base_url,
            } => Arc::new(LocalFolderStore::new(root.clone(), public_base_url)?),
            MediaStoreConfig::S3(config) => Arc::new(S3Store::new(config)?),
            MediaStoreConfig::WordPress(config) => Arc::new(crate::WordPressStore::new(config)?),
        })
    }
}

/// Stores an encoded image under its content-addressed key and returns the key.
///
/// # Errors
/// Whatever the store returns.
pub async fn store_image(
    store: &dyn MediaStore,
    image: &crate::EncodedImage,
) -> Result<(MediaKey, PutOutcome)> {
    let key = image.key();
    let outcome = store
        .put(&key, image.bytes.clone(), image.content_type)
        .await?;
    Ok((key, outcome))
}
