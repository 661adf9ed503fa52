//! Full-text search queries (slices.md §3.2): the user's `websearch_to_tsquery` syntax parsed
//! once into a [`SearchQuery`], then written for each backend, so both answer the same
//! question and no input can inject operators or fail the statement.
//!
//! - A term is a run of Unicode letters and numbers; anything else separates terms (so `NEAR`,
//!   `*`, `:`, `^`, parentheses and stray punctuation are plain separators or plain words).
//! - `"quoted phrase"` is a phrase (an unclosed quote ends at the end of the query); `-term` and
//!   `-"phrase"` exclude; the word `or` separates alternatives; everything else is ANDed. The
//!   grouping is the one `websearch_to_tsquery` really produces: AND binds tighter than OR, so
//!   `a b or c` = (a AND b) OR c (PostgreSQL answers `'a' & 'b' | 'c'`; the example in slices.md
//!   §3.2, a AND (b OR c), is not what PostgreSQL does, and both backends follow PostgreSQL).
//! - The stop words of PostgreSQL's `english` configuration are dropped (inside phrases they
//!   stay: the phrase needs them adjacent).
//! - An alternative needs a positive operand: one made only of exclusions (`-x or y`: the `-x`
//!   part) would match almost every row on PostgreSQL and cannot be said in FTS5, so it is
//!   dropped on both.
//! - A query with no alternative left ([`SearchQuery::is_empty`]) matches nothing; the
//!   repository then answers without a statement on both backends.
//!
//! SQLite gets an FTS5 expression in which every term is a quoted string ([`SearchQuery::fts5`]);
//! PostgreSQL gets a canonical websearch string of the same operands for
//! `websearch_to_tsquery('english', $q)` ([`SearchQuery::websearch`]).
//!
//! Rank (both backends): 1 + x when a positive operand occurs in the title, x otherwise, with
//! x in [0, 1) from `bm25` (title weighted 10, content 1) or `ts_rank` (A over B, normalised
//! by `rank / (rank + 1)`), so title matches always rank above content-only matches.

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Characters of the query that are read; the rest is ignored.
pub const MAX_QUERY_CHARS: usize = 2_000;
/// Operands kept (positive and excluded); later ones are ignored.
pub const MAX_OPERANDS: usize = 32;
/// Characters kept of one term.
const MAX_TERM_CHARS: usize = 100;

/// The stop words PostgreSQL's `english` text-search configuration drops (snowball's list).
const STOP_WORDS: &[&str] = &[
    "i",
    "me",
    "my",
    "myself",
    "we",
    "our",
    "ours",
    "ourselves",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "he",
    "him",
    "his",
    "himself",
    "she",
    "her",
    "hers",
    "herself",
    "it",
    "its",
    "itself",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "what",
    "which",
    "who",
    "whom",
    "this",
    "that",
    "these",
    "those",
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "having",
    "do",
    "does",
    "did",
    "doing",
    "a",
    "an",
    "the",
    "and",
    "but",
    "if",
    "or",
    "because",
    "as",
    "until",
    "while",
    "of",
    "at",
    "by",
    "for",
    "with",
    "about",
    "against",
    "between",
    "into",
    "through",
    "during",
    "before",
    "after",
    "above",
    "below",
    "to",
    "from",
    "up",
    "down",
    "in",
    "out",
    "on",
    "off",
    "over",
    "under",
    "again",
    "further",
    "then",
    "once",
    "here",
    "there",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "both",
    "each",
    "few",
    "more",
    "most",
    "other",
    "some",
    "such",
    "no",
    "nor",
    "not",
    "only",
    "own",
    "same",
    "so",
    "than",
    "too",
    "very",
    "s",
    "t",
    "can",
    "will",
    "just",
    "don",
    "should",
    "now",
];

/// Whether `word` (any case) is an `english` stop word.
pub fn is_stop_word(word: &str) -> bool {
    let lower = word.to_lowercase();
    STOP_WORDS.contains(&lower.as_str())
}

/// One thing to look for: a word, or words that must appear in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Term(String),
    Phrase(Vec<String>),
}

/// One alternative: every positive operand, and none of the excluded ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Clause {
    positive: Vec<Operand>,
    excluded: Vec<Operand>,
}

/// A parsed search: a row matches when one of the clauses does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    clauses: Vec<Clause>,
}

/// What the scanner finds, before grouping.
#[derive(Debug)]
enum Item {
    Operand {
        negated: bool,
        operand: Operand,
    },
    Or,
    /// A stop word (or a phrase of stop words): PostgreSQL drops it, operators around it stay.
    Dropped,
}

