//! Signing in: sessions, rotation, expiry, throttling, logout and password changes, on both backends.

use chrono::Duration;
use natronfx_service::testing::{TEST_PASSWORD, TestApp};
use natronfx_service::workflow::AuditAction;
use natronfx_service::{ErrorKind, LoginRequest, NewSession};
use secrecy::{ExposeSecret, SecretString};

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(natronfx_service::testing::TestApp::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(natronfx_service::testing::TestApp::postgres().await).await;
                }
            )*
        }
    };
}

both!(
    a_login_starts_a_session_kept_only_as_a_hash_and_rotates_the_old_one,
    wrong_passwords_unknown_emails_and_disabled_users_are_refused_alike_and_audited,
    an_account_is_throttled_after_repeated_failures_even_with_the_right_password,
    an_address_is_throttled_across_accounts,
    sessions_end_when_idle_and_at_their_absolute_end,
    logout_ends_the_session_and_is_audited,
    a_password_change_ends_the_other_sessions,
    a_disabled_user_is_signed_out_and_a_role_change_applies_at_once,
    admins_reset_passwords_and_nobody_else_does,
);

async fn login(
    app: &TestApp,
    email: &str,
    password: &str,
    address: &str,
) -> natronfx_service::Result<NewSession> {
    let pw = SecretString::from(password);
    app.service
        .login(LoginRequest {
            email,
            password: &pw,
            address,
            user_agent: "test-browser",
            replaces: None,
        })
        .await
}

async fn actions(app: &TestApp) -> Vec<AuditAction> {
    let admin = &app.admin;
    let mut v: Vec<_> = app
        .service
        .recent_audit(admin, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.action)
        .collect();
    v.reverse();
    v
}

async fn a_login_starts_a_session_kept_only_as_a_hash_and_rotates_the_old_one(app: TestApp) {
    let s = &app.service;
    let first = login(&app, " Editor@Example.com ", TEST_PASSWORD, "203.0.113.5")
        .await
        .unwrap();
    assert_eq!(first.user.id, app.editor.id);
    let secret = first.secret.expose_secret().to_owned();
    assert!(
        !format!("{first:?}").contains(&secret),
        "Debug redacts the id"
    );
    let active = s.session(&secret).await.unwrap();
    assert_eq!(active.user.id, app.editor.id);
    assert_eq!(active.csrf_token, first.csrf_token);
    assert!(s.csrf_matches(&secret, &first.csrf_token));
    assert!(!s.csrf_matches(&secret, "forged"));
    let stored = s.my_sessions(&app.editor).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].id_hash, secret);
    assert!(
        !stored[0].id_hash.contains(&secret[4..]),
        "only a hash is stored"
    );
    assert_eq!(stored[0].address, "203.0.113.5");

    // Signing in again from the same browser gives a new id and ends the old one.
    let pw = SecretString::from(TEST_PASSWORD);
    let second = s
        .login(LoginRequest {
            email: "editor@example.com",
            password: &pw,
            address: "203.0.113.5",
            user_agent: "test-browser",
            replaces: Some(&secret),
        })
        .await
        .unwrap();
    assert_ne!(second.secret.expose_secret(), secret);
    assert_ne!(second.csrf_token, first.csrf_token);
    assert_eq!(
        s.session(&secret).await.unwrap_err().code(),
        "session-expired"
    );
    assert!(s.session(second.secret.expose_secret()).await.is_ok());
    assert_eq!(s.my_sessions(&app.editor).await.unwrap().len(), 1);
    assert_eq!(
        s.session("nfs_made-up").await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    assert_eq!(
        s.session("not even the prefix").await.unwrap_err().code(),
        "session-expired"
    );
    // Nothing in the audit log carries the secret.
    let log = s.recent_audit(&app.admin, 100).await.unwrap();
    let text = format!("{log:?}");
    assert!(!text.contains(&secret) && !text.contains(second.secret.expose_secret()));
    assert_eq!(
        actions(&app)
            .await
            .iter()
            .filter(|a| **a == AuditAction::LoginSucceeded)
            .count(),
        2
    );
}

