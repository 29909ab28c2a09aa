//! Limits on a query document that async-graphql's own depth and
//! complexity limits leave open, checked before async-graphql parses it:
//! how deep it nests, aliases
//! (aliases of cheap fields such as `__typename` escape the complexity
//! count and still make the server build huge answers), and the size of the
//! document once its fragments are expanded. A fragment that spreads the
//! previous one twice doubles the work of every later check: 25 such
//! fragments in 1 KB of text kept a core busy for a minute in validation,
//! before any limit looked at it.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Response, ServerError, ServerResult};

/// Selections a document may expand to, fragments spread out. GraphiQL's
/// introspection query, the largest legitimate one, expands to a few
/// hundred.
pub const MAX_EXPANDED_SELECTIONS: usize = 5_000;

/// Brackets a document may nest. The parser recurses once per level of a
/// list or object value with no limit of its own: a 4 KB default value
/// nested 2,000 deep overflowed a worker's stack and aborted the process.
/// GraphiQL's introspection query, the deepest legitimate one, nests 14.
pub const MAX_NESTING: usize = 64;

/// Checks a document before async-graphql parses it for real: its
/// nesting on the text, then its size once its fragments are spread out,
/// on a parse of its own. Both must come first: the parser would crash on
/// the deep document, and async-graphql's own checks after its parse
/// (recursion depth, directives) walk each fragment spread anew, so 1 KB of
/// fragments that each spread the one before twice kept two workers busy
/// for 31 s there, before any limit of ours saw the document.
pub fn check_document(query: &str, max_aliases: usize) -> ServerResult<()> {
    if nesting_exceeds(query, MAX_NESTING) {
        return Err(ServerError::new(
            format!("query nests brackets more than {MAX_NESTING} deep"),
            None,
        ));
    }
    let size = expanded_size(&async_graphql::parser::parse_query(query)?);
    if size.selections > MAX_EXPANDED_SELECTIONS {
        return Err(ServerError::new(
            format!(
                "query expands to more than {MAX_EXPANDED_SELECTIONS} selections once its \
                 fragments are spread out"
            ),
            None,
        ));
    }
    if size.aliases > max_aliases {
        return Err(ServerError::new(
            format!(
                "query uses {} aliases; at most {max_aliases} are allowed",
                size.aliases
            ),
            None,
        ));
    }
    Ok(())
}

/// A query or mutation that outlives the request timeout is given up,
/// whichever transport it came by: the HTTP layer's own deadline does not
/// see the operations sent over one long-lived WebSocket, where a stalled
/// database held a submission for as long as the stall. Subscriptions are
/// not executed through this hook, so they live on.
pub struct Deadline(pub std::time::Duration);

impl ExtensionFactory for Deadline {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DeadlineExtension(self.0))
    }
}

struct DeadlineExtension(std::time::Duration);

#[async_graphql::async_trait::async_trait]
impl Extension for DeadlineExtension {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        match tokio::time::timeout(self.0, next.run(ctx, operation_name)).await {
            Ok(response) => response,
            Err(_) => {
                tracing::error!(
                    operation = operation_name.unwrap_or("anonymous"),
                    limit_secs = self.0.as_secs(),
                    "GraphQL operation given up: it took longer than ENVAGIN_REQUEST_TIMEOUT_SECS (is the database slow or stalled?)"
                );
                let mut error = ServerError::new(
                    "the request took too long and was given up: try again (with the same idempotencyKey)",
                    None,
                );
                error
                    .extensions
                    .get_or_insert_with(Default::default)
                    .set("code", "INTERNAL");
                Response::from_errors(vec![error])
            }
        }
    }
}

