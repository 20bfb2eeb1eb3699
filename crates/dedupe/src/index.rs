//! An exact Hamming-radius index over millions of 64-bit hashes, each with a `u32` reference id.
//!
//! # Layout
//!
//! Multi-index hashing with four tables. Table `j` files every hash under its `j`-th 16-bit chunk
//! (bits `63 - 16j ..= 48 - 16j`) and keeps only the other 48 bits, in a compressed sparse row
//! layout: `offsets[chunk]..offsets[chunk + 1]` is the bucket, entries sorted inside it.
//! Table 0 also holds the ids, parallel to its entries. Per hash that is 4 × 6 bytes of
//! remainders + 4 bytes of id = 28 bytes, plus 4 × 256 KiB of offsets for the whole index, so
//! ≈ 28.1 bytes per hash at 10 million. The full hash is never stored on its own: bucket and
//! remainder together are the hash, which keeps the verification a sequential read of the bucket
//! instead of a random access per candidate.
//!
//! # Exact search
//!
//! Write the radius as `r = 4s + a` with `0 <= a < 4`. If a hash is within `r` of the query, then
//! one of the first `a + 1` chunks is within `s` bits, or one of the remaining chunks is within
//! `s - 1` bits: otherwise the distance would be at least `(a + 1)(s + 1) + (3 - a)s = r + 1`.
//! So table `j` is probed at radius `s` for `j <= a` and `s - 1` for the others (not at all when
//! that is negative), every probed entry is verified against the full radius, and a hash is
//! reported only by the first table that was bound to find it. The result is exactly what a
//! brute-force popcount [`scan`] returns, which a property test checks.
//!
//! At large radii the probes cover most buckets and a sequential pass over table 0 is cheaper; the
//! index picks the cheaper [`Method`] per query from a cost model calibrated by `benches/index.rs`.
//!
//! Measured (release, no POPCNT, 2 shared cores, 200 queries per radius, p50): at 1M hashes the
//! index answers radius 0–8 in 0.4–28 µs against 1.3 ms for a plain scan of a `Vec<u64>` (≥ 48×),
//! radius 12 in 0.11 ms (12×), radius 16 in 0.4 ms (4×); at radius 20 both take about 1.4 ms,
//! which is where the index stops beating the scan. At 10M, radius 8 takes 0.1 ms against 36 ms
//! and radius 20 still wins 2×. Beyond that every query returns thousands of random hashes, which
//! no dedupe policy wants; there the index is up to 2× slower than the plain scan, because it
//! builds and sorts a [`Match`] per hit.
//!
//! # Inserts
//!
//! [`HammingIndex::build`] sorts everything at once (counting sort by chunk, then small sorts per
//! bucket). [`HammingIndex::insert`] appends to a small unsorted tail that every query scans; when
//! the tail reaches [`HammingIndex::TAIL_LIMIT`] it is merged into the tables in one linear pass.
//!
//! # Popcount
//!
//! The workspace forbids `unsafe` code, and calling a `#[target_feature(enable = "popcnt")]`
//! function from code compiled without that feature needs `unsafe`, so the runtime POPCNT dispatch
//! is left out. The loops are written so that a build with `-C target-cpu=x86-64-v2` (or newer)
//! turns every `count_ones` into one POPCNT instruction; the benchmark reports which build ran.

use std::sync::OnceLock;

use crate::{Error, Result};

const CHUNK_BITS: u32 = 16;
const TABLES: usize = 4;
const BUCKETS: usize = 1 << CHUNK_BITS;
const REM_MASK: u64 = (1 << (64 - CHUNK_BITS)) - 1;

/// Costs that choose between the two methods, in nanoseconds, fitted to `benches/index.rs` on
/// the reference machine (release build without POPCNT, 1M hashes): the model predicted the
/// multi-index query times at radius 12 and 16 within 10 %. Only their ratios matter.
mod cost {
    /// Visiting one bucket while probing: two cache misses (offsets, then the bucket itself).
    pub const PROBE: f64 = 80.0;
    /// Verifying one entry of a probed bucket (sequential read, xor, popcount, compare).
    pub const PROBE_ENTRY: f64 = 1.5;
    /// Verifying one entry during the sequential pass over table 0.
    pub const SCAN_ENTRY: f64 = 1.8;
    /// Stepping from one bucket to the next during the sequential pass.
    pub const SCAN_BUCKET: f64 = 1.0;
}

