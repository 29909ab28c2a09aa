//! An operator's own labelled history (past requests and the category a
//! person gave them), read from a CSV or JSON Lines export, checked
//! against the catalogue, for the classifier to train on beside the
//! shipped corpus. Every problem in the file is reported, with its line
//! and column, so that one pass fixes the export.

use serde::Deserialize;

use super::InvalidInput;
use super::catalogue::Catalogue;
use super::submission::MAX_DESCRIPTION_CHARS;

/// One labelled text, ready to learn from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledText {
    pub text: String,
    pub category: String,
}

/// What a file held: the texts to learn from and those left out on
/// purpose.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct History {
    pub texts: Vec<LabelledText>,
    /// Rows in confidential categories. Staff corrections into them are
    /// not learned either: the model's explanations quote words it
    /// learned, and no other administration may read those requests.
    pub confidential: usize,
}

/// A problem at one line of the file (1-based, the header counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub problem: InvalidInput,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: {}: {}",
            self.line, self.problem.field, self.problem.message
        )
    }
}

/// The formats an export may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A header row naming a `text` (or `description`) and a `category`
    /// column; other columns are ignored.
    Csv,
    /// One JSON object per line with the same two fields.
    JsonLines,
}

impl Format {
    /// The format a file name says (`.csv`, else JSON Lines).
    pub fn of_path(path: &str) -> Self {
        if path.to_ascii_lowercase().ends_with(".csv") {
            Self::Csv
        } else {
            Self::JsonLines
        }
    }
}

#[derive(Deserialize)]
struct Row {
    #[serde(alias = "description")]
    text: Option<String>,
    category: Option<String>,
}

/// Reads and checks a whole export. Either every row is usable (or a
/// known, reported exception) or the errors of every row are returned.
pub fn read(input: &str, format: Format, catalogue: &Catalogue) -> Result<History, Vec<LineError>> {
    let rows = match format {
        Format::Csv => csv_rows(input)?,
        Format::JsonLines => json_rows(input)?,
    };
    let mut history = History::default();
    let mut errors = Vec::new();
    for (line, row) in rows {
        match check(row, catalogue) {
            Ok(Checked::Learn(text)) => history.texts.push(text),
            Ok(Checked::Confidential) => history.confidential += 1,
            Err(problems) => errors.extend(
                problems
                    .into_iter()
                    .map(|problem| LineError { line, problem }),
            ),
        }
    }
    if errors.is_empty() {
        Ok(history)
    } else {
        Err(errors)
    }
}

enum Checked {
    Learn(LabelledText),
    Confidential,
}

