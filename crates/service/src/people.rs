//! People, their passwords and API tokens, team settings, and setting the product up the first time.

use base64::Engine as _;
use natronfx_store::{ApiToken, Error as StoreError};
use natronfx_workflow::{
    Account, AccountId, AccountStatus, Action, ApprovalPolicy, AuditAction, AuditEvent, Email,
    Platform, Role, TokenId, User, UserId, authorize,
};
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::{APPROVAL_POLICY_SETTING, Error, Result, Service};

/// A token just created: the only moment its secret exists outside the caller's hands.
#[derive(Debug)]
pub struct NewToken {
    /// The stored record (no secret in it).
    pub token: ApiToken,
    /// The secret, to show once. `Debug` prints it redacted.
    pub secret: SecretString,
}

/// The first admin made by [`Service::first_run`].
#[derive(Debug)]
pub struct FirstAdmin {
    /// The admin.
    pub user: User,
    /// The password, when it was made up here: shown once, then only its hash exists. `None` when the
    /// caller gave it. `Debug` prints it redacted.
    pub generated_password: Option<SecretString>,
}

/// Prefix of every API token, so leaked tokens are easy to recognise and scan for.
const TOKEN_PREFIX: &str = "nfx_";
/// Shortest password accepted.
const MIN_PASSWORD_CHARS: usize = 10;

fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub(crate) async fn hash_password(password: &SecretString) -> Result<String> {
    use argon2::password_hash::PasswordHasher as _;
    let pw = password.expose_secret().to_owned();
    // Argon2 is deliberately slow: keep it off the async workers.
    tokio::task::spawn_blocking(move || {
        argon2::Argon2::default()
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
    .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

pub(crate) async fn verify_password(password: &SecretString, phc: String) -> Result<bool> {
    use argon2::password_hash::PasswordVerifier as _;
    let pw = password.expose_secret().to_owned();
    tokio::task::spawn_blocking(move || {
        let parsed = argon2::PasswordHash::new(&phc).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(argon2::Argon2::default()
            .verify_password(pw.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

pub(crate) fn check_password(password: &SecretString) -> Result<()> {
    if password.expose_secret().chars().count() < MIN_PASSWORD_CHARS {
        return Err(natronfx_workflow::Error::InvalidInput {
            field: "password",
            reason: format!("use at least {MIN_PASSWORD_CHARS} characters"),
        }
        .into());
    }
    Ok(())
}

impl Service {
    /// Sets the product up: the first admin, and one sandbox account per platform so a new team can
    /// rehearse the workflow without real credentials. Refused once any user exists.
    pub async fn init(
        &self,
        email: &str,
        display_name: &str,
        password: &SecretString,
    ) -> Result<User> {
        if !self.store.list_users().await?.is_empty() {
            return Err(Error::AlreadyInitialized(
                "this database already has users; add more with `natronfx user add`".into(),
            ));
        }
        check_password(password)?;
        let now = self.now();
        let admin = User::new(
            UserId::random(),
            email.parse()?,
            display_name,
            Role::Admin,
            now,
        );
        let hash = hash_password(password).await?;
        let event = AuditEvent::new(
            now,
            Some(admin.id),
            AuditAction::UserCreated,
            "user",
            admin.id,
        )
        .with_note(Some("first admin, by init".into()));
        self.store.insert_user(&admin, Some(&hash), &event).await?;
        for platform in Platform::ALL {
            let account = Account {
                id: AccountId::random(),
                platform,
                external_id: format!("sandbox-{platform}"),
                display_name: format!("@sandbox.{platform}"),
                status: AccountStatus::Connected,
                sandbox: true,
                connected_by: Some(admin.id),
                created_at: now,
            };
            let event = AuditEvent::new(
                now,
                Some(admin.id),
                AuditAction::AccountConnected,
                "account",
                account.id,
            )
            .with_note(Some("sandbox account".into()));
            self.store.insert_account(&account, &event).await?;
        }
        Ok(admin)
    }

    /// On a database with no users yet, does [`Service::init`] as a server's first start does: the
    /// first admin (`email`, with `password` or else a random one to show once) and the sandbox
    /// accounts. `None` when someone exists already, also when another process won the race.
    pub async fn first_run(
        &self,
        email: &str,
        password: Option<SecretString>,
    ) -> Result<Option<FirstAdmin>> {
        if !self.store.list_users().await?.is_empty() {
            return Ok(None);
        }
        let (password, generated) = match password {
            Some(p) => (p, false),
            None => {
                let mut raw = [0u8; 15];
                rand::rng().fill_bytes(&mut raw);
                let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
                (SecretString::from(text), true)
            }
        };
        match self.init(email, "Admin", &password).await {
            Ok(user) => {
                tracing::info!(user = %user.id, "first admin created");
                Ok(Some(FirstAdmin {
                    user,
                    generated_password: generated.then_some(password),
                }))
            }
            Err(Error::AlreadyInitialized(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The enabled user with this email: who the CLI acts as.
    pub async fn actor(&self, email: &str) -> Result<User> {
        let email: Email = email.parse()?;
        let user = self
            .store
            .user_by_email(&email)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => Error::NotInitialized(format!(
                    "no user {email}; run `natronfx init` first or pick an existing user with --as"
                )),
                other => other.into(),
            })?;
        if user.disabled {
            return Err(natronfx_workflow::Error::UserDisabled.into());
        }
        Ok(user)
    }

    /// Checks an email and password. Unknown users and wrong passwords look the same.
    pub async fn authenticate_password(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<User> {
        let Ok(email) = email.parse::<Email>() else {
            return Err(Error::InvalidCredentials);
        };
        let user = match self.store.user_by_email(&email).await {
            Ok(u) => u,
            Err(StoreError::NotFound { .. }) => return Err(Error::InvalidCredentials),
            Err(e) => return Err(e.into()),
        };
        let Some(hash) = self.store.password_hash(user.id).await? else {
            return Err(Error::InvalidCredentials);
        };
        if !verify_password(password, hash).await? || user.disabled {
            return Err(Error::InvalidCredentials);
        }
        Ok(user)
    }

    /// Adds a person. Only admins may.
    pub async fn add_user(
        &self,
        actor: &User,
        email: &str,
        display_name: &str,
        role: Role,
        password: Option<&SecretString>,
    ) -> Result<User> {
        authorize(actor, Action::ManageUsers, None)?;
        let now = self.now();
        let user = User::new(UserId::random(), email.parse()?, display_name, role, now);
        let hash = match password {
            Some(p) => {
                check_password(p)?;
                Some(hash_password(p).await?)
            }
            None => None,
        };
        let event = AuditEvent::new(
            now,
            Some(actor.id),
            AuditAction::UserCreated,
            "user",
            user.id,
        )
        .with_note(Some(format!("{} as {role}", user.email)));
        self.store
            .insert_user(&user, hash.as_deref(), &event)
            .await?;
        Ok(user)
    }

    /// Every person. Only admins may list them.
    pub async fn list_users(&self, actor: &User) -> Result<Vec<User>> {
        authorize(actor, Action::ManageUsers, None)?;
        Ok(self.store.list_users().await?)
    }

    pub(crate) async fn user_by_ref(&self, reference: &str) -> Result<User> {
        match reference.parse::<UserId>() {
            Ok(id) => Ok(self.store.user(id).await?),
            Err(_) => Ok(self.store.user_by_email(&reference.parse()?).await?),
        }
    }

    /// Disables a person (by email or id); their history stays. An admin cannot disable themselves.
    pub async fn disable_user(&self, actor: &User, who: &str) -> Result<User> {
        authorize(actor, Action::ManageUsers, None)?;
        let mut user = self.user_by_ref(who).await?;
        if user.id == actor.id {
            return Err(natronfx_workflow::Error::InvalidInput {
                field: "user",
                reason: "you cannot disable yourself; ask another admin".into(),
            }
            .into());
        }
        user.disabled = true;
        let event = AuditEvent::new(
            self.now(),
            Some(actor.id),
            AuditAction::UserDisabled,
            "user",
            user.id,
        )
        .with_note(Some(user.email.to_string()));
        self.store.update_user(&user, &event).await?;
        Ok(user)
    }

    /// Changes a person's role.
    pub async fn set_role(&self, actor: &User, who: &str, role: Role) -> Result<User> {
        authorize(actor, Action::ManageUsers, None)?;
        let mut user = self.user_by_ref(who).await?;
        let event = AuditEvent::new(
            self.now(),
            Some(actor.id),
            AuditAction::RoleChanged,
            "user",
            user.id,
        )
        .with_states(user.role, role);
        user.role = role;
        self.store.update_user(&user, &event).await?;
        Ok(user)
    }

    /// Creates an API token acting with `role`, which may not exceed the actor's own.
    pub async fn create_token(&self, actor: &User, name: &str, role: Role) -> Result<NewToken> {
        authorize(actor, Action::ManageOwnTokens, None)?;
        if !actor.role.includes(role) {
            return Err(natronfx_workflow::Error::InvalidInput {
                field: "role",
                reason: format!(
                    "a token cannot have more rights than its owner ({})",
                    actor.role
                ),
            }
            .into());
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(natronfx_workflow::Error::InvalidInput {
                field: "name",
                reason: "give the token a name of 1 to 100 characters".into(),
            }
            .into());
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let now = self.now();
        let token = ApiToken {
            id: TokenId::random(),
            user_id: actor.id,
            name: name.to_owned(),
            role,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        let event = AuditEvent::new(
            now,
            Some(actor.id),
            AuditAction::TokenCreated,
            "token",
            token.id,
        )
        .with_note(Some(format!("{name} ({role})")));
        self.store
            .insert_token(&token, &token_hash(&secret), &event)
            .await?;
        Ok(NewToken {
            token,
            secret: SecretString::from(secret),
        })
    }

    /// The user a bearer token acts as, with the token's role.
    pub async fn authenticate_token(&self, secret: &str) -> Result<User> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Err(Error::InvalidCredentials);
        }
        let token = match self.store.token_by_hash(&token_hash(secret)).await {
            Ok(t) => t,
            Err(StoreError::NotFound { .. }) => return Err(Error::InvalidCredentials),
            Err(e) => return Err(e.into()),
        };
        let owner = self.store.user(token.user_id).await?;
        if owner.disabled {
            return Err(Error::InvalidCredentials);
        }
        self.store.touch_token(token.id, self.now()).await?;
        Ok(owner.acting_as(token.role))
    }

    /// The actor's tokens.
    pub async fn list_tokens(&self, actor: &User) -> Result<Vec<ApiToken>> {
        authorize(actor, Action::ManageOwnTokens, None)?;
        Ok(self.store.list_tokens(actor.id).await?)
    }

    /// Revokes one of the actor's tokens (admins may revoke anyone's).
    pub async fn revoke_token(&self, actor: &User, id: TokenId) -> Result<()> {
        authorize(actor, Action::ManageOwnTokens, None)?;
        let token = self.store.token(id).await?;
        if token.user_id != actor.id {
            authorize(actor, Action::ManageUsers, None)?;
        }
        let now = self.now();
        let event = AuditEvent::new(now, Some(actor.id), AuditAction::TokenRevoked, "token", id);
        Ok(self.store.revoke_token(id, now, &event).await?)
    }

    /// The team's approval policy (`required` until an admin changes it).
    pub async fn approval_policy(&self) -> Result<ApprovalPolicy> {
        match self.store.setting(APPROVAL_POLICY_SETTING).await? {
            Some(v) => Ok(v.parse()?),
            None => Ok(ApprovalPolicy::default()),
        }
    }

    /// Changes the team's approval policy. Only admins may.
    pub async fn set_approval_policy(&self, actor: &User, policy: ApprovalPolicy) -> Result<()> {
        authorize(actor, Action::ManageUsers, None)?;
        let old = self.approval_policy().await?;
        let event = AuditEvent::new(
            self.now(),
            Some(actor.id),
            AuditAction::SettingChanged,
            "setting",
            APPROVAL_POLICY_SETTING,
        )
        .with_states(old, policy);
        Ok(self
            .store
            .set_setting(APPROVAL_POLICY_SETTING, &policy.to_string(), &event)
            .await?)
    }

    /// Connected accounts.
    pub async fn list_accounts(&self, actor: &User) -> Result<Vec<Account>> {
        authorize(actor, Action::ViewPost, None)?;
        Ok(self.store.list_accounts().await?)
    }

    /// Walks the whole audit log's hash chain. Only admins may. A broken chain is an error naming the first
    /// bad event.
    pub async fn verify_audit(&self, actor: &User) -> Result<u64> {
        Ok(self.verify_audit_chain(actor).await?.checked)
    }

    /// [`verify_audit`](Self::verify_audit) with the whole answer: how many events were checked and, when
    /// retention deleted older ones, the anchored event the chain was verified from.
    pub async fn verify_audit_chain(&self, actor: &User) -> Result<natronfx_store::ChainCheck> {
        authorize(actor, Action::ViewAudit, None)?;
        let check = self.store.verify_audit_chain().await?;
        match &check.first_break {
            None => Ok(check),
            Some(broken) => Err(Error::AuditChainBroken(broken.to_string())),
        }
    }

    /// The latest audit events. Only admins may read the log.
    pub async fn recent_audit(
        &self,
        actor: &User,
        limit: u32,
    ) -> Result<Vec<natronfx_store::StoredAuditEvent>> {
        authorize(actor, Action::ViewAudit, None)?;
        Ok(self.store.recent_audit(limit).await?)
    }
}