/// How a query is answered; both give exactly the same result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Probe the buckets whose chunk is within the pigeonhole radius in each of the four tables.
    MultiIndex,
    /// Read every entry of table 0 once (skipping buckets whose chunk alone is too far).
    Scan,
}

/// One hash within the searched radius.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Match {
    /// Hamming distance to the query.
    pub distance: u32,
    /// The reference id stored with the hash.
    pub id: u32,
    /// The stored hash.
    pub hash: u64,
}

/// Brute-force reference: positions in `hashes` within `radius` bits of `query`, in order.
pub fn scan(hashes: &[u64], query: u64, radius: u32) -> Vec<usize> {
    hashes
        .iter()
        .enumerate()
        .filter(|&(_, &h)| (h ^ query).count_ones() <= radius)
        .map(|(i, _)| i)
        .collect()
}

/// One table: the 48-bit remainders of every hash, bucketed by one 16-bit chunk.
#[derive(Debug, Default)]
struct Table {
    /// `BUCKETS + 1` prefix offsets into `rems` (empty while the table is empty).
    offsets: Vec<u32>,
    rems: Vec<[u16; 3]>,
}

impl Table {
    /// Builds a table from keys already sorted by value (chunk in the top 16 bits).
    fn from_sorted_keys(keys: impl ExactSizeIterator<Item = u64>) -> Self {
        let mut offsets = vec![0u32; BUCKETS + 1];
        let mut rems = Vec::with_capacity(keys.len());
        for key in keys {
            offsets[(key >> 48) as usize + 1] += 1;
            rems.push(split_rem(key & REM_MASK));
        }
        for c in 0..BUCKETS {
            offsets[c + 1] += offsets[c];
        }
        Table { offsets, rems }
    }

    fn bucket(&self, chunk: usize) -> std::ops::Range<usize> {
        self.offsets[chunk] as usize..self.offsets[chunk + 1] as usize
    }

    /// All keys in sorted order.
    fn keys(&self) -> impl ExactSizeIterator<Item = u64> + '_ {
        KeyIter {
            table: self,
            chunk: 0,
            pos: 0,
        }
    }

    fn memory_bytes(&self) -> usize {
        self.offsets.capacity() * 4 + self.rems.capacity() * 6
    }
}

struct KeyIter<'a> {
    table: &'a Table,
    chunk: usize,
    pos: usize,
}

impl Iterator for KeyIter<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let rem = self.table.rems.get(self.pos)?;
        while self.table.offsets[self.chunk + 1] as usize <= self.pos {
            self.chunk += 1;
        }
        self.pos += 1;
        Some(((self.chunk as u64) << 48) | join_rem(*rem))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.table.rems.len() - self.pos;
        (left, Some(left))
    }
}

impl ExactSizeIterator for KeyIter<'_> {}

fn split_rem(rem: u64) -> [u16; 3] {
    [rem as u16, (rem >> 16) as u16, (rem >> 32) as u16]
}

fn join_rem(r: [u16; 3]) -> u64 {
    u64::from(r[0]) | (u64::from(r[1]) << 16) | (u64::from(r[2]) << 32)
}

/// Table `j`'s key of a hash: chunk `j` rotated to the top 16 bits.
fn key(hash: u64, table: usize) -> u64 {
    hash.rotate_left(CHUNK_BITS * table as u32)
}

fn unkey(key: u64, table: usize) -> u64 {
    key.rotate_right(CHUNK_BITS * table as u32)
}

/// Chunk `j` of a hash (or of an xor of two hashes).
fn chunk(hash: u64, table: usize) -> u64 {
    key(hash, table) >> 48
}

/// Every 16-bit mask, ordered by popcount, with where each popcount starts.
fn masks_by_weight() -> &'static (Vec<u16>, [usize; 18]) {
    static MASKS: OnceLock<(Vec<u16>, [usize; 18])> = OnceLock::new();
    MASKS.get_or_init(|| {
        let mut masks: Vec<u16> = (0..=u16::MAX).collect();
        masks.sort_by_key(|m| (m.count_ones(), *m));
        let mut starts = [0usize; 18];
        for w in 0..17 {
            starts[w + 1] = starts[w] + masks.iter().filter(|m| m.count_ones() == w as u32).count();
        }
        (masks, starts)
    })
}

