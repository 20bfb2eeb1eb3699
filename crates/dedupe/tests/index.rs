//! The index returns exactly what a brute-force popcount scan returns.

use natronfx_dedupe::index::{HammingIndex, Match, Method, scan};
use proptest::prelude::*;

/// What the brute-force scan says, as sorted (id, distance) pairs; ids are positions.
fn expected(hashes: &[u64], query: u64, radius: u32) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = scan(hashes, query, radius)
        .into_iter()
        .map(|i| (i as u32, (hashes[i] ^ query).count_ones()))
        .collect();
    v.sort_unstable();
    v
}

fn got(matches: &[Match], hashes: &[u64]) -> Vec<(u32, u32)> {
    for m in matches {
        assert_eq!(
            m.hash, hashes[m.id as usize],
            "match carries the stored hash"
        );
    }
    let mut v: Vec<(u32, u32)> = matches.iter().map(|m| (m.id, m.distance)).collect();
    v.sort_unstable();
    v
}

/// Hashes near a few centres (1 to 6 flipped bits), with exact duplicates, like real photos.
fn clustered() -> impl Strategy<Value = Vec<u64>> {
    (
        prop::collection::vec(any::<u64>(), 1..20),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                prop::collection::vec(0u32..64, 0..7),
            ),
            1..400,
        ),
    )
        .prop_map(|(centres, copies)| {
            copies
                .into_iter()
                .map(|(which, bits)| {
                    let c = centres[which.index(centres.len())];
                    bits.into_iter().fold(c, |h, b| h ^ (1 << b))
                })
                .collect()
        })
}

fn check_all(hashes: &[u64], queries: &[u64], radius: u32, incremental: bool) {
    let index = if incremental {
        let mut index = HammingIndex::new();
        for (i, &h) in hashes.iter().enumerate() {
            index.insert(h, i as u32).unwrap();
        }
        index
    } else {
        HammingIndex::build(hashes.iter().enumerate().map(|(i, &h)| (h, i as u32))).unwrap()
    };
    assert_eq!(index.len(), hashes.len());
    for &q in queries {
        let want = expected(hashes, q, radius);
        for method in [Method::MultiIndex, Method::Scan] {
            let matches = index.search_with(q, radius, method);
            assert!(matches.windows(2).all(|w| w[0] <= w[1]), "closest first");
            assert_eq!(got(&matches, hashes), want, "{method:?} radius {radius}");
        }
        assert_eq!(got(&index.search(q, radius), hashes), want);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_hashes_match_the_scan(
        hashes in prop::collection::vec(any::<u64>(), 1..300),
        random_queries in prop::collection::vec(any::<u64>(), 1..3),
        flips in prop::collection::vec((any::<prop::sample::Index>(), prop::collection::vec(0u32..64, 0..14)), 1..3),
        radius in 0u32..=12,
    ) {
        // Random queries are almost never near anything; also query near stored hashes.
        let mut queries = random_queries;
        queries.extend(flips.iter().map(|(i, bits)| {
            bits.iter().fold(hashes[i.index(hashes.len())], |h, b| h ^ (1 << b))
        }));
        check_all(&hashes, &queries, radius, false);
    }

    #[test]
    fn clustered_hashes_match_the_scan(
        hashes in clustered(),
        flips in prop::collection::vec(prop::collection::vec(0u32..64, 0..8), 1..4),
        radius in 0u32..=12,
        incremental in any::<bool>(),
    ) {
        // Query near stored hashes so that there is something to find.
        let queries: Vec<u64> = flips
            .iter()
            .enumerate()
            .map(|(i, bits)| bits.iter().fold(hashes[i % hashes.len()], |h, b| h ^ (1 << b)))
            .collect();
        check_all(&hashes, &queries, radius, incremental);
    }
}

#[test]
fn every_radius_up_to_sixty_four_matches_the_scan() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let base: Vec<u64> = (0..500).map(|_| next()).collect();
    let hashes: Vec<u64> = base
        .iter()
        .flat_map(|&h| {
            [
                h,
                h ^ 1,
                h ^ 0x8000_0000_0000_0001,
                h ^ 0x00ff_0000_0000_0000,
            ]
        })
        .collect();
    let queries = [hashes[0], hashes[5] ^ 0xF, next(), 0, u64::MAX];
    for radius in [
        0, 1, 2, 4, 5, 7, 9, 11, 13, 16, 20, 24, 32, 40, 48, 63, 64, 100,
    ] {
        check_all(&hashes, &queries, radius, false);
    }
}

