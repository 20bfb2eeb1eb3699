//! `natronfx account ...`: list, show, connect (with a loopback callback listener or a pasted redirect
//! URL), refresh and disconnect accounts.

use std::time::Duration;

use natronfx_service::workflow::{Platform, User};
use natronfx_service::{AccountView, Error, Result, Service};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::args::AccountCommand;
use crate::output;
use crate::run::{invalid, read_line};

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

fn table(accounts: &[AccountView]) {
    let rows = accounts
        .iter()
        .map(|a| {
            vec![
                a.id.to_string(),
                a.platform.to_string(),
                a.display_name.clone(),
                a.status.to_string(),
                if a.credentials.is_empty() {
                    "-".into()
                } else {
                    when(a.access_expires_at)
                },
                if a.sandbox { "yes".into() } else { "no".into() },
            ]
        })
        .collect();
    output::table(
        &[
            "id",
            "platform",
            "name",
            "status",
            "token expires",
            "sandbox",
        ],
        rows,
    );
}

fn show(a: &AccountView) {
    let line = |k: &str, v: String| println!("{k:<16}{v}");
    line("id", a.id.to_string());
    line("platform", a.platform.to_string());
    line("name", a.display_name.clone());
    line("external id", a.external_id.clone());
    line("status", a.status.to_string());
    if a.sandbox {
        line("sandbox", "yes (publishes to the simulator)".into());
    }
    if let Some(login) = a.login.filter(|l| *l != a.platform) {
        line("through", format!("{login} login"));
    }
    line(
        "scopes",
        if a.scopes.is_empty() {
            "-".into()
        } else {
            a.scopes.join(", ")
        },
    );
    line("connected", when(a.connected_at));
    line("token expires", when(a.access_expires_at));
    line("refresh expires", when(a.refresh_expires_at));
    line("last refresh", when(a.last_refresh_at));
    if let Some(e) = &a.last_refresh_error {
        line("refresh error", e.clone());
    }
    for c in &a.credentials {
        line(
            "stored",
            format!(
                "{} (vault key {}, expires {})",
                c.field,
                c.key_id,
                when(c.expires_at)
            ),
        );
    }
}

/// Runs an `account` subcommand.
pub async fn account(
    service: &Service,
    actor: &User,
    cmd: AccountCommand,
    json: bool,
) -> Result<()> {
    match cmd {
        AccountCommand::List => {
            let accounts = service.connected_accounts(actor).await?;
            if json {
                output::json(&accounts);
            } else {
                table(&accounts);
            }
        }
        AccountCommand::Show { account } => {
            let id = service.account_by_ref(actor, &account).await?;
            let view = service.account(actor, id).await?;
            if json {
                output::json(&view);
            } else {
                show(&view);
            }
        }
        AccountCommand::Connect {
            platform,
            redirect_url,
            no_wait,
            timeout,
        } => {
            let connected = match (redirect_url, platform) {
                (Some(url), _) => service.finish_connect(actor, &url).await?,
                (None, Some(platform)) => {
                    let platform: Platform = platform.parse()?;
                    match connect(service, actor, platform, no_wait, timeout, json).await? {
                        Some(accounts) => accounts,
                        None => return Ok(()),
                    }
                }
                (None, None) => return Err(invalid("platform", "say which platform to connect")),
            };
            if json {
                output::json(&connected);
            } else {
                for a in &connected {
                    println!("connected {} {} ({})", a.platform, a.display_name, a.id);
                }
            }
        }
        AccountCommand::Refresh {
            account: Some(account),
            ..
        } => {
            let id = service.account_by_ref(actor, &account).await?;
            let report = service.refresh_account(actor, id).await?;
            if json {
                output::json(&report);
            } else if report.refreshed {
                println!(
                    "refreshed {}: the token expires {}",
                    report.account.display_name,
                    when(report.account.access_expires_at)
                );
            } else {
                println!(
                    "{}: nothing refreshed ({})",
                    report.account.display_name,
                    report.note.as_deref().unwrap_or("not needed")
                );
            }
        }
        AccountCommand::Refresh { account: None, .. } => {
            let report = service.refresh_due(actor).await?;
            if json {
                output::json(&report);
            } else {
                println!(
                    "{} due, {} refreshed, {} skipped, {} failed",
                    report.due,
                    report.refreshed.len(),
                    report.skipped.len(),
                    report.failed.len()
                );
                for f in &report.failed {
                    println!("  {}: error[{}]: {}", f.account, f.code, f.message);
                }
            }
            if let Some(first) = report.failed.first() {
                return Err(Error::Internal(format!(
                    "{} refresh(es) failed; first: {}",
                    report.failed.len(),
                    first.message
                )));
            }
        }
        AccountCommand::Disconnect { account, purge } => {
            let id = service.account_by_ref(actor, &account).await?;
            let report = service.disconnect(actor, id, purge).await?;
            if json {
                output::json(&report);
            } else {
                println!(
                    "disconnected {}: token {}{}; {} stored credential(s) deleted; its history stays",
                    report.account.display_name,
                    report.revoke,
                    report
                        .revoke_note
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default(),
                    report.credentials_deleted
                );
            }
        }
    }
    Ok(())
}