/// Number of 16-bit chunks within `radius` bits of a given one.
fn ball_size(radius: i32) -> usize {
    if radius < 0 {
        0
    } else {
        masks_by_weight().1[(radius.min(16) + 1) as usize]
    }
}

/// The probe radius of each table for a query radius (negative: skip the table).
fn probe_radii(radius: u32) -> [i32; TABLES] {
    let s = (radius / TABLES as u32) as i32;
    let a = (radius % TABLES as u32) as usize;
    std::array::from_fn(|j| if j <= a { s } else { s - 1 })
}

/// Exact Hamming-radius index; see the [module documentation](self) for layout and guarantees.
#[derive(Debug, Default)]
pub struct HammingIndex {
    tables: [Table; TABLES],
    /// Ids parallel to `tables[0].rems`.
    ids: Vec<u32>,
    /// Recent inserts, not yet merged into the tables.
    tail: Vec<(u64, u32)>,
}

impl HammingIndex {
    /// Inserts are merged into the tables once this many are waiting; queries scan them until then.
    pub const TAIL_LIMIT: usize = 4096;

    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an index from `(hash, id)` pairs at once, e.g. from the whole history at start.
    ///
    /// # Errors
    /// [`Error::IndexFull`] when there are more than `u32::MAX` pairs.
    pub fn build(entries: impl IntoIterator<Item = (u64, u32)>) -> Result<Self> {
        let mut entries: Vec<(u64, u32)> = entries.into_iter().collect();
        if entries.len() >= u32::MAX as usize {
            return Err(Error::IndexFull { len: entries.len() });
        }
        let tables = std::array::from_fn(|j| {
            if j == 0 {
                Table::default()
            } else {
                let keys = sort_by_bucket(entries.iter().map(|&(h, _)| key(h, j)).collect());
                Table::from_sorted_keys(keys.into_iter())
            }
        });
        let mut index = HammingIndex {
            tables,
            ids: Vec::new(),
            tail: Vec::new(),
        };
        entries.sort_unstable();
        index.tables[0] = Table::from_sorted_keys(entries.iter().map(|&(h, _)| h));
        index.ids = entries.iter().map(|&(_, id)| id).collect();
        Ok(index)
    }

    /// Adds one hash (a slide that was just published).
    ///
    /// # Errors
    /// [`Error::IndexFull`] when the index already holds `u32::MAX - 1` hashes.
    pub fn insert(&mut self, hash: u64, id: u32) -> Result<()> {
        if self.len() >= u32::MAX as usize - 1 {
            return Err(Error::IndexFull { len: self.len() });
        }
        self.tail.push((hash, id));
        if self.tail.len() >= Self::TAIL_LIMIT {
            self.merge_tail();
        }
        Ok(())
    }

    /// Merges waiting inserts into the tables now (one linear pass over the index).
    pub fn merge_tail(&mut self) {
        if self.tail.is_empty() {
            return;
        }
        let mut tail = std::mem::take(&mut self.tail);
        tail.sort_unstable();
        let old_ids = std::mem::take(&mut self.ids);
        let old0 = std::mem::take(&mut self.tables[0]);
        let merged0: Vec<(u64, u32)> = merge_sorted(
            old0.keys().zip(old_ids.iter().copied()),
            tail.iter().copied(),
        );
        drop(old0);
        drop(old_ids);
        self.tables[0] = Table::from_sorted_keys(merged0.iter().map(|&(h, _)| h));
        self.ids = merged0.iter().map(|&(_, id)| id).collect();
        drop(merged0);
        for j in 1..TABLES {
            let mut new_keys: Vec<u64> = tail.iter().map(|&(h, _)| key(h, j)).collect();
            new_keys.sort_unstable();
            let old = std::mem::take(&mut self.tables[j]);
            let merged = merge_sorted(old.keys(), new_keys.into_iter());
            drop(old);
            self.tables[j] = Table::from_sorted_keys(merged.into_iter());
        }
        self.tail = Vec::with_capacity(Self::TAIL_LIMIT);
    }

