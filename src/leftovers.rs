//! What txlab confirmed it removed, for the one line it prints after Ctrl-C or SIGTERM. That line
//! used to say "was removed" whatever happened; now it says only what the cleanup saw done (a
//! schema's `DROP` answered, a cluster's directory gone) and names what it could not confirm —
//! a server that died mid-run cannot be asked to drop anything.
//!
//! One ledger per process: the lab records its cleanups, a throwaway cluster its removal, and the
//! edge reads the ledger once everything has been dropped.

use std::path::Path;
use std::sync::Mutex;

/// What the process has seen removed, or not, so far.
struct Ledger {
    /// A server was resolved (a lab opened): something may have been created.
    opened: bool,
    /// Server cleanups that reached the server and left nothing registered.
    cleaned: u32,
    /// Places (schemas, databases) whose removal could not be confirmed, with the reason.
    unconfirmed: Vec<String>,
    /// Throwaway clusters stopped whose directory is gone.
    clusters_removed: u32,
    /// Throwaway cluster directories still there after removal.
    clusters_left: Vec<String>,
}

static LEDGER: Mutex<Ledger> = Mutex::new(Ledger::new());

fn with<T>(f: impl FnOnce(&mut Ledger) -> T) -> T {
    f(&mut LEDGER.lock().unwrap_or_else(|e| e.into_inner()))
}

/// A server was resolved: from now on something may exist to remove.
pub fn opened() {
    with(|l| l.opened = true);
}

/// A cleanup of the server ended: `left` names the places still registered (their `DROP` was not
/// answered), `unreachable` why the server could not be reached at all.
pub fn cleaned_up(left: Vec<String>, unreachable: Option<String>) {
    with(|l| l.cleaned_up(left, unreachable));
}

/// A place txlab created outside the sandbox (a spec's database) could not be dropped.
pub fn not_removed(what: String) {
    with(|l| l.unconfirmed.push(what));
}

/// A throwaway cluster was stopped and its directory `dir` removed, or not.
pub fn cluster_stopped(dir: &Path) {
    with(|l| {
        if dir.exists() {
            let dir = dir.display().to_string();
            if !l.clusters_left.contains(&dir) {
                l.clusters_left.push(dir);
            }
        } else {
            l.clusters_removed += 1;
        }
    });
}

/// The words after "error: interrupted; ": what was confirmed removed, what was not.
pub fn summary() -> String {
    with(|l| l.summary())
}

impl Ledger {
    const fn new() -> Ledger {
        Ledger {
            opened: false,
            cleaned: 0,
            unconfirmed: Vec::new(),
            clusters_removed: 0,
            clusters_left: Vec::new(),
        }
    }

    fn cleaned_up(&mut self, left: Vec<String>, unreachable: Option<String>) {
        if left.is_empty() && unreachable.is_none() {
            self.cleaned += 1;
            return;
        }
        let reason = unreachable.unwrap_or_else(|| "the server did not confirm the drop".into());
        if left.is_empty() {
            self.unconfirmed
                .push(format!("txlab's connections ({reason})"));
        } else {
            self.unconfirmed
                .push(format!("{} ({reason})", left.join(", ")));
        }
    }

    fn summary(&self) -> String {
        let mut said = Vec::new();
        if !self.unconfirmed.is_empty() {
            said.push(format!(
                "could not confirm the removal of {}: docs/classroom.md (\"Cleaning up\") shows how to find and drop what is left",
                self.unconfirmed.join("; ")
            ));
        }
        if !self.clusters_left.is_empty() {
            said.push(format!(
                "the throwaway cluster stopped but {} could not be removed: delete it by hand",
                self.clusters_left.join(", ")
            ));
        } else if self.clusters_removed > 0 {
            said.push("the throwaway cluster was stopped and removed".to_string());
        } else if self.cleaned > 0 && self.unconfirmed.is_empty() {
            said.push(
                "what the run created on the server (schemas, databases, connections) was removed"
                    .to_string(),
            );
        }
        if said.is_empty() {
            said.push(if self.opened {
                "nothing was confirmed removed".to_string()
            } else {
                "nothing had been created yet".to_string()
            });
        }
        said.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_claims_only_what_was_confirmed() {
        let mut l = Ledger::new();
        assert_eq!(l.summary(), "nothing had been created yet");
        l.opened = true;
        assert_eq!(l.summary(), "nothing was confirmed removed");
        l.cleaned_up(Vec::new(), None);
        assert_eq!(
            l.summary(),
            "what the run created on the server (schemas, databases, connections) was removed"
        );
        l.cleaned_up(
            vec!["txlab_1_0".into()],
            Some("the server closed the connection".into()),
        );
        let said = l.summary();
        assert!(
            said.starts_with(
                "could not confirm the removal of txlab_1_0 (the server closed the connection)"
            ),
            "{said}"
        );
        assert!(!said.contains("were removed"), "{said}");
    }

    #[test]
    fn a_cluster_whose_directory_is_gone_was_removed() {
        let mut l = Ledger::new();
        l.opened = true;
        l.clusters_removed = 1;
        l.cleaned = 1;
        assert_eq!(l.summary(), "the throwaway cluster was stopped and removed");
        l.clusters_left.push("/dev/shm/txlab-run-1-0".into());
        assert!(
            l.summary().contains("could not be removed"),
            "{}",
            l.summary()
        );
    }
}
