//! The command line's grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// NatronFX Publisher: draft, review, schedule and publish social posts.
#[derive(Debug, Parser)]
#[command(
    name = "natronfx",
    version,
    after_help = "Exit codes: 0 ok, 1 internal error, 2 usage error, 3 not found, \
                  4 permission denied, 5 conflict or invalid transition, 6 invalid input."
)]
pub struct Cli {
    /// Database URL (`sqlite:PATH` or `postgres://...`); overrides the config file.
    #[arg(long, global = true, env = "NATRONFX_DB")]
    pub db: Option<String>,
    /// Configuration file (TOML); see natronfx.example.toml.
    #[arg(long, global = true, env = "NATRONFX_CONFIG")]
    pub config: Option<PathBuf>,
    /// The user to act as (email). Every action is checked against their role and audited.
    #[arg(long = "as", global = true, env = "NATRONFX_AS")]
    pub as_user: Option<String>,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database, the first admin and sandbox accounts.
    Init {
        /// The admin's email.
        #[arg(long)]
        email: String,
        /// The admin's display name.
        #[arg(long, default_value = "Admin")]
        name: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Manage people.
    #[command(subcommand)]
    User(UserCommand),
    /// Work on posts.
    #[command(subcommand)]
    Post(PostCommand),
    /// Connected social accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// The token vault's keys and the secrets it keeps for the system (admins).
    #[command(subcommand)]
    Vault(VaultCommand),
    /// API tokens for the HTTP API.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The team's approval policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The audit log (admins).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Stored images that slides show.
    #[command(subcommand)]
    Media(MediaCommand),
    /// Content published before: check new content against it, rebuild its fingerprints.
    #[command(subcommand)]
    Dedupe(DedupeCommand),
    /// The retention policy (admins): delete what `[retention]` no longer keeps.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Write a post (or every post) as a JSON bundle for troubleshooting or compliance (admins; audited).
    /// The bundle holds posts, reviews, targets, publish attempts, media, accounts and audit events, never
    /// a secret; docs/export.schema.json describes it.
    Export {
        /// The post to export.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        post: Option<String>,
        /// Every post and the whole audit log.
        #[arg(long)]
        all: bool,
        /// The file to write (`-` for standard output).
        #[arg(long)]
        out: PathBuf,
    },
    /// Run the local platform simulator (TikTok, Instagram, Facebook, OpenAI Images) until Ctrl-C.
    Sim {
        /// Port to listen on, on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8089, conflicts_with = "listen")]
        port: u16,
        /// Full address to listen on instead, e.g. 0.0.0.0:8089.
        #[arg(long)]
        listen: Option<String>,
        /// Serve sandbox accounts: accept sandbox tokens for accounts it has never seen (set
        /// `[sandbox] simulator_url` to this simulator's address).
        #[arg(long)]
        sandbox: bool,
        /// Simulated seconds a platform takes to process a post.
        #[arg(long, default_value_t = 30)]
        processing_secs: u64,
        /// Inject random faults (5xx, 429, hangs, "created but the answer was lost") into this share of
        /// requests, 0.0 to 1.0.
        #[arg(long, default_value_t = 0.0)]
        faults: f64,
        /// Seed of the random faults.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Run only the publishing workers (no HTTP), until SIGTERM or Ctrl-C.
    Worker {
        /// Mark missed targets, work one batch of due targets, print what happened and exit.
        #[arg(long)]
        once: bool,
    },
    /// Render a carousel spec (TOML or JSON) into slides: stored as media and written to a folder.
    Render {
        /// The spec file.
        spec: PathBuf,
        /// Folder to write the slide JPEGs into (created when missing).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `natronfx media ...`
#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Ingest image files (JPEG, PNG or WebP, recognised by content) as media for slides.
    Add {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The newest media.
    List {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One stored image.
    Show {
        /// Media id.
        id: String,
    },
    /// Generate images with the configured image model ([images] in the config); they are stored as media
    /// with source `generated` and where they came from.
    Generate {
        /// What the image shows.
        prompt: String,
        /// 1024x1024, 1024x1536 (portrait) or 1536x1024 (landscape).
        #[arg(long, default_value = "1024x1024")]
        size: String,
        /// low, medium, high or auto.
        #[arg(long, default_value = "auto")]
        quality: String,
        /// opaque or auto.
        #[arg(long, default_value = "auto")]
        background: String,
        /// How many images (1 to 10).
        #[arg(long, short = 'n', default_value_t = 1)]
        count: u8,
        /// Also store each image fitted to a slide canvas: cover (crop around --focus) or pad (with
        /// --pad-color). A 1024x1536 portrait needs it for Instagram's 4:5.
        #[arg(long)]
        fit: Option<String>,
        /// The slide canvas for --fit: portrait (1080x1350), square or story.
        #[arg(long, default_value = "portrait")]
        canvas: String,
        /// The point to keep in view when cropping, as X,Y fractions (default 0.5,0.5).
        #[arg(long)]
        focus: Option<String>,
        /// The colour of the bands when padding.
        #[arg(long, default_value = "#000000")]
        pad_color: String,
    },
    /// Where an image came from (prompt, model, size, usage, who asked, when); empty for uploads.
    Provenance {
        /// Media id.
        id: String,
    },
}

/// `natronfx dedupe ...`
#[derive(Debug, Subcommand)]
pub enum DedupeCommand {
    /// Compare an image file, or a post's slides and caption, with everything published before (every
    /// account, any date): prints each match with its distance, post, account, date and caption
    /// similarity.
    Check {
        /// An image file (JPEG, PNG or WebP), or a post id.
        subject: String,
        /// Largest dHash distance (of 64 bits) that counts as the same picture; default [quality.duplicates] radius.
        #[arg(long)]
        radius: Option<u32>,
    },
    /// Recompute the fingerprints of every published target from the stored media (admins).
    Rebuild,
}

/// `natronfx user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a person.
    Add {
        /// Their email (login).
        email: String,
        /// admin, editor, reviewer or viewer.
        #[arg(long)]
        role: String,
        /// Display name (defaults to the email).
        #[arg(long)]
        name: Option<String>,
        /// Read a password from standard input (without it the user has no password yet).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List people.
    List,
    /// Disable a person; their history stays.
    Disable {
        /// Email or id.
        user: String,
    },
    /// Change a person's role.
    Role {
        /// Email or id.
        user: String,
        /// The new role.
        role: String,
    },
}

/// Content options shared by `post new` and `post edit`.
#[derive(Debug, Args)]
pub struct ContentArgs {
    /// Caption text.
    #[arg(long, conflicts_with = "caption_file")]
    pub caption: Option<String>,
    /// Read the caption from a file.
    #[arg(long)]
    pub caption_file: Option<PathBuf>,
    /// A hashtag beyond those in the caption (repeatable).
    #[arg(long = "hashtag")]
    pub hashtags: Vec<String>,
    /// A slide as MEDIA_ID or MEDIA_ID=ALT TEXT (repeatable, in order).
    #[arg(long = "slide")]
    pub slides: Vec<String>,
    /// An account to publish to, by name (`@brand`) or id; ACCOUNT=CAPTION overrides the caption there.
    #[arg(long = "target")]
    pub targets: Vec<String>,
    /// TikTok privacy level for TikTok targets: PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS,
    /// FOLLOWER_OF_CREATOR or SELF_ONLY. TikTok forbids a default, so there is none.
    #[arg(long)]
    pub privacy: Option<String>,
    /// Turn comments off on TikTok targets.
    #[arg(long)]
    pub disable_comments: bool,
}

/// `natronfx post ...`
#[derive(Debug, Subcommand)]
pub enum PostCommand {
    /// Start a post (a draft).
    New {
        /// Title (1–150 characters).
        #[arg(long)]
        title: String,
        /// Content.
        #[command(flatten)]
        content: ContentArgs,
    },
    /// Change a post; outside draft it returns to draft and loses its approvals.
    Edit {
        /// Post id.
        id: String,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// Content (given options replace the post's: all hashtags, all slides, all targets).
        #[command(flatten)]
        content: ContentArgs,
        /// Refuse unless the post is still at this version.
        #[arg(long)]
        if_version: Option<i64>,
    },
    /// Show a post.
    Show {
        /// Post id.
        id: String,
    },
    /// List posts, newest change first.
    List {
        /// Only this state (draft, in_review, approved, scheduled, ...).
        #[arg(long)]
        state: Option<String>,
        /// Only posts by this author (email).
        #[arg(long)]
        author: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send a post to review.
    Submit {
        /// Post id.
        id: String,
    },
    /// Approve a post.
    Approve {
        /// Post id.
        id: String,
        /// A comment for the author.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Send a post back to its author.
    RequestChanges {
        /// Post id.
        id: String,
        /// What to change.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Refuse a post.
    Reject {
        /// Post id.
        id: String,
        /// Why.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Schedule (or reschedule) targets at a local time in a time zone, or `now`.
    Schedule {
        /// Post id.
        id: String,
        /// Local date-time, `YYYY-MM-DD HH:MM`, or `now`.
        #[arg(long)]
        at: String,
        /// IANA time zone, e.g. Europe/Lisbon.
        #[arg(long, default_value = "UTC")]
        tz: String,
        /// When the local time happens twice (clocks going back), take the later one.
        #[arg(long)]
        later: bool,
        /// Only these targets (account names or ids; repeatable). Default: all.
        #[arg(long = "target")]
        targets: Vec<String>,
    },
    /// Take targets off the schedule.
    Unschedule {
        /// Post id.
        id: String,
        /// Only these targets (repeatable). Default: all.
        #[arg(long = "target")]
        targets: Vec<String>,
    },
    /// Archive a post.
    Archive {
        /// Post id.
        id: String,
        /// Why.
        #[arg(long)]
        note: Option<String>,
    },
    /// Everything that happened to a post.
    History {
        /// Post id.
        id: String,
    },
    /// The publishing timeline: every attempt of every target, remote ids, links and errors.
    Timeline {
        /// Post id.
        id: String,
    },
    /// Put failed and missed targets back on the schedule (now, or at a local time).
    Retry {
        /// Post id.
        id: String,
        /// `now` or a local date-time `YYYY-MM-DD HH:MM`.
        #[arg(long, default_value = "now")]
        at: String,
        /// IANA time zone of `--at`.
        #[arg(long, default_value = "UTC")]
        tz: String,
    },
    /// Stop targets for good before they are sent (waiting, missed or failed ones).
    Cancel {
        /// Post id.
        id: String,
        /// Only these targets (account names or ids; repeatable). Default: all that can be.
        #[arg(long = "target")]
        targets: Vec<String>,
    },
    /// Settle a target that needs attention after looking at the platform.
    Resolve {
        /// Post id.
        id: String,
        /// The target (account name or id).
        #[arg(long)]
        target: String,
        /// It is live on the platform.
        #[arg(
            long,
            conflicts_with = "not_posted",
            required_unless_present = "not_posted"
        )]
        live: bool,
        /// It is not on the platform (the target fails and may be retried).
        #[arg(long)]
        not_posted: bool,
        /// What you saw.
        #[arg(long)]
        note: Option<String>,
    },
    /// Send a published target again, deliberately; the reason is kept in the audit log.
    Republish {
        /// Post id.
        id: String,
        /// The target (account name or id).
        #[arg(long)]
        target: String,
        /// Why it goes out again.
        #[arg(long)]
        reason: String,
        /// `now` or a local date-time `YYYY-MM-DD HH:MM`.
        #[arg(long, default_value = "now")]
        at: String,
        /// IANA time zone of `--at`.
        #[arg(long, default_value = "UTC")]
        tz: String,
    },
    /// Run the quality checks of every platform the post targets; exits 6 when any error is found.
    Check {
        /// Post id.
        id: String,
    },
    /// Draw what a platform will show of the post (slides in its frame, the caption as it cuts it) as a PNG.
    Preview {
        /// Post id.
        id: String,
        /// tiktok, instagram or facebook.
        #[arg(long)]
        platform: String,
        /// Where to write the PNG.
        #[arg(long)]
        out: PathBuf,
    },
    /// Replace slides that break a platform's image rules with variants that fit, then check again.
    Fix {
        /// Post id.
        id: String,
        /// tiktok (scale down to 1080 wide) or instagram (crop into 4:5..1.91:1).
        #[arg(long)]
        platform: String,
    },
}

/// `natronfx account ...`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// List accounts: platform, name, status and when their token expires.
    List,
    /// One account: its connection, scopes, token lifetimes and what is stored (never a secret).
    Show {
        /// Account name (`@brand`) or id.
        account: String,
    },
    /// Connect an account (admins): prints the platform's authorize URL, then waits for the browser
    /// to come back on the configured loopback redirect URI, or asks for the address it came back to.
    Connect {
        /// tiktok, instagram or facebook (Facebook connects every Page you manage and the Instagram
        /// account linked to each).
        #[arg(required_unless_present = "redirect_url")]
        platform: Option<String>,
        /// Finish a connection with the address the browser was sent back to (from `--no-wait`).
        #[arg(long, conflicts_with = "no_wait")]
        redirect_url: Option<String>,
        /// Print the authorize URL and exit; finish later with `--redirect-url`.
        #[arg(long)]
        no_wait: bool,
        /// Seconds to wait for the callback (at most the ten minutes the flow stays valid).
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Refresh an account's tokens now (admins), or with --due every token expiring within the
    /// configured sweep window.
    Refresh {
        /// Account name (`@brand`) or id.
        #[arg(required_unless_present = "due", conflicts_with = "due")]
        account: Option<String>,
        /// Refresh every connected account whose token expires within `accounts.refresh_sweep_window_secs`.
        #[arg(long)]
        due: bool,
    },
    /// Disconnect an account (admins): revoke its token where the platform allows, delete its stored
    /// credentials, keep its history.
    Disconnect {
        /// Account name (`@brand`) or id.
        account: String,
        /// Delete the stored credentials even when the platform does not confirm the revoke (or the
        /// vault key or the app is missing).
        #[arg(long)]
        purge: bool,
    },
}

/// `natronfx vault ...`
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// How many stored secrets each key seals (a key that seals none can be removed).
    Status,
    /// Re-seal every secret under the primary key, in batches; run it again to resume after a stop.
    Rotate {
        /// Secrets per batch (each batch is one transaction).
        #[arg(long, default_value_t = 500)]
        batch: u32,
    },
    /// Secrets the vault keeps for the system itself, in place of a configuration setting.
    #[command(subcommand)]
    Secret(SecretCommand),
}

/// `natronfx vault secret ...`
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Which secrets the vault can keep, and whether each is stored or set in the configuration.
    List,
    /// Seal a secret into the vault, replacing any stored before (audited). The value is asked for
    /// without echo, or read from standard input with --stdin; it is never an argument.
    Set {
        /// Which secret (`images_api_key`: the OpenAI Images API key).
        name: String,
        /// Read the value from the first line of standard input.
        #[arg(long)]
        stdin: bool,
    },
    /// Delete a stored secret (audited).
    Remove {
        /// Which secret.
        name: String,
    },
}

/// `natronfx token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is shown once.
    Create {
        /// A name to recognise it by.
        name: String,
        /// The role it acts with (not above yours). Default: yours.
        #[arg(long)]
        role: Option<String>,
    },
    /// List your tokens.
    List,
    /// Revoke a token.
    Revoke {
        /// Token id.
        id: String,
    },
}

/// `natronfx policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Show the approval policy.
    Show,
    /// Set the approval policy: none, required or multi:N.
    Set {
        /// The policy.
        policy: String,
    },
}

/// `natronfx retention ...`
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Apply the policy now and print what was deleted per kind (count, bytes).
    Run {
        /// Print what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `natronfx audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The latest events, newest first, optionally filtered.
    List {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only this action, e.g. `post-approved`, `credentials-purged`, `data-exported`.
        #[arg(long)]
        action: Option<String>,
        /// Only events about this kind of record: post, account, user, token, setting, retention, export...
        #[arg(long)]
        kind: Option<String>,
        /// Only events about this record (its id).
        #[arg(long)]
        subject: Option<String>,
        /// Only events by this person (email or id).
        #[arg(long)]
        actor: Option<String>,
        /// Only events at or after this instant (RFC 3339, or a date YYYY-MM-DD in UTC).
        #[arg(long)]
        since: Option<String>,
        /// Only events before this instant (RFC 3339, or a date YYYY-MM-DD in UTC).
        #[arg(long)]
        until: Option<String>,
        /// Continue below this seq (the last one of the previous page).
        #[arg(long)]
        before: Option<i64>,
    },
    /// Check the log's hash chain; names the first edited, deleted or reordered event (exit 5).
    Verify,
}
