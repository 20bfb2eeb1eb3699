//! OpenAI Images: `POST /v1/images/generations` for the GPT image models, with the documented failures
//! told apart (a prompt the safety system refused, an unverified organization, a rate limit that passes
//! versus a billing quota that does not, timeouts) and a bounded retry of the passing ones.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The longest prompt the GPT image models take, in characters.
pub const IMAGE_PROMPT_MAX_CHARS: usize = 32_000;
/// The most images one request may ask for.
pub const IMAGE_MAX_COUNT: u8 = 10;
/// The longest wait a retry hint is honoured for (the official SDK's cap).
const MAX_RETRY_WAIT: Duration = Duration::from_secs(120);

/// How to reach the Images API. Holds the API key, which `Debug` never shows.
#[derive(Clone)]
pub struct ImagesConfig {
    /// `https://api.openai.com`, or a stand-in (the simulator's `openai_base_url`).
    pub base_url: String,
    /// The API key, sent as a bearer token.
    pub api_key: SecretString,
    /// The model, always sent (the API would otherwise pick `dall-e-2`): `gpt-image-1`.
    pub model: String,
    /// Longest wait for one answer; generation commonly takes tens of seconds, up to about two minutes.
    pub timeout: Duration,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// How many times a rate limit or a server error is retried before it is reported.
    pub max_retries: u32,
    /// The first backoff delay when the service gives no hint (doubling, at most 8 s).
    pub initial_backoff: Duration,
}

impl ImagesConfig {
    /// The defaults for `api_key`: the public API, `gpt-image-1`, 180 s, two retries.
    pub fn new(api_key: SecretString) -> Self {
        ImagesConfig {
            base_url: "https://api.openai.com".into(),
            api_key,
            model: "gpt-image-1".into(),
            timeout: Duration::from_secs(180),
            connect_timeout: Duration::from_secs(5),
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
        }
    }
}

impl fmt::Debug for ImagesConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImagesConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

/// The sizes `gpt-image-1` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImageSize {
    /// `1024x1024`.
    #[serde(rename = "1024x1024")]
    Square,
    /// `1024x1536`: narrower than Instagram's 4:5, so slides fit it to their canvas.
    #[serde(rename = "1024x1536")]
    Portrait,
    /// `1536x1024`.
    #[serde(rename = "1536x1024")]
    Landscape,
}

impl ImageSize {
    /// The wire value, e.g. `1024x1536`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageSize::Square => "1024x1024",
            ImageSize::Portrait => "1024x1536",
            ImageSize::Landscape => "1536x1024",
        }
    }

    /// Width and height in pixels.
    pub fn dimensions(self) -> (u32, u32) {
        match self {
            ImageSize::Square => (1024, 1024),
            ImageSize::Portrait => (1024, 1536),
            ImageSize::Landscape => (1536, 1024),
        }
    }

    /// Parses a wire value; anything else is `None`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "1024x1024" => Some(ImageSize::Square),
            "1024x1536" => Some(ImageSize::Portrait),
            "1536x1024" => Some(ImageSize::Landscape),
            _ => None,
        }
    }
}

impl fmt::Display for ImageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rendering quality (and cost): `low`, `medium`, `high` or `auto`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageQuality {
    /// About 272 output tokens for a square image.
    Low,
    /// About 1,056 output tokens for a square image.
    Medium,
    /// About 4,160 output tokens for a square image.
    High,
    /// The service chooses.
    #[default]
    Auto,
}

impl ImageQuality {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageQuality::Low => "low",
            ImageQuality::Medium => "medium",
            ImageQuality::High => "high",
            ImageQuality::Auto => "auto",
        }
    }

    /// Parses a wire value.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "low" => Some(ImageQuality::Low),
            "medium" => Some(ImageQuality::Medium),
            "high" => Some(ImageQuality::High),
            "auto" => Some(ImageQuality::Auto),
            _ => None,
        }
    }
}

/// The background. Transparency needs PNG or WebP, and slides are JPEG, so it is not offered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageBackground {
    /// An opaque background.
    Opaque,
    /// The service chooses (opaque for JPEG).
    #[default]
    Auto,
}

impl ImageBackground {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageBackground::Opaque => "opaque",
            ImageBackground::Auto => "auto",
        }
    }

    /// Parses a wire value.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "opaque" => Some(ImageBackground::Opaque),
            "auto" => Some(ImageBackground::Auto),
            _ => None,
        }
    }
}