#[test]
fn inserts_are_found_before_and_after_the_tail_is_merged() {
    let n = HammingIndex::TAIL_LIMIT * 2 + 10;
    let hashes: Vec<u64> = (0..n as u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .collect();
    let mut index = HammingIndex::build(
        hashes[..100]
            .iter()
            .enumerate()
            .map(|(i, &h)| (h, i as u32)),
    )
    .unwrap();
    for (i, &h) in hashes.iter().enumerate().skip(100) {
        index.insert(h, i as u32).unwrap();
        if i % 997 == 0 {
            // The newest slide is found right away, tail or not.
            let hits = index.search(h ^ 0b101, 2);
            assert!(
                hits.iter().any(|m| m.id == i as u32),
                "insert {i} not found"
            );
        }
    }
    for q in [
        hashes[3],
        hashes[n - 1],
        hashes[HammingIndex::TAIL_LIMIT + 200] ^ 0xF0,
    ] {
        for radius in [0, 4, 8] {
            assert_eq!(
                got(&index.search(q, radius), &hashes),
                expected(&hashes, q, radius)
            );
        }
    }
    index.merge_tail();
    assert_eq!(index.len(), n);
    assert_eq!(
        got(&index.search(hashes[n - 1], 0), &hashes),
        vec![(n as u32 - 1, 0)]
    );
}

#[test]
fn a_hash_stored_under_several_ids_reports_every_entry_once() {
    let h = 0xDEAD_BEEF_0000_0001u64;
    let entries = [(h, 1), (h, 2), (h ^ 1, 3), (h, 2), (!h, 4)];
    let index = HammingIndex::build(entries).unwrap();
    for method in [Method::MultiIndex, Method::Scan] {
        // Query differs from h in chunk 0 only, so the hit comes through a later table.
        let q = h ^ 0xF000_0000_0000_0000;
        let ids: Vec<(u32, u32)> = index
            .search_with(q, 5, method)
            .iter()
            .map(|m| (m.id, m.distance))
            .collect();
        assert_eq!(ids, vec![(1, 4), (2, 4), (2, 4), (3, 5)], "{method:?}");
    }
}

#[test]
fn memory_stays_under_thirty_two_bytes_per_hash() {
    let n = 300_000u64;
    let index =
        HammingIndex::build((0..n).map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i as u32)))
            .unwrap();
    let per_hash = index.memory_bytes() as f64 / n as f64;
    // 28 bytes per hash plus 1 MiB of bucket offsets shared by all of them.
    assert!(per_hash < 32.0, "{per_hash:.1} bytes per hash");
    assert!(index.memory_bytes() >= 28 * n as usize);
}

#[test]
fn purged_ids_are_no_longer_found() {
    let hashes: Vec<u64> = (0..5000u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .collect();
    let mut index = HammingIndex::build(
        hashes[..4000]
            .iter()
            .enumerate()
            .map(|(i, &h)| (h, i as u32)),
    )
    .unwrap();
    for (i, &h) in hashes.iter().enumerate().skip(4000) {
        index.insert(h, i as u32).unwrap();
    }
    index.retain(|id| id % 3 != 0);
    assert_eq!(index.len(), hashes.len() - hashes.len().div_ceil(3));
    for i in [0usize, 1, 3999, 4000, 4001, 4999] {
        let ids: Vec<u32> = index.search(hashes[i], 0).iter().map(|m| m.id).collect();
        let want: Vec<u32> = if i % 3 == 0 { vec![] } else { vec![i as u32] };
        assert_eq!(ids, want, "hash {i}");
    }
}
