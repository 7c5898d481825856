//! A request's changes to session data, kept exact so the stored result is what the changes
//! say, and kept per key so concurrent writers to different keys (or different nested keys)
//! all survive.
//!
//! Why not a plain merge patch of the new top-level values: RFC 7386 cannot say "replace this
//! object" (merging `{"id":2}` into `{"id":1,"role":"admin"}` keeps `role`), and re-merging a
//! whole top-level value loses a concurrent writer's sibling change. So each touched key keeps
//! what was done to it: replaced, deleted, or merge-patched (the patches themselves, in
//! order). Applying [`Edits`] to the stored data gives exactly the RFC 7386 result of the
//! request's patches and the replacement semantics of `set`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::session::patch::merge_patch;
use crate::engine::Error;

/// Deepest JSON nesting accepted anywhere (session data, patches, `set` values, records, the
/// lock object's messages). One limit for every layer, well below serde_json's own recursion
/// limit of 128 even with the message envelope around the data, so no layer accepts what the
/// next one refuses.
pub const MAX_DEPTH: usize = 64;

/// What happened to one top-level key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Edit {
    /// The key now holds exactly this value (`set`, or a patch member that is not an object).
    Set(Value),
    /// The key was removed (`delete`, or a `null` patch member).
    Delete,
    /// These object patches were merged into the key's value, in order (RFC 7386).
    Merge(Vec<Value>),
}

/// A request's edits, one entry per touched top-level key.
pub type Edits = BTreeMap<String, Edit>;

/// Nesting depth of a JSON value: scalars are 0, an array or object is one more than its
/// deepest member. Iterative, so hostile input cannot exhaust the stack.
pub fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(a) => {
                deepest = deepest.max(d + 1);
                stack.extend(a.iter().map(|c| (c, d + 1)));
            }
            Value::Object(o) => {
                deepest = deepest.max(d + 1);
                stack.extend(o.values().map(|c| (c, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// Refuses a value that would put session data deeper than [`MAX_DEPTH`] when stored under
/// a top-level key (the data object itself is one level).
pub fn check_value_depth(v: &Value) -> Result<(), Error> {
    let d = depth(v) + 1;
    if d > MAX_DEPTH {
        return Err(Error::TooDeep {
            depth: d,
            limit: MAX_DEPTH,
        });
    }
    Ok(())
}

/// Refuses session data nested deeper than [`MAX_DEPTH`].
pub fn check_data_depth(data: &Map<String, Value>) -> Result<(), Error> {
    data.values().try_for_each(check_value_depth)
}

/// Applies one key's edit to `data`.
pub fn apply_edit(data: &mut Map<String, Value>, key: &str, edit: &Edit) {
    match edit {
        Edit::Set(v) => {
            data.insert(key.to_owned(), v.clone());
        }
        Edit::Delete => {
            data.remove(key);
        }
        Edit::Merge(patches) => {
            let mut slot = data.remove(key).unwrap_or(Value::Null);
            for p in patches {
                merge_patch(&mut slot, p);
            }
            data.insert(key.to_owned(), slot);
        }
    }
}

/// Applies every edit to `data`.
pub fn apply_edits(data: &mut Map<String, Value>, edits: &Edits) {
    for (k, e) in edits {
        apply_edit(data, k, e);
    }
}

/// The edit that results from doing `next` to a key after `prev` (both in one request), so a
/// request carries one entry per key whatever it did. Exact: applying the result equals
/// applying `prev` then `next`.
pub fn compose(prev: Option<Edit>, next: Edit) -> Edit {
    match (prev, next) {
        (_, Edit::Set(v)) => Edit::Set(v),
        (_, Edit::Delete) => Edit::Delete,
        (Some(Edit::Set(mut v)), Edit::Merge(ps)) => {
            for p in &ps {
                merge_patch(&mut v, p);
            }
            Edit::Set(v)
        }
        (Some(Edit::Delete), Edit::Merge(ps)) => {
            let mut v = Value::Null;
            for p in &ps {
                merge_patch(&mut v, p);
            }
            Edit::Set(v)
        }
        (Some(Edit::Merge(mut a)), Edit::Merge(b)) => {
            a.extend(b);
            Edit::Merge(a)
        }
        (None, e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn set_replaces_and_merge_keeps_siblings() {
        let mut d = map(json!({"user": {"id": 1, "role": "admin"}, "prefs": {"a": 1}}));
        let mut e = Edits::new();
        e.insert("user".into(), Edit::Set(json!({"id": 2})));
        e.insert("prefs".into(), Edit::Merge(vec![json!({"b": 2})]));
        apply_edits(&mut d, &e);
        assert_eq!(
            Value::Object(d),
            json!({"user": {"id": 2}, "prefs": {"a": 1, "b": 2}})
        );
    }

    #[test]
    fn nested_null_in_a_merge_deletes() {
        let mut d = map(json!({"user": {"id": 1, "role": "admin"}}));
        let mut e = Edits::new();
        e.insert("user".into(), Edit::Merge(vec![json!({"role": null})]));
        apply_edits(&mut d, &e);
        assert_eq!(Value::Object(d), json!({"user": {"id": 1}}));
    }

    #[test]
    fn composition_is_exact() {
        let start = json!({"k": {"x": 1}});
        let seqs = [
            vec![Edit::Set(json!(5)), Edit::Merge(vec![json!({"a": 1})])],
            vec![
                Edit::Merge(vec![json!({"a": 1})]),
                Edit::Merge(vec![json!({"a": null, "b": 2})]),
            ],
            vec![Edit::Delete, Edit::Merge(vec![json!({"a": {"b": null}})])],
            vec![Edit::Merge(vec![json!({"y": 1})]), Edit::Set(json!({}))],
            vec![Edit::Merge(vec![json!({"y": 1})]), Edit::Delete],
        ];
        for seq in seqs {
            let mut stepwise = map(start.clone());
            let mut composed = None;
            for e in &seq {
                apply_edit(&mut stepwise, "k", e);
                composed = Some(compose(composed, e.clone()));
            }
            let mut once = map(start.clone());
            apply_edit(&mut once, "k", composed.as_ref().unwrap());
            assert_eq!(once, stepwise, "{seq:?}");
        }
    }

    #[test]
    fn depth_is_measured_without_recursion() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!({"a": [1, {"b": {}}]})), 4);
        let mut deep = json!(0);
        for _ in 0..100_000 {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(depth(&deep), 100_000);
        assert!(check_value_depth(&deep).is_err());
        std::mem::forget(deep); // serde_json's recursive Drop would overflow the test's stack
    }

    #[test]
    fn the_depth_limit_is_exact() {
        let mut v = json!(0);
        for _ in 0..MAX_DEPTH - 1 {
            v = json!({ "n": v });
        }
        assert!(check_value_depth(&v).is_ok());
        assert!(check_value_depth(&json!([v])).is_err());
    }
}