fn check(row: Row, catalogue: &Catalogue) -> Result<Checked, Vec<InvalidInput>> {
    let mut problems = Vec::new();
    let text = row.text.unwrap_or_default().trim().to_owned();
    if text.is_empty() {
        problems.push(InvalidInput::new("text", "is empty"));
    } else if text.chars().count() > MAX_DESCRIPTION_CHARS {
        problems.push(InvalidInput::new(
            "text",
            format!("is longer than {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    let code = row.category.unwrap_or_default().trim().to_owned();
    let category = catalogue.category(&code);
    if category.is_none() {
        let message = if code.is_empty() {
            "is empty".to_owned()
        } else {
            format!("{code:?} is not a category of the catalogue")
        };
        problems.push(InvalidInput::new("category", message));
    }
    match category {
        Some(category) if problems.is_empty() => Ok(if catalogue.is_confidential(category) {
            Checked::Confidential
        } else {
            Checked::Learn(LabelledText {
                text,
                category: code,
            })
        }),
        _ => Err(problems),
    }
}

fn csv_rows(input: &str) -> Result<Vec<(usize, Row)>, Vec<LineError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(input.as_bytes());
    let header_error = |e: csv::Error| {
        vec![LineError {
            line: 1,
            problem: InvalidInput::new("header", e.to_string()),
        }]
    };
    let headers = reader.headers().map_err(header_error)?.clone();
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        // csv counts lines as an editor shows them (a quoted field may
        // span several).
        let parsed = record.and_then(|record| {
            let line = record.position().map_or(0, |p| p.line() as usize);
            Ok((line, record.deserialize::<Row>(Some(&headers))?))
        });
        match parsed {
            Ok(row) => rows.push(row),
            Err(e) => errors.push(LineError {
                line: e.position().map_or(0, |p| p.line() as usize),
                problem: InvalidInput::new("row", e.to_string()),
            }),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn json_rows(input: &str) -> Result<Vec<(usize, Row)>, Vec<LineError>> {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Row>(line) {
            Ok(row) => rows.push((i + 1, row)),
            Err(e) => errors.push(LineError {
                line: i + 1,
                problem: InvalidInput::new("row", format!("is not a JSON object: {e}")),
            }),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        Catalogue::sample().expect("the sample catalogue parses")
    }

    #[test]
    fn a_csv_export_is_read_by_its_column_names_whatever_else_it_holds() {
        let input = "id,category,received,text\n\
                     1,street_lighting,2025-01-02,\"Lampan vid torget är släckt,\nsedan i går\"\n\
                     2, waste_collection ,2025-01-03,Soptunnan blev inte tömd\n";
        let history = read(input, Format::Csv, &catalogue()).expect("reads");
        assert_eq!(history.texts.len(), 2);
        assert_eq!(history.texts[0].category, "street_lighting");
        assert_eq!(
            history.texts[0].text,
            "Lampan vid torget är släckt,\nsedan i går"
        );
        assert_eq!(history.texts[1].category, "waste_collection");
    }

    #[test]
    fn json_lines_accept_description_for_text_and_skip_blank_lines() {
        let input = "{\"description\":\"Hål i vägen\",\"category\":\"street_maintenance\"}\n\n\
                     {\"text\":\"Pothole on my street\",\"category\":\"street_maintenance\",\"id\":7}\n";
        let history = read(input, Format::JsonLines, &catalogue()).expect("reads");
        assert_eq!(history.texts.len(), 2);
        assert_eq!(history.texts[0].text, "Hål i vägen");
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_and_field() {
        let input = "text,category\n\
                     ,street_lighting\n\
                     Lampan är trasig,streetlights\n\
                     Soptunnan,waste_collection\n\
                     ,\n";
        let errors = read(input, Format::Csv, &catalogue()).expect_err("refused");
        let found: Vec<(usize, &str)> = errors
            .iter()
            .map(|e| (e.line, e.problem.field.as_str()))
            .collect();
        assert_eq!(
            found,
            [(2, "text"), (3, "category"), (5, "text"), (5, "category")]
        );
        assert!(
            errors[1]
                .to_string()
                .contains("\"streetlights\" is not a category")
        );
    }

    #[test]
    fn a_line_that_is_not_json_is_reported_not_skipped() {
        let input = "{\"text\":\"Hål i vägen\",\"category\":\"street_maintenance\"}\nnot json\n";
        let errors = read(input, Format::JsonLines, &catalogue()).expect_err("refused");
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].line, errors[0].problem.field.as_str()),
            (2, "row")
        );
    }

    #[test]
    fn rows_in_confidential_categories_are_counted_and_not_learned() {
        let input = "text,category\nJag behöver försörjningsstöd,financial_assistance\n\
                     Hemtjänsten kom inte,home_care\nSoptunnan,waste_collection\n";
        let history = read(input, Format::Csv, &catalogue()).expect("reads");
        assert_eq!(history.confidential, 2);
        assert_eq!(history.texts.len(), 1);
    }

    #[test]
    fn the_format_follows_the_file_name() {
        assert_eq!(Format::of_path("export.CSV"), Format::Csv);
        assert_eq!(Format::of_path("export.jsonl"), Format::JsonLines);
    }
}
