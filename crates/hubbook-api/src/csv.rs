//! CSV for reports (RFC 4180): a header row, CRLF line ends, fields quoted when they hold a
//! comma, a double quote, CR or LF (quotes doubled), and the choice between JSON and CSV by the
//! request's `Accept` header.
//!
//! Text that people typed (names, references) is written so that a spreadsheet never runs it as
//! a formula: a text field starting with `=`, `+`, `-`, `@`, a tab or CR gets a leading `'`.

use std::borrow::Cow;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

/// The content type of every CSV response.
pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// One field of a CSV record: the use cases' typed report field (text, numbers, dates,
/// instants, booleans, nothing), so a report's table and the API's CSV are one shape.
pub use hubbook_service::reports::document::Field as Cell;

/// A field as CSV writes it: text quoted as needed and kept from running as a formula, the rest
/// as its plain text (`Field::text`).
fn render(cell: &Cell) -> Cow<'_, str> {
    match cell {
        Cell::Text(t) => quote(defuse(t)),
        other => Cow::Owned(other.text()),
    }
}

/// Prefixes text that a spreadsheet would take for a formula with `'`.
fn defuse(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Quotes a field that holds a comma, a double quote, CR or LF, doubling its quotes.
pub fn quote(field: Cow<'_, str>) -> Cow<'_, str> {
    if field.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        field
    }
}

/// Writes a CSV document: the header row first, then one record per call to [`CsvWriter::row`].
#[derive(Debug, Clone)]
pub struct CsvWriter {
    out: String,
}

impl CsvWriter {
    /// Starts a document with its header row.
    pub fn new(header: &[&str]) -> Self {
        let mut writer = Self { out: String::new() };
        writer.record(header.iter().map(|h| quote(Cow::Borrowed(*h))));
        writer
    }

    /// Adds one record.
    pub fn row(&mut self, cells: &[Cell]) {
        self.record(cells.iter().map(render));
    }

    fn record<'a>(&mut self, fields: impl Iterator<Item = Cow<'a, str>>) {
        for (i, field) in fields.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.out.push_str(&field);
        }
        self.out.push_str("\r\n");
    }

    /// The document.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Whether the request prefers CSV to JSON by its `Accept` header: the media range that matches
/// each with the highest quality wins, a more specific range breaking a tie; JSON when neither
/// is asked for or both equally.
pub fn wants_csv(req: &HttpRequest) -> bool {
    let accept = req
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    preference(&accept, "text", "csv") > preference(&accept, "application", "json")
}

/// The best (quality, specificity) with which an `Accept` value admits `kind/sub`; specificity
/// is 2 for the exact type, 1 for `kind/*` and 0 for `*/*`.
fn preference(accept: &str, kind: &str, sub: &str) -> (u32, u8) {
    accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next()?.to_ascii_lowercase();
            let (k, s) = media.split_once('/')?;
            let specificity = match (k, s) {
                _ if k == kind && s == sub => 2,
                _ if k == kind && s == "*" => 1,
                ("*", "*") => 0,
                _ => return None,
            };
            let quality = parts
                .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // Thousandths, as RFC 9110 allows no more precision.
            let quality = (quality.clamp(0.0, 1.0) * 1000.0).round() as u32;
            (quality > 0).then_some((quality, specificity))
        })
        .max()
        .unwrap_or((0, 0))
}

/// A CSV response offered for download under `filename` (letters, digits, `-`, `_`, `.` only).
pub fn attachment(filename: &str, body: String) -> HttpResponse {
    let safe: String = filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, CONTENT_TYPE))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{safe}\""),
        ))
        .insert_header((header::VARY, "Accept"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        let mut w = CsvWriter::new(&["name", "count", "rate"]);
        w.row(&[
            Cell::Text("Smith, Jones & Partners".into()),
            Cell::Int(3),
            Cell::Decimal(0.42307, 4),
        ]);
        w.row(&[
            Cell::Text("RHQ-\"7\", urgent".into()),
            Cell::Int(-1),
            Cell::Empty,
        ]);
        w.row(&[
            Cell::Text("two\nlines".into()),
            Cell::Int(0),
            Cell::Decimal(1.0, 2),
        ]);
        w.row(&[Cell::Text("cr\rhere".into()), Cell::Bool(true), Cell::Empty]);
        assert_eq!(
            w.finish(),
            "name,count,rate\r\n\
             \"Smith, Jones & Partners\",3,0.4231\r\n\
             \"RHQ-\"\"7\"\", urgent\",-1,\r\n\
             \"two\nlines\",0,1.00\r\n\
             \"cr\rhere\",true,\r\n"
        );
    }

    #[test]
    fn dates_and_instants_are_iso_8601() {
        let mut w = CsvWriter::new(&["date", "at"]);
        w.row(&[
            Cell::Date(NaiveDate::from_ymd_opt(2026, 10, 25).unwrap()),
            Cell::Time("2026-10-25T09:00:00Z".parse().unwrap()),
        ]);
        assert_eq!(w.finish(), "date,at\r\n2026-10-25,2026-10-25T09:00:00Z\r\n");
    }

    #[test]
    fn typed_text_never_runs_as_a_formula() {
        let mut w = CsvWriter::new(&["ref"]);
        for text in ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "plain"] {
            w.row(&[Cell::Text(text.into())]);
        }
        assert_eq!(
            w.finish(),
            "ref\r\n\"'=HYPERLINK(\"\"x\"\")\"\r\n'+1\r\n'-2\r\n'@SUM(A1)\r\nplain\r\n"
        );
    }

    #[test]
    fn accept_picks_the_preferred_format() {
        let csv = |accept: Option<&str>| {
            let mut req = TestRequest::default();
            if let Some(a) = accept {
                req = req.insert_header((header::ACCEPT, a));
            }
            wants_csv(&req.to_http_request())
        };
        assert!(!csv(None));
        assert!(csv(Some("text/csv")));
        assert!(csv(Some("text/csv, */*;q=0.1")));
        assert!(csv(Some("text/csv, */*")));
        assert!(csv(Some("text/*")));
        assert!(!csv(Some("application/json")));
        assert!(!csv(Some("*/*")));
        assert!(!csv(Some("application/json, text/csv")));
        assert!(!csv(Some("text/csv;q=0.5, application/json")));
        assert!(csv(Some("application/json;q=0.4, text/csv;q=0.9")));
        assert!(!csv(Some("text/csv;q=0")));
        assert!(!csv(Some("text/html")));
    }
}
