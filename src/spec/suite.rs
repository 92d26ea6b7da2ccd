//! The files of a suite, as pg_isolation_regress finds them: the specs a schedule file names
//! (`test: a b c` lines, `#` comments), and for each spec its expected outputs — `NAME.out` and
//! the alternatives `NAME_0.out` … `NAME_9.out` pg_regress also accepts.

use std::path::{Path, PathBuf};

use crate::error::{Result, TxlabError};

/// The spec names a schedule runs, in order (a `test:` line may name several; they run one after
/// the other here).
pub fn schedule_names(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.strip_prefix("test:"))
        .flat_map(|names| names.split_whitespace().map(str::to_string))
        .collect()
}

/// Reads a schedule file and turns its names into spec paths under `specs`.
pub fn schedule_specs(schedule: &Path, specs: &Path) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(schedule).map_err(|source| TxlabError::ReadFile {
        path: schedule.to_path_buf(),
        source,
    })?;
    Ok(schedule_names(&text)
        .into_iter()
        .map(|name| specs.join(format!("{name}.spec")))
        .collect())
}

/// The expected files that exist for spec `name` in `dir`, in pg_regress's order.
pub fn expected_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    std::iter::once(dir.join(format!("{name}.out")))
        .chain((0..=9).map(|i| dir.join(format!("{name}_{i}.out"))))
        .filter(|p| p.is_file())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_names_every_test_in_order_and_skips_comments() {
        let text = "# comment\ntest: a b\n\ntest: c\n  # test: d\nignore: e\n";
        assert_eq!(schedule_names(text), ["a", "b", "c"]);
    }

    #[test]
    fn expected_files_list_the_plain_file_then_the_numbered_alternatives() {
        let dir = std::env::temp_dir().join(format!("txlab-suite-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["x.out", "x_2.out", "x_1.out", "y.out"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let names: Vec<String> = expected_files(&dir, "x")
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names, ["x.out", "x_1.out", "x_2.out"]);
    }
}
