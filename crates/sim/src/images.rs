//! Downloads the images a post points at and applies each platform's documented image rules.

use std::io::Cursor;
use std::net::IpAddr;
use std::time::Duration;

use image::{ImageFormat, ImageReader};

/// What the simulator learned about one image URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fetched {
    /// The bytes arrived and look like an image.
    Image(ImageFacts),
    /// The URL is not allowed (plain http outside loopback, a redirect, a bad URL).
    Refused(String),
    /// The download failed or returned a non-2xx status.
    Failed(String),
}

/// Format, size and dimensions of a downloaded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageFacts {
    pub format: Option<ImageFormat>,
    pub bytes: usize,
    pub dimensions: Option<(u32, u32)>,
}

impl ImageFacts {
    pub(crate) fn is(&self, format: ImageFormat) -> bool {
        self.format == Some(format)
    }

    /// Width / height.
    pub(crate) fn ratio(&self) -> Option<f64> {
        let (w, h) = self.dimensions?;
        (h > 0).then(|| f64::from(w) / f64::from(h))
    }
}

/// Fetches image URLs the way the platforms' crawlers do: no redirects, a timeout, https only.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    allow_http_loopback: bool,
}

impl Fetcher {
    pub(crate) fn new(timeout: Duration, allow_http_loopback: bool) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            client,
            allow_http_loopback,
        }
    }

    pub(crate) async fn fetch(&self, url: &str) -> Fetched {
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return Fetched::Refused(format!("not a URL: {url}"));
        };
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_http_loopback && is_loopback(&parsed) => {}
            other => return Fetched::Refused(format!("scheme {other} is not accepted for {url}")),
        }
        let response = match self.client.get(parsed).send().await {
            Ok(r) => r,
            Err(e) => return Fetched::Failed(format!("download failed: {e}")),
        };
        let status = response.status();
        if status.is_redirection() {
            return Fetched::Refused(format!("{url} redirects; redirects are not followed"));
        }
        if !status.is_success() {
            return Fetched::Failed(format!("{url} answered {status}"));
        }
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Fetched::Failed(format!("download interrupted: {e}")),
        };
        Fetched::Image(inspect(&bytes))
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// Format from magic bytes, dimensions from the header only.
pub(crate) fn inspect(bytes: &[u8]) -> ImageFacts {
    let format = image::guess_format(bytes).ok();
    let dimensions = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|r| r.into_dimensions().ok());
    ImageFacts {
        format,
        bytes: bytes.len(),
        dimensions,
    }
}

/// TikTok photo rules: JPEG or WebP, ≤ 20 MB, width ≤ 1080 and shorter side ≤ 1080. Returns the `fail_reason`.
pub(crate) fn tiktok_verdict(fetched: &Fetched) -> Result<(), &'static str> {
    let facts = match fetched {
        Fetched::Image(facts) => facts,
        Fetched::Refused(_) | Fetched::Failed(_) => return Err("photo_pull_failed"),
    };
    if !(facts.is(ImageFormat::Jpeg) || facts.is(ImageFormat::WebP)) {
        return Err("file_format_check_failed");
    }
    if facts.bytes > 20 * 1024 * 1024 {
        return Err("picture_size_check_failed");
    }
    match facts.dimensions {
        Some((w, h)) if w <= 1080 && w.min(h) <= 1080 => Ok(()),
        Some(_) => Err("picture_size_check_failed"),
        None => Err("file_format_check_failed"),
    }
}

/// A Graph-style rejection: code, subcode, message, user title, user message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphRejection {
    pub code: i64,
    pub subcode: Option<i64>,
    pub message: String,
    pub user_title: Option<String>,
    pub user_message: Option<String>,
}