/// Whether `query` nests `{`, `[` or `(` deeper than `limit`, brackets in
/// strings and comments aside. A scan, not a parse: it runs before the
/// parser, which is what a deep document would crash. It reads strings and
/// comments exactly as the grammar does (async-graphql-parser's
/// `graphql.pest`): a scan that thought a string had ended or begun where
/// the parser did not would let uncounted brackets through. Delimiters are
/// ASCII, and no byte of a multi-byte UTF-8 character is, so bytes will do.
fn nesting_exceeds(query: &str, limit: usize) -> bool {
    let bytes = query.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'#' => i = line_end(bytes, i),
            b'"' if bytes[i..].starts_with(b"\"\"\"") => i = block_string_end(bytes, i + 3),
            b'"' => i = string_end(bytes, i + 1),
            _ => i += 1,
        }
    }
    false
}

/// Where a comment ends: at the next line terminator.
fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|b| matches!(b, b'\n' | b'\r'))
        .map_or(bytes.len(), |n| from + n)
}

/// Where a block string whose content starts at `from` ends: after the
/// first `"""` that is not part of the one escape there is, `\"""`.
fn block_string_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\\"\"\"") {
            i += 4;
        } else if bytes[i..].starts_with(b"\"\"\"") {
            return i + 3;
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Where a plain string whose content starts at `from` ends: after its
/// closing quote, a backslash escaping the byte after it. A plain string
/// cannot hold a line terminator: there the parser fails, and counting
/// goes on, which can only count more.
fn string_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return i + 1,
            b'\\' => i += 2,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Selections and aliases of a document with every fragment spread out
/// where it is used, counted without spreading anything out: each
/// fragment's own size is worked out once and then added where it is used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Size {
    selections: usize,
    aliases: usize,
}

impl Size {
    fn add(self, other: Self) -> Self {
        Self {
            selections: self.selections.saturating_add(other.selections),
            aliases: self.aliases.saturating_add(other.aliases),
        }
    }
}

fn expanded_size(document: &ExecutableDocument) -> Size {
    let mut sizes = Sizes {
        document,
        known: HashMap::new(),
    };
    document
        .operations
        .iter()
        .map(|(_, op)| sizes.of_set(&op.node.selection_set.node))
        .fold(Size::default(), Size::add)
}

struct Sizes<'a> {
    document: &'a ExecutableDocument,
    /// Each fragment's expanded size; `None` while it is being worked out,
    /// so that a fragment spreading itself (refused later by validation)
    /// counts as empty instead of recursing for ever.
    known: HashMap<&'a Name, Option<Size>>,
}

