//! The endpoints' workloads: each exercises a different side of an allocator.
//! Every size is capped so that no request can exhaust the machine.

use bumpalo::Bump;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub const MAX_ALLOC_COUNT: u64 = 100_000;
pub const MAX_ALLOC_SIZE: u64 = 1 << 20;
pub const MAX_ALLOC_TOTAL: u64 = 64 << 20;
pub const MAX_JSON_ITEMS: u64 = 100_000;
pub const MAX_HOLD_BYTES: u64 = 64 << 20;
pub const MAX_HOLD_MS: u64 = 60_000;
pub const MAX_LARGE_BYTES: u64 = 64 << 20;
pub const MAX_LARGE_LIVE: u64 = 64;
/// The most one /leak request leaks, and the most /leak ever leaks in one process.
pub const MAX_LEAK_BYTES: u64 = 64 << 20;
pub const MAX_LEAK_TOTAL: u64 = 1 << 30;

/// The most that /hold and /large together may keep alive: set once at start (a share of
/// the machine's memory, so that four servers side by side cannot ask for more than it has).
pub static MEMORY_BUDGET: AtomicU64 = AtomicU64::new(1 << 30);
/// Bytes of the budget reserved now: reserved before a block is allocated, released after
/// it is freed, in one compare-and-swap, so concurrent requests can never overshoot.
static RESERVED: AtomicU64 = AtomicU64::new(0);

/// The default budget: an eighth of MemTotal (four servers: half the machine), 1 GiB when unknown.
pub fn default_budget() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|kib| kib.parse::<u64>().ok()))
        .map(|kib| kib * 1024);
    total.map_or(1 << 30, |t| t / 8)
}

fn reserve(bytes: u64) -> Result<(), String> {
    let limit = MEMORY_BUDGET.load(Ordering::Relaxed);
    let mut cur = RESERVED.load(Ordering::Relaxed);
    loop {
        let next = cur.checked_add(bytes).filter(|n| *n <= limit).ok_or_else(|| {
            format!("the server already keeps {cur} bytes alive for /hold and /large (budget {limit}, --memory-budget)")
        })?;
        match RESERVED.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return Ok(()),
            Err(now) => cur = now,
        }
    }
}

fn release(bytes: u64) {
    RESERVED.fetch_sub(bytes, Ordering::AcqRel);
}

/// Seed 004's advice, as a mode: /alloc and /json take their per-request allocations
/// from a bump arena dropped with the request, instead of one heap call per object.
/// The arena's chunks still come from the process allocator, a few large ones per request.
pub static ARENA: AtomicBool = AtomicBool::new(false);

/// Bytes kept alive by /hold right now.
pub static HELD_BYTES: AtomicU64 = AtomicU64::new(0);
/// Bytes /leak has leaked since the process started.
pub static LEAKED_BYTES: AtomicU64 = AtomicU64::new(0);
/// Bytes kept alive by /large right now.
pub static LARGE_BYTES: AtomicU64 = AtomicU64::new(0);

pub type Query<'a> = HashMap<&'a str, &'a str>;

pub fn parse_query(q: Option<&str>) -> Query<'_> {
    q.unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .collect()
}

/// Parses a byte size: plain bytes, or with k/KB (1000), KiB (1024), M/MB, MiB, G/GB, GiB.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn param(q: &Query, name: &str, default: u64, max: u64, bytes: bool) -> Result<u64, String> {
    let Some(raw) = q.get(name) else { return Ok(default) };
    let v = if bytes { parse_bytes(raw) } else { raw.parse().ok() };
    match v {
        None => Err(format!("{name}={raw:?} is not a {}", if bytes { "size (e.g. 4096, 64KiB, 5MB)" } else { "whole number" })),
        Some(v) if v > max => Err(format!("{name}={v} is over the limit of {max}")),
        Some(v) => Ok(v),
    }
}

