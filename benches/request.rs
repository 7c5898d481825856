//! Per-request engine work, natively: parse a Cookie header with 10 cookies, verify the
#![allow(missing_docs)] // criterion_group! generates an undocumented fn
//! signature, decode a ~1 KB session record, apply a small merge patch, plan the commit (which
//! encodes and signs), and build the Set-Cookie.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use edge_sessions::engine::session::cookies;
use edge_sessions::engine::session::CookieAction;
use edge_sessions::engine::Record;
use edge_sessions::{Config, Session, SessionId, Signer};
use serde_json::{json, Map, Value};

fn bench(c: &mut Criterion) {
    let cfg = Config::default();
    let signer = Signer::from_list("bench-secret-0123456789abcdef0123456789").unwrap();
    let id = SessionId::generate().unwrap();
    let mut header: String = (0..9)
        .map(|i| format!("pref{i}=value-{i}-abcdefgh; "))
        .collect();
    header.push_str(&format!("{}={}", cfg.cookie.name, signer.sign(&id)));
    let mut data = Map::new();
    for i in 0..20 {
        data.insert(format!("key{i:02}"), json!(format!("{:-<38}", i)));
    }
    let stored = Record::new(&cfg, data, 1_000).encode();
    assert!(
        (1000..1300).contains(&stored.len()),
        "record is {} bytes",
        stored.len()
    );
    let patch = json!({"count": 7, "last": "/page"});

    c.bench_function("request_engine_work", |b| {
        b.iter(|| {
            let verified = cookies::select([black_box(header.as_str())], &cfg.cookie.name, &signer);
            let record = Record::decode(black_box(&stored)).unwrap();
            let mut s = Session::open(verified, Some(record), 2_000).unwrap();
            s.apply_patch(black_box(&patch)).unwrap();
            let plan = s.plan(&cfg, &signer, 2_000).unwrap();
            let encoded: Vec<String> = plan
                .ops
                .iter()
                .map(|(_, change)| serde_json::to_string(change).unwrap())
                .collect();
            assert!(matches!(plan.cookie, CookieAction::Set { .. }));
            let set_cookie = cookies::for_action(&cfg.cookie, plan.cookie, "/");
            black_box((encoded, set_cookie, Value::Null))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
