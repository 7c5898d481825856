//! The six fuzz properties of `fuzz/` (cargo-fuzz, needs `RUSTC_BOOTSTRAP=1`), checked here on
//! stable with bounded proptest cases so every `cargo test` run covers them. The properties
//! themselves live in `fuzz/src/lib.rs`, included below as a module, so the fuzz targets and
//! these tests cannot drift apart; this file only adds generators that hit the interesting
//! shapes (signed cookie values, JSON patches, record-like JSON, config pairs) far more often
//! than random bytes would. See `fuzz/README.md` for running the fuzzers themselves.

#[path = "../fuzz/src/lib.rs"]
mod props;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None, // no regression files written next to the test
        ..ProptestConfig::default()
    }
}

/// Pieces of Cookie headers; `\u{1}`..`\u{6}` expand to signed values (see `props::expand`).
fn cookie_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "\u{1}", "\u{2}", "\u{3}", "\u{4}", "\u{5}", "\u{6}", "__Host-session=",
            "__Host-session", "__HOST-session=", " __Host-session =", ";", "; ", ",", ", ",
            "=", " ", "a=1", "pref=x", "\"", "\u{a0}", "\t",
        ])
        .prop_map(str::to_owned),
        1 => "[ -~]{0,8}",
        1 => any::<String>().prop_map(|s| s.chars().take(6).collect()),
    ]
}

fn cookie_header() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(cookie_piece(), 0..24).prop_map(|v| v.concat().into_bytes())
}

fn signed_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..100),
        (
            "[A-Za-z0-9_-]{30,34}",
            prop::sample::select(vec![".", "", ":", ".."]),
            "[A-Za-z0-9_=+/-]{40,46}"
        )
            .prop_map(|(a, b, c)| format!("{a}{b}{c}").into_bytes()),
        (
            "[ -~]{0,3}",
            prop::sample::select(vec!["\u{1}", "\u{2}", "\u{3}", "\u{4}", "\u{6}"]),
            "[ -~]{0,3}"
        )
            .prop_map(|(a, b, c)| format!("{a}{b}{c}").into_bytes()),
    ]
}

/// JSON values over a small key alphabet, so patches collide with the data they change.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..3).prop_map(Value::from),
        prop::sample::select(vec![0.5f64, -1.25, 1e300]).prop_map(Value::from),
        prop::sample::select(vec!["", "x", "é"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(str::to_owned),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Wraps `v` in `n` objects, to reach and pass the depth limit now and then.
fn nest(v: Value, n: usize) -> Value {
    (0..n).fold(v, |acc, _| json!({ "a": acc }))
}

fn merge_input() -> impl Strategy<Value = Vec<u8>> {
    let deep = (
        json_value(),
        prop_oneof![9 => Just(0usize), 1 => 58usize..70],
    );
    prop_oneof![
        8 => prop::collection::vec(deep.prop_map(|(v, n)| nest(v, n)), 1..5)
            .prop_map(|v| Value::Array(v).to_string().into_bytes()),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..40),
    ]
}

fn record_json() -> impl Strategy<Value = String> {
    let data = prop::collection::btree_map("[a-c]{1,2}", json_value(), 0..4);
    (
        prop_oneof![8 => Just(1u64), 1 => 0u64..3],
        data,
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        prop_oneof![8 => Just(0usize), 1 => 62usize..66],
    )
        .prop_map(|(v, data, c, a, e, ver, deep)| {
            let mut data: Map<String, Value> = data.into_iter().collect();
            if deep > 0 {
                data.insert("deep".into(), nest(json!(1), deep));
            }
            json!({"v": v, "data": data, "created": c, "accessed": a, "expires": e, "version": ver})
                .to_string()
        })
}

fn record_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => record_json().prop_map(String::into_bytes),
        2 => (record_json(), any::<prop::sample::Index>()).prop_map(|(s, i)| {
            // truncated: almost always refused, never a panic
            s.as_bytes()[..i.index(s.len() + 1)].to_vec()
        }),
        1 => prop::collection::vec(any::<u8>(), 0..60),
    ]
}

