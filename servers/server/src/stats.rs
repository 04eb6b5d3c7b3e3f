//! The allocator's own heap figures, read through whatever allocator owns `malloc`
//! at run time. Looking symbols up with dlsym (instead of linking them) is what lets
//! the `system` build report jemalloc, mimalloc or tcmalloc when one is LD_PRELOADed.

use libc::{c_char, c_int, c_void, size_t};
use std::ffi::{CStr, CString};

fn symbol(name: &str) -> Option<*mut c_void> {
    let c = CString::new(name).ok()?;
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c.as_ptr()) };
    if p.is_null() {
        None
    } else {
        Some(p)
    }
}

/// The shared object that `malloc` resolves to, e.g. `/lib/x86_64-linux-gnu/libc.so.6`.
pub fn malloc_owner() -> String {
    let Some(p) = symbol("malloc") else {
        return String::new();
    };
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    if unsafe { libc::dladdr(p, &mut info) } == 0 || info.dli_fname.is_null() {
        return String::new();
    }
    unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned()
}

/// The allocator family that serves the process: the build's own, or for the system
/// build whichever library owns `malloc`.
pub fn allocator(build: &str) -> &'static str {
    match build {
        "jemalloc" => "jemalloc",
        "mimalloc" => "mimalloc",
        "tcmalloc" => "tcmalloc",
        _ => {
            let owner = malloc_owner();
            if owner.contains("jemalloc") {
                "jemalloc"
            } else if owner.contains("mimalloc") {
                "mimalloc"
            } else if owner.contains("tcmalloc") {
                "tcmalloc"
            } else if owner.contains("scudo") {
                "scudo"
            } else {
                "glibc"
            }
        }
    }
}