/// What to generate. Images always come back as JPEG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRequest {
    /// What the image shows (1 to 32,000 characters).
    pub prompt: String,
    /// Its size.
    pub size: ImageSize,
    /// Its quality.
    pub quality: ImageQuality,
    /// Its background.
    pub background: ImageBackground,
    /// How many images (1 to 10).
    pub n: u8,
    /// An opaque id of the person asking, for the service's abuse monitoring.
    pub user: Option<String>,
}

impl ImageRequest {
    /// One image of `size` with the service's default quality and background.
    pub fn new(prompt: impl Into<String>, size: ImageSize) -> Self {
        ImageRequest {
            prompt: prompt.into(),
            size,
            quality: ImageQuality::Auto,
            background: ImageBackground::Auto,
            n: 1,
            user: None,
        }
    }
}

/// The `usage` the service reports for GPT image models (the cost of the request).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageUsage {
    /// Prompt tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Image output tokens (what is billed per image).
    #[serde(default)]
    pub output_tokens: u64,
    /// Their sum.
    #[serde(default)]
    pub total_tokens: u64,
    /// Text tokens among the input tokens.
    #[serde(default)]
    pub input_text_tokens: u64,
    /// Image tokens among the input tokens.
    #[serde(default)]
    pub input_image_tokens: u64,
}

/// What came back.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedImages {
    /// The encoded images (JPEG), in order.
    pub images: Vec<Vec<u8>>,
    /// The model asked for.
    pub model: String,
    /// The size, as the service echoed it (or as asked).
    pub size: String,
    /// The quality the service resolved (`auto` becomes a level), when it said.
    pub quality: Option<String>,
    /// The background it used, when it said.
    pub background: Option<String>,
    /// `created`, in Unix seconds.
    pub created: i64,
    /// The cost, when reported.
    pub usage: Option<ImageUsage>,
    /// The service's request id (`x-request-id`), for support.
    pub request_id: Option<String>,
}

impl fmt::Debug for GeneratedImages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedImages")
            .field(
                "images",
                &self.images.iter().map(Vec::len).collect::<Vec<_>>(),
            )
            .field("model", &self.model)
            .field("size", &self.size)
            .field("quality", &self.quality)
            .field("usage", &self.usage)
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

/// Every way a generation can fail, each with a stable code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageGenError {
    /// The safety system refused the prompt or the image. Retrying the same prompt will not help.
    #[error(
        "the image service's safety system refused this prompt{}; rephrase it and try again (request {})",
        categories_note(.categories),
        .request_id.as_deref().unwrap_or("unknown")
    )]
    ModerationBlocked {
        /// The service's message.
        message: String,
        /// What the safety system flagged (`sexual`, `violence`, ...), when it said.
        categories: Vec<String>,
        /// The request id to quote to OpenAI support.
        request_id: Option<String>,
    },
    /// The organization must be verified before it may use the model.
    #[error(
        "the OpenAI organization is not verified for this model: {message}; verify it in the OpenAI settings (it can take 15 minutes to apply)"
    )]
    OrganizationNotVerified {
        /// The service's message.
        message: String,
    },
    /// The key may not use this model or endpoint for another reason.
    #[error(
        "the image service refused access: {message}; check the API key's project and permissions"
    )]
    AccessDenied {
        /// The service's message.
        message: String,
    },
    /// The API key is wrong or revoked.
    #[error("the image service rejected the API key; set a valid key in [images] api_key")]
    InvalidApiKey,
    /// Too many requests for now; it passes.
    #[error("the image service is rate limiting us{}; try again later", retry_note(*.retry_after))]
    RateLimited {
        /// The service's message.
        message: String,
        /// When to try again, when the service said.
        retry_after: Option<Duration>,
    },
    /// The billing quota is used up; waiting does not help.
    #[error(
        "the OpenAI account has no quota left: {message}; add credit or raise the limit, then try again"
    )]
    QuotaExhausted {
        /// The service's message.
        message: String,
    },
    /// The service failed (5xx) or could not be reached.
    #[error("the image service is unavailable: {message}{}; try again later", retry_note(*.retry_after))]
    Unavailable {
        /// What happened.
        message: String,
        /// The HTTP status, when an answer came.
        status: Option<u16>,
        /// When to try again, when the service said.
        retry_after: Option<Duration>,
    },
    /// No answer in time. The generation may still have run (and been billed), so it is not retried.
    #[error(
        "the image service did not answer within {} s; try again, or raise [images] timeout_secs",
        .after.as_secs()
    )]
    Timeout {
        /// The timeout that passed.
        after: Duration,
    },
    /// The request was refused as invalid (locally, or by the service with a 400).
    #[error("{message}")]
    InvalidRequest {
        /// The parameter at fault, when known.
        param: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The answer could not be read (not JSON, no image, bad base64).
    #[error("the image service's answer could not be read: {0}")]
    InvalidResponse(String),
    /// The client could not be built from its configuration.
    #[error("invalid image service configuration: {0}")]
    Config(String),
}

