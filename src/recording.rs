//! A finished `demo`/`run` as a file: the very [`LessonRun`]s the renderers were given, plus what
//! the document around them needs (server, cluster timings, whether the matrix follows), as
//! versioned JSON. `--record` writes it; `txlab replay` reads it back and hands the same model to
//! the same renderers, so a lecture prepared with PostgreSQL can be shown without it.

pub mod spec;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::db::cluster::StartTimings;
use crate::engine::LessonRun;
use crate::error::{Result, TxlabError};
use spec::SpecRecording;

/// The newest format this txlab reads. Bump it when a field changes meaning or disappears, or when
/// an older reader would show a recording wrongly; adding a field with a default does not need a
/// bump. Version 2 added spec runs (`spec`): a version-1 reader would replay one as nothing.
pub const FORMAT_VERSION: u64 = 2;

/// What a recording of lesson runs is written as: the lowest version that reads it, so a txlab
/// that knows only version 1 still replays it.
pub const LESSONS_FORMAT_VERSION: u64 = 1;

/// What a recording of a spec run is written as.
pub const SPEC_FORMAT_VERSION: u64 = 2;

/// Where the `--format json` document carries the recording (docs/output.md).
pub const JSON_FIELD: &str = "recording";

/// One recorded command: every run it showed, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recording {
    pub format_version: u64,
    /// The txlab that recorded it.
    pub txlab_version: String,
    /// Which server ran the lessons, in words (the handouts name it).
    pub server: String,
    /// Start-up timings of the throwaway cluster, when there was one (`--format json` prints them).
    pub local_cluster: Option<StartTimings>,
    /// Whether the matrix (or a demo's comparison) follows the timelines.
    pub matrix: bool,
    /// `--locks`, `--versions`, `--quiz` as they were given (the runs carry what they produced).
    #[serde(default)]
    pub flags: RecordedFlags,
    pub runs: Vec<LessonRun>,
    /// A `.spec` run (then `runs` is empty): its permutations as the spec runner reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SpecRecording>,
    /// On a server given by URL: the grants txlab had (`--format json` prints them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileges: Option<crate::db::privileges::Privileges>,
}

/// The classroom flags the recording was made with.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct RecordedFlags {
    pub locks: bool,
    pub versions: bool,
    pub quiz: bool,
}

impl Recording {
    /// A recording of `runs`, made by this txlab.
    pub fn new(
        runs: Vec<LessonRun>,
        server: &str,
        local_cluster: Option<StartTimings>,
        matrix: bool,
        flags: RecordedFlags,
    ) -> Recording {
        Recording {
            format_version: LESSONS_FORMAT_VERSION,
            txlab_version: env!("CARGO_PKG_VERSION").to_string(),
            server: server.to_string(),
            local_cluster,
            matrix,
            flags,
            runs,
            spec: None,
            privileges: None,
        }
    }

    /// A recording of a spec run, made by this txlab.
    pub fn of_spec(
        spec: SpecRecording,
        server: &str,
        local_cluster: Option<StartTimings>,
    ) -> Recording {
        Recording {
            format_version: SPEC_FORMAT_VERSION,
            spec: Some(spec),
            ..Recording::new(
                Vec::new(),
                server,
                local_cluster,
                false,
                RecordedFlags::default(),
            )
        }
    }

    /// The `--format json` document as printed (pretty, one trailing newline), with this
    /// recording added as its last field, [`JSON_FIELD`], on one line: the documented fields come
    /// first and stay as they were, and the recording costs about what the results do.
    pub fn json_document_text(&self, doc: &serde_json::Value) -> String {
        let pretty = serde_json::to_string_pretty(doc).unwrap_or_default();
        let compact = serde_json::to_string(self).unwrap_or_default();
        match pretty.trim_end().strip_suffix('}') {
            Some(head) if doc.as_object().is_some_and(|o| !o.is_empty()) => {
                format!("{},\n  \"{JSON_FIELD}\": {compact}\n}}\n", head.trim_end())
            }
            _ => format!("{pretty}\n"),
        }
    }