fn config_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,22}(ms|s|m|h|d|x|)",
        " ?[0-9]{1,4} ?(ms|s|m|h|d) ?",
        prop::sample::select(vec![
            "true",
            "off",
            "none",
            "lax",
            "NONE",
            "explicit",
            "0.5",
            "-1",
            "NaN",
            "6001",
            "2",
            "__Host-x",
            "__host-x",
            "__Secure-x",
            "sid",
            "/",
            "/app",
            "a;b",
            "example.com",
            "X-Session-",
            "X_S",
            "",
        ])
        .prop_map(str::to_owned),
        "(https?|HTTP|ftp)://[a-z0-9.:@\\[\\]-]{0,14}(/[a-z.%2E]{0,5}){0,3}/?[?#]?",
        "[ -~]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn config_input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((0u8..22, config_value()), 0..10).prop_map(|pairs| {
        let mut out = Vec::new();
        for (i, v) in pairs {
            let v = &v.as_bytes()[..v.len().min(255)];
            out.push(i);
            out.push(v.len() as u8);
            out.extend_from_slice(v);
        }
        out
    })
}

fn origin_input() -> impl Strategy<Value = Vec<u8>> {
    let update = prop_oneof![
        4 => json_value().prop_map(|v| v.to_string().into_bytes()),
        2 => merge_input(),
        1 => prop::collection::vec(any::<u8>(), 0..30),
        1 => "[A-Za-z0-9_=+/ -]{0,12}".prop_map(String::into_bytes),
    ];
    let action = prop_oneof![
        prop::sample::select(vec![
            "",
            "regenerate",
            "destroy",
            " destroy\t",
            "Regenerate",
            "expire",
            "regenerate,destroy",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,10}",
    ];
    (0u8..16, update, action).prop_map(|(flags, mut u, a)| {
        u.retain(|&b| b != 0);
        u.push(0);
        u.extend_from_slice(a.as_bytes());
        let mut out = vec![flags];
        out.extend(u);
        out
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cookie_select(header in cookie_header()) {
        props::check_cookie_select(&header);
    }

    #[test]
    fn signed_value(input in signed_input()) {
        props::check_signed_value(&input);
    }

    #[test]
    fn merge_patch(input in merge_input()) {
        props::check_merge_patch(&input);
    }

    #[test]
    fn record_decode(input in record_input()) {
        props::check_record_decode(&input);
    }

    #[test]
    fn config_vars(input in config_input()) {
        props::check_config(&input);
    }

    #[test]
    fn origin_answer(input in origin_input()) {
        props::check_origin_answer(&input);
    }
}

/// The seed inputs of `fuzz/seeds/` hold the shapes the fuzzers start from; check them too.
#[test]
fn fuzz_seed_inputs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    type Check = (&'static str, fn(&[u8]));
    let checks: [Check; 6] = [
        ("cookie_select", props::check_cookie_select),
        ("signed_value", props::check_signed_value),
        ("merge_patch", props::check_merge_patch),
        ("record_decode", props::check_record_decode),
        ("config", props::check_config),
        ("origin_answer", props::check_origin_answer),
    ];
    let mut n = 0;
    for (target, check) in checks {
        let Ok(entries) = std::fs::read_dir(dir.join(target)) else {
            continue;
        };
        for e in entries {
            check(&std::fs::read(e.expect("dir entry").path()).expect("seed readable"));
            n += 1;
        }
    }
    assert!(n > 0, "no seed inputs found under fuzz/seeds");
}

/// The record_decode fuzzer's finding: serde_json without `float_roundtrip` parsed the
/// shortest form of some floats one ULP off, so a stored float drifted on every store/load.
#[test]
fn floats_survive_a_store_load_cycle_exactly() {
    let text = r#"{"v":1,"data":{"n":6.666666666666667e40},"created":0,"accessed":0,"expires":0,"version":0}"#;
    let r = edge_sessions::engine::Record::decode(text).unwrap();
    assert_eq!(
        edge_sessions::engine::Record::decode(&r.encode()).unwrap(),
        r
    );
}
