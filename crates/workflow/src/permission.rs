//! The permission table: may this actor do this action on this post?

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Post, Result, Role, User};

/// Something a user may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Read posts, their history and the connected accounts.
    ViewPost,
    /// Start a new post.
    CreatePost,
    /// Change a post's content or targets.
    EditPost,
    /// Send a post to review.
    SubmitPost,
    /// Approve, request changes or reject.
    ReviewPost,
    /// Schedule or unschedule an approved post's targets.
    SchedulePost,
    /// Archive a post.
    ArchivePost,
    /// Add, disable and change people; change team settings.
    ManageUsers,
    /// Read the audit log.
    ViewAudit,
    /// Create and revoke one's own API tokens.
    ManageOwnTokens,
    /// Connect, refresh and disconnect social accounts; see and rotate the token vault's keys and
    /// store the secrets it keeps for the system (the image API key).
    ManageAccounts,
    /// Run the retention policy and export records (with their audit trail).
    ManageData,
}

impl Action {
    /// Every action, for tables and exhaustive tests.
    pub const ALL: [Action; 12] = [
        Action::ViewPost,
        Action::CreatePost,
        Action::EditPost,
        Action::SubmitPost,
        Action::ReviewPost,
        Action::SchedulePost,
        Action::ArchivePost,
        Action::ManageUsers,
        Action::ViewAudit,
        Action::ManageOwnTokens,
        Action::ManageAccounts,
        Action::ManageData,
    ];

    fn verb(self) -> &'static str {
        match self {
            Action::ViewPost => "view posts",
            Action::CreatePost => "create posts",
            Action::EditPost => "edit posts",
            Action::SubmitPost => "submit posts",
            Action::ReviewPost => "review posts",
            Action::SchedulePost => "schedule posts",
            Action::ArchivePost => "archive posts",
            Action::ManageUsers => "manage users and settings",
            Action::ViewAudit => "read the audit log",
            Action::ManageOwnTokens => "manage API tokens",
            Action::ManageAccounts => "connect and disconnect social accounts",
            Action::ManageData => "delete old records and export them",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.verb())
    }
}

/// How far a role's grant of an action reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    No,
    OwnPosts,
    Yes,
}

/// The table itself, in one place. Editors own their posts; reviewers judge them; admins may do anything.
fn grant(role: Role, action: Action) -> Grant {
    use Action::*;
    use Grant::*;
    match (role, action) {
        (Role::Admin, _) => Yes,
        (_, ViewPost | ManageOwnTokens) => Yes,
        (Role::Editor, CreatePost | SchedulePost) => Yes,
        (Role::Editor, EditPost | SubmitPost | ArchivePost) => OwnPosts,
        (Role::Reviewer, ReviewPost) => Yes,
        _ => No,
    }
}

/// Answers "may `actor` do `action` (on `post`, when there is one)". A disabled user may do nothing.
pub fn authorize(actor: &User, action: Action, post: Option<&Post>) -> Result<()> {
    if actor.disabled {
        return Err(Error::UserDisabled);
    }
    let denied = |own_only| Error::PermissionDenied {
        role: actor.role,
        action,
        own_only,
    };
    match grant(actor.role, action) {
        Grant::Yes => Ok(()),
        Grant::No => Err(denied(false)),
        Grant::OwnPosts => match post {
            Some(p) if p.author() == actor.id => Ok(()),
            Some(_) => Err(denied(true)),
            None => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Caption, PostDraft, PostId, Title, UserId};
    use chrono::Utc;

    fn user(role: Role) -> User {
        User::new(
            UserId::random(),
            "x@example.com".parse().unwrap(),
            "X",
            role,
            Utc::now(),
        )
    }

    #[test]
    fn the_permission_table_is_what_the_docs_say() {
        let author = user(Role::Editor);
        let post = Post::create(
            PostId::random(),
            &author,
            PostDraft {
                title: Title::parse("t").unwrap(),
                caption: Caption::parse("c").unwrap(),
                extra_hashtags: vec![],
                slides: vec![],
                targets: vec![],
            },
            Utc::now(),
        )
        .unwrap()
        .0;
        let other_editor = user(Role::Editor);
        // (role, action, allowed on someone else's post)
        let expected: &[(Role, &[Action])] = &[
            (Role::Admin, &Action::ALL),
            (
                Role::Editor,
                &[
                    Action::ViewPost,
                    Action::CreatePost,
                    Action::SchedulePost,
                    Action::ManageOwnTokens,
                ],
            ),
            (
                Role::Reviewer,
                &[
                    Action::ViewPost,
                    Action::ReviewPost,
                    Action::ManageOwnTokens,
                ],
            ),
            (Role::Viewer, &[Action::ViewPost, Action::ManageOwnTokens]),
        ];
        for (role, allowed) in expected {
            let actor = if *role == Role::Editor {
                other_editor.clone()
            } else {
                user(*role)
            };
            for action in Action::ALL {
                let ok = authorize(&actor, action, Some(&post)).is_ok();
                assert_eq!(ok, allowed.contains(&action), "{role} {action:?}");
            }
        }
        // The author edits, submits and archives their own post.
        for action in [Action::EditPost, Action::SubmitPost, Action::ArchivePost] {
            assert!(authorize(&author, action, Some(&post)).is_ok());
        }
        let err = authorize(&other_editor, Action::EditPost, Some(&post)).unwrap_err();
        assert_eq!(err.code(), "permission-denied");
    }

    #[test]
    fn a_disabled_user_may_do_nothing() {
        let mut admin = user(Role::Admin);
        admin.disabled = true;
        assert_eq!(
            authorize(&admin, Action::ViewPost, None).unwrap_err(),
            Error::UserDisabled
        );
    }

    #[test]
    fn a_token_role_never_exceeds_its_owner() {
        let reviewer = user(Role::Reviewer);
        assert_eq!(reviewer.acting_as(Role::Admin).role, Role::Viewer);
        assert_eq!(reviewer.acting_as(Role::Editor).role, Role::Viewer);
        assert_eq!(reviewer.acting_as(Role::Reviewer).role, Role::Reviewer);
        assert_eq!(user(Role::Admin).acting_as(Role::Editor).role, Role::Editor);
    }
}