    /// Writes the recording to `path` (pretty JSON, one trailing newline).
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| TxlabError::Recording {
            file: path.display().to_string(),
            reason: format!("cannot encode the run: {e}"),
        })?;
        std::fs::write(path, format!("{text}\n")).map_err(|e| TxlabError::Recording {
            file: path.display().to_string(),
            reason: format!("cannot write the recording: {e}"),
        })
    }

    /// Reads a recording from `path`.
    pub fn read(path: &Path) -> Result<Recording> {
        let text = std::fs::read_to_string(path).map_err(|e| TxlabError::Recording {
            file: path.display().to_string(),
            reason: format!("cannot read it: {e}"),
        })?;
        Recording::parse(&text, &path.display().to_string())
    }

    /// Parses a recording, or the `--format json` document that carries one; `file` names it in
    /// errors. Refuses truncated or foreign JSON, a `--format json` document without a recording
    /// (an older txlab's, or `--all-permutations` on a lesson), and a newer format version.
    pub fn parse(text: &str, file: &str) -> Result<Recording> {
        let bad = |reason: String| TxlabError::Recording {
            file: file.to_string(),
            reason,
        };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            bad(if e.is_eof() {
                "the file ends too early (truncated JSON)".into()
            } else {
                format!("not JSON ({e})")
            })
        })?;
        let is_json_output = value.get("results").is_some() && value.get("txlab_version").is_some();
        let value = match value.get(JSON_FIELD) {
            Some(inner) if is_json_output => inner.clone(),
            _ => value,
        };
        let Some(version) = value.get("format_version") else {
            return Err(bad(if is_json_output {
                "this `--format json` output carries no recording (an older txlab wrote it, or --all-permutations on a lesson): it lacks the steps, narration and quiz that replay needs".into()
            } else {
                "not a txlab recording (no format_version)".into()
            }));
        };
        let found = version
            .as_u64()
            .ok_or_else(|| bad("format_version is not a whole number".into()))?;
        if found > FORMAT_VERSION {
            return Err(TxlabError::RecordingTooNew {
                file: file.to_string(),
                found,
                supported: FORMAT_VERSION,
            });
        }
        serde_json::from_value(value)
            .map_err(|e| bad(format!("not a recording this txlab understands ({e})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_foreign_json_output_and_newer_versions_are_refused_by_name() {
        let truncated = Recording::parse("{\"format_version\": 1, \"runs\": [", "x.json");
        assert!(truncated.unwrap_err().to_string().contains("truncated"));
        let foreign = Recording::parse("{\"name\": \"package\"}", "x.json");
        assert!(
            foreign
                .unwrap_err()
                .to_string()
                .contains("not a txlab recording")
        );
        let json_output = Recording::parse(
            "{\"txlab_version\": \"0.1.0\", \"server\": \"s\", \"results\": []}",
            "x.json",
        );
        assert!(
            json_output
                .unwrap_err()
                .to_string()
                .contains("`--format json` output")
        );
        let newer = Recording::parse("{\"format_version\": 99}", "x.json").unwrap_err();
        assert!(matches!(
            newer,
            TxlabError::RecordingTooNew { found: 99, .. }
        ));
    }

    #[test]
    fn an_empty_recording_round_trips() {
        let rec = Recording::new(Vec::new(), "a server", None, true, RecordedFlags::default());
        let text = serde_json::to_string(&rec).unwrap();
        let back = Recording::parse(&text, "x.json").unwrap();
        assert_eq!(back.server, "a server");
        assert!(back.matrix);
        assert_eq!(back.format_version, LESSONS_FORMAT_VERSION);
        assert!(back.spec.is_none());
        assert!(
            !text.contains("\"spec\""),
            "lesson recordings stay version 1"
        );
    }

    #[test]
    fn the_recording_inside_json_output_is_read() {
        let rec = Recording::new(Vec::new(), "inside", None, false, RecordedFlags::default());
        let doc = serde_json::json!({
            "txlab_version": "0.1.0",
            "server": "inside",
            "results": [],
        });
        let text = rec.json_document_text(&doc);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["results"], doc["results"],
            "documented fields as they were"
        );
        assert!(text.lines().last().unwrap() == "}" && text.ends_with("}\n"));
        assert!(
            text.lines()
                .rev()
                .nth(1)
                .unwrap()
                .starts_with("  \"recording\": {")
        );
        let back = Recording::parse(&text, "x.json").unwrap();
        assert_eq!(back.server, "inside");
    }
}
