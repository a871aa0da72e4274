//! Small helpers shared by the XML parsers: entity references, attributes, whitespace.

use quick_xml::events::{BytesRef, BytesStart};

/// The text an entity reference stands for (`&amp;` → `&`, `&#167;` → `§`).
pub fn entity(r: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return c.to_string();
    }
    let name = r.xml10_content();
    match name.as_ref() {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" | "ensp" | "emsp" | "thinsp" => " ",
        "mdash" => "—",
        "ndash" => "–",
        "sect" => "§",
        "para" => "¶",
        "rsquo" | "lsquo" => "'",
        "rdquo" | "ldquo" => "\"",
        _ => "",
    }
    .to_string()
}

/// An attribute's unescaped value, if present.
pub fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name).ok().flatten().and_then(|a| {
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()
            .map(|v| v.into_owned())
    })
}

/// Collapses runs of whitespace into single spaces and trims.
pub fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