/// Instagram feed image rules: JPEG only, ≤ 8 MiB, aspect ratio 4:5 … 1.91:1.
pub(crate) fn instagram_verdict(url: &str, fetched: &Fetched) -> Result<(), GraphRejection> {
    let cannot_fetch = || GraphRejection {
        code: 9004,
        subcode: Some(2_207_052),
        message: "Only photo or video can be accepted as media type.".into(),
        user_title: Some(
            "Media download has failed. The media URI doesn't meet our requirements.".into(),
        ),
        user_message: Some(format!(
            "The media could not be fetched from this URI: {url}. Please check the limitations section in our development document for more information."
        )),
    };
    let facts = match fetched {
        Fetched::Image(facts) => facts,
        Fetched::Refused(_) | Fetched::Failed(_) => return Err(cannot_fetch()),
    };
    match facts.format {
        Some(ImageFormat::Jpeg) => {}
        // A PNG among JPEGs was observed to fail like a download failure.
        Some(_) => return Err(cannot_fetch()),
        None => {
            return Err(GraphRejection {
                code: 36001,
                subcode: Some(2_207_005),
                message: "The image format is not supported.".into(),
                user_title: Some("Unsupported format".into()),
                user_message: Some(
                    "The image format is not supported. Supported formats are: JPEG".into(),
                ),
            });
        }
    }
    if facts.bytes > 8 * 1024 * 1024 {
        return Err(GraphRejection {
            code: 36000,
            subcode: Some(2_207_004),
            message: "The image size is too large.".into(),
            user_title: Some("Image size too large".into()),
            user_message: Some(
                "The image is too large to download. It should be less than 8 MiB.".into(),
            ),
        });
    }
    let ratio = facts.ratio().unwrap_or(0.0);
    if !(0.8 - 1e-9..=1.91 + 1e-9).contains(&ratio) {
        let shown = (ratio * 100.0).round() / 100.0;
        return Err(GraphRejection {
            code: 36003,
            subcode: Some(2_207_009),
            message: format!("The submitted image with aspect ratio {shown} cannot be published."),
            user_title: Some("Invalid aspect ratio".into()),
            user_message: Some(format!(
                "The submitted image with aspect ratio {shown} cannot be published. Please submit an image with a valid aspect ratio."
            )),
        });
    }
    Ok(())
}

/// Facebook Page photo rules: JPEG, BMP, PNG, GIF or TIFF, ≤ 10 MB.
pub(crate) fn facebook_verdict(fetched: &Fetched) -> Result<(), GraphRejection> {
    let invalid = || GraphRejection {
        code: 324,
        subcode: None,
        message: "(#324) Missing or invalid image file".into(),
        user_title: None,
        user_message: None,
    };
    let Fetched::Image(facts) = fetched else {
        return Err(invalid());
    };
    let accepted = matches!(
        facts.format,
        Some(
            ImageFormat::Jpeg
                | ImageFormat::Png
                | ImageFormat::Gif
                | ImageFormat::Bmp
                | ImageFormat::Tiff
        )
    );
    if !accepted || facts.bytes > 10 * 1024 * 1024 {
        return Err(invalid());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Fetched {
        let img = image::RgbImage::new(w, h);
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Jpeg).expect("encode");
        Fetched::Image(inspect(out.get_ref()))
    }

    fn facts(w: u32, h: u32) -> Fetched {
        Fetched::Image(ImageFacts {
            format: Some(ImageFormat::Jpeg),
            bytes: 100_000,
            dimensions: Some((w, h)),
        })
    }

    #[test]
    fn tiktok_refuses_images_wider_than_1080() {
        assert_eq!(
            tiktok_verdict(&jpeg(108, 192)),
            Ok(()),
            "a real JPEG header is read"
        );
        assert_eq!(tiktok_verdict(&facts(1080, 1920)), Ok(()));
        assert_eq!(tiktok_verdict(&facts(941, 1672)), Ok(()));
        assert_eq!(
            tiktok_verdict(&facts(1086, 1448)),
            Err("picture_size_check_failed")
        );
        assert_eq!(
            tiktok_verdict(&facts(1254, 1254)),
            Err("picture_size_check_failed")
        );
    }

    #[test]
    fn instagram_refuses_a_3_to_4_image_with_the_documented_message() {
        let err =
            instagram_verdict("https://x/a.jpg", &jpeg(300, 400)).expect_err("0.75 is too tall");
        assert_eq!((err.code, err.subcode), (36003, Some(2_207_009)));
        assert_eq!(
            err.message,
            "The submitted image with aspect ratio 0.75 cannot be published."
        );
        assert!(
            instagram_verdict("https://x/a.jpg", &jpeg(400, 500)).is_ok(),
            "4:5 is the limit"
        );
        assert!(
            instagram_verdict("https://x/a.jpg", &jpeg(382, 200)).is_ok(),
            "1.91:1 is the limit"
        );
    }
}
