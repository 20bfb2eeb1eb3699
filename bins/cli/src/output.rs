//! Printing: aligned tables for people, JSON for scripts, errors with their code.

use natronfx_service::Error;
use serde::Serialize;

/// Prints rows under headers, columns aligned by character count.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    if rows.is_empty() {
        println!("(none)");
    }
    for row in rows {
        line(row);
    }
}

/// Prints a value as pretty JSON on standard output.
pub fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error[internal-error]: cannot encode JSON: {e}"),
    }
}

/// Prints an error on standard error: `error[code]: message`, or a JSON object with `--json`.
pub fn print_error(e: &Error, as_json: bool) {
    if as_json {
        let mut body = serde_json::json!({ "code": e.code(), "message": e.to_string() });
        if let Some(findings) = e.findings() {
            body["details"] = serde_json::json!({ "findings": findings });
        }
        eprintln!("{body}");
    } else {
        eprintln!("error[{}]: {e}", e.code());
    }
}
