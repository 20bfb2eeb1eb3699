//! Provenance of generated media and the published-target listing, on both backends.

use std::sync::Arc;

use natronfx_store::{Error, MediaProvenance, MediaRecord, MediaSource, Store};
use natronfx_workflow::{AuditAction, AuditEvent, MediaId, Platform, PostState, Role, TargetState};

use super::{account, media, new_post, now, user};

stories!(
    generated_media_keeps_its_provenance_and_is_told_apart,
    a_provenance_pointing_nowhere_writes_nothing,
    published_targets_are_listed_in_pages,
);

fn record(n: u8, source: MediaSource) -> MediaRecord {
    let sha = format!("{n:02x}").repeat(32);
    MediaRecord {
        id: MediaId::random(),
        key: format!("{sha}.jpg"),
        sha256: sha,
        bytes: 2048,
        width: 1024,
        height: 1536,
        format: "jpeg".into(),
        source,
        created_by: None,
        created_at: now(),
    }
}

fn provenance(derived_from: Option<MediaId>, prompt: &str) -> MediaProvenance {
    MediaProvenance {
        id: uuid::Uuid::now_v7(),
        media_id: MediaId::random(),
        derived_from,
        generator: "openai-images".into(),
        model: "gpt-image-1".into(),
        prompt: prompt.into(),
        size: "1024x1536".into(),
        quality: Some("medium".into()),
        background: Some("opaque".into()),
        usage: serde_json::json!({"input_tokens": 38, "output_tokens": 1584, "total_tokens": 1622}),
        requested_by: None,
        requested_at: now(),
    }
}

async fn generated_media_keeps_its_provenance_and_is_told_apart(store: Arc<dyn Store>) {
    let editor = user(&store, "ed@example.com", Role::Editor).await;
    let upload = media(&store, 1).await;
    let mut p = provenance(None, "a cup of coffee on a brick wall");
    p.requested_by = Some(editor.id);
    let event = AuditEvent::new(
        now(),
        Some(editor.id),
        AuditAction::MediaGenerated,
        "media",
        "x",
    );
    let ids = store
        .insert_media_with_provenance(&[(record(2, MediaSource::Generated), p.clone())], &[event])
        .await
        .unwrap();
    let generated = ids[0];
    let stored = store.provenance_of(generated).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0],
        MediaProvenance {
            media_id: generated,
            ..p.clone()
        },
        "every field round-trips"
    );
    assert_eq!(
        store.recent_audit(1).await.unwrap()[0].event.action,
        AuditAction::MediaGenerated,
        "the event was written with the rows"
    );

    // A slide fitted from it is a rendered image whose provenance points at its origin.
    let derived = store
        .insert_media_with_provenance(
            &[(
                record(3, MediaSource::Rendered),
                provenance(Some(generated), &p.prompt),
            )],
            &[],
        )
        .await
        .unwrap()[0];
    assert_eq!(
        store.provenance_of(derived).await.unwrap()[0].derived_from,
        Some(generated)
    );
    let mut among = store
        .generated_among(&[upload, generated, derived, generated])
        .await
        .unwrap();
    among.sort();
    let mut want = vec![generated, derived];
    want.sort();
    assert_eq!(among, want, "the upload is not generated; duplicates once");

    // The same bytes generated again: one media row, two provenance records, newest first.
    let mut later = provenance(None, "the same picture, asked again");
    later.requested_at = now() + chrono::Duration::minutes(5);
    let again = store
        .insert_media_with_provenance(&[(record(2, MediaSource::Generated), later)], &[])
        .await
        .unwrap();
    assert_eq!(again, vec![generated]);
    let both = store.provenance_of(generated).await.unwrap();
    assert_eq!(both.len(), 2);
    assert_eq!(both[0].prompt, "the same picture, asked again");
    assert!(store.provenance_of(upload).await.unwrap().is_empty());
    let key = format!("{}.jpg", "02".repeat(32));
    assert_eq!(store.media_id_by_key(&key).await.unwrap(), Some(generated));
    assert_eq!(store.media_id_by_key("nothing.jpg").await.unwrap(), None);
}

async fn a_provenance_pointing_nowhere_writes_nothing(store: Arc<dyn Store>) {
    let before = store.list_media(100).await.unwrap().len();
    let audit_before = store.recent_audit(1000).await.unwrap().len();
    let event = AuditEvent::new(now(), None, AuditAction::MediaGenerated, "media", "x");
    let err = store
        .insert_media_with_provenance(
            &[
                (record(4, MediaSource::Generated), provenance(None, "fine")),
                (
                    record(5, MediaSource::Rendered),
                    provenance(Some(MediaId::random()), "from nothing"),
                ),
            ],
            &[event],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(store.list_media(100).await.unwrap().len(), before);
    assert_eq!(store.recent_audit(1000).await.unwrap().len(), audit_before);
}

async fn published_targets_are_listed_in_pages(store: Arc<dyn Store>) {
    let editor = user(&store, "ed@example.com", Role::Editor).await;
    let ig = account(&store, Platform::Instagram, "@brand.ig").await;
    let tt = account(&store, Platform::Tiktok, "@brand.tt").await;
    let slide = || natronfx_workflow::Slide {
        media_id: MediaId::random(),
        alt_text: natronfx_workflow::AltText::parse("a cup").unwrap(),
    };
    let mut published = Vec::new();
    for i in 0..3u8 {
        let m = media(&store, 10 + i).await;
        let post = new_post(
            &store,
            &editor,
            &[&ig, &tt],
            vec![natronfx_workflow::Slide {
                media_id: m,
                ..slide()
            }],
        )
        .await;
        let mut snap = post.snapshot().clone();
        // Post 0: both targets live; post 1: only Instagram; post 2: still a draft.
        if i < 2 {
            snap.state = if i == 0 {
                PostState::Published
            } else {
                PostState::PartiallyPublished
            };
            for t in &mut snap.targets {
                t.state = if i == 0 || t.platform == Platform::Instagram {
                    published.push((post.id, t.id));
                    TargetState::Published
                } else {
                    TargetState::Failed
                };
            }
            store.save_post(&snap, &[]).await.unwrap();
        }
    }
    published.sort();
    assert_eq!(store.count_published_targets().await.unwrap(), 3);
    let first = store.published_targets(None, 2).await.unwrap();
    let last = first.last().unwrap();
    let rest = store
        .published_targets(Some((last.post_id, last.target_id)), 2)
        .await
        .unwrap();
    let listed: Vec<_> = first
        .iter()
        .chain(&rest)
        .map(|t| (t.post_id, t.target_id))
        .collect();
    assert_eq!(listed, published, "every published target once, in order");
    assert!(
        first
            .iter()
            .chain(&rest)
            .all(|t| (t.account_id == ig.id) == (t.platform == Platform::Instagram))
    );
}
