//! A seeded mutation fuzzer for the two parsers that read files users write: lesson TOML and
//! PostgreSQL isolation specs. Whatever bytes arrive, a parser answers with a lesson or an
//! error, never a panic. `cargo test --lib fuzz::` runs a small bounded round;
//! `benches/fuzz-parsers.sh SECONDS` runs it for as long as asked (`TXLAB_FUZZ_SECONDS`).

use std::time::{Duration, Instant};

use crate::engine::lesson_file::parse_lesson;
use crate::spec::compile::compile;

/// What one fuzzing session did.
#[derive(Debug, Default, Clone, Copy)]
pub struct FuzzReport {
    /// Parser calls made (lesson and spec inputs together).
    pub executions: u64,
}

/// A small xorshift generator: deterministic for a seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments that steer mutations towards the grammar's corners.
const TOKENS: &[&str] = &[
    "[[step]]",
    "[[session]]",
    "session = ",
    "sql = ",
    "\"\"\"",
    "'",
    "\"",
    "{{",
    "}}",
    "(*)",
    "permutation",
    "step",
    "setup",
    "teardown",
    "{",
    "}",
    "(",
    ")",
    "#",
    "\n",
    "=",
    "[",
    "]",
    "levels = [",
    "capture = [",
    "retry = { on = [",
    "notice",
    "\\",
    "é",
    "\u{0}",
    "-- x",
];

/// One mutation of `input`: delete, duplicate, insert a token or random byte, or splice.
fn mutate(rng: &mut Rng, input: &str, other: &str) -> String {
    let mut bytes = input.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(6) {
            0 if !bytes.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            1 => {
                let tok = TOKENS[rng.below(TOKENS.len())].as_bytes();
                bytes.splice(at..at, tok.iter().copied());
            }
            2 => bytes.insert(at, rng.next() as u8),
            3 if !bytes.is_empty() => {
                let end = (at + rng.below(64)).min(bytes.len());
                let copy = bytes[at.min(end)..end].to_vec();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, copy);
            }
            4 => {
                let o = other.as_bytes();
                let from = rng.below(o.len() + 1);
                let end = (from + rng.below(80)).min(o.len());
                bytes.splice(at..at, o[from..end].iter().copied());
            }
            _ => bytes.truncate(at),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Feeds mutated `lessons` and `specs` to their parsers until `budget` runs out (by count and,
/// when given, by time); panics propagate to the caller, which is the point.
pub fn fuzz(
    lessons: &[String],
    specs: &[String],
    seed: u64,
    max_executions: u64,
    max_time: Option<Duration>,
) -> FuzzReport {
    let mut rng = Rng(seed | 1);
    let started = Instant::now();
    let mut report = FuzzReport::default();
    let corpora: [(&[String], bool); 2] = [(lessons, false), (specs, true)];
    while report.executions < max_executions
        && max_time.is_none_or(|limit| started.elapsed() < limit)
    {
        let (corpus, is_spec) = corpora[rng.below(2)];
        if corpus.is_empty() {
            report.executions += 1;
            continue;
        }
        let base = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, base, other);
        if is_spec {
            let _ = compile(&input, "fuzz.spec", "fuzz");
        } else {
            let _ = parse_lesson(&input, "fuzz.toml", "fuzz");
        }
        report.executions += 1;
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in lessons, and PostgreSQL's specs when they are next to the checkout (plus one
    /// small spec of our own so the spec parser is always exercised).
    fn corpora() -> (Vec<String>, Vec<String>) {
        let lessons = crate::engine::catalog::embedded_texts();
        let mut specs = vec![
            "setup { CREATE TABLE t (i int); }\nteardown { DROP TABLE t; }\n\
             session s1\nsetup { BEGIN; }\nstep s1a { UPDATE t SET i = 1; }\nstep s1c { COMMIT; }\n\
             session s2\nstep s2a { UPDATE t SET i = 2; }\n\
             permutation s1a s2a(s1c) s1c\n"
                .to_string(),
        ];
        let dir = std::env::var_os("TXLAB_PG_ISOLATION_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pg-isolation")
            });
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if entry.path().extension().is_some_and(|e| e == "spec")
                    && let Ok(text) = std::fs::read_to_string(entry.path())
                {
                    specs.push(text);
                }
            }
        }
        (lessons, specs)
    }

    #[test]
    fn mutated_lessons_and_specs_never_panic_a_parser() {
        let (lessons, specs) = corpora();
        assert!(!lessons.is_empty());
        let seconds = std::env::var("TXLAB_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse::<u64>().ok());
        let report = match seconds {
            Some(s) => fuzz(
                &lessons,
                &specs,
                0x5eed,
                u64::MAX,
                Some(Duration::from_secs(s)),
            ),
            None => fuzz(&lessons, &specs, 0x5eed, 400, None),
        };
        eprintln!("fuzz: {} executions, no panic", report.executions);
        assert!(report.executions > 0);
    }
}