fn is_term_char(c: char) -> bool {
    matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter | GeneralCategoryGroup::Number
    )
}

/// The terms of a phrase's text (stop words kept).
fn phrase_terms(text: &str) -> Vec<String> {
    text.split(|c: char| !is_term_char(c))
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(MAX_TERM_CHARS).collect())
        .collect()
}

fn scan(input: &str) -> Vec<Item> {
    let chars: Vec<char> = input.chars().take(MAX_QUERY_CHARS).collect();
    let mut items = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at_word_start = i == 0 || !is_term_char(chars[i - 1]);
        let negated = c == '-'
            && at_word_start
            && chars
                .get(i + 1)
                .is_some_and(|&next| next == '"' || is_term_char(next));
        let start = if negated { i + 1 } else { i };
        match chars.get(start) {
            Some('"') if negated || c == '"' => {
                let close = chars[start + 1..]
                    .iter()
                    .position(|&ch| ch == '"')
                    .map(|p| start + 1 + p);
                let end = close.unwrap_or(chars.len());
                let text: String = chars[start + 1..end].iter().collect();
                let terms = phrase_terms(&text);
                if terms.iter().all(|t| is_stop_word(t)) {
                    items.push(Item::Dropped);
                } else {
                    let operand = if terms.len() == 1 {
                        Operand::Term(terms.into_iter().next().unwrap_or_default())
                    } else {
                        Operand::Phrase(terms)
                    };
                    items.push(Item::Operand { negated, operand });
                }
                i = close.map_or(chars.len(), |p| p + 1);
            }
            Some(&first) if is_term_char(first) => {
                let end = chars[start..]
                    .iter()
                    .position(|&ch| !is_term_char(ch))
                    .map_or(chars.len(), |p| start + p);
                let word: String = chars[start..end].iter().take(MAX_TERM_CHARS).collect();
                if !negated && word.eq_ignore_ascii_case("or") {
                    items.push(Item::Or);
                } else if is_stop_word(&word) {
                    items.push(Item::Dropped);
                } else {
                    items.push(Item::Operand {
                        negated,
                        operand: Operand::Term(word),
                    });
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    items
}

impl SearchQuery {
    /// Parses the websearch syntax (see the module documentation); never fails.
    pub fn parse(input: &str) -> Self {
        let mut clauses = vec![Clause::default()];
        let mut operands = 0;
        for item in scan(input) {
            match item {
                Item::Dropped => {}
                Item::Or => {
                    if clauses.last().is_some_and(|c| *c != Clause::default()) {
                        clauses.push(Clause::default());
                    }
                }
                Item::Operand { negated, operand } => {
                    if operands == MAX_OPERANDS {
                        break;
                    }
                    operands += 1;
                    let clause = clauses.last_mut().expect("one clause at least");
                    if negated {
                        clause.excluded.push(operand);
                    } else {
                        clause.positive.push(operand);
                    }
                }
            }
        }
        clauses.retain(|clause| !clause.positive.is_empty());
        SearchQuery { clauses }
    }

    /// No alternative with a positive operand: the search matches nothing.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The FTS5 `MATCH` expression (meaningless when [`is_empty`](Self::is_empty)); every
    /// operator is parenthesised, so FTS5's own precedence never matters.
    pub fn fts5(&self) -> String {
        let clauses: Vec<String> = self
            .clauses
            .iter()
            .map(|clause| {
                let all: Vec<String> = clause.positive.iter().map(fts5_operand).collect();
                let mut expression = format!("({})", all.join(" AND "));
                for excluded in &clause.excluded {
                    expression = format!("({expression} NOT {})", fts5_operand(excluded));
                }
                expression
            })
            .collect();
        format!("({})", clauses.join(" OR "))
    }

    /// The canonical websearch string of the same clauses, for `websearch_to_tsquery`.
    pub fn websearch(&self) -> String {
        let clauses: Vec<String> = self
            .clauses
            .iter()
            .map(|clause| {
                let mut parts: Vec<String> =
                    clause.positive.iter().map(websearch_operand).collect();
                parts.extend(
                    clause
                        .excluded
                        .iter()
                        .map(|excluded| format!("-{}", websearch_operand(excluded))),
                );
                parts.join(" ")
            })
            .collect();
        clauses.join(" or ")
    }

    /// Every positive operand joined by `or`: what the title must hold for the rank's title
    /// tier (the SQLite side gets it from `bm25` with the content weighted 0).
    pub fn any_term_websearch(&self) -> String {
        let operands: Vec<String> = self
            .clauses
            .iter()
            .flat_map(|clause| clause.positive.iter().map(websearch_operand))
            .collect();
        operands.join(" or ")
    }
}

/// Terms hold letters and numbers only, so quoting them needs no escaping; the quotes make
/// FTS5 read keywords (`NEAR`, `AND`) as words.
fn fts5_operand(operand: &Operand) -> String {
    match operand {
        Operand::Term(term) => format!("\"{term}\""),
        Operand::Phrase(terms) => format!("\"{}\"", terms.join(" ")),
    }
}

fn websearch_operand(operand: &Operand) -> String {
    match operand {
        Operand::Term(term) => term.clone(),
        Operand::Phrase(terms) => format!("\"{}\"", terms.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts(q: &str) -> String {
        SearchQuery::parse(q).fts5()
    }

    #[test]
    fn terms_are_anded_and_or_separates_alternatives_as_postgresql_does() {
        assert_eq!(fts("alpha beta"), r#"(("alpha" AND "beta"))"#);
        assert_eq!(fts("a1 b2 or c3"), r#"(("a1" AND "b2") OR ("c3"))"#);
        assert_eq!(SearchQuery::parse("a1 b2 or c3").websearch(), "a1 b2 or c3");
        assert_eq!(fts("x1 OR Or or y1"), r#"(("x1") OR ("y1"))"#);
        // A dropped stop word leaves the `or` in place, like PostgreSQL.
        assert_eq!(fts("x1 or the y1"), r#"(("x1") OR ("y1"))"#);
    }

    #[test]
    fn phrases_exclusions_and_unclosed_quotes() {
        assert_eq!(
            fts(r#""quick brown fox" -lazy"#),
            r#"((("quick brown fox") NOT "lazy"))"#
        );
        assert_eq!(fts(r#"dog "open ended"#), r#"(("dog" AND "open ended"))"#);
        assert_eq!(
            SearchQuery::parse(r#"dog -"cat food" or owl"#).websearch(),
            r#"dog -"cat food" or owl"#
        );
        // A hyphen inside a word separates; it does not exclude.
        assert_eq!(fts("well-known"), r#"(("well" AND "known"))"#);
    }

    #[test]
    fn operators_of_fts5_are_plain_words_or_separators() {
        for q in [
            "NEAR(a b)",
            "title:secret",
            "foo*",
            "^start",
            "a AND b",
            "(x) OR (y",
            "\"",
            "\"\"",
            "-",
            "--",
            "- -",
            "\u{0}",
            "NOT",
            "{title}: x",
            "'; DROP TABLE x; --",
        ] {
            let parsed = SearchQuery::parse(q);
            let expression = parsed.fts5();
            for ch in ['*', ':', '^', '{', '}', ';', '\''] {
                assert!(
                    parsed.is_empty() || !expression.contains(ch),
                    "{q:?} -> {expression}"
                );
            }
        }
        assert_eq!(fts("NEAR(a b)"), r#"(("NEAR" AND "b"))"#);
    }

    #[test]
    fn stop_words_and_negations_alone_leave_nothing() {
        for q in [
            "",
            "   ",
            "the",
            "the and of",
            "-alpha",
            "-alpha -beta",
            "or or",
            "\"the a\"",
            "-a or -b",
        ] {
            assert!(SearchQuery::parse(q).is_empty(), "{q:?}");
        }
        assert_eq!(fts("the cat"), r#"(("cat"))"#);
        // A negation joined by `or` to a positive operand is dropped.
        assert_eq!(fts("cat or -dog"), r#"(("cat"))"#);
        // Stop words stay inside phrases.
        assert_eq!(fts("\"state of the art\""), r#"(("state of the art"))"#);
    }

    #[test]
    fn unicode_letters_and_numbers_make_terms() {
        assert_eq!(fts("café 東京 ٣"), r#"(("café" AND "東京" AND "٣"))"#);
        // Combining marks alone are no term (FTS5 would see an empty phrase).
        assert!(SearchQuery::parse("\u{0301}\u{0345}").is_empty());
    }

    #[test]
    fn long_queries_are_bounded() {
        let many = (0..100)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let parsed = SearchQuery::parse(&many);
        assert_eq!(parsed.clauses[0].positive.len(), MAX_OPERANDS);
        let huge = "x".repeat(10_000);
        assert_eq!(fts(&huge).len(), MAX_TERM_CHARS + 6);
    }
}
