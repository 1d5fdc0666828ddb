//! Which of a lane's past releases `registry gc` must keep.
//!
//! A lane's history is the list of commits that changed its `release.json`, newest first, each
//! naming the release it recorded. Two decisions are made here, without I/O: the rollback window
//! (the releases a rollback could go back to) and the releases that landed while gc ran. The
//! adapter reads the history and the `release.json` of each commit chosen.

use std::collections::BTreeSet;

/// One commit of a lane's release history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryCommit<'h> {
    /// The `GitOps` commit id.
    pub commit: &'h str,
    /// The release identity it recorded (its `Shiplane-Release` trailer).
    pub release: &'h str,
}

/// The rollback window of a lane: the newest commit of each of the `window` most recent
/// distinct releases in `history` (newest first), leaving out `current` (the release the lane
/// runs now), newest first.
///
/// The window counts releases, not commits. Promoting the same release again (an intent-only
/// change re-renders it, a repaired lane tag) adds a commit but no release to roll back to;
/// counting commits would spend the window on the current release and let the real rollback
/// target be deleted.
#[must_use]
pub fn rollback_window<'h>(
    history: &[HistoryCommit<'h>],
    current: Option<&str>,
    window: usize,
) -> Vec<HistoryCommit<'h>> {
    let mut seen: BTreeSet<&str> = current.into_iter().collect();
    let mut out = Vec::new();
    for entry in history {
        if out.len() == window {
            break;
        }
        if seen.insert(entry.release) {
            out.push(*entry);
        }
    }
    out
}

/// The commits of `history` that are not in `known`, the lane's history commits as read when
/// gc started: releases promoted while gc ran, in history order.
///
/// Their digests are kept whatever the window says. A release promoted during the run may
/// already be superseded (or outside a window of 0) by the time gc looks again, yet whoever
/// promoted it saw its image in the registry and may be rolling out or rolling back to it;
/// commits are compared by id, not by time, so no clock skew between machines matters.
#[must_use]
pub fn landed_since<'h>(
    history: &[HistoryCommit<'h>],
    known: &BTreeSet<String>,
) -> Vec<HistoryCommit<'h>> {
    history
        .iter()
        .filter(|entry| !known.contains(entry.commit))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(commit, release)` pairs, newest first.
    fn history<'h>(entries: &[(&'h str, &'h str)]) -> Vec<HistoryCommit<'h>> {
        entries
            .iter()
            .map(|(commit, release)| HistoryCommit { commit, release })
            .collect()
    }

    fn check(entries: &[(&str, &str)], current: Option<&str>, window: usize, expected: &[&str]) {
        let chosen: Vec<&str> = rollback_window(&history(entries), current, window)
            .iter()
            .map(|c| c.commit)
            .collect();
        assert_eq!(
            chosen, expected,
            "{entries:?} current {current:?} window {window}"
        );
    }

    #[test]
    fn window_counts_distinct_earlier_releases() {
        // Plain history: B current, A before it.
        check(&[("c2", "B"), ("c1", "A")], Some("B"), 1, &["c1"]);
        check(&[("c2", "B"), ("c1", "A")], Some("B"), 0, &[]);
        check(&[("c2", "B"), ("c1", "A")], Some("B"), 5, &["c1"]);
    }

    #[test]
    fn intent_only_repromotion_does_not_spend_the_window() {
        // B promoted, then promoted again after an intent change: still one release back is A.
        check(
            &[("c3", "B"), ("c2", "B"), ("c1", "A")],
            Some("B"),
            1,
            &["c1"],
        );
    }

    #[test]
    fn a_release_seen_twice_counts_once_at_its_newest_commit() {
        // A, B, A again (a rollback), then C: the window of 2 is A (newest commit c3) and B.
        check(
            &[("c4", "C"), ("c3", "A"), ("c2", "B"), ("c1", "A")],
            Some("C"),
            2,
            &["c3", "c2"],
        );
    }

    #[test]
    fn the_current_release_is_excluded_wherever_it_appears() {
        // After a rollback to A, the current release A appears first and further down.
        check(
            &[("c3", "A"), ("c2", "B"), ("c1", "A")],
            Some("A"),
            5,
            &["c2"],
        );
        // release.json says A even though the newest history commit names B (a hand edit):
        // what runs is excluded, B is a rollback target.
        check(&[("c2", "B"), ("c1", "A")], Some("A"), 1, &["c2"]);
    }

    #[test]
    fn without_a_current_release_every_release_counts() {
        check(&[("c2", "B"), ("c1", "A")], None, 1, &["c2"]);
        check(&[], None, 3, &[]);
    }

    #[test]
    fn landed_since_is_every_commit_not_known_at_the_start() {
        let entries = history(&[("c4", "D"), ("c3", "C"), ("c2", "B"), ("c1", "A")]);
        let known: BTreeSet<String> = ["c2".to_owned(), "c1".to_owned()].into();
        let landed: Vec<&str> = landed_since(&entries, &known)
            .iter()
            .map(|c| c.release)
            .collect();
        assert_eq!(landed, ["D", "C"]);
        assert!(landed_since(&entries[2..], &known).is_empty());
        // A lane with no history at the start: everything in it landed during the run.
        assert_eq!(landed_since(&entries, &BTreeSet::new()).len(), 4);
    }
}
