//! Dispatches each command to the service and prints its answer.

use std::io::Read as _;

use natronfx_service::store::{PostFilter, PostSummary};
use natronfx_service::workflow::{ApprovalPolicy, PostId, PostState, Role, TokenId, User};
use natronfx_service::{
    Config, Error, PostInput, PostPatch, PostView, Result, ScheduleRequest, Service, SlideInput,
    TargetInput,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::args::{
    AuditCommand, Cli, Command, ContentArgs, PolicyCommand, PostCommand, TokenCommand, UserCommand,
};
use crate::output;

/// An invalid-input error naming the argument.
pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    natronfx_service::workflow::Error::InvalidInput {
        field,
        reason: reason.into(),
    }
    .into()
}

fn parse<T: std::str::FromStr<Err = natronfx_service::workflow::Error>>(s: &str) -> Result<T> {
    Ok(s.parse()?)
}

/// One line of standard input, read off the async runtime's threads.
pub(crate) async fn read_line() -> Result<String> {
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map(|_| line)
            .map_err(|e| Error::Internal(format!("reading standard input: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

fn read_password(from_stdin: bool) -> Result<SecretString> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::Internal(format!("reading stdin: {e}")))?;
        let line = s.lines().next().unwrap_or("").to_owned();
        return Ok(SecretString::from(line));
    }
    let first = rpassword::prompt_password("Password: ").map_err(|e| {
        invalid(
            "password",
            format!("cannot prompt ({e}); use --password-stdin"),
        )
    })?;
    let again = rpassword::prompt_password("Repeat password: ").map_err(|e| {
        invalid(
            "password",
            format!("cannot prompt ({e}); use --password-stdin"),
        )
    })?;
    if first != again {
        return Err(invalid("password", "the two passwords differ"));
    }
    Ok(SecretString::from(first))
}

fn install_tracing(config: &Config) {
    // The CLI talks to people on stdout; logs go to stderr and stay quiet unless asked for.
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    let _ = if config.log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    if let Command::Sim {
        port,
        listen,
        sandbox,
        processing_secs,
        faults,
        seed,
    } = &cli.command
    {
        let addr = listen
            .clone()
            .unwrap_or_else(|| format!("127.0.0.1:{port}"));
        let options = crate::sim::SimOptions {
            sandbox: *sandbox,
            processing: std::time::Duration::from_secs(*processing_secs),
            faults: *faults,
            seed: *seed,
        };
        return crate::sim::run(&addr, options).await;
    }
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(db) = &cli.db {
        config.database.url = db.clone();
    }
    install_tracing(&config);
    let service = Service::from_config(&config).await?;
    let json = cli.json;
    if let Command::Init {
        email,
        name,
        password_stdin,
    } = &cli.command
    {
        let password = read_password(*password_stdin)?;
        let admin = service.init(email, name, &password).await?;
        if json {
            output::json(&admin);
        } else {
            println!(
                "created admin {} and sandbox accounts for tiktok, instagram and facebook",
                admin.email
            );
            println!(
                "next: natronfx --as {} user add EMAIL --role editor",
                admin.email
            );
        }
        return Ok(());
    }
    if let Command::Worker { once } = &cli.command {
        return crate::publish::worker(service, &config, *once, json).await;
    }
    let who = cli.as_user.as_deref().ok_or_else(|| {
        invalid(
            "user",
            "say who you are with --as EMAIL (or the NATRONFX_AS environment variable)",
        )
    })?;
    let actor = service.actor(who).await?;
    match cli.command {
        Command::Init { .. } | Command::Sim { .. } | Command::Worker { .. } => Ok(()),
        Command::User(cmd) => user(&service, &actor, cmd, json).await,
        Command::Post(cmd) => post(&service, &actor, cmd, json).await,
        Command::Account(cmd) => crate::accounts::account(&service, &actor, cmd, json).await,
        Command::Vault(cmd) => crate::vault::vault(&service, &actor, cmd, json).await,
        Command::Token(cmd) => token(&service, &actor, cmd, json).await,
        Command::Media(cmd) => crate::media::media(&service, &actor, cmd, json).await,
        Command::Dedupe(cmd) => crate::dedupe::dedupe(&service, &actor, cmd, json).await,
        Command::Render { spec, out } => {
            crate::media::render(&service, &actor, &spec, &out, json).await
        }
        Command::Policy(PolicyCommand::Show) => {
            let policy = service.approval_policy().await?;
            if json {
                output::json(&json!({ "approval_policy": policy.to_string() }));
            } else {
                println!("approval policy: {policy}");
            }
            Ok(())
        }
        Command::Policy(PolicyCommand::Set { policy }) => {
            let policy: ApprovalPolicy = parse(&policy)?;
            service.set_approval_policy(&actor, policy).await?;
            if json {
                output::json(&json!({ "approval_policy": policy.to_string() }));
            } else {
                println!("approval policy is now {policy}");
            }
            Ok(())
        }
        Command::Audit(AuditCommand::Verify) => {
            let check = service.verify_audit_chain(&actor).await?;
            let checked = check.checked;
            if json {
                output::json(
                    &json!({ "intact": true, "events": checked, "anchored_at": check.anchored_at }),
                );
            } else {
                println!("audit log intact: {checked} events, every hash and link holds");
                if let Some(seq) = check.anchored_at {
                    println!(
                        "older events were deleted by the retention policy; the chain is verified from event {seq}, \
                         whose link was recorded when they were deleted"
                    );
                }
            }
            Ok(())
        }
        Command::Audit(cmd @ AuditCommand::List { .. }) => {
            let events = crate::data::audit_list(&service, &actor, cmd).await?;
            print_events(&events, json);
            Ok(())
        }
        Command::Retention(cmd) => crate::data::retention(&service, &actor, cmd, json).await,
        Command::Export { post, all, out } => {
            crate::data::export(&service, &actor, post.as_deref(), all, &out, json).await
        }
    }
}

/// Prints findings; an error finding makes the command fail with `quality-check-failed`.
fn report_findings(findings: Vec<natronfx_service::workflow::Finding>, json: bool) -> Result<()> {
    if json {
        output::json(&findings);
    } else {
        let rows = findings
            .iter()
            .map(|f| {
                vec![
                    f.severity.to_string(),
                    f.platform
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "all".into()),
                    f.slide.map(|n| n.to_string()).unwrap_or_default(),
                    f.code.to_owned(),
                    f.message.clone(),
                    f.hint.clone(),
                ]
            })
            .collect();
        output::table(
            &["severity", "platform", "slide", "code", "message", "hint"],
            rows,
        );
    }
    if natronfx_service::workflow::blocks(&findings) {
        return Err(Error::QualityCheckFailed(findings));
    }
    Ok(())
}