impl<'a> Sizes<'a> {
    fn of_set(&mut self, set: &'a SelectionSet) -> Size {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => Size {
                    selections: 1,
                    aliases: usize::from(field.node.alias.is_some()),
                }
                .add(self.of_set(&field.node.selection_set.node)),
                Selection::InlineFragment(inline) => Size {
                    selections: 1,
                    aliases: 0,
                }
                .add(self.of_set(&inline.node.selection_set.node)),
                Selection::FragmentSpread(spread) => Size {
                    selections: 1,
                    aliases: 0,
                }
                .add(self.of_fragment(&spread.node.fragment_name.node)),
            })
            .fold(Size::default(), Size::add)
    }

    fn of_fragment(&mut self, name: &'a Name) -> Size {
        if let Some(known) = self.known.get(name) {
            return known.unwrap_or_default();
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Size::default();
        };
        self.known.insert(name, None);
        let size = self.of_set(&fragment.node.selection_set.node);
        self.known.insert(name, Some(size));
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(query: &str) -> Size {
        expanded_size(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn aliases_in_a_fragment_count_wherever_it_is_spread() {
        let doc = "query { a: catalogue { b: categories { code } } ...F x: catalogue { ...F } } \
                   fragment F on QueryRoot { c: __typename }";
        assert_eq!(size(doc).aliases, 5, "a, b, x and c twice");
    }

    #[test]
    fn fragments_that_double_each_other_count_as_what_they_expand_to_without_expanding_them() {
        let mut doc = String::from("{ ...F40 } fragment F0 on QueryRoot { __typename } ");
        for level in 1..=40 {
            let below = level - 1;
            doc.push_str(&format!(
                "fragment F{level} on QueryRoot {{ ...F{below} ...F{below} }} "
            ));
        }
        assert!(size(&doc).selections > MAX_EXPANDED_SELECTIONS);
    }

    /// Every prefix of up to five pieces that can confuse a lexer, before a
    /// list nested past the limit: whenever the parser reads that list as
    /// a real default value, the scan must have counted it.
    #[test]
    fn the_scan_counts_every_list_the_parser_reads_whatever_strings_come_before() {
        const PIECES: [&str; 8] = ["\"", "\\", "\"\"\"", "\\\"\"\"", "#", "\n", "x", " "];
        let list = format!(
            "{}1{}",
            "[".repeat(MAX_NESTING + 1),
            "]".repeat(MAX_NESTING + 1)
        );
        let mut prefixes = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = prefixes
                .iter()
                .flat_map(|p| PIECES.iter().map(move |piece| format!("{p}{piece}")))
                .collect();
            prefixes.extend(longer);
            prefixes.dedup();
        }
        let mut read = 0;
        for prefix in &prefixes {
            let doc =
                format!("query($s: String = \"{prefix}, $a: [Int] = {list}) {{ __typename }}");
            let Ok(parsed) = async_graphql::parser::parse_query(&doc) else {
                continue;
            };
            let read_the_list = parsed.operations.iter().any(|(_, op)| {
                op.node
                    .variable_definitions
                    .iter()
                    .any(|v| v.node.name.node.as_str() == "a" && v.node.default_value.is_some())
            });
            if read_the_list {
                read += 1;
                assert!(nesting_exceeds(&doc, MAX_NESTING), "{doc:?}");
            }
        }
        assert!(
            read > 1_000,
            "the parser read the list after {read} prefixes"
        );
    }

    #[test]
    fn nesting_is_counted_outside_strings_and_comments_only() {
        let deep = format!(
            "query($a: [Int] = {}1{}) {{ __typename }}",
            "[".repeat(2000),
            "]".repeat(2000)
        );
        assert!(nesting_exceeds(&deep, MAX_NESTING));
        let brackets = "[".repeat(500);
        for harmless in [
            format!("{{ classify(text: \"{brackets}\") {{ category }} }}"),
            format!(
                "{{ classify(text: \"\"\"{brackets} \\\"\"\" {brackets}\"\"\") {{ category }} }}"
            ),
            format!("# {brackets}\n{{ __typename }}"),
            "{ a: classify(text: \"\\\"[\") { category } b: classify(text: \"\") { category } }"
                .to_owned(),
        ] {
            assert!(!nesting_exceeds(&harmless, MAX_NESTING), "{harmless}");
        }
        let list = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        for bypass in [
            // Inside a block string the parser reads a backslash and three
            // quotes as one escape; a backslash elsewhere escapes one byte.
            format!(
                "query($s: String = \"\"\"\\\"\"\"\" \"\"\", $a: [Int] = {list}) {{ __typename }}"
            ),
            format!(
                "query($s: String = \"\"\"\\\"\"\"\"\"\", $a: [Int] = {list}) {{ __typename }}"
            ),
            format!("query($s: String = \"a\\\\\", $a: [Int] = {list}) {{ __typename }}"),
            format!("query($s: String = \"\"\"\"\"\", $a: [Int] = {list}) {{ __typename }}"),
            format!("query($s: String = \"unterminated\n, $a: [Int] = {list}) {{ __typename }}"),
            format!("# comment\r$a: [Int] = {list}"),
        ] {
            assert!(nesting_exceeds(&bypass, MAX_NESTING), "{bypass}");
        }
        let deep_but_legitimate = format!("{}name{}", "{ ofType ".repeat(40), " }".repeat(40));
        assert!(!nesting_exceeds(&deep_but_legitimate, MAX_NESTING));
    }

    #[test]
    fn a_fragment_that_spreads_itself_does_not_hang_the_count() {
        let doc = "{ ...F } fragment F on QueryRoot { __typename ...F }";
        assert_eq!(size(doc).selections, 3);
    }
}
