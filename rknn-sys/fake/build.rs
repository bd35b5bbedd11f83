fn main() {
    // Keep the library mapped after dlclose (like a runtime that is never really unloaded): its
    // global protocol state stays reachable, so valgrind reports only leaks of the code under
    // test, not the fake's own bookkeeping vanishing with an unmapped library.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
}
