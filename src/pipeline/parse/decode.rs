//! Bytes to UTF-8 text, before any parser sees them.
//!
//! Order of evidence: a gzip body (magic bytes, even without `Content-Encoding`) is inflated
//! up to the body cap; then a byte order mark (UTF-8, UTF-16, UTF-32); then the byte pattern of
//! an unmarked UTF-16/32 `<?xml`; then valid UTF-8 (a legacy charset label on bytes that are
//! valid UTF-8 is almost always wrong); then the HTTP `Content-Type` charset and the XML
//! declaration's `encoding`, each used only if the bytes decode under it without error; last,
//! chardetng's guess. The XML declaration of the result is rewritten to say UTF-8, so that no
//! later reader decodes the text a second time.

use std::borrow::Cow;
use std::io::Read;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// Why the bytes could not become text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("gzip-compressed body is corrupt: {0}")]
    BadGzip(String),
    #[error("decompressed body exceeds the {0}-byte limit (fetch.max_body)")]
    TooLarge(u64),
}

/// A document as UTF-8 text (borrowed when the bytes already were), and the encoding it was
/// read from.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    pub encoding: &'static str,
}

/// Decodes a fetched body. `content_type` is the HTTP header (its `charset` is a hint);
/// `max_inflated` caps the size of a gzip body after decompression.
pub fn decode<'a>(
    bytes: &'a [u8],
    content_type: Option<&str>,
    max_inflated: u64,
) -> Result<Decoded<'a>, DecodeError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let inflated = inflate(bytes, max_inflated)?;
        let (text, encoding) = to_text(&inflated, content_type);
        return Ok(Decoded { text: Cow::Owned(tidy_prolog(text).into_owned()), encoding });
    }
    let (text, encoding) = to_text(bytes, content_type);
    Ok(Decoded { text: tidy_prolog(text), encoding })
}

fn inflate(bytes: &[u8], max: u64) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::BadGzip(e.to_string()))?;
    if out.len() as u64 > max {
        return Err(DecodeError::TooLarge(max));
    }
    Ok(out)
}

fn to_text<'a>(bytes: &'a [u8], content_type: Option<&str>) -> (Cow<'a, str>, &'static str) {
    if let Some((text, name)) = utf32(bytes) {
        return (Cow::Owned(text), name);
    }
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
        return (text, encoding.name());
    }
    // `<?` in UTF-16 without a byte order mark.
    if bytes.starts_with(&[0, b'<', 0, b'?'])
        || bytes.starts_with(&[0, b'<', 0]) && bytes.len().is_multiple_of(2)
    {
        return (UTF_16BE.decode_without_bom_handling(bytes).0, UTF_16BE.name());
    }
    if bytes.starts_with(&[b'<', 0, b'?', 0])
        || bytes.starts_with(&[b'<', 0]) && bytes.len().is_multiple_of(2)
    {
        return (UTF_16LE.decode_without_bom_handling(bytes).0, UTF_16LE.name());
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (Cow::Borrowed(text), UTF_8.name());
    }
    let declared = [content_type.and_then(http_charset), xml_declared_encoding(bytes)];
    for label in declared.into_iter().flatten() {
        let Some(encoding) = Encoding::for_label(label.trim().as_bytes()) else { continue };
        // A UTF-16 label on bytes that are not UTF-16 (checked above) is a lie.
        if encoding == UTF_16LE || encoding == UTF_16BE || encoding == UTF_8 {
            continue;
        }
        if let Some(text) = encoding.decode_without_bom_handling_and_without_replacement(bytes) {
            return (text, encoding.name());
        }
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    let encoding = detector.guess(None, true);
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    (text, encoding.name())
}

/// UTF-32 (which encoding_rs does not read): a BOM, or `<` as a 32-bit unit.
fn utf32(bytes: &[u8]) -> Option<(String, &'static str)> {
    let (big, skip) = match bytes {
        [0, 0, 0xFE, 0xFF, ..] => (true, 4),
        [0xFF, 0xFE, 0, 0, ..] => (false, 4),
        [0, 0, 0, b'<', ..] => (true, 0),
        [b'<', 0, 0, 0, ..] => (false, 0),
        _ => return None,
    };
    let text = bytes[skip..]
        .chunks_exact(4)
        .map(|c| {
            let unit = [c[0], c[1], c[2], c[3]];
            let n = if big { u32::from_be_bytes(unit) } else { u32::from_le_bytes(unit) };
            char::from_u32(n).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect();
    Some((text, if big { "UTF-32BE" } else { "UTF-32LE" }))
}

/// The `charset` parameter of a `Content-Type` header.
fn http_charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches(['"', '\'']))
    })
}