fn print_events(events: &[natronfx_service::store::StoredAuditEvent], json: bool) {
    if json {
        let items: Vec<_> = events
            .iter()
            .map(|e| json!({ "seq": e.seq, "event": e.event }))
            .collect();
        output::json(&items);
    } else {
        let rows = events.iter().map(|e| audit_row(e.seq, &e.event)).collect();
        output::table(
            &["seq", "at", "actor", "action", "subject", "change", "note"],
            rows,
        );
    }
}

fn audit_row(seq: i64, e: &natronfx_service::workflow::AuditEvent) -> Vec<String> {
    vec![
        seq.to_string(),
        e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
        e.actor
            .map(|a| a.to_string())
            .unwrap_or_else(|| "system".into()),
        e.action.to_string(),
        format!("{} {}", e.subject_kind, e.subject_id),
        match (&e.from_state, &e.to_state) {
            (Some(f), Some(t)) => format!("{f} → {t}"),
            (None, Some(t)) => format!("→ {t}"),
            _ => String::new(),
        },
        e.note.clone().unwrap_or_default(),
    ]
}

async fn user(service: &Service, actor: &User, cmd: UserCommand, json: bool) -> Result<()> {
    let show = |u: &User| {
        if json {
            output::json(u);
        } else {
            println!(
                "{} {} ({}){}",
                u.id,
                u.email,
                u.role,
                if u.disabled { ", disabled" } else { "" }
            );
        }
    };
    match cmd {
        UserCommand::Add {
            email,
            role,
            name,
            password_stdin,
        } => {
            let role: Role = parse(&role)?;
            let password = if password_stdin {
                Some(read_password(true)?)
            } else {
                None
            };
            let name = name.unwrap_or_else(|| email.clone());
            let u = service
                .add_user(actor, &email, &name, role, password.as_ref())
                .await?;
            show(&u);
        }
        UserCommand::List => {
            let users = service.list_users(actor).await?;
            if json {
                output::json(&users);
            } else {
                let rows = users
                    .iter()
                    .map(|u| {
                        vec![
                            u.email.to_string(),
                            u.display_name.clone(),
                            u.role.to_string(),
                            if u.disabled {
                                "disabled".into()
                            } else {
                                "active".into()
                            },
                            u.id.to_string(),
                        ]
                    })
                    .collect();
                output::table(&["email", "name", "role", "status", "id"], rows);
            }
        }
        UserCommand::Disable { user } => show(&service.disable_user(actor, &user).await?),
        UserCommand::Role { user, role } => {
            show(&service.set_role(actor, &user, parse(&role)?).await?)
        }
    }
    Ok(())
}