    /// Keeps only the entries whose id `keep` accepts (posts purged by retention drop out).
    /// Rebuilds the tables once, like [`build`](Self::build).
    pub fn retain(&mut self, mut keep: impl FnMut(u32) -> bool) {
        let tail = std::mem::take(&mut self.tail);
        let ids = std::mem::take(&mut self.ids);
        let table0 = std::mem::take(&mut self.tables[0]);
        let kept: Vec<(u64, u32)> = table0
            .keys()
            .zip(ids)
            .chain(tail)
            .filter(|&(_, id)| keep(id))
            .collect();
        drop(table0);
        // Fewer entries than before, so the 32-bit limit cannot be hit.
        if let Ok(rebuilt) = Self::build(kept) {
            *self = rebuilt;
        }
    }

    /// Number of hashes in the index.
    pub fn len(&self) -> usize {
        self.ids.len() + self.tail.len()
    }

    /// Whether the index holds no hash.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held by the index (allocated capacity, not just what is in use).
    pub fn memory_bytes(&self) -> usize {
        self.tables.iter().map(Table::memory_bytes).sum::<usize>()
            + self.ids.capacity() * 4
            + self.tail.capacity() * std::mem::size_of::<(u64, u32)>()
    }

    /// The method [`search`](Self::search) uses for this radius at the current size.
    pub fn plan(&self, radius: u32) -> Method {
        let n = self.ids.len() as f64;
        let per_bucket = n / BUCKETS as f64;
        let probes: usize = probe_radii(radius.min(64))
            .iter()
            .map(|&r| ball_size(r))
            .sum();
        let multi = probes as f64 * (cost::PROBE + cost::PROBE_ENTRY * per_bucket);
        let scan = BUCKETS as f64 * cost::SCAN_BUCKET + n * cost::SCAN_ENTRY;
        if multi <= scan {
            Method::MultiIndex
        } else {
            Method::Scan
        }
    }

    /// Every stored hash within `radius` bits of `query`, closest first (then by id).
    pub fn search(&self, query: u64, radius: u32) -> Vec<Match> {
        self.search_with(query, radius, self.plan(radius))
    }

    /// Like [`search`](Self::search) with a given method; the result is the same either way.
    pub fn search_with(&self, query: u64, radius: u32, method: Method) -> Vec<Match> {
        let radius = radius.min(64);
        let mut out = Vec::new();
        if !self.ids.is_empty() {
            match method {
                Method::MultiIndex => self.search_tables(query, radius, &mut out),
                Method::Scan => self.scan_table0(query, radius, &mut out),
            }
        }
        for &(hash, id) in &self.tail {
            let distance = (hash ^ query).count_ones();
            if distance <= radius {
                out.push(Match { distance, id, hash });
            }
        }
        out.sort_unstable();
        out
    }

    fn search_tables(&self, query: u64, radius: u32, out: &mut Vec<Match>) {
        let (masks, starts) = masks_by_weight();
        let probe = probe_radii(radius);
        for (j, table) in self.tables.iter().enumerate() {
            let Ok(probe_j) = usize::try_from(probe[j]) else {
                continue;
            };
            let qkey = key(query, j);
            let qchunk = (qkey >> 48) as u16;
            let qrem = qkey & REM_MASK;
            for weight in 0..=probe_j.min(16) {
                for &mask in &masks[starts[weight]..starts[weight + 1]] {
                    let c = (qchunk ^ mask) as usize;
                    let mut last_reported = None;
                    for pos in table.bucket(c) {
                        let rem = join_rem(table.rems[pos]);
                        let distance = weight as u32 + (rem ^ qrem).count_ones();
                        if distance > radius {
                            continue;
                        }
                        let hash = unkey(((c as u64) << 48) | rem, j);
                        if j == 0 {
                            out.push(Match {
                                distance,
                                id: self.ids[pos],
                                hash,
                            });
                            continue;
                        }
                        let diff = hash ^ query;
                        let found_earlier = (0..j).any(|i| {
                            probe[i] >= 0 && chunk(diff, i).count_ones() <= probe[i] as u32
                        });
                        // Equal hashes sit next to each other; all their ids are added at once.
                        if found_earlier || last_reported == Some(rem) {
                            continue;
                        }
                        last_reported = Some(rem);
                        self.push_ids_of(hash, distance, out);
                    }
                }
            }
        }
    }

