//! Compiles every `src/bpf/<tool>.bpf.c` into a libbpf-rs skeleton and writes
//! `$OUT_DIR/skels.rs`, which `src/lib.rs` includes as the `skel` module: a new
//! tool's kernel side needs no edit outside its own files.
//! It also generates the tool registry from `src/tools/*.rs`.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use libbpf_cargo::SkeletonBuilder;

fn arch_dir() -> &'static str {
    match env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("aarch64") => "arm64",
        _ => "x86",
    }
}

fn target_arch_define() -> &'static str {
    match env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("aarch64") => "-D__TARGET_ARCH_arm64",
        _ => "-D__TARGET_ARCH_x86",
    }
}

fn sorted_entries(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(suffix))
        })
        .collect();
    out.sort();
    out
}

fn rerun_for_tree(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                rerun_for_tree(&p);
            } else {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
}

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let bpf_dir = root.join("src/bpf");
    let vmlinux = root.join("vmlinux").join(arch_dir());

    rerun_for_tree(&bpf_dir);
    rerun_for_tree(&root.join("vmlinux"));
    println!(
        "cargo:rerun-if-changed={}",
        root.join("src/tools").display()
    );

    let mut skels = String::new();
    for src in sorted_entries(&bpf_dir, ".bpf.c") {
        let file = src
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name");
        let name = file.trim_end_matches(".bpf.c");
        let skel = out.join(format!("{name}.skel.rs"));
        SkeletonBuilder::new()
            .source(&src)
            // Kept next to the skeleton: tests/hardening inspects the objects.
            .obj(out.join(format!("{name}.bpf.o")))
            .clang_args([
                "-Wall".to_string(),
                "-Wno-unused-function".to_string(),
                "-Wno-compare-distinct-pointer-types".to_string(),
                target_arch_define().to_string(),
                format!("-I{}", vmlinux.display()),
                format!("-I{}", bpf_dir.display()),
            ])
            .build_and_generate(&skel)
            .unwrap_or_else(|e| panic!("building BPF skeleton for {}: {e:#}", src.display()));
        writeln!(
            skels,
            "#[allow(clippy::all, non_camel_case_types, non_snake_case, dead_code, unused_imports)]\n\
             pub mod {name} {{ include!(concat!(env!(\"OUT_DIR\"), \"/{name}.skel.rs\")); }}"
        )
        .expect("write to String");
    }
    fs::write(out.join("skels.rs"), skels).expect("writing skels.rs");

    // The registry: every src/tools/<tool>.rs except mod.rs is a tool module
    // exporting `pub const TOOL: crate::tools::Tool`.
    let mut reg = String::new();
    let mut names = Vec::new();
    let mut fuzz = Vec::new();
    for src in sorted_entries(&root.join("src/tools"), ".rs") {
        let name = src
            .file_stem()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name")
            .to_string();
        if name == "mod" {
            continue;
        }
        println!("cargo:rerun-if-changed={}", src.display());
        let text =
            fs::read_to_string(&src).unwrap_or_else(|e| panic!("reading {}: {e}", src.display()));
        if text.contains("pub fn fuzz_record(") {
            fuzz.push(name.clone());
        }
        writeln!(
            reg,
            "#[path = {:?}]\npub mod {name};",
            src.display().to_string()
        )
        .expect("write");
        names.push(name);
    }
    writeln!(
        reg,
        "/// Every tool, sorted by module name.\npub static ALL: &[&Tool] = &["
    )
    .expect("write");
    for n in &names {
        writeln!(reg, "    &{n}::TOOL,").expect("write");
    }
    writeln!(reg, "];").expect("write");
    // Tools exporting `pub fn fuzz_record(&[u8]) -> Vec<String>` (decode one
    // record, render its row and JSON line), which tests/hardening fuzzes.
    writeln!(
        reg,
        "/// Decode one ring record and render its table and JSON lines.\n\
         pub type FuzzRecord = fn(&[u8]) -> Vec<String>;\n\
         /// Every tool's record decoder and formatters, for property tests.\n\
         pub static FUZZ: &[(&str, FuzzRecord)] = &["
    )
    .expect("write");
    for n in &fuzz {
        writeln!(reg, "    ({n}::TOOL.name, {n}::fuzz_record),").expect("write");
    }
    writeln!(reg, "];").expect("write");
    fs::write(out.join("tools_registry.rs"), reg).expect("writing tools_registry.rs");
}