fn caption(content: &ContentArgs) -> Result<Option<String>> {
    match (&content.caption, &content.caption_file) {
        (Some(c), _) => Ok(Some(c.clone())),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(Some)
            .map_err(|e| invalid("caption", format!("cannot read {}: {e}", path.display()))),
        (None, None) => Ok(None),
    }
}

fn slides(content: &ContentArgs) -> Vec<SlideInput> {
    content
        .slides
        .iter()
        .map(|s| match s.split_once('=') {
            Some((id, alt)) => SlideInput {
                media_id: id.trim().into(),
                alt_text: alt.into(),
            },
            None => SlideInput {
                media_id: s.trim().into(),
                alt_text: String::new(),
            },
        })
        .collect()
}

fn targets(content: &ContentArgs) -> Vec<TargetInput> {
    let options = natronfx_service::workflow::TargetOptions {
        privacy_level: content.privacy.clone(),
        disable_comment: content.disable_comments,
        ..Default::default()
    };
    content
        .targets
        .iter()
        .map(|t| match t.split_once('=') {
            Some((account, caption)) => TargetInput {
                account: account.trim().into(),
                caption: Some(caption.into()),
                options: options.clone(),
            },
            None => TargetInput {
                account: t.trim().into(),
                caption: None,
                options: options.clone(),
            },
        })
        .collect()
}

fn show_post(
    post: &natronfx_service::workflow::Post,
    accounts: &[natronfx_service::workflow::Account],
    generated: &[bool],
    json: bool,
) {
    if json {
        let mut view = PostView::from(post);
        view.generated_slides = Some(generated.to_vec());
        output::json(&view);
        return;
    }
    println!("{}  {}", post.id, post.title);
    println!(
        "state: {}   version: {}   content version: {}",
        post.state(),
        post.version,
        post.content_version
    );
    let tags: Vec<_> = post
        .hashtags()
        .iter()
        .map(|h| h.as_str().to_owned())
        .collect();
    println!(
        "hashtags: {}",
        if tags.is_empty() {
            "(none)".into()
        } else {
            tags.join(" ")
        }
    );
    println!(
        "caption:\n  {}",
        post.caption.as_str().replace('\n', "\n  ")
    );
    println!("slides: {}", post.slides.len());
    for (i, s) in post.slides.iter().enumerate() {
        let label = if generated.get(i) == Some(&true) {
            "  (AI-generated)"
        } else {
            ""
        };
        println!("  {}. {} {}{label}", i + 1, s.media_id, s.alt_text);
    }
    println!("targets:");
    if post.targets.is_empty() {
        println!("  (none)");
    }
    for t in &post.targets {
        let when = t
            .scheduled_at
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        let name = accounts
            .iter()
            .find(|a| a.id == t.account_id)
            .map_or_else(|| t.account_id.to_string(), |a| a.display_name.clone());
        let caption = t
            .caption_override
            .as_ref()
            .map(|c| format!("  caption: {c}"))
            .unwrap_or_default();
        println!(
            "  {} {name}: {}, at {when}  [target {}]{caption}",
            t.platform, t.state, t.id
        );
    }
}

