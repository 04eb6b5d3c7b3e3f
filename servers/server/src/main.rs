//! allocscope-server: the HTTP server allocscope measures. One source, built once per
//! allocator by cargo feature; see README.md at the repository root for the endpoints.

mod alloc;
mod stats;
mod watchdog;
mod workloads;

use hyper::server::conn::Http;
use hyper::service::service_fn;
use hyper::{Body, Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[global_allocator]
static GLOBAL: alloc::Allocator = alloc::Allocator;

/// The endpoints, in the order of BY_PATH's counters; the last counts every other path.
const PATHS: [&str; 9] = ["/", "/alloc", "/json", "/large", "/hold", "/leak", "/stats", "/purge", "other"];
/// Requests by path, which tell that a load's request mix reached the server as written.
/// Their sum is the request count: one shared counter per request, as before they existed.
static BY_PATH: [AtomicU64; 9] = [const { AtomicU64::new(0) }; 9];
static CONNECTION_ERRORS: AtomicU64 = AtomicU64::new(0);

struct Args {
    port: u16,
    bind: IpAddr,
    threads: usize,
    header_timeout: Duration,
    memory_budget: u64,
    arena: bool,
}

const USAGE: &str = "usage: allocscope-server [--port N (0 = any free port)] [--bind ADDR (default 127.0.0.1)] [--threads N (default: cores, at most 1024)] [--header-timeout SECONDS (default 10)] [--memory-budget BYTES (what /hold and /large may keep alive; default: an eighth of the machine's memory)] [--arena (/alloc and /json allocate from a per-request bump arena)]";

const MAX_THREADS: usize = 1024;

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        port: 0,
        bind: IpAddr::from([127, 0, 0, 1]),
        threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        header_timeout: Duration::from_secs(10),
        memory_budget: workloads::default_budget(),
        arena: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        if name == "--help" || name == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if name == "--arena" && inline.is_none() {
            a.arena = true;
            continue;
        }
        let value = match inline.or_else(|| it.next()) {
            Some(v) => v,
            None => return Err(format!("{name} needs a value")),
        };
        match name.as_str() {
            "--port" => a.port = value.parse().map_err(|_| format!("--port {value:?} is not a port number (0-65535)"))?,
            "--bind" => a.bind = value.parse().map_err(|_| format!("--bind {value:?} is not an IP address"))?,
            "--threads" => {
                a.threads = value.parse().map_err(|_| format!("--threads {value:?} is not a whole number"))?;
                if a.threads == 0 || a.threads > MAX_THREADS {
                    return Err(format!("--threads must be 1 to {MAX_THREADS}"));
                }
            }
            "--header-timeout" => {
                let secs: u64 = value.parse().map_err(|_| format!("--header-timeout {value:?} is not a whole number of seconds"))?;
                if secs == 0 {
                    return Err("--header-timeout must be at least 1 second".into());
                }
                a.header_timeout = Duration::from_secs(secs);
            }
            "--memory-budget" => {
                a.memory_budget = workloads::parse_bytes(&value).ok_or_else(|| format!("--memory-budget {value:?} is not a size (e.g. 512MiB)"))?;
            }
            _ => return Err(format!("unknown flag {name}")),
        }
    }
    Ok(a)
}

// 10,000 connections need more descriptors than the usual soft limit of 1,024.
fn raise_fd_limit() {
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("static headers are valid")
}

fn bad_request(reason: String) -> Response<Body> {
    reply(StatusCode::BAD_REQUEST, "text/plain", reason + "\n")
}

fn json_or_400(r: Result<String, String>) -> Response<Body> {
    match r {
        Ok(body) => reply(StatusCode::OK, "application/json", body),
        Err(reason) => bad_request(reason),
    }
}

fn stats_json() -> String {
    let allocator = stats::allocator(alloc::BUILD);
    let heap = stats::heap(allocator);
    let opt = |v: Option<u64>| v.map_or("null".to_string(), |v| v.to_string());
    let raw: Vec<String> = heap.raw.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    let settings: Vec<String> = stats::settings(allocator).iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
    let by_path: Vec<String> = PATHS.iter().zip(&BY_PATH).map(|(p, n)| format!("\"{p}\":{}", n.load(Ordering::Relaxed))).collect();
    format!(
        concat!(
            "{{\"build\":\"{}\",\"allocator\":\"{}\",\"version\":\"{}\",\"malloc_from\":\"{}\",\"mode\":\"{}\",",
            "\"requests\":{},\"requests_by_path\":{{{}}},\"connection_errors\":{},\"live_bytes\":{},\"held_bytes\":{},\"large_bytes\":{},\"leaked_bytes\":{},",
            "\"allocated_bytes\":{},\"committed_bytes\":{},\"purges\":{},\"raw\":{{{}}},\"settings\":{{{}}}}}"
        ),
        alloc::BUILD,
        allocator,
        heap.version.replace('"', "'"),
        stats::malloc_owner().replace('"', "'"),
        if workloads::ARENA.load(Ordering::Relaxed) { "arena" } else { "heap" },
        BY_PATH.iter().map(|n| n.load(Ordering::Relaxed)).sum::<u64>(),
        by_path.join(","),
        CONNECTION_ERRORS.load(Ordering::Relaxed),
        alloc::live_bytes().max(0),
        workloads::HELD_BYTES.load(Ordering::Relaxed),
        workloads::LARGE_BYTES.load(Ordering::Relaxed),
        workloads::LEAKED_BYTES.load(Ordering::Relaxed),
        opt(heap.allocated),
        opt(heap.committed),
        PURGES.load(Ordering::Relaxed),
        raw.join(","),
        settings.join(","),
    )
}