// Writing one byte per page makes the kernel back the block with real memory, so RSS shows it.
fn touch(buf: &mut [u8], seed: u8) -> u64 {
    let mut sum = 0u64;
    let mut i = 0;
    while i < buf.len() {
        buf[i] = seed;
        sum = sum.wrapping_add(buf[i] as u64);
        i += 4096;
    }
    if let Some(last) = buf.last_mut() {
        *last = seed;
    }
    sum
}

/// GET /alloc?count=N&size=B&order=fifo|lifo
pub fn alloc(q: &Query) -> Result<String, String> {
    let count = param(q, "count", 1000, MAX_ALLOC_COUNT, false)?;
    let size = param(q, "size", 64, MAX_ALLOC_SIZE, true)?;
    if count * size > MAX_ALLOC_TOTAL {
        return Err(format!("count*size={} is over the limit of {MAX_ALLOC_TOTAL} bytes", count * size));
    }
    let order = *q.get("order").unwrap_or(&"fifo");
    if order != "fifo" && order != "lifo" {
        return Err(format!("order={order:?} must be fifo or lifo"));
    }
    if ARENA.load(Ordering::Relaxed) {
        return Ok(alloc_in_arena(count, size, order));
    }
    let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(count as usize);
    let mut sum = 0u64;
    for i in 0..count {
        let mut b = vec![0u8; size as usize];
        sum = sum.wrapping_add(touch(&mut b, i as u8));
        blocks.push(b);
    }
    if order == "fifo" {
        for b in blocks.drain(..) {
            drop(b);
        }
    } else {
        while let Some(b) = blocks.pop() {
            drop(b);
        }
    }
    Ok(format!("{{\"count\":{count},\"size\":{size},\"order\":\"{order}\",\"checksum\":{sum}}}"))
}

// The same blocks, touched the same way, so the checksum and body match the heap mode's;
// the order of frees is moot, as the arena frees them all at once.
fn alloc_in_arena(count: u64, size: u64, order: &str) -> String {
    let bump = Bump::new();
    let mut blocks = bumpalo::collections::Vec::with_capacity_in(count as usize, &bump);
    let mut sum = 0u64;
    for i in 0..count {
        let b = bump.alloc_slice_fill_copy(size as usize, 0u8);
        sum = sum.wrapping_add(touch(b, i as u8));
        blocks.push(b);
    }
    drop(blocks);
    drop(bump);
    format!("{{\"count\":{count},\"size\":{size},\"order\":\"{order}\",\"checksum\":{sum}}}")
}

fn json_in_arena(items: u64) -> String {
    use std::fmt::Write;
    let bump = Bump::new();
    let mut parts = bumpalo::collections::Vec::with_capacity_in(items as usize, &bump);
    for i in 0..items {
        let mut p = bumpalo::collections::String::new_in(&bump);
        let _ = write!(p, "{{\"id\":{i},\"name\":\"item-{i}\",\"tags\":[\"t{}\",\"t{}\"],\"ok\":{}}}", i % 7, i % 13, i % 2 == 0);
        parts.push(p);
    }
    // Only the response itself leaves the arena: it outlives the request's work.
    let len = parts.iter().map(|p| p.len() + 1).sum::<usize>() + 12;
    let mut body = String::with_capacity(len);
    body.push_str("{\"items\":[");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(p);
    }
    body.push_str("]}");
    body
}

/// GET /json?items=N: many small strings, built and joined.
pub fn json(q: &Query) -> Result<String, String> {
    let items = param(q, "items", 100, MAX_JSON_ITEMS, false)?;
    if ARENA.load(Ordering::Relaxed) {
        return Ok(json_in_arena(items));
    }
    let parts: Vec<String> = (0..items)
        .map(|i| format!("{{\"id\":{i},\"name\":\"item-{i}\",\"tags\":[\"t{}\",\"t{}\"],\"ok\":{}}}", i % 7, i % 13, i % 2 == 0))
        .collect();
    Ok(format!("{{\"items\":[{}]}}", parts.join(",")))
}