fn summary_row(p: &PostSummary) -> Vec<String> {
    vec![
        p.id.to_string(),
        p.title.clone(),
        p.state.to_string(),
        p.slide_count.to_string(),
        p.target_count.to_string(),
        p.next_publish_at
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| "-".into()),
        p.updated_at.format("%Y-%m-%d %H:%M").to_string(),
    ]
}

async fn post(service: &Service, actor: &User, cmd: PostCommand, json: bool) -> Result<()> {
    let post = match cmd {
        PostCommand::New { title, content } => {
            let input = PostInput {
                title,
                caption: caption(&content)?.unwrap_or_default(),
                hashtags: content.hashtags.clone(),
                slides: slides(&content),
                targets: targets(&content),
            };
            service.create_post(actor, input).await?
        }
        PostCommand::Edit {
            id,
            title,
            content,
            if_version,
        } => {
            let patch = PostPatch {
                title,
                caption: caption(&content)?,
                hashtags: (!content.hashtags.is_empty()).then(|| content.hashtags.clone()),
                slides: (!content.slides.is_empty()).then(|| slides(&content)),
                targets: (!content.targets.is_empty()).then(|| targets(&content)),
                expected_version: if_version,
            };
            service.edit_post(actor, parse(&id)?, patch).await?
        }
        PostCommand::Show { id } => service.post(actor, parse(&id)?).await?,
        PostCommand::List {
            state,
            author,
            limit,
        } => {
            let state: Option<PostState> = state.as_deref().map(parse).transpose()?;
            let author = match author {
                Some(email) => Some(service.actor(&email).await.map(|u| u.id)?),
                None => None,
            };
            let posts = service
                .list_posts(
                    actor,
                    &PostFilter {
                        state,
                        author,
                        after: None,
                        limit,
                    },
                )
                .await?;
            if json {
                let items: Vec<_> = posts
                    .iter()
                    .map(|p| {
                        json!({
                            "id": p.id, "title": p.title, "state": p.state, "author": p.author,
                            "slide_count": p.slide_count, "target_count": p.target_count,
                            "next_publish_at": p.next_publish_at, "updated_at": p.updated_at, "version": p.version,
                        })
                    })
                    .collect();
                output::json(&items);
            } else {
                output::table(
                    &[
                        "id",
                        "title",
                        "state",
                        "slides",
                        "targets",
                        "next publish",
                        "updated",
                    ],
                    posts.iter().map(summary_row).collect(),
                );
            }
            return Ok(());
        }
        PostCommand::Submit { id } => service.submit_post(actor, parse(&id)?).await?,
        PostCommand::Approve { id, comment } => {
            service.approve_post(actor, parse(&id)?, comment).await?
        }
        PostCommand::RequestChanges { id, comment } => {
            service.request_changes(actor, parse(&id)?, comment).await?
        }
        PostCommand::Reject { id, comment } => {
            service.reject_post(actor, parse(&id)?, comment).await?
        }
        PostCommand::Schedule {
            id,
            at,
            tz,
            later,
            targets,
        } => {
            let request = ScheduleRequest {
                local: at,
                zone: tz,
                ambiguity: if later {
                    natronfx_service::workflow::Ambiguity::Later
                } else {
                    natronfx_service::workflow::Ambiguity::Earlier
                },
                targets,
                expected_version: None,
            };
            service.schedule_post(actor, parse(&id)?, request).await?
        }
        PostCommand::Unschedule { id, targets } => {
            service
                .unschedule_post(actor, parse(&id)?, &targets)
                .await?
        }
        PostCommand::Archive { id, note } => service.archive_post(actor, parse(&id)?, note).await?,
        PostCommand::Check { id } => {
            let findings = service.check_post(actor, parse(&id)?).await?;
            return report_findings(findings, json);
        }
        PostCommand::Preview { id, platform, out } => {
            let (preview, sheet) = service
                .preview_post(actor, parse(&id)?, parse(&platform)?)
                .await?;
            std::fs::write(&out, &sheet.bytes)
                .map_err(|e| invalid("out", format!("cannot write {}: {e}", out.display())))?;
            if json {
                output::json(
                    &json!({ "file": out, "width": sheet.width, "height": sheet.height, "preview": preview }),
                );
            } else {
                println!("{} ({}×{})", out.display(), sheet.width, sheet.height);
            }
            return Ok(());
        }
        PostCommand::Fix { id, platform } => {
            let (post, findings) = service
                .fix_post_images(actor, parse(&id)?, parse(&platform)?)
                .await?;
            if !json {
                println!(
                    "post {} now has {} slides (version {})",
                    post.id,
                    post.slides.len(),
                    post.version
                );
            }
            return report_findings(findings, json);
        }
        PostCommand::History { id } => {
            let id: PostId = parse(&id)?;
            print_events(&service.post_history(actor, id).await?, json);
            return Ok(());
        }
        PostCommand::Timeline { id } => {
            return crate::publish::timeline(service, actor, parse(&id)?, json).await;
        }
        PostCommand::Retry { id, at, tz } => {
            service
                .retry_post(actor, parse(&id)?, &crate::publish::when(at, tz))
                .await?
        }
        PostCommand::Cancel { id, targets } => {
            service.cancel_targets(actor, parse(&id)?, &targets).await?
        }
        PostCommand::Resolve {
            id,
            target,
            live,
            not_posted: _,
            note,
        } => {
            service
                .resolve_target(actor, parse(&id)?, &target, live, note)
                .await?
        }
        PostCommand::Republish {
            id,
            target,
            reason,
            at,
            tz,
        } => {
            service
                .republish(
                    actor,
                    parse(&id)?,
                    &target,
                    &reason,
                    &crate::publish::when(at, tz),
                )
                .await?
        }
    };
    let accounts = if json {
        Vec::new()
    } else {
        service.list_accounts(actor).await?
    };
    let generated = service.generated_slides(&post).await?;
    show_post(&post, &accounts, &generated, json);
    Ok(())
}