/// The `encoding` of an ASCII-compatible XML declaration.
fn xml_declared_encoding(bytes: &[u8]) -> Option<&str> {
    let head = &bytes[..bytes.len().min(512)];
    let start = memchr::memmem::find(head, b"<?xml")?;
    let end = start + memchr::memmem::find(&head[start..], b"?>")?;
    let decl = std::str::from_utf8(&head[start..end]).ok()?;
    let at = decl.find("encoding")? + "encoding".len();
    let rest = decl[at..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(&value[..value.find(quote)?])
}

/// Drops a stray BOM and anything before the first `<` of an XML document (blank lines, a PHP
/// warning), and rewrites its declaration to say UTF-8.
fn tidy_prolog(text: Cow<'_, str>) -> Cow<'_, str> {
    let trimmed = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    let start = text.len() - trimmed.len();
    let lt = if trimmed.starts_with(['{', '[']) { Some(0) } else { trimmed.find('<') };
    let Some(lt) = lt else { return text };
    let body_start = start + lt;
    let rewritten = text[body_start..]
        .strip_prefix("<?xml")
        .and_then(|rest| rest.find("?>").map(|end| (rest, end)))
        .filter(|(rest, end)| rest[..*end].contains("encoding"))
        .map(|(rest, end)| format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}", &rest[end + 2..]));
    match (rewritten, text) {
        (Some(r), _) => Cow::Owned(r),
        (None, text) if body_start == 0 => text,
        (None, Cow::Borrowed(b)) => Cow::Borrowed(&b[body_start..]),
        (None, Cow::Owned(o)) => Cow::Owned(o[body_start..].to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec<'a>(bytes: &'a [u8], ct: Option<&str>) -> Decoded<'a> {
        decode(bytes, ct, 1 << 20).expect("decodes")
    }

    #[test]
    fn utf16_and_utf32_with_and_without_bom() {
        let doc = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss>é</rss>";
        let le: Vec<u8> = doc.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = doc.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let expect = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss>é</rss>";
        assert_eq!(dec(&le, None).text, expect);
        assert_eq!(dec(&be, None).text, expect);
        assert_eq!(dec(&[&[0xFF, 0xFE][..], &le].concat(), None).text, expect);
        assert_eq!(dec(&[&[0xFE, 0xFF][..], &be].concat(), None).text, expect);
        let be32: Vec<u8> = doc.chars().flat_map(|c| u32::from(c).to_be_bytes()).collect();
        let le32: Vec<u8> = doc.chars().flat_map(|c| u32::from(c).to_le_bytes()).collect();
        assert_eq!(dec(&be32, None).text, expect);
        assert_eq!(dec(&[&[0xFF, 0xFE, 0, 0][..], &le32].concat(), None).text, expect);
    }

    #[test]
    fn declared_charsets_and_sniffing() {
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss>caf\xe9</rss>";
        assert_eq!(dec(latin1, None).text, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss>café</rss>");
        // The HTTP charset is a hint for bytes that carry no declaration.
        let bare = b"<rss>\xcf\xf0\xe8\xe2\xe5\xf2</rss>";
        assert_eq!(dec(bare, Some("text/xml; charset=windows-1251")).text, "<rss>Привет</rss>");
        // A wrong legacy label on valid UTF-8 loses to the bytes.
        let utf8 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss>café</rss>";
        assert!(dec(utf8.as_bytes(), Some("text/xml; charset=iso-8859-1")).text.ends_with("<rss>café</rss>"));
        // No declaration at all: sniffed.
        let undeclared = "<rss><title>Les élèves à l'école: déjà très étudié, où est-ce?</title></rss>";
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(undeclared);
        assert_eq!(dec(&bytes, None).text, undeclared);
    }

    #[test]
    fn gzip_bodies_are_inflated_within_the_cap() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"<rss version=\"2.0\"></rss>").expect("in-memory write");
        let bytes = gz.finish().expect("in-memory gzip");
        assert_eq!(dec(&bytes, None).text, "<rss version=\"2.0\"></rss>");
        assert_eq!(decode(&bytes, None, 10).map(|d| d.text), Err(DecodeError::TooLarge(10)));
        assert!(matches!(decode(&[0x1f, 0x8b, 1, 2, 3], None, 100), Err(DecodeError::BadGzip(_))));
    }

    #[test]
    fn leading_noise_and_bom_are_dropped() {
        assert_eq!(dec(b"\xef\xbb\xbf\n\n<rss/>", None).text, "<rss/>");
        assert_eq!(
            dec(b"Warning: x in y\n<?xml version='1.0'?><rss/>", None).text,
            "<?xml version='1.0'?><rss/>"
        );
        assert_eq!(dec(b"  {\"version\":1}", None).text, "{\"version\":1}");
    }
}