/// GET /hold?bytes=B&ms=T: keeps B bytes alive for T ms beside everything else in flight.
pub fn hold(q: &Query) -> Result<(Vec<u8>, Duration), String> {
    let bytes = param(q, "bytes", 64 << 10, MAX_HOLD_BYTES, true)?;
    let ms = param(q, "ms", 1000, MAX_HOLD_MS, false)?;
    reserve(bytes)?;
    let mut buf = vec![0u8; bytes as usize];
    touch(&mut buf, 1);
    HELD_BYTES.fetch_add(bytes, Ordering::Relaxed);
    Ok((buf, Duration::from_millis(ms)))
}

pub fn release_held(buf: Vec<u8>) {
    let n = buf.len() as u64;
    HELD_BYTES.fetch_sub(n, Ordering::Relaxed);
    drop(buf);
    release(n);
}

static LARGE: Mutex<Vec<Option<Vec<u8>>>> = Mutex::new(Vec::new());
/// What /leak leaked: never freed, never read again.
static LEAKED: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
static RNG: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);

fn random() -> u64 {
    // splitmix64 over a shared counter: cheap, lock-free, good enough to pick sizes and slots.
    let mut z = RNG.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// GET /large?min=5MB&max=25MB&live=20: replaces one of at most `live` big blocks.
pub fn large(q: &Query) -> Result<String, String> {
    let min = param(q, "min", 5_000_000, MAX_LARGE_BYTES, true)?;
    let max = param(q, "max", 25_000_000, MAX_LARGE_BYTES, true)?;
    let live = param(q, "live", 20, MAX_LARGE_LIVE, false)?;
    if min > max {
        return Err(format!("min={min} is larger than max={max}"));
    }
    if live == 0 {
        return Err("live must be at least 1".into());
    }
    let size = min + random() % (max - min + 1);
    reserve(size)?;
    let mut block = vec![0u8; size as usize];
    touch(&mut block, 2);
    let slot = (random() % live) as usize;
    let old = {
        let mut slots = LARGE.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() < live as usize {
            slots.resize_with(live as usize, || None);
        }
        LARGE_BYTES.fetch_add(size, Ordering::Relaxed);
        // Blocks past a smaller `live` stay until a request with a larger one replaces them.
        slots[slot].replace(block)
    };
    if let Some(old) = old {
        let n = old.len() as u64;
        LARGE_BYTES.fetch_sub(n, Ordering::Relaxed);
        drop(old);
        release(n);
    }
    Ok(format!("{{\"slot\":{slot},\"size\":{size},\"live\":{live}}}"))
}

/// Why a /leak request leaked nothing: a bad parameter, or the cap reached.
pub enum LeakError {
    Bad(String),
    Full(String),
}

/// GET /leak?bytes=N: leaks N bytes on purpose, touched so they count in RSS, kept until
/// the process ends: a lane that grows by a known amount, to test what finds growth.
/// It draws on the --memory-budget that /hold and /large share, and stops at
/// MAX_LEAK_TOTAL in all, so a mistake cannot eat the machine.
pub fn leak(q: &Query) -> Result<String, LeakError> {
    let bytes = param(q, "bytes", 1 << 20, MAX_LEAK_BYTES, true).map_err(LeakError::Bad)?;
    reserve(bytes).map_err(LeakError::Full)?;
    let mut cur = LEAKED_BYTES.load(Ordering::Relaxed);
    loop {
        if cur + bytes > MAX_LEAK_TOTAL {
            release(bytes);
            return Err(LeakError::Full(format!("the server has leaked {cur} bytes; /leak stops at {MAX_LEAK_TOTAL}")));
        }
        match LEAKED_BYTES.compare_exchange_weak(cur, cur + bytes, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => break,
            Err(now) => cur = now,
        }
    }
    let mut buf = vec![0u8; bytes as usize];
    touch(&mut buf, 1);
    // Kept where the program can still reach it, not mem::forget: a block that nothing
    // can reach again lets the optimiser drop the writes that make it resident (seen: a
    // build whose 32 MiB leak added 16 KiB of RSS).
    LEAKED.lock().unwrap_or_else(|e| e.into_inner()).push(buf);
    Ok(format!("{{\"leaked\":{bytes},\"total\":{}}}", cur + bytes))
}
