//! The catalogue of locking demos: every lesson parses, every demo of issue 4 is there with its
//! variants, and each fixed variant says when to pick it.

use std::collections::BTreeMap;

use txlab::engine::catalog;

#[test]
fn every_builtin_lesson_parses() {
    assert_eq!(catalog::broken_builtins(), Vec::<String>::new());
}

#[test]
fn fixed_variants_say_when_to_pick_them() {
    for lesson in catalog::by_topic("locking") {
        if lesson
            .variant
            .as_deref()
            .is_some_and(|v| v.starts_with("broken"))
        {
            continue;
        }
        assert!(
            lesson.explanation.to_lowercase().contains("pick"),
            "{}: the explanation should end with when to pick which",
            lesson.id
        );
        assert!(!lesson.why.is_empty(), "{}: why-texts", lesson.id);
    }
}

#[test]
fn demo_groups_cover_issue_4() {
    let mut variants: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for lesson in catalog::by_topic("locking") {
        variants
            .entry(
                lesson
                    .demo
                    .clone()
                    .expect("every locking lesson is in a demo"),
            )
            .or_default()
            .push(
                lesson
                    .variant
                    .clone()
                    .expect("every locking lesson is a variant"),
            );
    }
    for demo in [
        "transfer",
        "withdrawals",
        "counter",
        "overbooking",
        "version-race",
        "nowait",
        "skip-locked",
        "for-share",
        "retry",
        "savepoints",
        "long-lock",
    ] {
        assert!(
            variants.contains_key(demo),
            "demo {demo} is missing: {variants:?}"
        );
    }
    assert_eq!(variants["counter"].len(), 5, "{:?}", variants["counter"]);
    assert_eq!(
        variants["withdrawals"].len(),
        5,
        "{:?}",
        variants["withdrawals"]
    );
}