fn categories_note(categories: &[String]) -> String {
    if categories.is_empty() {
        String::new()
    } else {
        format!(" ({})", categories.join(", "))
    }
}

fn retry_note(after: Option<Duration>) -> String {
    match after {
        Some(d) => format!(" (the service asks to wait {:.1} s)", d.as_secs_f64()),
        None => String::new(),
    }
}

impl ImageGenError {
    /// A stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ModerationBlocked { .. } => "image-prompt-blocked",
            Self::OrganizationNotVerified { .. } => "image-organization-unverified",
            Self::AccessDenied { .. } => "image-access-denied",
            Self::InvalidApiKey => "image-api-key-invalid",
            Self::RateLimited { .. } => "image-rate-limited",
            Self::QuotaExhausted { .. } => "image-quota-exhausted",
            Self::Unavailable { .. } => "image-service-unavailable",
            Self::Timeout { .. } => "image-timeout",
            Self::InvalidRequest { .. } => "image-request-invalid",
            Self::InvalidResponse(_) => "image-response-invalid",
            Self::Config(_) => "image-config-invalid",
        }
    }

    /// True when the same request may succeed later (a rate limit, a server error, a lost connection).
    /// A moderation refusal, an exhausted quota, a key or organization problem never is.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Unavailable { .. } | Self::Timeout { .. }
        )
    }

    /// How long the service asked us to wait, when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Unavailable { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Whether the client retries this by itself: rate limits and server errors. Timeouts are not
    /// retried because the first generation may still be running, and billed.
    fn retried_automatically(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. })
    }
}

/// The Images API client. Cheap to clone.
#[derive(Clone)]
pub struct OpenAiImages {
    http: reqwest::Client,
    config: ImagesConfig,
}

impl fmt::Debug for OpenAiImages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiImages")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    prompt: &'a str,
    n: u8,
    size: &'static str,
    quality: &'static str,
    background: &'static str,
    output_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    created: i64,
    #[serde(default)]
    data: Vec<WireImage>,
    #[serde(default)]
    size: Option<String>,
    #[serde(default)]
    quality: Option<String>,
    #[serde(default)]
    background: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireImage {
    #[serde(default)]
    b64_json: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    total_tokens: u64,
    #[serde(default)]
    input_tokens_details: Option<WireInputDetails>,
}

#[derive(Deserialize)]
struct WireInputDetails {
    #[serde(default)]
    text_tokens: u64,
    #[serde(default)]
    image_tokens: u64,
}

#[derive(Deserialize, Default)]
struct WireErrorBody {
    #[serde(default)]
    error: WireError,
}

#[derive(Deserialize, Default)]
struct WireError {
    #[serde(default)]
    message: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    param: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    moderation_details: Option<WireModeration>,
}

#[derive(Deserialize, Default)]
struct WireModeration {
    #[serde(default)]
    categories: Vec<String>,
}

