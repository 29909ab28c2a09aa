//! The knowledge base: articles that answer what residents often ask, the
//! search that finds them from a free text (the same Swedish and English
//! analysis as the classifier: stems, compounds, missing diacritics,
//! typos), and safe rendering of their Markdown.

use std::collections::HashMap;

use pulldown_cmark::{Event, Options, Parser, Tag};
use serde::Deserialize;

use super::analysis::{Analyzer, detect_language};
use super::text::clean;
use super::{InvalidInput, Language};

const MAX_TITLE_CHARS: usize = 300;
const MAX_BODY_CHARS: usize = 20_000;
const MAX_KEYWORDS: usize = 30;
const MAX_KEYWORD_CHARS: usize = 60;

/// BM25's usual constants: term frequency saturates, long articles are
/// not favoured for being long.
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// Where a word appears says how much the article is about it.
const TITLE_WEIGHT: f64 = 3.0;
const KEYWORD_WEIGHT: f64 = 3.0;
const BODY_WEIGHT: f64 = 1.0;
/// Below this share of the text's weight an article is not offered.
pub const MIN_RELEVANCE: f64 = 0.3;

/// What an editor writes; checked by `ArticleDraft::validate`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ArticleInput {
    pub slug: String,
    pub language: String,
    pub category: Option<String>,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// The sample knowledge base of the sample municipality.
pub const SAMPLE: &str = include_str!("../assets/knowledge.toml");

#[derive(Deserialize)]
struct Collection {
    #[serde(rename = "article", default)]
    articles: Vec<ArticleInput>,
}

/// The articles of a knowledge-base file (TOML, as `SAMPLE`).
pub fn parse_collection(text: &str) -> Result<Vec<ArticleInput>, String> {
    toml::from_str::<Collection>(text)
        .map(|c| c.articles)
        .map_err(|e| e.to_string())
}

/// A checked article text.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleDraft {
    pub slug: String,
    pub language: Language,
    pub category: Option<String>,
    pub title: String,
    pub body: String,
    pub keywords: Vec<String>,
}

impl ArticleDraft {
    /// Every broken rule at once; `category_exists` asks the catalogue.
    pub fn validate(
        input: ArticleInput,
        category_exists: impl Fn(&str) -> bool,
    ) -> Result<Self, Vec<InvalidInput>> {
        let mut errors = Vec::new();
        let slug = input.slug.trim().to_ascii_lowercase();
        let slug_ok = !slug.is_empty()
            && slug.len() <= 100
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !slug_ok {
            errors.push(InvalidInput::new(
                "slug",
                "must be 1 to 100 characters a-z, 0-9 and '-'",
            ));
        }
        let language = Language::parse(&input.language).unwrap_or_else(|e| {
            errors.push(e);
            Language::Sv
        });
        let category = input
            .category
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        if let Some(code) = &category
            && !category_exists(code)
        {
            errors.push(InvalidInput::new(
                "category",
                "is not a category of the catalogue",
            ));
        }
        let title = clean(&input.title);
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            errors.push(InvalidInput::new(
                "title",
                format!("must be 1 to {MAX_TITLE_CHARS} characters"),
            ));
        }
        let body = input.body.replace("\r\n", "\n").trim().to_owned();
        if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
            errors.push(InvalidInput::new(
                "body",
                format!("must be 1 to {MAX_BODY_CHARS} characters"),
            ));
        }
        let keywords: Vec<String> = input
            .keywords
            .iter()
            .map(|k| clean(k).to_lowercase())
            .filter(|k| !k.is_empty())
            .collect();
        if keywords.len() > MAX_KEYWORDS
            || keywords
                .iter()
                .any(|k| k.chars().count() > MAX_KEYWORD_CHARS)
        {
            errors.push(InvalidInput::new(
                "keywords",
                format!(
                    "at most {MAX_KEYWORDS} keywords of at most {MAX_KEYWORD_CHARS} characters"
                ),
            ));
        }
        if errors.is_empty() {
            Ok(Self {
                slug,
                language,
                category,
                title,
                body,
                keywords,
            })
        } else {
            Err(errors)
        }
    }
}

/// An article as the index sees it.
pub struct IndexedArticle<'a> {
    pub id: i64,
    pub language: Language,
    pub title: &'a str,
    pub body: &'a str,
    pub keywords: &'a [String],
}

struct Document {
    id: i64,
    language: Language,
    /// Field-weighted frequency of each term.
    weights: HashMap<String, f64>,
    length: f64,
}

/// The published articles, ready to be searched.
pub struct KnowledgeIndex {
    analyzer: Analyzer,
    documents: Vec<Document>,
    /// Documents containing each term. Counted over both languages: a
    /// small English collection alone would make every word look common.
    frequency: HashMap<String, usize>,
    average_length: f64,
}

