//! The crate's layers (written out in `crate/src/lib.rs`): each module uses only modules below it,
//! so imports run one way and nothing is cyclic. This test reads the sources and names any line that
//! reaches up.

use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top. A module may use itself and any module of a lower rank; `math`, `error`, `rank`
/// and `rng` are leaves every layer may use (`rng` draws its normals through `math`).
const LAYERS: &[(&str, u8)] = &[
    ("math", 0),
    ("error", 1),
    ("rank", 1),
    ("rng", 1),
    ("kernels", 2),
    ("loader", 3),
    ("tokenizer", 4),
    ("models", 5),
    ("session", 6),
    ("plot", 6),
    ("teach", 6),
    ("card", 7),
    ("wasm", 8),
];

fn rank(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|&(_, r)| r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn imports_run_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        let Some(own) = rank(&first) else { continue }; // lib.rs, main.rs: the top
        for (n, line) in fs::read_to_string(&file).unwrap().lines().enumerate() {
            let code = line.split("//").next().unwrap(); // doc links and comments may point anywhere
            for (at, _) in code.match_indices("crate::") {
                let used: String = code[at + 7..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                checked += 1;
                match rank(&used) {
                    Some(r) if used == first || r < own => {}
                    _ => wrong.push(format!("{}:{}: `{first}` uses `crate::{used}`: {}", rel.display(), n + 1, line.trim())),
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} `crate::` paths found: is the source tree where this test looks?");
    assert!(wrong.is_empty(), "imports that reach up a layer (see crate/src/lib.rs):\n{}", wrong.join("\n"));
}