/// Heap figures in bytes. `allocated` is what the allocator says the program holds;
/// `committed` is what it holds from the OS. `raw` keeps the allocator's own names.
pub struct Heap {
    pub version: String,
    pub allocated: Option<u64>,
    pub committed: Option<u64>,
    pub raw: Vec<(&'static str, u64)>,
}

pub fn heap(alloc: &str) -> Heap {
    match alloc {
        "jemalloc" => jemalloc(),
        "mimalloc" => mimalloc(),
        "tcmalloc" => tcmalloc(),
        // scudo's mallinfo2 has glibc's layout (uordblks: what it hands out), but glibc's
        // version is not scudo's.
        "scudo" => Heap { version: String::new(), ..glibc() },
        _ => glibc(),
    }
}

#[repr(C)]
#[derive(Default)]
struct Mallinfo2 {
    arena: size_t,
    ordblks: size_t,
    smblks: size_t,
    hblks: size_t,
    hblkhd: size_t,
    usmblks: size_t,
    fsmblks: size_t,
    uordblks: size_t,
    fordblks: size_t,
    keepcost: size_t,
}

fn glibc() -> Heap {
    let mut h = Heap { version: String::new(), allocated: None, committed: None, raw: vec![] };
    if let Some(f) = symbol("gnu_get_libc_version") {
        let f: extern "C" fn() -> *const c_char = unsafe { std::mem::transmute(f) };
        h.version = unsafe { CStr::from_ptr(f()) }.to_string_lossy().into_owned();
    }
    if let Some(f) = symbol("mallinfo2") {
        let f: extern "C" fn() -> Mallinfo2 = unsafe { std::mem::transmute(f) };
        let m = f();
        h.allocated = Some((m.uordblks + m.hblkhd) as u64);
        h.committed = Some((m.arena + m.hblkhd) as u64);
        h.raw = vec![
            ("arena", m.arena as u64),
            ("hblkhd", m.hblkhd as u64),
            ("uordblks", m.uordblks as u64),
            ("fordblks", m.fordblks as u64),
            ("keepcost", m.keepcost as u64),
            ("ordblks", m.ordblks as u64),
            ("hblks", m.hblks as u64),
        ];
    }
    h
}

type Mallctl = extern "C" fn(*const c_char, *mut c_void, *mut size_t, *mut c_void, size_t) -> c_int;

fn jemalloc() -> Heap {
    let mut h = Heap { version: String::new(), allocated: None, committed: None, raw: vec![] };
    let Some(f) = symbol("mallctl") else { return h };
    let mallctl: Mallctl = unsafe { std::mem::transmute(f) };
    let mut v: *const c_char = std::ptr::null();
    let mut len = std::mem::size_of::<*const c_char>();
    if mallctl(c"version".as_ptr(), &mut v as *mut _ as *mut c_void, &mut len, std::ptr::null_mut(), 0) == 0 && !v.is_null() {
        h.version = unsafe { CStr::from_ptr(v) }.to_string_lossy().into_owned();
    }
    // jemalloc caches its statistics until the epoch is advanced.
    let mut epoch: u64 = 1;
    let mut elen = std::mem::size_of::<u64>();
    mallctl(c"epoch".as_ptr(), &mut epoch as *mut _ as *mut c_void, &mut elen, &mut epoch as *mut _ as *mut c_void, elen);
    let names: [(&'static str, &CStr); 6] = [
        ("allocated", c"stats.allocated"),
        ("active", c"stats.active"),
        ("metadata", c"stats.metadata"),
        ("resident", c"stats.resident"),
        ("mapped", c"stats.mapped"),
        ("retained", c"stats.retained"),
    ];
    for (name, key) in names {
        let mut val: size_t = 0;
        let mut l = std::mem::size_of::<size_t>();
        if mallctl(key.as_ptr(), &mut val as *mut _ as *mut c_void, &mut l, std::ptr::null_mut(), 0) == 0 {
            h.raw.push((name, val as u64));
        }
    }
    h.allocated = h.raw.iter().find(|r| r.0 == "allocated").map(|r| r.1);
    h.committed = h.raw.iter().find(|r| r.0 == "resident").map(|r| r.1);
    h
}

fn mimalloc() -> Heap {
    let mut h = Heap { version: String::new(), allocated: None, committed: None, raw: vec![] };
    if let Some(f) = symbol("mi_version") {
        let f: extern "C" fn() -> c_int = unsafe { std::mem::transmute(f) };
        let v = f();
        h.version = format!("{}.{}.{}", v / 100, (v / 10) % 10, v % 10);
    }
    if let Some(f) = symbol("mi_process_info") {
        type Info = extern "C" fn(*mut size_t, *mut size_t, *mut size_t, *mut size_t, *mut size_t, *mut size_t, *mut size_t, *mut size_t);
        let f: Info = unsafe { std::mem::transmute(f) };
        let mut v = [0 as size_t; 8];
        let p = v.as_mut_ptr();
        unsafe { f(p, p.add(1), p.add(2), p.add(3), p.add(4), p.add(5), p.add(6), p.add(7)) };
        h.raw = vec![
            ("peak_rss", v[4] as u64),
            ("current_commit", v[5] as u64),
            ("peak_commit", v[6] as u64),
            ("page_faults", v[7] as u64),
        ];
        // mimalloc's current_rss on Linux is its commit, not a /proc reading: left out.
        // A release build of mimalloc keeps no count of allocated bytes (only MI_STAT builds do).
        h.committed = Some(v[5] as u64);
    }
    h
}

fn tcmalloc() -> Heap {
    let mut h = Heap { version: String::new(), allocated: None, committed: None, raw: vec![] };
    if let Some(f) = symbol("tc_version") {
        let f: extern "C" fn(*mut c_int, *mut c_int, *mut *const c_char) -> *const c_char = unsafe { std::mem::transmute(f) };
        let (mut a, mut b, mut c) = (0, 0, std::ptr::null());
        let s = f(&mut a, &mut b, &mut c);
        if !s.is_null() {
            h.version = unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned();
        }
    }
    let Some(f) = symbol("MallocExtension_GetNumericProperty") else { return h };
    let get: extern "C" fn(*const c_char, *mut size_t) -> c_int = unsafe { std::mem::transmute(f) };
    let names: [(&'static str, &CStr); 6] = [
        ("current_allocated_bytes", c"generic.current_allocated_bytes"),
        ("heap_size", c"generic.heap_size"),
        ("pageheap_free_bytes", c"tcmalloc.pageheap_free_bytes"),
        ("pageheap_unmapped_bytes", c"tcmalloc.pageheap_unmapped_bytes"),
        ("central_cache_free_bytes", c"tcmalloc.central_cache_free_bytes"),
        ("thread_cache_free_bytes", c"tcmalloc.thread_cache_free_bytes"),
    ];
    for (name, key) in names {
        let mut v: size_t = 0;
        if get(key.as_ptr(), &mut v) != 0 {
            h.raw.push((name, v as u64));
        }
    }
    let find = |n: &str| h.raw.iter().find(|r| r.0 == n).map(|r| r.1);
    h.allocated = find("current_allocated_bytes");
    h.committed = match (find("heap_size"), find("pageheap_unmapped_bytes")) {
        (Some(s), Some(u)) => Some(s.saturating_sub(u)),
        _ => None,
    };
    h
}

/// The settings the allocator actually runs with, read back from the allocator itself
/// (not from the environment): what proves that a lane's setting took effect.
pub fn settings(alloc: &str) -> Vec<(String, String)> {
    match alloc {
        "jemalloc" => jemalloc_settings(),
        "mimalloc" => mimalloc_settings(),
        "tcmalloc" => tcmalloc_settings(),
        "scudo" => vec![],
        _ => glibc_settings(),
    }
}

/// glibc keeps no getter for its tunables; the number of arenas it made is what
/// MALLOC_ARENA_MAX bounds, and malloc_info lists one <heap> per arena.
fn glibc_settings() -> Vec<(String, String)> {
    let Some(f) = symbol("malloc_info") else { return vec![] };
    let info: extern "C" fn(c_int, *mut libc::FILE) -> c_int = unsafe { std::mem::transmute(f) };
    let mut buf: *mut c_char = std::ptr::null_mut();
    let mut len: size_t = 0;
    let stream = unsafe { libc::open_memstream(&mut buf, &mut len) };
    if stream.is_null() {
        return vec![];
    }
    info(0, stream);
    unsafe { libc::fclose(stream) };
    if buf.is_null() {
        return vec![];
    }
    let xml = unsafe { CStr::from_ptr(buf) }.to_string_lossy().into_owned();
    unsafe { libc::free(buf as *mut c_void) };
    vec![("arenas".to_string(), xml.matches("<heap nr=").count().to_string())]
}

fn jemalloc_settings() -> Vec<(String, String)> {
    let Some(f) = symbol("mallctl") else { return vec![] };
    let mallctl: Mallctl = unsafe { std::mem::transmute(f) };
    let mut out = vec![];
    for (name, key) in [("background_thread", c"opt.background_thread"), ("tcache", c"opt.tcache")] {
        let mut v: bool = false;
        let mut l = std::mem::size_of::<bool>();
        if mallctl(key.as_ptr(), &mut v as *mut _ as *mut c_void, &mut l, std::ptr::null_mut(), 0) == 0 {
            out.push((name.to_string(), v.to_string()));
        }
    }
    for (name, key) in [("dirty_decay_ms", c"opt.dirty_decay_ms"), ("muzzy_decay_ms", c"opt.muzzy_decay_ms")] {
        let mut v: isize = 0;
        let mut l = std::mem::size_of::<isize>();
        if mallctl(key.as_ptr(), &mut v as *mut _ as *mut c_void, &mut l, std::ptr::null_mut(), 0) == 0 {
            out.push((name.to_string(), v.to_string()));
        }
    }
    for (name, key) in [("narenas", c"opt.narenas"), ("arenas", c"arenas.narenas")] {
        let mut v: u32 = 0;
        let mut l = std::mem::size_of::<u32>();
        if mallctl(key.as_ptr(), &mut v as *mut _ as *mut c_void, &mut l, std::ptr::null_mut(), 0) == 0 {
            out.push((name.to_string(), v.to_string()));
        }
    }
    out
}

// mi_option_t's order changes between releases: these are 2.0.x's (Debian 12 ships 2.0.9),
// each read as MIMALLOC_<NAME>. Another release reports no options rather than wrong ones.
const MIMALLOC_2_0_OPTIONS: [&str; 28] = [
    "show_errors", "show_stats", "verbose", "eager_commit", "", "", "large_os_pages", "reserve_huge_os_pages",
    "reserve_huge_os_pages_at", "reserve_os_memory", "", "page_reset", "abandoned_page_decommit", "",
    "eager_commit_delay", "decommit_delay", "use_numa_nodes", "limit_os_alloc", "os_tag", "max_errors",
    "max_warnings", "max_segment_reclaim", "allow_decommit", "segment_decommit_delay", "decommit_extend_delay",
    "destroy_on_exit", "", "",
];

fn mimalloc_settings() -> Vec<(String, String)> {
    let (Some(v), Some(g)) = (symbol("mi_version"), symbol("mi_option_get")) else { return vec![] };
    let version: extern "C" fn() -> c_int = unsafe { std::mem::transmute(v) };
    let get: extern "C" fn(c_int) -> libc::c_long = unsafe { std::mem::transmute(g) };
    let v = version();
    if !(200..210).contains(&v) {
        return vec![];
    }
    MIMALLOC_2_0_OPTIONS
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.is_empty())
        .map(|(i, n)| (n.to_string(), get(i as c_int).to_string()))
        .collect()
}

fn tcmalloc_settings() -> Vec<(String, String)> {
    let mut out = vec![];
    if let Some(f) = symbol("MallocExtension_GetNumericProperty") {
        let get: extern "C" fn(*const c_char, *mut size_t) -> c_int = unsafe { std::mem::transmute(f) };
        for (name, key) in [
            ("max_total_thread_cache_bytes", c"tcmalloc.max_total_thread_cache_bytes"),
            ("aggressive_memory_decommit", c"tcmalloc.aggressive_memory_decommit"),
        ] {
            let mut v: size_t = 0;
            if get(key.as_ptr(), &mut v) != 0 {
                out.push((name.to_string(), v.to_string()));
            }
        }
    }
    // The release rate has only a C++ getter: MallocExtension::instance() is the
    // TCMallocImplementation whose (non-virtual-called) method reads the flag.
    if let (Some(i), Some(r)) = (symbol("_ZN15MallocExtension8instanceEv"), symbol("_ZN22TCMallocImplementation20GetMemoryReleaseRateEv")) {
        let instance: extern "C" fn() -> *mut c_void = unsafe { std::mem::transmute(i) };
        let rate: extern "C" fn(*mut c_void) -> f64 = unsafe { std::mem::transmute(r) };
        let this = instance();
        if !this.is_null() {
            out.push(("release_rate".to_string(), format!("{}", rate(this))));
        }
    }
    out
}

/// Asks the allocator to give back to the OS what it can; returns the call made.
pub fn purge(alloc: &str) -> Result<&'static str, String> {
    match alloc {
        "jemalloc" => {
            let f = symbol("mallctl").ok_or("jemalloc's mallctl is missing")?;
            let mallctl: Mallctl = unsafe { std::mem::transmute(f) };
            // 4096 is MALLCTL_ARENAS_ALL: every arena's dirty and muzzy pages.
            let r = mallctl(c"arena.4096.purge".as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), 0);
            if r != 0 {
                return Err(format!("mallctl(arena.4096.purge) failed with {r}"));
            }
            Ok("mallctl(\"arena.4096.purge\")")
        }
        "mimalloc" => {
            let f = symbol("mi_collect").ok_or("mimalloc's mi_collect is missing")?;
            let collect: extern "C" fn(bool) = unsafe { std::mem::transmute(f) };
            collect(true);
            Ok("mi_collect(true)")
        }
        "tcmalloc" => {
            let f = symbol("MallocExtension_ReleaseFreeMemory").ok_or("tcmalloc's MallocExtension_ReleaseFreeMemory is missing")?;
            let release: extern "C" fn() = unsafe { std::mem::transmute(f) };
            release();
            Ok("MallocExtension_ReleaseFreeMemory()")
        }
        "scudo" => {
            let f = symbol("mallopt").ok_or("scudo's mallopt is missing")?;
            let mallopt: extern "C" fn(c_int, c_int) -> c_int = unsafe { std::mem::transmute(f) };
            // M_PURGE (-101) makes scudo release every free page of its primary and secondary.
            if mallopt(-101, 0) != 1 {
                return Err("scudo's mallopt(M_PURGE) was refused".into());
            }
            Ok("mallopt(M_PURGE, 0)")
        }
        _ => {
            let f = symbol("malloc_trim").ok_or("glibc's malloc_trim is missing")?;
            let trim: extern "C" fn(size_t) -> c_int = unsafe { std::mem::transmute(f) };
            trim(0);
            Ok("malloc_trim(0)")
        }
    }
}
