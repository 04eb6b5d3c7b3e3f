// Links the allocator chosen by cargo feature against the system's shared library
// (Debian: libjemalloc-dev, libmimalloc-dev, libgoogle-perftools-dev). Linking the
// shared library also replaces malloc for C code in the process, so every
// allocation, not only Rust's, goes through the allocator under test.
fn main() {
    let features: Vec<&str> = ["JEMALLOC", "MIMALLOC", "TCMALLOC"]
        .into_iter()
        .filter(|f| std::env::var(format!("CARGO_FEATURE_{f}")).is_ok())
        .collect();
    if features.len() > 1 {
        panic!("choose one allocator feature, not {features:?}");
    }
    match features.first() {
        Some(&"JEMALLOC") => println!("cargo:rustc-link-lib=dylib=jemalloc"),
        Some(&"MIMALLOC") => println!("cargo:rustc-link-lib=dylib=mimalloc"),
        Some(&"TCMALLOC") => println!("cargo:rustc-link-lib=dylib=tcmalloc_minimal"),
        _ => {}
    }
    if let Ok(dir) = std::env::var("ALLOCSCOPE_LIB_DIR") {
        println!("cargo:rustc-link-search=native={dir}");
    }
    println!("cargo:rerun-if-env-changed=ALLOCSCOPE_LIB_DIR");
}
