//! Embeds every lesson file under lessons/ in the binary, so `txlab demo` works from any directory
//! and a teacher adds a built-in lesson by dropping a file there.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time, not `env!` at the build script's compile time: a build script compiled in
    // another checkout (a shared or copied target/) would otherwise embed that checkout's lessons.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let dir = Path::new(&manifest_dir).join("lessons");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from(
        "/// Built-in lessons: (file name, contents).\npub static EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().unwrap().to_string_lossy();
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded_lessons.rs");
    std::fs::write(target, out).unwrap();
}
