//! Query latency, build time and memory of the Hamming index against a brute-force scan.
//!
//! Run with `cargo bench -p natronfx-dedupe --bench index`. Sizes and query counts can be lowered
//! for a quick look: `DEDUPE_BENCH_SIZES=100000 DEDUPE_BENCH_QUERIES=50`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use natronfx_dedupe::index::{HammingIndex, Method, scan};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const RADII: [u32; 9] = [0, 3, 6, 8, 10, 12, 16, 20, 24];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn random_set(rng: &mut StdRng, n: usize) -> Vec<u64> {
    (0..n).map(|_| rng.random()).collect()
}

/// `n / 10` centres, each stored with 9 near copies at 1–6 flipped bits, like re-exported photos.
fn clustered_set(rng: &mut StdRng, n: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let centre: u64 = rng.random();
        out.push(centre);
        for _ in 0..9 {
            if out.len() == n {
                break;
            }
            let bits = rng.random_range(1..=6);
            out.push(flip(rng, centre, bits));
        }
    }
    out
}

/// Flips exactly `bits` distinct bits.
fn flip(rng: &mut StdRng, h: u64, bits: u32) -> u64 {
    let mut mask = 0u64;
    while mask.count_ones() < bits {
        mask |= 1 << rng.random_range(0..64);
    }
    h ^ mask
}

/// Queries near stored hashes (0–6 flipped bits), so that the answers are not empty.
fn queries(rng: &mut StdRng, hashes: &[u64], count: usize) -> Vec<u64> {
    (0..count)
        .map(|_| {
            let h = hashes[rng.random_range(0..hashes.len())];
            let bits = rng.random_range(0..=6);
            flip(rng, h, bits)
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn micros(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

struct Timings {
    p50: Duration,
    p99: Duration,
}

/// Times `f` on every query; returns the percentiles and the results.
fn time_each<R>(queries: &[u64], mut f: impl FnMut(u64) -> R) -> (Timings, Vec<R>) {
    let mut times = Vec::with_capacity(queries.len());
    let mut results = Vec::with_capacity(queries.len());
    for &q in queries {
        let start = Instant::now();
        let r = black_box(f(black_box(q)));
        times.push(start.elapsed());
        results.push(r);
    }
    times.sort_unstable();
    (
        Timings {
            p50: percentile(&times, 0.5),
            p99: percentile(&times, 0.99),
        },
        results,
    )
}

fn bench_set(name: &str, hashes: &[u64], query_count: usize, rng: &mut StdRng) {
    let start = Instant::now();
    let index =
        HammingIndex::build(hashes.iter().enumerate().map(|(i, &h)| (h, i as u32))).unwrap();
    let build = start.elapsed();
    let per_hash = index.memory_bytes() as f64 / hashes.len() as f64;
    println!();
    println!(
        "## {name}: {} hashes, bulk build {:.2} s, {:.1} MiB = {per_hash:.2} bytes per hash",
        hashes.len(),
        build.as_secs_f64(),
        index.memory_bytes() as f64 / (1 << 20) as f64,
    );
    println!();
    println!(
        "| radius | plan | index p50 µs | index p99 µs | tables p50 µs | table-0 pass p50 µs | brute scan p50 µs | brute scan p99 µs | speed-up p50 | hits/query | identical |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    // Each method is timed on its own fresh queries, so that none runs on buckets another method
    // has just pulled into the cache; the brute-force queries are then replayed (untimed) through
    // every method to check that the answers are identical.
    for radius in RADII {
        let (auto, _) = time_each(&queries(rng, hashes, query_count), |q| {
            index.search(q, radius)
        });
        let (mih, _) = time_each(&queries(rng, hashes, query_count), |q| {
            index.search_with(q, radius, Method::MultiIndex)
        });
        let (pass, _) = time_each(&queries(rng, hashes, query_count), |q| {
            index.search_with(q, radius, Method::Scan)
        });
        let brute_queries = queries(rng, hashes, query_count);
        let (brute, brute_res) = time_each(&brute_queries, |q| scan(hashes, q, radius));
        let mut identical = true;
        let mut hits = 0usize;
        for (&q, want) in brute_queries.iter().zip(&brute_res) {
            hits += want.len();
            for method in [None, Some(Method::MultiIndex), Some(Method::Scan)] {
                let got = match method {
                    None => index.search(q, radius),
                    Some(m) => index.search_with(q, radius, m),
                };
                let mut ids: Vec<usize> = got.iter().map(|m| m.id as usize).collect();
                ids.sort_unstable();
                identical &= &ids == want;
            }
        }
        println!(
            "| {radius} | {:?} | {} | {} | {} | {} | {} | {} | {:.0}× | {:.1} | {} |",
            index.plan(radius),
            micros(auto.p50),
            micros(auto.p99),
            micros(mih.p50),
            micros(pass.p50),
            micros(brute.p50),
            micros(brute.p99),
            brute.p50.as_secs_f64() / auto.p50.as_secs_f64(),
            hits as f64 / brute_queries.len() as f64,
            if identical { "yes" } else { "NO" },
        );
        assert!(
            identical,
            "{name}: index and scan disagree at radius {radius}"
        );
    }
}

fn bench_inserts(hashes: &[u64], rng: &mut StdRng) {
    let mut index =
        HammingIndex::build(hashes.iter().enumerate().map(|(i, &h)| (h, i as u32))).unwrap();
    let count = 4 * HammingIndex::TAIL_LIMIT;
    let new: Vec<u64> = random_set(rng, count);
    let start = Instant::now();
    for (i, &h) in new.iter().enumerate() {
        index.insert(h, (hashes.len() + i) as u32).unwrap();
    }
    let elapsed = start.elapsed();
    println!();
    println!(
        "incremental: {count} inserts into {} hashes took {:.1} ms ({:.1} µs per insert, amortised over {} tail merges)",
        hashes.len(),
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e6 / count as f64,
        count / HammingIndex::TAIL_LIMIT,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let sizes: Vec<usize> = std::env::var("DEDUPE_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000_000, 10_000_000]);
    let query_count: usize = env_or("DEDUPE_BENCH_QUERIES", 200);
    let mut rng = StdRng::seed_from_u64(0x5eed);

    #[cfg(target_arch = "x86_64")]
    let popcnt_cpu = std::is_x86_feature_detected!("popcnt");
    #[cfg(not(target_arch = "x86_64"))]
    let popcnt_cpu = false;
    println!(
        "# Hamming index benchmark ({query_count} queries per radius, queries 0–6 bits from a stored hash)"
    );
    println!(
        "popcnt instruction compiled in: {}, available on this CPU: {popcnt_cpu}",
        cfg!(target_feature = "popcnt")
    );

    for &n in &sizes {
        let random = random_set(&mut rng, n);
        bench_set(&format!("random {n}"), &random, query_count, &mut rng);
        if n <= 1_000_000 {
            drop(random);
            let clustered = clustered_set(&mut rng, n);
            bench_set(
                &format!("clustered {n} ({} centres × 10)", n / 10),
                &clustered,
                query_count,
                &mut rng,
            );
            bench_inserts(&clustered, &mut rng);
        }
    }
}
