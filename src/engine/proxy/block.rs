//! The header block: how headers cross between the JavaScript layer and the engine in one
//! string, with no JSON on either side. Each field ends in `\n`, a header being its name then
//! its value. A Fetch header name or value never holds a newline (`Headers` refuses one), so
//! the split is exact; a block that does not split into pairs is refused.
//!
//! Headers go in as a list ([`decode`]) and come back as edits ([`encode_edits`]): the count
//! of names to delete, the names, then the headers to append. The JavaScript side applies
//! them to a copy of the `Headers` it already holds, which the runtime makes natively.

use crate::engine::proxy::{HeaderEdits, HeaderList};

/// The pairs of a header block, lent from it (no copy of any name or value).
pub type HeaderRefs<'a> = Vec<(&'a str, &'a str)>;
use crate::engine::Error;

/// The pairs of `block`, in order.
pub fn decode(block: &str) -> Result<HeaderRefs<'_>, Error> {
    if block.is_empty() {
        return Ok(HeaderRefs::new());
    }
    let Some(body) = block.strip_suffix('\n') else {
        return Err(Error::Internal("header block: no final newline".into()));
    };
    let mut fields = body.split('\n');
    let mut out = HeaderRefs::with_capacity(16);
    while let Some(name) = fields.next() {
        let Some(value) = fields.next() else {
            return Err(Error::Internal(
                "header block: a name without a value".into(),
            ));
        };
        out.push((name, value));
    }
    Ok(out)
}

/// `lead` (fields that come first, such as a URL) and then `headers`, as one block.
pub fn encode(lead: &[&str], headers: &HeaderList) -> String {
    let len = lead.iter().map(|f| f.len() + 1).sum::<usize>()
        + headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum::<usize>();
    let mut out = String::with_capacity(len);
    for field in lead
        .iter()
        .copied()
        .chain(headers.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]))
    {
        out.push_str(field);
        out.push('\n');
    }
    out
}

/// `lead`, then `edits`: the number of names to delete, the names, the headers to append.
pub fn encode_edits(lead: &[&str], edits: &HeaderEdits) -> String {
    let count = edits.remove.len().to_string();
    let mut fields: Vec<&str> = Vec::with_capacity(lead.len() + 1 + edits.remove.len());
    fields.extend_from_slice(lead);
    fields.push(&count);
    fields.extend(edits.remove.iter().map(String::as_str));
    encode(&fields, &edits.append)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(pairs: &[(&str, &str)]) -> HeaderList {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_block_round_trips_in_order_with_repeats_and_empty_values() {
        let h = list(&[
            ("set-cookie", "a=1"),
            ("x-empty", ""),
            ("set-cookie", "b=2; Path=/"),
        ]);
        let block = encode(&[], &h);
        assert_eq!(
            block,
            "set-cookie\na=1\nx-empty\n\nset-cookie\nb=2; Path=/\n"
        );
        let back: HeaderList = decode(&block)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(back, h);
        assert!(decode("").unwrap().is_empty());
        assert_eq!(encode(&[], &HeaderList::new()), "");
    }

    #[test]
    fn lead_fields_come_first() {
        let block = encode(&["https://o.example/p?q=1"], &list(&[("a", "b")]));
        assert_eq!(block, "https://o.example/p?q=1\na\nb\n");
    }

    #[test]
    fn edits_give_the_count_and_names_to_delete_then_the_headers_to_append() {
        let edits = HeaderEdits {
            remove: vec!["cookie".into(), "X_Session_Id".into()],
            append: list(&[("x-session-id", "abc"), ("vary", "Cookie")]),
        };
        assert_eq!(
            encode_edits(&["https://o.example/"], &edits),
            "https://o.example/\n2\ncookie\nX_Session_Id\nx-session-id\nabc\nvary\nCookie\n"
        );
        assert_eq!(encode_edits(&[], &HeaderEdits::default()), "0\n");
    }

    #[test]
    fn a_block_that_is_not_pairs_is_refused() {
        for bad in ["a\n", "a\nb\nc\n", "a\nb", "\n"] {
            assert!(
                matches!(decode(bad), Err(Error::Internal(_))),
                "{bad:?} was accepted"
            );
        }
    }
}
