//! Generates the RKNN bindings with bindgen, for the target being built.
//!
//! Header, in order of preference:
//! 1. `RKNN_API_H`: path to the SDK's `rknn_api.h`;
//! 2. `RKNN_SDK_DIR`: an RKNN SDK checkout; `rknn_api.h` is searched under it;
//! 3. `include/rknn_decl.h`: this project's own declaration of the subset we use.
//!
//! Bindings are generated for `$TARGET`, never the host: `rknn_context` is 32-bit on 32-bit ARM.
//! Extra clang arguments (e.g. `--sysroot` of the vendor toolchain, needed to parse the SDK
//! header for the board) go in `BINDGEN_EXTRA_CLANG_ARGS_<target>`; see README.md.

use std::env;
use std::path::{Path, PathBuf};

/// The API subset the safe layer uses. Keeping the allowlist explicit means the SDK header and
/// our declaration yield the same items, and a missing function is a build error, not a
/// surprise at run time.
const FUNCTIONS: &[&str] =
    &["rknn_init", "rknn_destroy", "rknn_query", "rknn_run", "rknn_create_mem", "rknn_destroy_mem", "rknn_set_io_mem"];
const TYPES: &[&str] = &[
    "rknn_context",
    "rknn_query_cmd",
    "rknn_tensor_type",
    "rknn_tensor_qnt_type",
    "rknn_tensor_format",
    "rknn_input_output_num",
    "rknn_tensor_attr",
    "rknn_perf_run",
    "rknn_sdk_version",
    "rknn_mem_size",
    "rknn_tensor_mem",
    "rknn_init_extend",
    "rknn_run_extend",
];

fn main() {
    for var in ["RKNN_API_H", "RKNN_SDK_DIR", "RKNN_LIB_DIR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=include/rknn_decl.h");
    println!("cargo:rerun-if-changed=build.rs");

    let target = env::var("TARGET").expect("cargo sets TARGET");
    let (header, own_declaration) = choose_header();
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rustc-env=RKNN_SYS_HEADER={}", header.display());

    let mut builder = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .clang_arg(format!("--target={}", clang_target(&target)))
        .use_core()
        .layout_tests(true)
        .derive_default(true)
        .derive_debug(true)
        .impl_debug(false)
        .prepend_enum_name(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .allowlist_var("RKNN_.*")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    if target.ends_with("eabihf") {
        // clang does not know that e.g. `uclibceabihf` means hard float (board-facts.md).
        builder = builder.clang_arg("-mfloat-abi=hard");
    }
    if own_declaration {
        // Our declaration only needs clang's own <stdint.h>: no target sysroot required.
        builder = builder.clang_arg("-ffreestanding");
    }
    for f in FUNCTIONS {
        builder = builder.allowlist_function(f);
    }
    for t in TYPES {
        builder = builder.allowlist_type(t);
    }
    if env::var_os("CARGO_FEATURE_LINK").is_some() {
        println!("cargo:rustc-link-lib=dylib=rknnmrt");
        if let Some(dir) = env::var_os("RKNN_LIB_DIR") {
            println!("cargo:rustc-link-search=native={}", PathBuf::from(dir).display());
        }
    } else {
        builder = builder.dynamic_library_name("RknnApi").dynamic_link_require_all(true);
    }

    let bindings = builder.generate().unwrap_or_else(|e| {
        panic!(
            "bindgen could not parse {} for target {target}: {e}\n\
             (bindgen needs libclang: `apt-get install libclang-dev`; cross builds with the SDK header \
             also need BINDGEN_EXTRA_CLANG_ARGS_<target>=\"--sysroot=...\")",
            header.display()
        )
    });
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bindings.rs");
    bindings.write_to_file(&out).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

/// The header to bind, and whether it is our own declaration.
fn choose_header() -> (PathBuf, bool) {
    if let Some(path) = env::var_os("RKNN_API_H") {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "RKNN_API_H={} is not a file", path.display());
        return (path, false);
    }
    if let Some(dir) = env::var_os("RKNN_SDK_DIR") {
        let dir = PathBuf::from(dir);
        match find_file(&dir, "rknn_api.h", 8) {
            Some(path) => return (path, false),
            None => panic!("RKNN_SDK_DIR={} contains no rknn_api.h", dir.display()),
        }
    }
    let own = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("include/rknn_decl.h");
    (own, true)
}

/// Breadth-first search for `name` under `dir`, preferring the RV1106 runtime's copy.
fn find_file(dir: &Path, name: &str, max_depth: usize) -> Option<PathBuf> {
    let mut level = vec![dir.to_path_buf()];
    let mut found = Vec::new();
    for _ in 0..=max_depth {
        let mut next = Vec::new();
        for d in &level {
            let Ok(entries) = std::fs::read_dir(d) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    next.push(p);
                } else if p.file_name().is_some_and(|n| n == name) {
                    found.push(p);
                }
            }
        }
        if !found.is_empty() {
            found.sort_by_key(|p| !p.to_string_lossy().contains("RV1106"));
            return found.into_iter().next();
        }
        level = next;
    }
    None
}

/// clang's name for a Rust target triple (they differ only for a few ARM/uclibc triples).
fn clang_target(rust_target: &str) -> String {
    match rust_target {
        // clang has no `uclibceabihf` environment; the C ABI is the gnueabihf one.
        "armv7-unknown-linux-uclibceabihf" => "armv7-unknown-linux-gnueabihf".to_string(),
        t => t.to_string(),
    }
}