/// An article found for a text, with its relevance in [0, 1]: the share
/// of the text's informative weight the article matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub id: i64,
    pub relevance: f64,
}

impl KnowledgeIndex {
    pub fn new(articles: &[IndexedArticle<'_>]) -> Self {
        let analyzer = Analyzer::new(articles.iter().flat_map(|a| {
            let keywords = a.keywords.iter().map(move |k| (k.as_str(), a.language));
            [(a.title, a.language), (a.body, a.language)]
                .into_iter()
                .chain(keywords)
        }));
        let documents: Vec<Document> = articles.iter().map(|a| document(&analyzer, a)).collect();
        let mut frequency = HashMap::new();
        for d in &documents {
            for term in d.weights.keys() {
                *frequency.entry(term.clone()).or_insert(0) += 1;
            }
        }
        let average_length =
            documents.iter().map(|d| d.length).sum::<f64>() / documents.len().max(1) as f64;
        Self {
            analyzer,
            documents,
            frequency,
            average_length,
        }
    }

    /// The `first` articles most relevant to `text` in `language` (detected
    /// from the text when not given), best first, above `MIN_RELEVANCE`.
    pub fn answers(&self, text: &str, language: Option<Language>, first: usize) -> Vec<Found> {
        let language = language.unwrap_or_else(|| detect_language(text));
        let mut query: HashMap<String, f64> = HashMap::new();
        for term in self.analyzer.terms_in(text, language) {
            let weight = query.entry(term.key).or_insert(0.0);
            *weight = weight.max(term.weight);
        }
        let n = self.documents.len() as f64;
        let average = self.average_length;
        let idf = |term: &str| {
            let df = self.frequency.get(term).copied().unwrap_or(0) as f64;
            ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
        };
        // The best any article could score: every word of the text, fully.
        let ceiling: f64 = query.iter().map(|(t, w)| w * idf(t) * (K1 + 1.0)).sum();
        if ceiling <= 0.0 {
            return Vec::new();
        }
        let mut found: Vec<Found> = self
            .documents
            .iter()
            .filter(|d| d.language == language)
            .filter_map(|d| {
                let score: f64 = query
                    .iter()
                    .filter_map(|(term, query_weight)| {
                        let tf = *d.weights.get(term)?;
                        let saturation = tf * (K1 + 1.0)
                            / (tf + K1 * (1.0 - B + B * d.length / average.max(1.0)));
                        Some(query_weight * idf(term) * saturation)
                    })
                    .sum();
                let relevance = (score / ceiling).min(1.0);
                (relevance >= MIN_RELEVANCE).then_some(Found {
                    id: d.id,
                    relevance,
                })
            })
            .collect();
        found.sort_by(|a, b| b.relevance.total_cmp(&a.relevance).then(a.id.cmp(&b.id)));
        found.truncate(first);
        found
    }

    /// The words of `text` a topic is made of: stems of content words of
    /// four letters or more, each with the resident's own spelling.
    pub fn topic_words(&self, text: &str) -> Vec<(String, String)> {
        let mut words: Vec<(String, String)> = self
            .analyzer
            .terms(text)
            .into_iter()
            .filter(|t| t.key.chars().count() >= 4 && t.weight >= 1.0)
            .map(|t| (t.key, t.surface.to_lowercase()))
            .collect();
        words.sort();
        words.dedup_by(|a, b| a.0 == b.0);
        words
    }

    pub fn len(&self) -> usize {
        self.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }
}

fn document(analyzer: &Analyzer, a: &IndexedArticle<'_>) -> Document {
    let mut weights: HashMap<String, f64> = HashMap::new();
    let mut add = |text: &str, field_weight: f64| {
        for term in analyzer.terms_in(text, a.language) {
            *weights.entry(term.key).or_insert(0.0) += field_weight * term.weight;
        }
    };
    add(a.title, TITLE_WEIGHT);
    add(a.body, BODY_WEIGHT);
    for keyword in a.keywords {
        add(keyword, KEYWORD_WEIGHT);
    }
    let length = weights.values().sum();
    Document {
        id: a.id,
        language: a.language,
        weights,
        length,
    }
}

/// Markdown to HTML that is safe to put in a page: raw HTML is shown as
/// text, and links go only to web, mail or telephone addresses.
pub fn render_markdown(markdown: &str) -> String {
    let events =
        Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH).map(|event| match event {
            Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) if !safe_url(&dest_url) => Event::Start(Tag::Link {
                link_type,
                dest_url: "#".into(),
                title,
                id,
            }),
            Event::Start(Tag::Image { title, .. }) => Event::Text(title),
            Event::End(pulldown_cmark::TagEnd::Image) => Event::Text("".into()),
            other => other,
        });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    ["https://", "http://", "mailto:", "tel:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
        || (lower.starts_with('/') && !lower.starts_with("//"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article<'a>(
        id: i64,
        language: Language,
        title: &'a str,
        body: &'a str,
        keywords: &'a [String],
    ) -> IndexedArticle<'a> {
        IndexedArticle {
            id,
            language,
            title,
            body,
            keywords,
        }
    }

    fn index() -> KnowledgeIndex {
        static KW: std::sync::OnceLock<Vec<Vec<String>>> = std::sync::OnceLock::new();
        let kw = KW.get_or_init(|| {
            [
                vec!["återvinningscentral", "öppettider", "tippen", "grovsopor"],
                vec!["bygglov", "friggebod", "attefall", "förråd"],
                vec!["snöröjning", "plogning", "halka", "sandning"],
                vec!["förskola", "kö", "barnomsorg", "plats"],
                vec!["recycling centre", "opening hours", "dump"],
            ]
            .iter()
            .map(|v| v.iter().map(|s| (*s).to_owned()).collect())
            .collect()
        });
        KnowledgeIndex::new(&[
            article(
                1,
                Language::Sv,
                "Öppettider för återvinningscentralen",
                "Återvinningscentralen på Industrivägen har öppet måndag till torsdag 10–19 och lördag 9–15. Där lämnar du grovsopor, el-avfall och farligt avfall.",
                &kw[0],
            ),
            article(
                2,
                Language::Sv,
                "Behöver jag bygglov för en friggebod?",
                "En friggebod på högst 15 kvadratmeter behöver inte bygglov. Ett attefallshus kräver anmälan.",
                &kw[1],
            ),
            article(
                3,
                Language::Sv,
                "När plogas min gata?",
                "Vid snöfall plogas huvudgator först, sedan bussgator och sist villagator. Snöröjningen börjar vid 5 centimeter snö.",
                &kw[2],
            ),
            article(
                4,
                Language::Sv,
                "Så ställer du ditt barn i kö till förskola",
                "Ansök om plats i förskola i e-tjänsten minst fyra månader innan du behöver platsen.",
                &kw[3],
            ),
            article(
                5,
                Language::En,
                "Opening hours of the recycling centre",
                "The recycling centre on Industrivägen is open Monday to Thursday 10–19 and Saturday 9–15.",
                &kw[4],
            ),
        ])
    }

    fn best(text: &str, language: Option<Language>) -> Option<i64> {
        index().answers(text, language, 3).first().map(|f| f.id)
    }

    #[test]
    fn a_plain_question_finds_its_article_first() {
        assert_eq!(best("när har återvinningscentralen öppet", None), Some(1));
        assert_eq!(best("behöver jag bygglov för friggebod", None), Some(2));
        assert_eq!(
            best("hur ställer jag mitt barn i förskolekön", None),
            Some(4)
        );
    }

    #[test]
    fn missing_diacritics_typos_and_compounds_still_find_it() {
        assert_eq!(best("nar har atervinningscentralen oppet", None), Some(1));
        assert_eq!(best("snoröjningen på min gata", None), Some(3));
        assert_eq!(best("bygglv friggebod", Some(Language::Sv)), Some(2));
    }

    #[test]
    fn english_questions_find_english_articles() {
        assert_eq!(best("when is the recycling centre open", None), Some(5));
    }

    #[test]
    fn an_unrelated_text_finds_nothing() {
        assert!(
            index()
                .answers("min granne spelar hög musik på natten", None, 3)
                .is_empty()
        );
        assert!(index().answers("", None, 3).is_empty());
    }

    #[test]
    fn relevance_is_between_zero_and_one_and_sorted() {
        let found = index().answers("återvinningscentralen öppettider grovsopor", None, 5);
        assert!(!found.is_empty());
        assert!(found.windows(2).all(|w| w[0].relevance >= w[1].relevance));
        assert!(found.iter().all(|f| (0.0..=1.0).contains(&f.relevance)));
    }

    #[test]
    fn markdown_is_rendered_without_raw_html_or_script_links() {
        let html = render_markdown(
            "**Öppet** <script>alert(1)</script>\n\n[klick](javascript:alert(1)) [bra](https://www.exempelby.se)\n\n- a\n- b",
        );
        assert!(html.contains("<strong>Öppet</strong>"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("href=\"https://www.exempelby.se\""));
        assert!(html.contains("<li>a</li>"));
    }

    #[test]
    fn a_draft_reports_every_broken_field() {
        let errors = ArticleDraft::validate(
            ArticleInput {
                slug: "Inte OK!".into(),
                language: "de".into(),
                category: Some("nope".into()),
                title: " ".into(),
                body: String::new(),
                keywords: vec![],
            },
            |_| false,
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["slug", "language", "category", "title", "body"]);
    }
}