    /// Adds a match for every id stored with exactly `hash`, found through table 0.
    fn push_ids_of(&self, hash: u64, distance: u32, out: &mut Vec<Match>) {
        let range = self.tables[0].bucket((hash >> 48) as usize);
        let rem = hash & REM_MASK;
        let rems = &self.tables[0].rems[range.clone()];
        let first = rems.partition_point(|&r| join_rem(r) < rem);
        for (offset, &r) in rems[first..].iter().enumerate() {
            if join_rem(r) != rem {
                break;
            }
            out.push(Match {
                distance,
                id: self.ids[range.start + first + offset],
                hash,
            });
        }
    }

    fn scan_table0(&self, query: u64, radius: u32, out: &mut Vec<Match>) {
        let table = &self.tables[0];
        let qchunk = query >> 48;
        let qrem = query & REM_MASK;
        for c in 0..BUCKETS {
            let chunk_distance = ((c as u64) ^ qchunk).count_ones();
            if chunk_distance > radius {
                continue;
            }
            let range = table.bucket(c);
            let start = range.start;
            for (offset, &r) in table.rems[range].iter().enumerate() {
                let rem = join_rem(r);
                let distance = chunk_distance + (rem ^ qrem).count_ones();
                if distance <= radius {
                    out.push(Match {
                        distance,
                        id: self.ids[start + offset],
                        hash: ((c as u64) << 48) | rem,
                    });
                }
            }
        }
    }
}

/// Sorts keys with a counting sort on the top 16 bits, then a small sort inside each bucket.
fn sort_by_bucket(keys: Vec<u64>) -> Vec<u64> {
    let mut starts = vec![0usize; BUCKETS + 1];
    for &k in &keys {
        starts[(k >> 48) as usize + 1] += 1;
    }
    for c in 0..BUCKETS {
        starts[c + 1] += starts[c];
    }
    let mut sorted = vec![0u64; keys.len()];
    let mut cursor = starts.clone();
    for k in keys {
        let c = (k >> 48) as usize;
        sorted[cursor[c]] = k;
        cursor[c] += 1;
    }
    for c in 0..BUCKETS {
        sorted[starts[c]..starts[c + 1]].sort_unstable();
    }
    sorted
}

/// Merges two sorted sequences into one sorted vector.
fn merge_sorted<T: Ord + Copy>(
    a: impl ExactSizeIterator<Item = T>,
    b: impl ExactSizeIterator<Item = T>,
) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut a = a.peekable();
    let mut b = b.peekable();
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => {
                if x <= y {
                    a.next()
                } else {
                    b.next()
                }
            }
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => break,
        };
        out.extend(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_radii_follow_the_refined_pigeonhole() {
        assert_eq!(probe_radii(0), [0, -1, -1, -1]);
        assert_eq!(probe_radii(3), [0, 0, 0, 0]);
        assert_eq!(probe_radii(6), [1, 1, 1, 0]);
        assert_eq!(probe_radii(8), [2, 1, 1, 1]);
        assert_eq!(probe_radii(12), [3, 2, 2, 2]);
    }

    #[test]
    fn ball_sizes_are_sums_of_binomials() {
        assert_eq!(ball_size(-1), 0);
        assert_eq!(ball_size(0), 1);
        assert_eq!(ball_size(1), 17);
        assert_eq!(ball_size(2), 137);
        assert_eq!(ball_size(16), 65536);
    }

    #[test]
    fn keys_round_trip_through_tables() {
        let h = 0x0123_4567_89ab_cdef;
        for j in 0..TABLES {
            assert_eq!(unkey(key(h, j), j), h);
            assert_eq!(chunk(h, j), (h >> (48 - 16 * j)) & 0xffff);
        }
        let keys = vec![3u64 << 48 | 5, 1 << 48, 3 << 48 | 1, u64::MAX];
        let sorted = sort_by_bucket(keys);
        let table = Table::from_sorted_keys(sorted.iter().copied());
        assert_eq!(table.keys().collect::<Vec<_>>(), sorted);
    }

    #[test]
    fn small_radius_queries_are_planned_on_the_tables_and_huge_ones_as_a_scan() {
        let index = HammingIndex::build(
            (0..200_000u32).map(|i| (u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15), i)),
        )
        .unwrap();
        assert_eq!(index.plan(0), Method::MultiIndex);
        assert_eq!(index.plan(8), Method::MultiIndex);
        assert_eq!(index.plan(64), Method::Scan);
    }
}