/// Where a loopback redirect URI (`http://127.0.0.1:PORT/PATH` or `localhost`) listens: the address
/// to bind and the path, when it is one.
fn loopback(redirect_uri: &str) -> Option<(String, String)> {
    let rest = redirect_uri.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = authority.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = match host {
        "127.0.0.1" | "localhost" => "127.0.0.1",
        "[::1]" => "[::1]",
        _ => return None,
    };
    Some((format!("{host}:{port}"), path.to_owned()))
}

/// Starts a connection and waits for it to finish; `None` with `--no-wait`.
async fn connect(
    service: &Service,
    actor: &User,
    platform: Platform,
    no_wait: bool,
    timeout: u64,
    json: bool,
) -> Result<Option<Vec<AccountView>>> {
    let listen = loopback(service.apps().redirect_uri(platform));
    // Bind before showing the URL, so a fast browser never finds nobody listening.
    let listener = match (&listen, no_wait) {
        (Some((addr, _)), false) => Some(TcpListener::bind(addr).await.map_err(|e| {
            invalid(
                "redirect_uri",
                format!(
                    "cannot listen on {addr} for the callback: {e}; free the port, or use --no-wait"
                ),
            )
        })?),
        _ => None,
    };
    let start = service.start_connect(actor, platform).await?;
    if no_wait {
        if json {
            output::json(&start);
        } else {
            println!(
                "Open this URL in a browser signed in to {platform}:\n\n  {}\n",
                start.authorize_url
            );
            println!(
                "Then run: natronfx account connect --redirect-url 'ADDRESS' with the address the browser \
                 is sent to ({}...), before {}.",
                start.redirect_uri,
                start.expires_at.format("%H:%M UTC")
            );
        }
        return Ok(None);
    }
    // People read the URL on stderr when stdout carries JSON.
    let say = |text: String| {
        if json {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    };
    say(format!(
        "Open this URL in a browser signed in to {platform}:\n\n  {}\n",
        start.authorize_url
    ));
    let limit = Duration::from_secs(timeout.clamp(1, 600));
    let accounts = match (listener, listen) {
        (Some(listener), Some((addr, path))) => {
            say(format!(
                "Waiting for the browser to come back to http://{addr}{path} ..."
            ));
            tokio::time::timeout(limit, serve_callback(service, actor, listener, &path))
                .await
                .map_err(|_| {
                    invalid(
                        "callback",
                        format!(
                            "no callback within {} seconds; run the command again",
                            limit.as_secs()
                        ),
                    )
                })??
        }
        _ => {
            say(format!(
                "After you agree, the browser is sent to {}?... \nPaste that whole address here and press Enter:",
                start.redirect_uri
            ));
            let line = tokio::time::timeout(limit, read_line())
                .await
                .map_err(|_| {
                    invalid(
                        "callback",
                        "no address pasted in time; run the command again",
                    )
                })??;
            service.finish_connect(actor, line.trim()).await?
        }
    };
    Ok(Some(accounts))
}

/// Answers requests on the loopback listener until one arrives on the callback path, finishes the
/// connection with it, and shows the browser the outcome.
async fn serve_callback(
    service: &Service,
    actor: &User,
    listener: TcpListener,
    path: &str,
) -> Result<Vec<AccountView>> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| Error::Internal(format!("the callback listener failed: {e}")))?;
        let mut buf = Vec::with_capacity(2048);
        let mut chunk = [0u8; 2048];
        // The request line and headers; a callback never carries a body.
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
            match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let head = String::from_utf8_lossy(&buf);
        let target = head
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("GET "))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("");
        let (req_path, query) = target.split_once('?').unwrap_or((target, ""));
        if req_path != path || query.is_empty() {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
            continue;
        }
        let result = service.finish_connect(actor, query).await;
        let (status, message) = match &result {
            Ok(accounts) => (
                "200 OK",
                format!(
                    "Connected {}. You can close this tab.",
                    accounts
                        .iter()
                        .map(|a| format!("{} {}", a.platform, a.display_name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Err(e) => (
                "400 Bad Request",
                format!("Not connected: {e} [{}]", e.code()),
            ),
        };
        let body = format!(
            "<!doctype html><meta charset=\"utf-8\"><title>NatronFX</title><p>{}</p>",
            html_escape(&message)
        );
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        return result;
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_redirects_are_listened_on() {
        assert_eq!(
            loopback("http://127.0.0.1:8765/callback"),
            Some(("127.0.0.1:8765".into(), "/callback".into()))
        );
        assert_eq!(
            loopback("http://localhost:9000"),
            Some(("127.0.0.1:9000".into(), "/".into()))
        );
        assert_eq!(loopback("https://publisher.example.com/callback"), None);
        assert_eq!(loopback("http://example.com:80/cb"), None);
        assert_eq!(loopback("http://127.0.0.1/cb"), None, "a port is needed");
    }
}
