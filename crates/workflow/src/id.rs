//! Typed identifiers, so a post id can never be passed where a user id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// A fresh time-ordered (v7) id. Ids carry no meaning beyond identity.
            pub fn random() -> Self {
                Self(Uuid::now_v7())
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| crate::Error::input($what, format!("`{s}` is not a valid {} id", $what)))
            }
        }
    };
}

typed_id!(
    /// Identifies a person who uses the product.
    UserId, "user"
);
typed_id!(
    /// Identifies a post.
    PostId, "post"
);
typed_id!(
    /// Identifies one publish target of a post (post × account).
    TargetId, "target"
);
typed_id!(
    /// Identifies a connected social account.
    AccountId, "account"
);
typed_id!(
    /// Identifies a stored media object (an image a slide shows).
    MediaId, "media"
);
typed_id!(
    /// Identifies one review decision.
    ReviewId, "review"
);
typed_id!(
    /// Identifies an API token.
    TokenId, "token"
);