async fn wrong_passwords_unknown_emails_and_disabled_users_are_refused_alike_and_audited(
    app: TestApp,
) {
    let s = &app.service;
    s.disable_user(&app.admin, "viewer@example.com")
        .await
        .unwrap();
    let mut messages = Vec::new();
    for (email, password) in [
        ("editor@example.com", "wrong password!"),
        ("nobody@example.com", TEST_PASSWORD),
        ("viewer@example.com", TEST_PASSWORD),
        ("not an email", TEST_PASSWORD),
    ] {
        let err = login(&app, email, password, "198.51.100.1")
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid-credentials", "{email}");
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        messages.push(err.to_string());
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "one message, whatever was wrong");
    let failed = s
        .recent_audit(&app.admin, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.action == AuditAction::LoginFailed)
        .collect::<Vec<_>>();
    assert_eq!(failed.len(), 4);
    let notes: Vec<_> = failed.iter().filter_map(|e| e.event.note.clone()).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("wrong password") && n.contains("198.51.100.1"))
    );
    assert!(notes.iter().any(|n| n.contains("user disabled")));
    assert!(
        !format!("{failed:?}").contains("wrong password!"),
        "the password typed is never recorded"
    );
    assert!(s.my_sessions(&app.editor).await.unwrap().is_empty());
}

async fn an_account_is_throttled_after_repeated_failures_even_with_the_right_password(
    app: TestApp,
) {
    let max = app.service.auth_config().max_failures_per_account;
    for i in 0..max {
        // From different addresses: the account's count is what matters here.
        let err = login(
            &app,
            "editor@example.com",
            "wrong password!",
            &format!("10.0.0.{i}"),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), "invalid-credentials");
    }
    let err = login(&app, "editor@example.com", TEST_PASSWORD, "10.1.1.1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "too-many-attempts");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(err.to_string().contains("15 minutes"), "{err}");
    // Other accounts are not affected.
    login(&app, "reviewer@example.com", TEST_PASSWORD, "10.1.1.1")
        .await
        .unwrap();
    // Once the window has passed, the right password works again and clears the slate.
    app.clock.advance(Duration::minutes(16));
    login(&app, "editor@example.com", TEST_PASSWORD, "10.1.1.1")
        .await
        .unwrap();
    login(&app, "editor@example.com", "wrong password!", "10.1.1.1")
        .await
        .unwrap_err();
    login(&app, "editor@example.com", TEST_PASSWORD, "10.1.1.1")
        .await
        .unwrap();
}

async fn an_address_is_throttled_across_accounts(app: TestApp) {
    let max = app.service.auth_config().max_failures_per_address;
    for i in 0..max {
        login(
            &app,
            &format!("guess{i}@example.com"),
            "nope nope nope",
            "192.0.2.66",
        )
        .await
        .unwrap_err();
    }
    let err = login(&app, "editor@example.com", TEST_PASSWORD, "192.0.2.66")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "too-many-attempts");
    login(&app, "editor@example.com", TEST_PASSWORD, "192.0.2.67")
        .await
        .unwrap();
}

async fn sessions_end_when_idle_and_at_their_absolute_end(app: TestApp) {
    let s = &app.service;
    let idle = s.auth_config().session_idle_minutes as i64;
    let absolute = s.auth_config().session_absolute_hours as i64;
    let session = login(&app, "editor@example.com", TEST_PASSWORD, "a")
        .await
        .unwrap();
    let secret = session.secret.expose_secret().to_owned();
    // Active use keeps it alive past the idle time...
    let mut elapsed = 0;
    while elapsed + idle / 2 < absolute * 60 {
        app.clock.advance(Duration::minutes(idle / 2));
        elapsed += idle / 2;
        s.session(&secret).await.unwrap();
    }
    // ...but not past the absolute end.
    app.clock
        .advance(Duration::minutes(absolute * 60 - elapsed));
    assert_eq!(
        s.session(&secret).await.unwrap_err().code(),
        "session-expired"
    );
    assert!(
        s.my_sessions(&app.editor).await.unwrap().is_empty(),
        "an expired session is removed"
    );

    let session = login(&app, "editor@example.com", TEST_PASSWORD, "a")
        .await
        .unwrap();
    let secret = session.secret.expose_secret().to_owned();
    app.clock.advance(Duration::minutes(idle - 1));
    s.session(&secret).await.unwrap();
    app.clock.advance(Duration::minutes(idle));
    assert_eq!(
        s.session(&secret).await.unwrap_err().code(),
        "session-expired"
    );

    // The purge removes sessions nobody came back for.
    let forgotten = login(&app, "editor@example.com", TEST_PASSWORD, "a")
        .await
        .unwrap();
    app.clock.advance(Duration::minutes(idle + 1));
    assert_eq!(s.purge_expired_sessions().await.unwrap(), 1);
    assert_eq!(
        s.session(forgotten.secret.expose_secret())
            .await
            .unwrap_err()
            .code(),
        "session-expired"
    );
}