static PURGES: AtomicU64 = AtomicU64::new(0);

fn purge_json() -> Response<Body> {
    let allocator = stats::allocator(alloc::BUILD);
    match stats::purge(allocator) {
        Ok(call) => {
            PURGES.fetch_add(1, Ordering::Relaxed);
            reply(StatusCode::OK, "application/json", format!("{{\"allocator\":\"{allocator}\",\"call\":\"{}\"}}", call.replace('"', "\\\"")))
        }
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", e + "\n"),
    }
}

async fn handle(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let slot = PATHS[..PATHS.len() - 1].iter().position(|p| *p == req.uri().path()).unwrap_or(PATHS.len() - 1);
    BY_PATH[slot].fetch_add(1, Ordering::Relaxed);
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "only GET and HEAD\n".into()));
    }
    let q = workloads::parse_query(req.uri().query());
    let resp = match req.uri().path() {
        "/" => reply(StatusCode::OK, "text/plain", "Hello, World!".into()),
        "/alloc" => json_or_400(workloads::alloc(&q)),
        "/json" => json_or_400(workloads::json(&q)),
        "/large" => json_or_400(workloads::large(&q)),
        "/hold" => match workloads::hold(&q) {
            Ok((buf, ttl)) => {
                let n = buf.len();
                tokio::spawn(async move {
                    tokio::time::sleep(ttl).await;
                    workloads::release_held(buf);
                });
                reply(StatusCode::OK, "application/json", format!("{{\"held\":{n},\"ms\":{}}}", ttl.as_millis()))
            }
            Err(reason) => bad_request(reason),
        },
        "/leak" => match workloads::leak(&q) {
            Ok(body) => reply(StatusCode::OK, "application/json", body),
            Err(workloads::LeakError::Bad(reason)) => bad_request(reason),
            Err(workloads::LeakError::Full(reason)) => reply(StatusCode::TOO_MANY_REQUESTS, "text/plain", reason + "\n"),
        },
        "/stats" => reply(StatusCode::OK, "application/json", stats_json()),
        "/purge" => purge_json(),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found: try / /alloc /json /hold /large /leak /stats /purge\n".into()),
    };
    Ok(resp)
}

fn log_connection_error(e: &dyn std::fmt::Display) {
    // Under 10,000 clients a burst of resets is normal: log the first few, then every 1,000th.
    let n = CONNECTION_ERRORS.fetch_add(1, Ordering::Relaxed) + 1;
    if n <= 10 || n % 1000 == 0 {
        eprintln!("connection error #{n}: {e}");
    }
}

async fn serve(listener: tokio::net::TcpListener, header_timeout: Duration) {
    let http = Http::new();
    tokio::spawn(watchdog::scan(header_timeout));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let watch = watchdog::watch();
                let pending = watch.pending.clone();
                let stream = watchdog::Watched { inner: stream, pending: watch.pending.clone() };
                let conn = http.serve_connection(
                    stream,
                    service_fn(move |req| {
                        pending.dispatched();
                        handle(req)
                    }),
                );
                tokio::spawn(async move {
                    tokio::select! {
                        r = conn => if let Err(e) = r {
                            log_connection_error(&e);
                        },
                        _ = watch.kill.notified() => {}
                    }
                    drop(watch);
                });
            }
            Err(e) => {
                // EMFILE and friends: wait for descriptors to free up instead of exiting.
                log_connection_error(&format!("accept: {e}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("allocscope-server: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    raise_fd_limit();
    workloads::MEMORY_BUDGET.store(args.memory_budget, Ordering::Relaxed);
    workloads::ARENA.store(args.arena, Ordering::Relaxed);
    let listener = match std::net::TcpListener::bind(SocketAddr::new(args.bind, args.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("allocscope-server: cannot listen on {}:{}: {e}", args.bind, args.port);
            std::process::exit(1);
        }
    };
    listener.set_nonblocking(true).expect("nonblocking listener");
    let addr = listener.local_addr().expect("bound address");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        // The one line allocscope reads to learn the address: never guess or race a port.
        println!("allocscope-server listening={addr} build={} allocator={} pid={}", alloc::BUILD, stats::allocator(alloc::BUILD), std::process::id());
        let _ = std::io::stdout().flush();
        serve(listener, args.header_timeout).await
    });
}
