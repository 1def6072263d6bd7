//! Rust tokio peer of Weft's benchmark suite, on a `current_thread` runtime.
//!
//!     tokio-bench skynet|sleepers|race|saga [N]
//!
//! Prints one line of key=value pairs, like the Weft programs.
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rss() -> i64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let res: i64 = s.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    res * 4096
}

fn maxrss_kb() -> i64 {
    // VmHWM from /proc/self/status (peak resident set size)
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in s.lines() {
        if let Some(v) = line.strip_prefix("VmHWM:") {
            return v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
        }
    }
    0
}

type BoxFut<T> = Pin<Box<dyn Future<Output = T>>>;

// skynet (tzcnt/runtime-benchmarks rust/tokio skynet.rs, spawn + JoinHandle)
fn skynet(num: i64, size: i64) -> BoxFut<i64> {
    Box::pin(async move {
        if size == 1 {
            return num;
        }
        let step = size / 10;
        let mut handles = Vec::with_capacity(10);
        for i in 0..10 {
            handles.push(tokio::task::spawn_local(skynet(num + i * step, step)));
        }
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    })
}

async fn work(i: i64) -> i64 {
    tokio::task::yield_now().await; // never resolves on first poll: a real await
    i + 1
}

async fn step(i: i64) -> i64 {
    i
}

static COMPS: AtomicI64 = AtomicI64::new(0);

async fn undo(_i: i64) {
    COMPS.fetch_add(1, Ordering::Relaxed);
}

#[derive(Debug)]
struct Declined;

async fn saga(steps: i64) -> Result<i64, Declined> {
    let mut stack: Vec<BoxFut<()>> = Vec::with_capacity(steps as usize);
    for i in 0..steps {
        let r = step(i).await;
        stack.push(Box::pin(undo(r)));
    }
    // fail at the end: run the compensations last-in first-out
    while let Some(c) = stack.pop() {
        c.await;
    }
    Err(Declined)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        eprintln!("usage: tokio-bench skynet|sleepers|race|saga [N]");
        std::process::exit(2);
    }
    let scen = args[1].as_str();
    let default = match scen {
        "skynet" | "sleepers" | "race" => 1_000_000,
        "saga" => 10_000,
        _ => {
            eprintln!("unknown scenario {}", scen);
            std::process::exit(2)
        }
    };
    let mut n: i64 = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    if args.len() > 2 {
        n = args[2].parse().unwrap();
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    let bad = local.block_on(&rt, async move {
        match scen {
            "skynet" => {
                let mut wf = 0;
                let mut s = n;
                while s >= 1 {
                    wf += n / s;
                    s /= 10;
                }
                let t0 = Instant::now();
                let r = tokio::task::spawn_local(skynet(0, n)).await.unwrap();
                let el = t0.elapsed().as_nanos();
                let exp = n * (n - 1) / 2;
                println!("workflows={} ns={} result={} expected={} maxrss_kb={}", wf, el, r, exp, maxrss_kb());
                r != exp
            }
            "sleepers" => {
                let parked = Arc::new(AtomicI64::new(0));
                let base = rss();
                let t0 = Instant::now();
                let mut handles = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let p = parked.clone();
                    handles.push(tokio::task::spawn_local(async move {
                        p.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }));
                }
                // let every task run to its sleep
                while parked.load(Ordering::Relaxed) < n {
                    tokio::task::yield_now().await;
                }
                let t1 = Instant::now();
                let peak = rss();
                let count = parked.load(Ordering::Relaxed);
                for h in handles {
                    h.await.unwrap();
                }
                let t2 = Instant::now();
                println!(
                    "workflows={} parked={} rss_base={} rss_peak={} bytes_each={} ns={} total_ns={} maxrss_kb={} result={} expected={}",
                    n, count, base, peak, (peak - base) / n, (t1 - t0).as_nanos(), (t2 - t0).as_nanos(),
                    maxrss_kb(), count, n
                );
                count != n
            }
            "race" => {
                let w = n.min(10000); // warm up both loops
                for i in 0..w {
                    work(i).await;
                    tokio::time::timeout(Duration::from_secs(1), work(i)).await.expect("timed out");
                }
                let t0 = Instant::now();
                let mut a = 0;
                for i in 0..n {
                    a += work(i).await;
                }
                let t1 = Instant::now();
                let mut b = 0;
                for i in 0..n {
                    b += tokio::time::timeout(Duration::from_secs(1), work(i)).await.expect("timed out");
                }
                let t2 = Instant::now();
                let (plain, race) = ((t1 - t0).as_nanos() as i64, (t2 - t1).as_nanos() as i64);
                println!(
                    "ops={} plain_ns={} race_ns={} ns={} maxrss_kb={} result={} expected={}",
                    n, plain, race, race - plain, maxrss_kb(), b, a
                );
                a != b
            }
            _ => {
                let mut failed = 0;
                let t0 = Instant::now();
                for _ in 0..n {
                    if saga(100).await.is_err() {
                        failed += 1;
                    }
                }
                let el = t0.elapsed().as_nanos();
                let comps = COMPS.load(Ordering::Relaxed);
                println!(
                    "sagas={} ops={} ns={} failed={} maxrss_kb={} result={} expected={}",
                    n, comps, el, failed, maxrss_kb(), comps, n * 100
                );
                comps != n * 100 || failed != n
            }
        }
    });
    if bad {
        std::process::exit(1);
    }
}