async fn logout_ends_the_session_and_is_audited(app: TestApp) {
    let s = &app.service;
    let session = login(&app, "reviewer@example.com", TEST_PASSWORD, "a")
        .await
        .unwrap();
    let secret = session.secret.expose_secret().to_owned();
    s.logout(&secret).await.unwrap();
    assert_eq!(
        s.session(&secret).await.unwrap_err().code(),
        "session-expired"
    );
    s.logout(&secret).await.unwrap();
    let logged_out = actions(&app)
        .await
        .into_iter()
        .filter(|a| *a == AuditAction::LoggedOut)
        .count();
    assert_eq!(logged_out, 1);
}

async fn a_password_change_ends_the_other_sessions(app: TestApp) {
    let s = &app.service;
    let here = login(&app, "editor@example.com", TEST_PASSWORD, "a")
        .await
        .unwrap();
    let elsewhere = login(&app, "editor@example.com", TEST_PASSWORD, "b")
        .await
        .unwrap();
    let here_id = here.secret.expose_secret().to_owned();
    let new = SecretString::from("a much better passphrase");
    let err = s
        .change_password(
            &app.editor,
            &SecretString::from("not it at all"),
            &new,
            Some(&here_id),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        ("invalid-input", ErrorKind::InvalidInput)
    );
    let err = s
        .change_password(
            &app.editor,
            &SecretString::from(TEST_PASSWORD),
            &SecretString::from("short"),
            Some(&here_id),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid-input");
    assert!(
        s.session(elsewhere.secret.expose_secret()).await.is_ok(),
        "refusals change nothing"
    );
    s.change_password(
        &app.editor,
        &SecretString::from(TEST_PASSWORD),
        &new,
        Some(&here_id),
    )
    .await
    .unwrap();
    assert!(
        s.session(&here_id).await.is_ok(),
        "the session that changed it stays"
    );
    assert_eq!(
        s.session(elsewhere.secret.expose_secret())
            .await
            .unwrap_err()
            .code(),
        "session-expired"
    );
    login(&app, "editor@example.com", TEST_PASSWORD, "a")
        .await
        .unwrap_err();
    login(&app, "editor@example.com", "a much better passphrase", "a")
        .await
        .unwrap();
    assert!(actions(&app).await.contains(&AuditAction::PasswordChanged));
}

async fn a_disabled_user_is_signed_out_and_a_role_change_applies_at_once(app: TestApp) {
    let s = &app.service;
    let session = login(&app, "editor@example.com", TEST_PASSWORD, "a")
        .await
        .unwrap();
    let secret = session.secret.expose_secret().to_owned();
    s.set_role(
        &app.admin,
        "editor@example.com",
        natronfx_service::workflow::Role::Viewer,
    )
    .await
    .unwrap();
    assert_eq!(
        s.session(&secret).await.unwrap().user.role,
        natronfx_service::workflow::Role::Viewer
    );
    s.disable_user(&app.admin, "editor@example.com")
        .await
        .unwrap();
    assert_eq!(
        s.session(&secret).await.unwrap_err().code(),
        "session-expired"
    );
}

async fn admins_reset_passwords_and_nobody_else_does(app: TestApp) {
    let s = &app.service;
    let session = login(&app, "viewer@example.com", TEST_PASSWORD, "a")
        .await
        .unwrap();
    let new = SecretString::from("reset by the admin");
    let err = s
        .reset_password(&app.editor, "viewer@example.com", &new)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "permission-denied");
    s.reset_password(&app.admin, "viewer@example.com", &new)
        .await
        .unwrap();
    assert_eq!(
        s.session(session.secret.expose_secret())
            .await
            .unwrap_err()
            .code(),
        "session-expired"
    );
    login(&app, "viewer@example.com", "reset by the admin", "a")
        .await
        .unwrap();
}
