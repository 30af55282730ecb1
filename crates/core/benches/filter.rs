//! The sensitive-word filter with a 10,000-word list: building it (what a reload
//! costs) and applying it to a chat line and to a long message, clean and with
//! listed words (which then get masked).

// Test code (its helpers included) panics on purpose; clippy's
// `allow-unwrap-in-tests` only covers `#[test]` fns and `#[cfg(test)]`
// modules, not helpers in tests/ or benches/ (rust-clippy#13981).
#![allow(clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use koi_core::{FilterAction, FilterOutcome, WordFilter};
use std::hint::black_box;

const WORDS: usize = 10_000;

/// Ordinary prose, mixed case, so the filter's case folding does real work.
const PROSE: &str = "The quarterly review moved to Thursday afternoon, so Maria asked whether \
    the Berlin team could present first. Nobody objected. Please bring the updated figures, \
    the draft of the travel policy and any questions about the new office in Lisbon. ";

/// SplitMix64: a fixed, dependency-free sequence, so every run filters the same words.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// `WORDS` random lowercase words of 5 to 12 letters: long enough that prose
/// does not contain one by chance.
fn words() -> Vec<String> {
    let mut sequence = Sequence(2026);
    (0..WORDS)
        .map(|_| {
            let len = 5 + (sequence.next() % 8) as usize;
            (0..len)
                .map(|_| (b'a' + (sequence.next() % 26) as u8) as char)
                .collect()
        })
        .collect()
}

/// `len` bytes of prose; with `hits`, one listed word written over it in the
/// middle of every 512 bytes (at least one), upper-cased so that matching goes
/// through folding.
fn text(len: usize, words: &[String], hits: bool) -> String {
    let mut text: String = PROSE.chars().cycle().take(len).collect();
    if hits {
        for (i, at) in (len.min(512) / 2..len).step_by(512).enumerate() {
            let word = words[i * 997 % words.len()].to_uppercase();
            let at = at.min(len - word.len());
            text.replace_range(at..at + word.len(), &word);
        }
    }
    text
}

fn build(c: &mut Criterion) {
    let words = words();
    let mut group = c.benchmark_group("filter_build");
    group.sample_size(20);
    group.throughput(Throughput::Elements(WORDS as u64));
    group.bench_function(BenchmarkId::from_parameter(WORDS), |b| {
        b.iter(|| WordFilter::new(black_box(&words), FilterAction::Mask))
    });
    group.finish();
}

fn apply(c: &mut Criterion) {
    let words = words();
    let filter = WordFilter::new(&words, FilterAction::Mask);
    assert_eq!(filter.len(), WORDS);
    let mut group = c.benchmark_group("filter_apply");
    for len in [100, 4096] {
        for hits in [false, true] {
            let text = text(len, &words, hits);
            let outcome = filter.apply(&text).expect("masking never refuses");
            assert_eq!(outcome == FilterOutcome::Clean, !hits, "{text}");
            let name = if hits { "hits" } else { "clean" };
            group.throughput(Throughput::Bytes(len as u64));
            group.bench_with_input(BenchmarkId::new(name, len), &text, |b, text| {
                b.iter(|| filter.apply(black_box(text)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, build, apply);
criterion_main!(benches);