impl OpenAiImages {
    /// Builds the client.
    ///
    /// # Errors
    /// `image-config-invalid` for an unusable base URL or model, or an API key that cannot be a header.
    pub fn new(config: ImagesConfig) -> Result<Self, ImageGenError> {
        let base = config.base_url.trim();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ImageGenError::Config(format!(
                "base_url {base:?} must be an http(s) URL"
            )));
        }
        if config.model.trim().is_empty() {
            return Err(ImageGenError::Config("model must not be empty".into()));
        }
        if config.api_key.expose_secret().trim().is_empty() {
            return Err(ImageGenError::Config(
                "no API key: set [images] api_key (or NATRONFX_IMAGES__API_KEY)".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ImageGenError::Config(format!("cannot build the http client: {e}")))?;
        Ok(OpenAiImages { http, config })
    }

    /// The model this client asks for.
    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// Generates images, retrying rate limits and server errors up to `max_retries` times (waiting as
    /// the service asks, at most 120 s; otherwise 0.5 s doubling to 8 s). Never retries a refused
    /// prompt, an exhausted quota, a key or organization problem, or a timeout.
    ///
    /// # Errors
    /// An [`ImageGenError`] naming what went wrong.
    pub async fn generate(&self, request: &ImageRequest) -> Result<GeneratedImages, ImageGenError> {
        validate(request)?;
        let mut attempt = 0u32;
        loop {
            match self.generate_once(request).await {
                Err(Failure {
                    error,
                    should_retry,
                }) if error.retried_automatically()
                    && attempt < self.config.max_retries
                    && should_retry != Some(false) =>
                {
                    let backoff = self
                        .config
                        .initial_backoff
                        .saturating_mul(2u32.saturating_pow(attempt))
                        .min(Duration::from_secs(8));
                    let wait = error.retry_after().unwrap_or(backoff).min(MAX_RETRY_WAIT);
                    tracing::info!(
                        code = error.code(),
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "retrying image generation"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(failure) => return Err(failure.error),
                Ok(images) => return Ok(images),
            }
        }
    }

    async fn generate_once(&self, request: &ImageRequest) -> Result<GeneratedImages, Failure> {
        let body = WireRequest {
            model: &self.config.model,
            prompt: &request.prompt,
            n: request.n,
            size: request.size.as_str(),
            quality: request.quality.as_str(),
            background: request.background.as_str(),
            output_format: "jpeg",
            user: request.user.as_deref(),
        };
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", self.config.api_key.expose_secret()))
                .map_err(|_| {
                    Failure::from(ImageGenError::Config(
                        "the API key contains characters a header cannot carry".into(),
                    ))
                })?;
        auth.set_sensitive(true);
        let url = format!(
            "{}/v1/images/generations",
            self.config.base_url.trim().trim_end_matches('/')
        );
        let response = self
            .http
            .post(url)
            .header(AUTHORIZATION, auth)
            .header(CONTENT_TYPE, "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| Failure::from(self.transport(e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Failure::from(self.transport(e)))?;
        if status == 200 {
            return decode_success(&bytes, &self.config.model, request, &headers)
                .map_err(Failure::from);
        }
        Err(Failure {
            error: classify(status, &headers, &bytes),
            should_retry: header_text(&headers, "x-should-retry").map(|v| v == "true"),
        })
    }

    fn transport(&self, err: reqwest::Error) -> ImageGenError {
        // The URL holds no secret here, but keep messages short and free of it anyway.
        let err = err.without_url();
        if err.is_timeout() {
            ImageGenError::Timeout {
                after: self.config.timeout,
            }
        } else if err.is_builder() {
            ImageGenError::Config(err.to_string())
        } else {
            let what = if err.is_connect() {
                "could not connect"
            } else {
                "the connection failed"
            };
            ImageGenError::Unavailable {
                message: format!("{what}: {err}"),
                status: None,
                retry_after: None,
            }
        }
    }
}

/// A failed attempt, with the service's own retry advice.
struct Failure {
    error: ImageGenError,
    should_retry: Option<bool>,
}

impl From<ImageGenError> for Failure {
    fn from(error: ImageGenError) -> Self {
        Failure {
            error,
            should_retry: None,
        }
    }
}

fn validate(request: &ImageRequest) -> Result<(), ImageGenError> {
    let chars = request.prompt.chars().count();
    if request.prompt.trim().is_empty() {
        return Err(ImageGenError::InvalidRequest {
            param: Some("prompt".into()),
            message: "the prompt is empty; describe the image to generate".into(),
        });
    }
    if chars > IMAGE_PROMPT_MAX_CHARS {
        return Err(ImageGenError::InvalidRequest {
            param: Some("prompt".into()),
            message: format!(
                "the prompt has {chars} characters; the model takes at most {IMAGE_PROMPT_MAX_CHARS}"
            ),
        });
    }
    if !(1..=IMAGE_MAX_COUNT).contains(&request.n) {
        return Err(ImageGenError::InvalidRequest {
            param: Some("n".into()),
            message: format!("ask for 1 to {IMAGE_MAX_COUNT} images, not {}", request.n),
        });
    }
    Ok(())
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)?
        .to_str()
        .ok()
        .map(|s| s.trim().to_ascii_lowercase())
}

/// The service's wait hint: `retry-after-ms`, then `retry-after` in seconds, then the "try again after
/// N seconds" of a rate-limit message.
fn retry_hint(headers: &HeaderMap, message: &str) -> Option<Duration> {
    if let Some(ms) = header_text(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    if let Some(s) = header_text(headers, "retry-after").and_then(|v| v.parse::<f64>().ok())
        && s.is_finite()
        && s >= 0.0
    {
        return Some(Duration::from_secs_f64(s));
    }
    let after = message.split("try again after ").nth(1)?;
    let number: String = after
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let seconds: f64 = number.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// The request id the safety message quotes ("... include the request ID req_... ."), else the header.
fn request_id(headers: &HeaderMap, message: &str) -> Option<String> {
    let quoted = message.split("request ID ").nth(1).map(|rest| {
        rest.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect::<String>()
    });
    quoted.filter(|id| !id.is_empty()).or_else(|| {
        headers
            .get("x-request-id")?
            .to_str()
            .ok()
            .map(str::to_owned)
    })
}

fn classify(status: u16, headers: &HeaderMap, body: &[u8]) -> ImageGenError {
    let parsed: WireErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let e = parsed.error;
    let message = if e.message.is_empty() {
        format!("http {status}")
    } else {
        e.message.clone()
    };
    let code = e.code.as_deref().unwrap_or("");
    let kind = e.kind.as_deref().unwrap_or("");
    match status {
        _ if code == "moderation_blocked" => ImageGenError::ModerationBlocked {
            request_id: request_id(headers, &message),
            categories: e
                .moderation_details
                .map(|m| m.categories)
                .unwrap_or_default(),
            message,
        },
        400 | 404 | 409 | 422 => ImageGenError::InvalidRequest {
            param: e.param,
            message: format!("the image service refused the request: {message}"),
        },
        401 => ImageGenError::InvalidApiKey,
        403 if message.to_ascii_lowercase().contains("verif") => {
            ImageGenError::OrganizationNotVerified { message }
        }
        403 => ImageGenError::AccessDenied { message },
        429 if code == "insufficient_quota" || kind == "insufficient_quota" => {
            ImageGenError::QuotaExhausted { message }
        }
        429 => ImageGenError::RateLimited {
            retry_after: retry_hint(headers, &message),
            message,
        },
        408 | 500.. => ImageGenError::Unavailable {
            retry_after: retry_hint(headers, &message),
            status: Some(status),
            message,
        },
        _ => ImageGenError::InvalidResponse(format!("unexpected http {status}: {message}")),
    }
}

fn decode_success(
    body: &[u8],
    model: &str,
    request: &ImageRequest,
    headers: &HeaderMap,
) -> Result<GeneratedImages, ImageGenError> {
    let parsed: WireResponse = serde_json::from_slice(body)
        .map_err(|e| ImageGenError::InvalidResponse(format!("not the expected JSON: {e}")))?;
    if parsed.data.is_empty() {
        return Err(ImageGenError::InvalidResponse("no image in `data`".into()));
    }
    let mut images = Vec::with_capacity(parsed.data.len());
    for (i, item) in parsed.data.iter().enumerate() {
        let b64 = item.b64_json.as_deref().ok_or_else(|| {
            ImageGenError::InvalidResponse(format!("image {} has no b64_json", i + 1))
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| {
                ImageGenError::InvalidResponse(format!("image {} is not base64: {e}", i + 1))
            })?;
        if bytes.is_empty() {
            return Err(ImageGenError::InvalidResponse(format!(
                "image {} is empty",
                i + 1
            )));
        }
        images.push(bytes);
    }
    Ok(GeneratedImages {
        images,
        model: model.to_owned(),
        size: parsed
            .size
            .unwrap_or_else(|| request.size.as_str().to_owned()),
        quality: parsed.quality,
        background: parsed.background,
        created: parsed.created,
        usage: parsed.usage.map(|u| {
            let details = u.input_tokens_details.unwrap_or(WireInputDetails {
                text_tokens: 0,
                image_tokens: 0,
            });
            ImageUsage {
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
                total_tokens: u.total_tokens,
                input_text_tokens: details.text_tokens,
                input_image_tokens: details.image_tokens,
            }
        }),
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_hints_come_from_headers_or_the_message() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            retry_hint(
                &headers,
                "You've exceeded the rate limit, please slow down and try again after 51.84 seconds."
            ),
            Some(Duration::from_secs_f64(51.84))
        );
        headers.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_hint(&headers, ""), Some(Duration::from_secs(3)));
        headers.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_hint(&headers, ""), Some(Duration::from_millis(250)));
    }

    #[test]
    fn the_api_key_never_shows_in_debug() {
        let config = ImagesConfig::new(SecretString::from("sk-very-secret-key"));
        assert!(!format!("{config:?}").contains("very-secret"));
        let client = OpenAiImages::new(config).unwrap();
        assert!(!format!("{client:?}").contains("very-secret"));
    }

    #[test]
    fn sizes_parse_and_measure() {
        assert_eq!(ImageSize::parse("1024x1536"), Some(ImageSize::Portrait));
        assert_eq!(ImageSize::Portrait.dimensions(), (1024, 1536));
        assert_eq!(ImageSize::parse("1080x1350"), None);
        assert_eq!(ImageQuality::parse("high"), Some(ImageQuality::High));
        assert_eq!(ImageBackground::parse("transparent"), None);
    }
}