async fn token(service: &Service, actor: &User, cmd: TokenCommand, json: bool) -> Result<()> {
    match cmd {
        TokenCommand::Create { name, role } => {
            let role: Role = match role {
                Some(r) => parse(&r)?,
                None => actor.role,
            };
            let new = service.create_token(actor, &name, role).await?;
            if json {
                output::json(&json!({
                    "id": new.token.id, "name": new.token.name, "role": new.token.role,
                    "secret": new.secret.expose_secret(),
                }));
            } else {
                println!(
                    "token {} ({}, acts as {})",
                    new.token.id, new.token.name, new.token.role
                );
                println!("{}", new.secret.expose_secret());
                println!("store it now: it is shown only once");
            }
        }
        TokenCommand::List => {
            let tokens = service.list_tokens(actor).await?;
            if json {
                let items: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        json!({ "id": t.id, "name": t.name, "role": t.role, "created_at": t.created_at,
                                "last_used_at": t.last_used_at, "revoked_at": t.revoked_at })
                    })
                    .collect();
                output::json(&items);
            } else {
                let rows = tokens
                    .iter()
                    .map(|t| {
                        vec![
                            t.id.to_string(),
                            t.name.clone(),
                            t.role.to_string(),
                            t.created_at.format("%Y-%m-%d %H:%M").to_string(),
                            if t.revoked_at.is_some() {
                                "revoked".into()
                            } else {
                                "live".into()
                            },
                        ]
                    })
                    .collect();
                output::table(&["id", "name", "role", "created", "status"], rows);
            }
        }
        TokenCommand::Revoke { id } => {
            let id: TokenId = parse(&id)?;
            service.revoke_token(actor, id).await?;
            if json {
                output::json(&json!({ "id": id, "revoked": true }));
            } else {
                println!("token {id} revoked");
            }
        }
    }
    Ok(())
}
